"""Back-end conformance cases: tests/cases/backend/*.txt (format: harness.py)."""

from __future__ import annotations

import json
import random

import pytest
from casefile import all_cases, check_diagnostics, params

from fgc.build import load, write_build
from fgc.imports.locate import forget_local_modules
from fgc.pipeline import compile_file

from .canon import canon
from .harness import write_case
from .interp import Interpreter

CASES = all_cases("backend")


def test_enough_cases():
    assert len(CASES) >= 100


def _construct(fn):
    """(value, None) or (None, exception)."""
    try:
        return fn(), None
    except Exception as e:  # compared between the two implementations
        return None, e


@pytest.mark.parametrize("case", params(CASES))
def test_case(case, tmp_path):
    path, options = write_case(case, tmp_path)
    expect = case.expect
    assert set(expect) <= {"graph", "construct", "error"}, case
    comp = compile_file(path, options.include_dirs, options.defines, import_modules=not options.no_import)
    check_diagnostics(case, comp.diagnostics, tmp_path)
    if "graph" in expect:
        assert comp.graph is not None
        assert comp.graph.to_json() == json.loads(expect["graph"])
    if not comp.ok:
        assert "construct" not in expect and "error" not in expect, "the case does not compile"
        return
    forget_local_modules()
    build, failed = write_build(comp, tmp_path / "build")
    assert build is not None, failed
    module, load_error = _construct(lambda: load(build.dir))
    if load_error is not None:  # config.py imports every callable's module when it is loaded
        assert "error" in expect, repr(load_error)
        kind, _, text = expect["error"].strip().partition(": ")
        assert type(load_error).__name__ == kind and text in str(load_error), repr(load_error)
        return
    graph = json.loads((build.dir / "graph.json").read_text())
    node_dirs = {nid: node.template_dir for node, nid in comp.graph.node_ids().items()}
    random_used = any((n["callable"] or "").startswith("random:") for n in graph["nodes"].values())
    for target in graph["targets"]:
        random.seed(0)
        got, got_err = _construct(lambda: module.construct(target, **options.variables))
        random.seed(0)
        interp = Interpreter(graph, str(path.parent), options.variables, node_dirs)
        want, want_err = _construct(lambda: interp.target(target))
        assert (got_err is None) == (want_err is None), f"target {target}: {got_err!r} vs {want_err!r}"
        if got_err is None:
            assert canon(got, random_used) == canon(want, random_used), f"target {target}"
    if "construct" in expect or "error" in expect:
        random.seed(0)
        got, err = _construct(lambda: module.construct("main", **options.variables))
        if "construct" in expect:
            assert err is None, repr(err)
            assert repr(got) == expect["construct"].strip()
        else:
            assert err is not None, f"expected an error, got {got!r}"
            kind, _, text = expect["error"].strip().partition(": ")
            assert type(err).__name__ == kind and text in str(err), repr(err)
