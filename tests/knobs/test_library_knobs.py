"""The template library and the examples follow the knob idiom: every top-level `set` of a
template that others extend or include defers to a value given before it (`name | default(value)`),
so no child and no `-D` is ever replaced; the examples check clean with and without knobs given
on the command line. (An experiment that nothing extends may set its knobs plainly: then `-D`
does not win there, and FG0207 says so.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from needs import needs_torch

import fgc
from fgc import resources
from fgc.loader import Loader, search_path
from fgc.inheritance.knobs import top_level_sets as sets_of
from fgc.inheritance.template_pass import template_pass

REPO = Path(__file__).resolve().parents[2]
STDLIB = resources.stdlib_dir()
EXAMPLES = REPO / "examples"
FILES = sorted(STDLIB.rglob("*.fg")) + sorted(EXAMPLES.rglob("*.fg"))


def template_graph(path: Path):
    search, _ = search_path(path, [])
    loader = Loader(search.roots)
    return template_pass(loader, loader.load_root(path))[0]


def top_level_sets(path: Path, only_used: bool = False) -> list:
    """Every top-level `set` of the templates of file `path` (its sub-templates too); with
    `only_used`, only of those that another template extends or includes."""
    graph = template_graph(path)
    used = {t for n in graph.templates.values() for r in n.references for t in r.resolved}
    return [
        a
        for node in graph.templates.values()
        if Path(node.file) == path and (not only_used or node.name in used)
        for a in sets_of(node)
    ]


def example_parents() -> set[Path]:
    """The example files that another example extends or includes."""
    out = set()
    for path in EXAMPLES.rglob("*.fg"):
        graph = template_graph(path)
        out |= {Path(graph.templates[t].file) for n in graph.templates.values() for r in n.references for t in r.resolved}
    return out


def label(path: Path) -> str:
    return path.relative_to(STDLIB if path.is_relative_to(STDLIB) else REPO).as_posix()


@pytest.mark.parametrize("path", FILES, ids=label)
def test_every_top_level_set_defers(path):
    library = path.is_relative_to(STDLIB) or path in example_parents()
    replacing = [f"{a.span}: set {a.name}" for a in top_level_sets(path, only_used=not library) if a.replaces]
    assert replacing == []


def test_the_projects_have_knobs():
    """The test above reads the sets it should (the two projects set their knobs)."""
    names = {a.name for a in top_level_sets(STDLIB / "scripts" / "causal_lm.fg")}
    assert {"config_name", "description", "output_dir", "vocab_size", "max_steps", "warmup_steps"} <= names
    names = {a.name for a in top_level_sets(EXAMPLES / "quickstart" / "base.fg")}
    assert {"config_name", "max_steps", "batch_size", "eval_strategy", "save_strategy"} <= names


COMMAND_LINE = {"max_steps": 7, "warmup_steps": 2, "config_name": "cli", "vocab_size": 300, "batch_size": 2}
# Knobs of COMMAND_LINE an example rightly does not read (a fine-tune keeps its base model's
# vocabulary): each must be reported as unread (FG0208), and nothing else.
NOT_READ = {"finetune_chat": {"vocab_size"}}


def assert_clean(example: Path, variables: dict, import_modules: bool) -> None:
    diagnostics = list(fgc.check(example, variables=variables, import_modules=import_modules))
    # Only the experiment's own plain `set` may hide a `-D` (and is told so).
    others = [d for d in diagnostics if not (d.code == "FG0207" and Path(d.span.file) == example)]
    unread = NOT_READ.get(example.parent.name, set()) & set(variables)
    reported = {d.message.split("`")[1].removeprefix("-D ").split("=")[0] for d in others if d.code == "FG0208"}
    assert reported == unread, "\n".join(map(str, others))
    others = [d for d in others if d.code != "FG0208"]
    assert others == [], "\n".join(map(str, others))


EXAMPLE_FILES = sorted(EXAMPLES.rglob("*.fg"))


@pytest.mark.parametrize("variables", [{}, COMMAND_LINE], ids=["defaults", "-D"])
@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=label)
def test_example_knobs_check_clean(example, variables):
    """The knob analysis (and every check before imports): no module is imported, so this runs
    without torch."""
    assert_clean(example, variables, import_modules=False)


@needs_torch("checks the examples' calls against the signatures of the runtime's torch callables")
@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=label)
def test_example_checks_clean(example):
    """The whole check, the imported callables' signatures included: once per example, with the
    knobs given on the command line (the knob analysis with and without them is checked above)."""
    assert_clean(example, COMMAND_LINE, import_modules=True)
