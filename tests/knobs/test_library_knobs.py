"""The template library and the examples follow the knob idiom: every top-level `set` defers to
a value given before it (`name | default(value)`), so no child and no `-D` is ever replaced;
the examples check clean with and without every knob given on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

import fgc
from fgc import resources
from fgc.loader import Loader, search_path
from fgc.passes.knobs import top_level_sets as sets_of
from fgc.passes.template_pass import template_pass
from fgc.render.markers import MarkerTable

REPO = Path(__file__).resolve().parents[2]
STDLIB = resources.stdlib_dir()
EXAMPLES = REPO / "examples"
FILES = sorted(STDLIB.rglob("*.fg")) + sorted(EXAMPLES.rglob("*.fg"))


def top_level_sets(path: Path) -> list:
    """Every top-level `set` of every template of `path` (its sub-templates too)."""
    search, _ = search_path(path, [])
    loader = Loader(search, MarkerTable())
    root = loader.load_root(path)
    graph, _ = template_pass(loader, root)
    return [a for node in graph.templates.values() if Path(node.file) == path for a in sets_of(node)]


def label(path: Path) -> str:
    return path.relative_to(STDLIB if path.is_relative_to(STDLIB) else REPO).as_posix()


@pytest.mark.parametrize("path", FILES, ids=label)
def test_every_top_level_set_defers(path):
    replacing = [f"{a.span}: set {a.name}" for a in top_level_sets(path) if a.replaces]
    assert replacing == []


def test_the_projects_have_knobs():
    """The test above reads the sets it should (the two projects set their knobs)."""
    names = {a.name for a in top_level_sets(STDLIB / "scripts" / "causal_lm.fg")}
    assert {"config_name", "description", "output_dir", "vocab_size", "max_steps", "warmup_steps"} <= names
    names = {a.name for a in top_level_sets(EXAMPLES / "quickstart" / "base.fg")}
    assert {"config_name", "max_steps", "batch_size", "eval_strategy", "save_strategy"} <= names


COMMAND_LINE = {"max_steps": 7, "warmup_steps": 2, "config_name": "cli", "vocab_size": 300, "batch_size": 2}


@pytest.mark.parametrize("variables", [{}, COMMAND_LINE], ids=["defaults", "-D"])
@pytest.mark.parametrize("example", sorted(EXAMPLES.rglob("*.fg")), ids=label)
def test_example_checks_clean(example, variables):
    diagnostics = list(fgc.check(example, variables=variables))
    assert diagnostics == [], "\n".join(map(str, diagnostics))
