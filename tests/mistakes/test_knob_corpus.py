"""The corpus of misspelt knobs: every example experiment and every child that `fgc new` writes
from the stdlib's templates, unmodified, compile to the graph without a single warning; and
with one knob misspelt at a time (generated: each of the file's own `-- set`s renamed, each
`fgc new` knob line uncommented under a misspelt name, and each as `-D`), they get a warning
naming the misspelt knob (FG0208), with a did-you-mean naming the real one.

Misspelt knobs are checked by rendering alone (FG0208 is a render diagnostic), the renderings of
one file sharing their lowered templates (fgc.render.Reuse), so the corpus stays cheap."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fgc.cli.new import chain_of, child_text, knobs
from fgc.diagnostics import Severity
from fgc.inheritance.knobs import top_level_sets
from fgc.pipeline import compile_file
from fgc.render import Reuse, render_file
from fgc.resources import stdlib_dir

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*/*.fg"))
NEW_FROM = [
    "scripts/causal_lm.fg",
    *sorted(p.relative_to(stdlib_dir()).as_posix() for p in (stdlib_dir() / "models").glob("*.fg")),
]
_SET = re.compile(r"^(## )?-- set (\w+) = ")


def misspelt(name: str) -> str:
    """One typo: the first letter written twice is written once, else two inner letters swapped,
    else (a short name) the last letter written twice."""
    for i in range(1, len(name)):
        if name[i] == name[i - 1] and name[i].isalpha():
            return name[:i] + name[i + 1 :]
    for i in range(1, len(name) - 2):
        if name[i].isalpha() and name[i + 1].isalpha() and name[i] != name[i + 1]:
            return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    return name + name[-1]


def assert_clean(path: Path, include: list[Path]) -> None:
    comp = compile_file(path, include, import_modules=False, stop_after="graph")
    assert comp.ok, [str(d) for d in comp.diagnostics]
    warnings = [str(d) for d in comp.diagnostics if d.severity is Severity.WARNING]
    assert warnings == [], f"{path.name}: {warnings}"


def assert_named(path: Path, include: list[Path], wrong: str, right: str, reuse: Reuse, variables=None) -> None:
    result = render_file(path, include, variables or {}, reuse=reuse)
    found = [d for d in result.diagnostics if d.code == "FG0208" and f"`{wrong}`" in d.message]
    assert found, f"{path.name}: `{wrong}` (for `{right}`) gave {[str(d) for d in result.diagnostics]}"
    assert found[0].hint == f"did you mean `{right}`?", found[0].hint


def own_sets(path: Path) -> list[tuple[int, str]]:
    """(line index, name) of the file's own top-level `-- set`s (its main template's)."""
    graph, chain = chain_of(path)
    names = {a.name for a in top_level_sets(chain[0])}
    lines = path.read_text().splitlines()
    return [
        (i, m.group(2))
        for i, line in enumerate(lines)
        if (m := _SET.match(line)) and not m.group(1) and m.group(2) in names
    ]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_an_example(example: Path, tmp_path: Path) -> None:
    assert_clean(example, [])
    sets = own_sets(example)
    lines = example.read_text().splitlines()
    reuse = Reuse()
    for index, name in sets:
        wrong = misspelt(name)
        changed = list(lines)
        changed[index] = re.sub(rf"\b{name}\b", wrong, changed[index])
        copy = tmp_path / example.name
        copy.write_text("\n".join(changed) + "\n")
        assert_named(copy, [example.parent], wrong, name, reuse)
    if sets:  # and as `-D` on the command line, once per file
        name = sets[0][1]
        assert_named(example, [], misspelt(name), name, reuse, {misspelt(name): 1})


@pytest.mark.parametrize("template", NEW_FROM)
def test_a_child_from_fgc_new(template: str, tmp_path: Path) -> None:
    source = stdlib_dir() / template
    graph, chain = chain_of(source)
    defaults, diagnostics, targets = knobs(source, chain)
    child = tmp_path / "mine.fg"
    text = child_text(str(child), template, template, defaults, chain, None, targets)
    child.write_text(text)
    assert_clean(child, [])
    lines = text.splitlines()
    knob_lines = [(i, m.group(2)) for i, line in enumerate(lines) if (m := _SET.match(line)) and m.group(1)]
    if not knob_lines:  # a model template: its values are keys of its blocks, and fgc new says so
        assert "## (none: the template's values are written in its blocks, below)" in text
        assert not [name for name in defaults if name != "config_name"]
    reuse = Reuse()
    for index, name in knob_lines:
        wrong = misspelt(name)
        changed = list(lines)
        changed[index] = re.sub(rf"\b{name}\b", wrong, changed[index][len("## ") :])
        child.write_text("\n".join(changed) + "\n")
        assert_named(child, [], wrong, name, reuse)
