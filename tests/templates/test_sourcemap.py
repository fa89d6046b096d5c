"""The source map on a large generated hierarchy, and columns through spliced values.

Three levels of extends with super(), a macro library, loops, `##` comments and `{{ }}`
values (the benchmark's generator). Every rendered line that comes from a plain text line must
be that line; every line from a line with Jinja must share its text outside the Jinja.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from fgc.render import render_file

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from bench_templates import generate  # noqa: E402

_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


def test_every_line_maps_to_its_source(tmp_path):
    result = render_file(generate(tmp_path, 12))
    assert not result.diagnostics
    smap = result.source_map
    sources = {path: Path(path).read_text().split("\n") for path in {str(p) for p in result.templates}}
    checked = 0
    for text, origins in zip(smap.rendered_lines, smap.origins):
        if not text.strip():
            continue
        assert origins, f"no origin for {text!r}"
        origin = origins[0]
        source = sources[origin.file][origin.line - 1]
        source = source.split(" ##")[0].rstrip()
        if "{" not in source:
            assert text == source
        else:
            # The literal text around each `{{ }}` is there, in order.
            pos = 0
            for piece in _JINJA.split(source):
                found = text.find(piece, pos)
                assert found >= 0, (text, source)
                pos = found + len(piece)
        checked += 1
    assert checked > 300


def test_columns_through_a_spliced_value(tmp_path):
    (tmp_path / "base.fg").write_text("-- set ns = namespace(mod='torch.optim')\n[opt]\n")
    (tmp_path / "main.fg").write_text(
        "-- extends 'base.fg'\n[opt]\n    optimizer: !partial:{{ ns.mod }}:AdamW @opt  ## note\n"
    )
    result = render_file(tmp_path / "main.fg")
    smap = result.source_map
    (n,) = [i + 1 for i, line in enumerate(smap.rendered_lines) if "optimizer" in line]
    rendered = smap.rendered_lines[n - 1]
    assert rendered == "    optimizer: !partial:torch.optim:AdamW @opt"
    source = (tmp_path / "main.fg").read_text().split("\n")[2]

    def col(word: str) -> int:
        c = rendered.index(word) + 1
        span = smap.to_span(n, c, n, c + len(word))
        assert (Path(span.file).name, span.line) == ("main.fg", 3)
        return span.col

    assert col("optimizer") == source.index("optimizer") + 1  # before the splice
    assert col("AdamW") == source.index("AdamW") + 1  # after it
    assert col("@opt") == source.index("@opt") + 1
    assert col("torch") == source.index("{{") + 1  # inside it: the expression


def test_blank_line_maps_to_the_line_before(tmp_path):
    (tmp_path / "main.fg").write_text("a: 1\n\n")
    result = render_file(tmp_path / "main.fg")
    assert result.text == "a: 1\n"
    span = result.source_map.to_span(2, 1, 2, 1)
    assert (span.line, span.col) == (1, 5)
