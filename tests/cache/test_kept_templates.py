"""fgc.render with the jinja2 trees, compiled code and knob reads kept on disk: a warm rendering,
one whose compiled code was trimmed, and one whose kept trees are damaged all give what a cold
one gives (text, source map, knob reads, diagnostics)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fgc.render import render_file

BASE = """\
-- set lr = 0.1
-- set unused = 3
-- include "inc.yaml"
{% block opt %}
optimizer: !partial:torch.optim:SGD
    lr: {{ lr }}
{% endblock opt %}
"""
INC = "width: {{ width | default(4) }}\n"
EXP = """\
-- extends "base.yaml"
-- set lr = 0.5
-- block opt
optimizer: !partial:torch.optim:SGD
    lr: {{ lr * 2 }}
-- endblock
"""


def outcome(path: Path) -> tuple:
    r = render_file(path, variables={"width": 8})
    return r.text, r.source_map.origins if r.source_map else None, r.reads, r.diagnostics


@pytest.mark.parametrize("damage", ["warm", "no code", "damaged trees"])
def test_kept_templates_render_as_cold(tmp_path, monkeypatch, damage):
    for name, text in (("base.yaml", BASE), ("inc.yaml", INC), ("exp.yaml", EXP)):
        (tmp_path / name).write_text(text)
    monkeypatch.setenv("FGC_CACHE_DIR", str(tmp_path / "cache"))
    cold = outcome(tmp_path / "exp.yaml")
    kept = tmp_path / "cache" / "templates"
    assert any(p.name.startswith("tree-") for p in kept.iterdir())
    assert any(p.name.startswith("reads-") for p in kept.iterdir())
    if damage != "warm":
        for p in kept.glob("*.code"):
            p.unlink()
    if damage == "damaged trees":
        for p in kept.glob("reads-*"):
            p.unlink()
        for p in kept.glob("tree-*"):
            p.write_bytes(b"damaged")
    assert outcome(tmp_path / "exp.yaml") == cold
    assert cold[0] is not None and "lr: 0.2" in cold[0] and "width: 8" in cold[0]
    assert any(d.code == "FG0208" for d in cold[3])  # `unused` is read by no template
