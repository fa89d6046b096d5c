"""Compilation is re-entrant: two threads compiling different inputs at the same time get
exactly what each input gets when compiled alone (diagnostics, rendered text and its source
map, the config graph, the generated module).

The inputs are the conformance cases' (tests/cases/templates and tests/cases/backend), written
to one directory per case; each thread compiles its own half of them, several rounds over.

CPython 3.11 converts between Python AST objects and its internal AST with a recursion
counter kept per interpreter, not per thread (python/cpython#106905), so two threads in
`ast.parse` or `compile(tree)` at once can fail with "SystemError: AST constructor recursion
depth mismatch". This test found that through fgc's code generator; the compiler now makes
every such call through `fgc/pyast.py`, which lets one thread at a time in, and this test runs
the compilations with nothing serialised by the test itself.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # casefile and the harnesses

from casefile import all_cases  # noqa: E402

from fgc.pipeline import compile_file  # noqa: E402
from fgc.sourcemap import SourceMap  # noqa: E402
from fgc.syntax.config_parser import parse_config  # noqa: E402
from fgc.syntax.template_parser import parse_template  # noqa: E402

ROUNDS = {"parse": 4, "pipeline": 2}  # rounds over each thread's inputs


def _outcome(comp, root: Path) -> tuple:
    """Everything a compilation produced, as plain data with paths relative to root."""
    prefix = str(root) + os.sep

    def rel(text):
        return text.replace(prefix, "") if isinstance(text, str) else text

    diagnostics = [
        (d.code, str(d.severity), rel(d.message), rel(d.hint),
         (rel(d.span.file), d.span.line, d.span.col, d.span.end_line, d.span.end_col) if d.span else None)
        for d in comp.diagnostics
    ]
    render = comp.front.render
    rendered = None
    if render is not None and render.text is not None:
        origins = [[(rel(o.file), o.line) for o in line] for line in render.source_map.origins]
        rendered = (render.text, origins)
    graph = comp.graph.to_json() if comp.graph is not None else None
    code = comp.generated.text if comp.generated is not None else None
    return diagnostics, rendered, rel(graph and repr(graph)), rel(code)


def _inputs(tmp_path: Path) -> list[tuple[str, Path, Path, dict]]:
    from backend.harness import write_case as write_backend
    from templates.harness import write_case as write_template

    out = []
    for area, write in (("templates", write_template), ("backend", write_backend)):
        for i, case in enumerate(all_cases(area)):
            root = tmp_path / area / str(i)
            path, options = write(case, root)
            variables = getattr(options, "variables", None) if area == "templates" else options.defines
            out.append((case.source, root, path, {
                "include_dirs": options.include_dirs,
                "variables": variables,
                "import_modules": not getattr(options, "no_import", False),
            }))
    return out


def _compile(item) -> tuple:
    _, root, path, options = item
    comp = compile_file(path, options["include_dirs"], options["variables"],
                        import_modules=options["import_modules"], use_black=False)
    return _outcome(comp, root)


def _run_concurrently(work: list[list], fn, rounds: int) -> list[dict]:
    """Run fn over each list of items in its own thread; {item name: [outcome per round]}."""
    results: list[dict] = [{} for _ in work]
    errors: list[str] = []
    start = threading.Barrier(len(work))

    def worker(k: int) -> None:
        try:
            start.wait()
            for _ in range(rounds):
                for item in work[k]:
                    results[k].setdefault(item[0], []).append(fn(item))
        except BaseException:  # reported below, with the thread's traceback
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(work))]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so that the compilations interleave
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, "\n".join(errors)
    return results


def _compare(work, results, serial) -> None:
    for k, items in enumerate(work):
        for item in items:
            for got in results[k][item[0]]:
                assert got == serial[item[0]], f"{item[0]}: a concurrent compilation differs from the serial one"


def test_parsers_are_reentrant():
    """Template and config parses of different texts, in two threads at once."""
    templates = [(c.source, c.files[c.input]) for c in all_cases("templates")]
    documents = [(c.source, c.files[c.input]) for c in all_cases("config")]

    def template(item):
        name, text = item
        ast, diagnostics = parse_template(text, "t.fg", "t.fg")
        return repr(ast), [str(d) for d in diagnostics]

    def config(item):
        name, text = item
        doc, diagnostics = parse_config(text, SourceMap.identity("c.yaml", text))
        return repr(doc), [str(d) for d in diagnostics]

    items = [(n, (n, t), template) for n, t in templates] + [(n, (n, t), config) for n, t in documents]
    serial = {name: fn(arg) for name, arg, fn in items}
    work = [items[0::2], items[1::2][::-1]]
    results = _run_concurrently(work, lambda item: item[2](item[1]), ROUNDS["parse"])
    _compare(work, results, serial)


def test_pipeline_is_reentrant(tmp_path):
    """Whole compilations (render, config parse, passes, imports, codegen) in two threads."""
    items = _inputs(tmp_path)
    serial = {item[0]: _compile(item) for item in items}
    work = [items[0::2], items[1::2][::-1]]
    results = _run_concurrently(work, _compile, ROUNDS["pipeline"])
    _compare(work, results, serial)
