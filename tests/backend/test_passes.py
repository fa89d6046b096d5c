"""Pass-level behaviour that the case files do not show: override records for tools, override
notes on request, and node spans for positions."""

from __future__ import annotations

from fgc.passes.semantic import analyze
from fgc.pipeline import frontend


def test_overrides_recorded_with_every_span(tmp_path):
    (tmp_path / "base.fg").write_text("[opt]\nmain: !singleton:dict\n    lr: 0.1\n    eps: 1\n")
    (tmp_path / "exp.fg").write_text("-- extends 'base.fg'\n[opt]\n    == super()\n    lr: 0.2\n    lr: 0.3\n")
    front = frontend(tmp_path / "exp.fg")
    graph, diags = analyze(front.document)
    assert diags == []
    (ov,) = graph.overrides
    assert ov.key == "lr"
    assert (ov.kept.file.endswith("base.fg"), ov.kept.line) == (True, 3)
    assert (ov.winner.file.endswith("exp.fg"), ov.winner.line) == (True, 5)
    assert [(s.file.rsplit("/", 1)[-1], s.line) for s in ov.overridden] == [("base.fg", 3), ("exp.fg", 4)]
    node = graph.values["main"]
    assert node.kwargs == {"lr": 0.3, "eps": 1}
    assert node.kwarg_spans["lr"].line == 5 and node.kwarg_spans["lr"].file.endswith("exp.fg")

    graph, diags = analyze(front.document, override_notes=True)
    (note,) = diags
    assert note.code == "FG0505" and str(note.severity) == "note"
    assert "`lr` is written 3 times" in note.message
    assert [r.message for r in note.related] == ["overridden here", "overridden here"]


def test_tag_and_argument_spans(tmp_path):
    (tmp_path / "exp.fg").write_text("main: !singleton:operator:add\n  arg1: 2\n  arg0: 1\n")
    graph, _ = analyze(frontend(tmp_path / "exp.fg").document)
    node = graph.values["main"]
    assert (node.span.line, node.span.col, node.span.end_col) == (1, 7, 30)
    assert node.args == [1, 2]
    assert [(s.line, s.col) for s in node.arg_spans] == [(3, 3), (2, 3)]
    assert graph.target_spans["main"].line == 1
