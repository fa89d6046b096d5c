"""Project conformance cases: tests/cases/projects/*.txt (format: the docstring there).

A case's first file is a project's meta.yaml; the case compiles its config (`--- expect config`,
else the default) and pairs the diagnostics, of meta.yaml and of the config, with the inline
expectations. `--- expect graph-has` is a fragment that the config's graph.json must contain.
"""

from __future__ import annotations

import json

import pytest
from casefile import all_cases, check_diagnostics, params

from fgc.pipeline import compile_file
from fgc.project import load_project

CASES = all_cases("projects")


def test_enough_cases():
    assert len(CASES) >= 10


@pytest.mark.parametrize("case", params(CASES))
def test_case(case, tmp_path):
    meta = case.write(tmp_path)
    assert meta.name == "meta.yaml", f"{case}: the first file must be a project's meta.yaml"
    project, diags = load_project(meta.parent)
    comp = None
    if project is not None:
        config = case.expect.get("config", "").strip() or None
        path, missing = project.config_file(config)
        diags += missing
        if path is not None:
            comp = compile_file(path, project.include_dirs, {}, globals=project.globals, import_modules=False)
            diags += comp.diagnostics
    check_diagnostics(case, diags, tmp_path)
    if "graph-has" in case.expect:
        assert comp is not None and comp.graph is not None
        text = json.dumps(comp.graph.to_json())
        assert case.expect["graph-has"].strip() in text, text
