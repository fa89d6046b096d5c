"""The stage order of the compiler is its import order (docs/architecture.md, "Layering").

Every import statement of every module of `fgc/` (function-local ones and those under
`TYPE_CHECKING` included) is an edge from the importing module's stage to the imported
module's; only edges to the same or an earlier stage are allowed, and nothing in `fgc/` imports
the runtime (`forgather`).
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

FGC = Path(__file__).resolve().parents[2] / "fgc"

# Which stage a module belongs to: (stage, pattern of dotted module names); the first match wins.
STAGES: list[tuple[str, str]] = [
    ("foundation", r"fgc\.(diagnostics|diagnostic_codes|sourcemap|resources|version|pyast|tags|cache_dir)"),
    ("config syntax", r"fgc\.syntax\.(config_\w+|scalars|lalr_tables)"),
    ("template syntax", r"fgc\.syntax(\.\w+)?"),
    ("load", r"fgc\.(loader|recording)"),
    ("template pass", r"fgc\.inheritance(\.\w+)?"),
    ("render", r"fgc\.render(\.\w+)?"),
    ("semantic passes", r"fgc\.(passes(\.\w+)?|graph)"),
    ("imports and signatures", r"fgc\.imports(\.\w+)?"),
    ("codegen", r"fgc\.codegen(\.\w+)?"),
    ("build", r"fgc\.build(\.\w+)?"),
    ("compile-time nodes", r"fgc\.compile_time(\.\w+)?"),
    ("runs", r"fgc\.runs(\.\w+)?"),
    # The driver, in sub-layers: the front end of one input; projects (meta.yaml read with that
    # front end, the project's globals and links); the pipeline; the services that run it for
    # many inputs or over time; the front ends of users (command line, editor, sweeps).
    ("driver: front end", r"fgc\.frontend"),
    ("driver: projects", r"fgc\.project(\.(discovery|globals|meta|link|listing|dynamic_args))?"),
    ("driver: pipeline", r"fgc\.pipeline"),
    ("driver: services", r"fgc(\.(api|analysis(\.\w+)?|project\.batch|workspace(\.\w+)?|result_cache(\.\w+)?))?"),
    ("driver: front ends", r"fgc\.(__main__|cli(\.\w+)?|lsp(\.\w+)?|sweep(\.\w+)?)"),
]
# The order of the stages, earliest first (the config syntax lives in fgc/syntax/ but reads
# rendered text: it comes after rendering).
ORDER = [
    "foundation",
    "template syntax",
    "load",
    "template pass",
    "render",
    "config syntax",
    "semantic passes",
    "imports and signatures",
    "codegen",
    "build",
    "compile-time nodes",
    "runs",
    "driver: front end",
    "driver: projects",
    "driver: pipeline",
    "driver: services",
    "driver: front ends",
]

def stage_of(module: str) -> str:
    for stage, pattern in STAGES:
        if re.fullmatch(pattern, module):
            return stage
    raise AssertionError(f"module `{module}` is in no stage: add it to STAGES in {__file__}")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(FGC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import statement in `path`."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.append((sub if _is_module(sub) else target, node.lineno))
    return out


def _is_module(dotted: str) -> bool:
    path = FGC.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


@functools.cache
def edges() -> list[tuple[str, str, str]]:
    """(importing module, imported module, "file:line") for every import of fgc/ and of forgather."""
    out = []
    for path in sorted(FGC.rglob("*.py")):
        me = module_name(path)
        for target, line in imports_of(path):
            if target.split(".")[0] in ("fgc", "forgather"):
                out.append((me, target, f"{path.relative_to(FGC.parent)}:{line}"))
    return out


def violations(found: list[tuple[str, str, str]]) -> list[str]:
    """The edges that go from a stage to a later one, or into the runtime."""
    bad = []
    for source, target, where in found:
        if target.split(".")[0] == "forgather":
            bad.append(f"{where}: `{source}` imports the runtime `{target}`")
            continue
        s, t = stage_of(source), stage_of(target)
        if ORDER.index(t) > ORDER.index(s):
            bad.append(f"{where}: `{source}` ({s}) imports `{target}` ({t}), a later stage")
    return bad


def test_every_stage_in_order():
    assert sorted(set(ORDER)) == sorted({s for s, _ in STAGES})
    for source, target, _ in edges():
        if target.startswith("fgc"):
            stage_of(source), stage_of(target)  # every module has a stage


def test_imports_go_from_later_stages_to_earlier_ones():
    bad = violations(edges())
    assert not bad, "imports against the stage order:\n" + "\n".join(bad)


# The edges issue 10 named: each must be refused.
@pytest.mark.parametrize(
    "source, target",
    [
        ("fgc.syntax.jinja_check", "fgc.render.environment"),
        ("fgc.syntax.jinja_check", "fgc.render.lower"),
        ("fgc.render", "fgc.passes.template_pass"),
        ("fgc.inheritance.template_pass", "fgc.render.environment"),
        ("fgc.loader", "fgc.render.markers"),
        ("fgc.build", "forgather.ml.models.package"),
        ("fgc.loader", "fgc.syntax.config_parser"),
        ("fgc.syntax.template_parser", "fgc.loader"),
        ("fgc.passes.semantic", "fgc.cli.common"),
        ("fgc.imports", "fgc.codegen.model"),
        ("fgc.codegen.emit", "fgc.compile_time"),
        ("fgc.build", "fgc.compile_time.dynamic_model"),
        # issue 22: the driver's sub-layers
        ("fgc.pipeline", "fgc.project.batch"),
        ("fgc.project.meta", "fgc.pipeline"),
        ("fgc.project.link", "fgc.pipeline"),
        ("fgc.workspace.workspace", "fgc.cli.common"),
        ("fgc.result_cache.command", "fgc.lsp.server"),
    ],
)
def test_a_backward_edge_is_refused(source, target):
    assert violations([(source, target, "synthetic:1")]), f"{source} -> {target} was allowed"


def test_forward_edges_are_allowed():
    assert not violations(
        [
            ("fgc.render.errors", "fgc.syntax.jinja_check", "synthetic:1"),
            ("fgc.syntax.config_parser", "fgc.sourcemap", "synthetic:2"),
            ("fgc.cli.render", "fgc.render", "synthetic:3"),
            ("fgc.syntax.config_parser", "fgc.render.markers", "synthetic:4"),
        ]
    )


def test_relative_imports_resolve():
    names = {t for _, t, _ in edges()}
    assert "fgc.syntax.config_ast" in names  # `from ..syntax import config_ast` in fgc/cli/parse.py
    assert "fgc.version" in names


# No two modules of fgc/ import each other, directly or around a cycle (an import inside a
# function or under TYPE_CHECKING counts: it is a dependency all the same). Where two need each
# other, the shared definitions belong in the lower one, or the higher one passes a callable
# down, or the module that does two jobs is split (fgc/lsp/main.py puts the server and its
# features together above both).


def import_cycles(found: list[tuple[str, str, str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    graph: dict[str, set[str]] = {}
    for source, target, _ in found:
        if target.startswith("fgc") and source != target:
            graph.setdefault(source, set()).add(target)
            graph.setdefault(target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        cycles.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return cycles


def test_no_import_cycle():
    cycles = [sorted(c) for c in import_cycles(edges())]
    assert not cycles, "modules of fgc/ that import each other (directly or around a cycle):\n" + "\n".join(map(str, cycles))


def test_a_cycle_is_found():
    found = [("fgc.a", "fgc.b", ""), ("fgc.b", "fgc.c", ""), ("fgc.c", "fgc.a", ""), ("fgc.c", "fgc.d", "")]
    assert import_cycles(found) == [{"fgc.a", "fgc.b", "fgc.c"}]
    assert import_cycles([("fgc.a", "fgc.b", ""), ("fgc.b", "fgc.c", "")]) == []
