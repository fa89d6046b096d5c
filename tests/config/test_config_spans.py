"""Positions through a rendered source map: the config layer reports template positions."""

from __future__ import annotations

import itertools

from fgc.sourcemap import Origin, SourceMap
from fgc.syntax.config_ast import dump
from fgc.syntax.config_parser import parse_config
from fgc.syntax.config_spans import SpanMapper


def rendered_map() -> tuple[str, SourceMap]:
    """Rendered text from two templates: some lines verbatim, one with a substituted value,
    one re-indented (as an include with indentation would), one without an origin."""
    base = ["model:", "  hidden: {{ h }}", "  layers: 2"]
    child = ["-- extends 'base.fg'", "opt: !partial:torch.optim:SGD", "lr: [0.1,", "x: 1"]
    rendered = ["model:", "  hidden: 64", "  layers: 2", "opt: !partial:torch.optim:SGD", "    lr: [0.1,", "x: 1", "y: 2"]
    origins = [
        (Origin("/t/base.fg", 1),), (Origin("/t/base.fg", 2),), (Origin("/t/base.fg", 3),),
        (Origin("/t/child.fg", 2),), (Origin("/t/child.fg", 3),), (Origin("/t/child.fg", 4),), (),
    ]
    sm = SourceMap(origins, rendered, {"/t/base.fg": base, "/t/child.fg": child}, "<rendered>")
    return "\n".join(rendered), sm


def test_span_mapper_equals_source_map():
    _, sm = rendered_map()
    mapper = SpanMapper(sm)
    for line, end_line in itertools.product(range(1, 8), repeat=2):
        if end_line < line:
            continue
        for col, end_col in itertools.product(range(1, 14, 3), repeat=2):
            assert mapper.to_span(line, col, end_line, end_col) == sm.to_span(line, col, end_line, end_col)


def test_diagnostics_and_nodes_point_into_templates():
    text, sm = rendered_map()
    document, diagnostics = parse_config(text, sm)
    # `lr: [0.1,` (re-indented on its way into the rendered text) is unterminated: the error
    # is reported in child.fg, at the column of the template's own text.
    assert [str(d) for d in diagnostics] == [
        "/t/child.fg:3:10: error[FG0405]: unterminated flow sequence: expected `,` or `]`"
    ]
    lines = [line.strip() for line in dump(document).splitlines()]
    assert "value: scalar plain 64 @2:11-2:13" in lines  # the rendered `64` sits on `{{ h }}`
    assert "key: scalar plain 'lr' @child.fg:3:1-3:3" in lines  # re-indented: template columns
    assert any(line.startswith("value: tagged !partial:torch.optim:SGD") and "@child.fg:2:6-" in line
               for line in lines)
