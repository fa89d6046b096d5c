"""Template-layer conformance cases: tests/cases/templates/*.txt (format: harness.py)."""

from __future__ import annotations

import pytest
from casefile import all_cases, check_diagnostics, params

from fgc.render import render_file
from fgc.syntax.jinja_source import lower_chunk
from fgc.syntax.template_ast import SubTemplate, dump
from fgc.syntax.template_parser import parse_template

from .harness import normalize_origins, origin_lines, relative, write_case

CASES = all_cases("templates")


def test_enough_cases():
    assert len(CASES) >= 110


@pytest.mark.parametrize("case", params(CASES))
def test_case(case, tmp_path):
    path, options = write_case(case, tmp_path)
    expect = case.expect
    assert set(expect) <= {"render", "origins", "ast", "jinja", "reference"}, case
    if "ast" in expect or "jinja" in expect:
        text = path.read_text(encoding="utf-8")
        template, _ = parse_template(text, str(path), path.name)
        if "ast" in expect:
            got = dump(template).replace(str(tmp_path) + "/", "")
            assert got.rstrip("\n") == expect["ast"].rstrip("\n")
        if "jinja" in expect:
            chunks = []
            for chunk in template.chunks:
                if isinstance(chunk, SubTemplate):
                    chunks.append(f"#--- {chunk.name} ---")
                chunks.append(lower_chunk(chunk))
            assert "\n".join(chunks) == expect["jinja"]
    if not ({"render", "origins"} & set(expect) or case.diagnostics):
        return
    result = render_file(path, options.include_dirs, options.variables)
    check_diagnostics(case, result.diagnostics, tmp_path)
    if "render" in expect:
        assert result.text is not None, "\n".join(str(d) for d in result.diagnostics)
        assert result.text == expect["render"]
    if "origins" in expect:
        assert result.text is not None
        assert origin_lines(result, tmp_path) == normalize_origins(expect["origins"])
    if result.text is not None:
        # Every template file the render used is reported (the build copies them).
        used = {relative(str(p), tmp_path) for p in result.templates}
        assert case.input in used
