"""Every example compiles with no diagnostic at all, every stdlib template meant to be extended
compiles through the minimal child that `fgc new` writes, and `fgc ls examples` lists every
example."""

from __future__ import annotations

from pathlib import Path

import pytest

import fgc as fgc_api
from fgc import resources
from examples_testlib import EXAMPLES, REPO, fgc

EXPERIMENTS = sorted(EXAMPLES.rglob("*.fg"))
# Templates an experiment extends directly, as docs/stdlib.md says: scripts/ (a whole project) and
# models/ (a model); the others are included, or need anchors first. Listed from the library, so
# a new one is tested without being named here.
STDLIB = resources.stdlib_dir()
EXTENDABLE = sorted(p.relative_to(STDLIB).as_posix() for d in ("scripts", "models") for p in (STDLIB / d).glob("*.fg"))


def label(path: Path) -> str:
    return path.relative_to(EXAMPLES).as_posix()


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=label)
def test_example_compiles_clean(experiment, tmp_path):
    diagnostics = list(fgc_api.check(experiment))
    assert diagnostics == [], "\n".join(map(str, diagnostics))
    build = fgc_api.compile(experiment, tmp_path / "build")
    assert (build.dir / "config.py").is_file() and "main" in build.targets


def test_the_extendable_templates_are_found():
    assert {"scripts/causal_lm.fg", "models/causal_lm.fg", "models/llama.fg"} <= set(EXTENDABLE), EXTENDABLE


@pytest.mark.parametrize("template", EXTENDABLE)
def test_fgc_new_child_compiles_clean(template, tmp_path):
    fgc("new", "child", "--from", template, cwd=tmp_path)
    child = tmp_path / "child.fg"
    text = child.read_text()
    assert text.startswith(f"-- extends '{template}'\n")
    assert "## Blocks:" in text
    diagnostics = list(fgc_api.check(child))
    assert diagnostics == [], "\n".join(map(str, diagnostics))
    build = fgc_api.compile(child, tmp_path / "build")
    # scripts/finetune.fg reads its model from a pretrained directory: no model code is generated
    assert (build.dir / "model" / "modeling.py").is_file() == (template != "scripts/finetune.fg")


def test_fgc_new_lists_knobs_and_blocks_of_an_example(tmp_path):
    base = EXAMPLES / "quickstart" / "base.fg"
    fgc("new", tmp_path / "bigger", "--from", base, cwd=tmp_path)
    text = (tmp_path / "bigger.fg").read_text()
    assert "-- set config_name = config_name | default('bigger')" in text
    for line in ("## -- set hidden_size = hidden_size | default(128)", "## -- set lr = lr | default(0.001)",
                 "##   [model]  ", "##   [optimizer]  scripts/causal_lm.fg:"):
        assert line in text, line
    # written away from the template: it compiles with -I the template's folder, as fgc says
    assert f"-I {base.parent}" in text
    assert list(fgc_api.check(tmp_path / "bigger.fg", [base.parent])) == []


def test_fgc_new_refuses_an_unknown_template_and_an_existing_file(tmp_path):
    import subprocess, sys
    from examples_testlib import ENV

    def new(*args):
        return subprocess.run([sys.executable, "-m", "fgc", "new", *args], capture_output=True, text=True,
                              env=ENV, cwd=tmp_path)

    done = new("x", "--from", "models/lama.fg")
    assert done.returncode == 2 and "models/llama.fg" in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "x.fg").write_text("keep")
    done = new("x", "--from", "models/llama.fg")
    assert done.returncode == 2 and "exists" in done.stderr and (tmp_path / "x.fg").read_text() == "keep"


def test_fgc_ls_shows_every_example():
    out = fgc("ls", "examples", cwd=REPO).stdout
    listed = {line.split()[0] for line in out.splitlines()}
    assert listed == {label(p) for p in EXPERIMENTS}
    rows = {line.split()[0]: line for line in out.splitlines()}
    assert "base  train a small causal language model" in rows["quickstart/base.fg"]
    assert rows["quickstart/experiment.fg"].split(None, 1)[1] == "the quick-start experiment"
    for folder in {p.parent for p in EXPERIMENTS}:  # and every example has its README
        assert (folder / "README.md").is_file(), folder
