"""Every template of the library checks clean (no diagnostic at all, warnings included) in the
setting it is written for: extended, included, or given the anchors it uses. A template added to
stdlib/ without a harness here fails `test_every_template_has_a_harness`."""

from __future__ import annotations

import pytest

from fgc import resources
from stdlib_testlib import check, data_experiment, trainer_experiment, write

STDLIB = resources.stdlib_dir()


def harness(name: str) -> str:
    """A top-level experiment that uses template `name` the way its header says."""
    folder = name.split("/")[0]
    if name.startswith("optimizers/schedulers/"):
        return f"-- include '{name}'\n\nmain: *lr_scheduler\n"
    if folder == "optimizers":
        return f"-- include '{name}'\n\nmain: *optimizer\n"
    if folder == "data":  # every anchor a target, so that every node is checked
        return data_experiment(name)
    if folder == "trainers":  # after the anchors it uses
        return trainer_experiment(name)
    if folder in ("models", "scripts"):
        return f"-- extends '{name}'\n"
    raise KeyError(name)


TEMPLATES = sorted(p.relative_to(STDLIB).as_posix() for p in STDLIB.rglob("*.fg"))


def test_every_template_has_a_harness():
    for folder in ("models", "optimizers", "data", "trainers", "scripts"):
        assert any(t.startswith(folder + "/") for t in TEMPLATES), folder
    for name in TEMPLATES:
        harness(name)  # KeyError for a folder this file does not know


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_checks_clean(name, tmp_path):
    diagnostics = check(write(tmp_path, harness(name)))
    assert diagnostics == [], "\n".join(map(str, diagnostics))
