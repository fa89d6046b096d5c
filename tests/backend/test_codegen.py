"""Properties of the generated module: readable names that never shadow imports or keywords,
construct()'s signature, lazy singletons, and errors carrying template positions."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import fgc


def compile_text(tmp_path: Path, text: str, files: dict[str, str] | None = None):
    (tmp_path / "exp.fg").write_text(text)
    for name, body in (files or {}).items():
        (tmp_path / name).write_text(body)
    build = fgc.compile(tmp_path / "exp.fg", tmp_path / "build")
    return build, build.load(), build.config_py.read_text()


def members(source: str) -> set[str]:
    tree = ast.parse(source)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Construction")
    return {f.name for f in cls.body if isinstance(f, ast.FunctionDef)}


def test_member_names_from_name_anchor_and_key(tmp_path):
    _, _, src = compile_text(
        tmp_path,
        """\
.define: &shared_thing !singleton:dict {}
main: !singleton:dict
  a: !singleton:dict@named_one { x: *shared_thing }
  b: *shared_thing
  inline: !singleton:dict {}
""",
    )
    assert {"main", "named_one", "shared_thing"} <= members(src)
    assert "inline" not in members(src)  # used once, unnamed: written inline
    assert "dict(x=self.shared_thing)" in src and "b=self.shared_thing" in src


def test_names_never_shadow_imports_or_keywords(tmp_path):
    _, config, src = compile_text(
        tmp_path,
        """\
Fraction: !singleton:fractions:Fraction@Fraction [1, 2]
class: !singleton:dict@class {}
construct: !singleton:dict@construct {}
main: 1
""",
    )
    names = members(src)
    assert "class" not in names and "class_" in names
    assert "Fraction" not in names  # the imported class keeps its name
    assert "construct" not in names
    assert "from fractions import Fraction" in src
    assert config.construct(("Fraction", "class", "construct")) == (
        __import__("fractions").Fraction(1, 2),
        {},
        {},
    )


def test_construct_signature(tmp_path):
    _, config, _ = compile_text(
        tmp_path,
        """\
main: !singleton:dict
  a: !var { name: lr, default: 0.1 }
  b: !var steps
  c: !var { name: layers, default: [1, 2] }
""",
    )
    sig = inspect.signature(config.construct)
    params = sig.parameters
    assert list(params) == ["target", "lr", "steps", "layers"]
    assert params["target"].kind is inspect.Parameter.POSITIONAL_ONLY and params["target"].default == "main"
    assert params["lr"].kind is inspect.Parameter.KEYWORD_ONLY and params["lr"].default == 0.1
    assert repr(params["steps"].default) == "REQUIRED"
    assert repr(params["layers"].default) == "DEFAULT"
    assert config.VARIABLES["steps"]["required"] is True
    assert config.VARIABLES["layers"]["default"] == [1, 2]
    a = config.construct(steps=1)
    b = config.construct(steps=1)
    assert a == {"a": 0.1, "b": 1, "c": [1, 2]} and a["c"] is not b["c"]  # a fresh default per construction
    with pytest.raises(TypeError):
        config.construct(stpes=1)


def test_singletons_are_lazy(tmp_path):
    _, config, _ = compile_text(
        tmp_path,
        """\
boom: !singleton:.m:explode []
main: !singleton:dict { ok: 1 }
""",
        {"m.py": "def explode():\n    raise RuntimeError('built')\n"},
    )
    assert config.construct() == {"ok": 1}  # `boom` is not in main's closure: never built
    with pytest.raises(RuntimeError):
        config.construct("boom")


def test_error_notes_name_every_node_innermost_first(tmp_path):
    _, config, _ = compile_text(
        tmp_path,
        """\
main: !singleton:dict
  outer: !singleton:named_list
    - !singleton:.m:explode [3]
""",
        {"m.py": "def explode(n):\n    raise RuntimeError(f'n={n}')\n"},
    )
    with pytest.raises(RuntimeError) as info:
        config.construct()
    assert info.value.fgc_origins == [
        ("exp.fg", 3, 7, "!singleton:.m:explode"),
        ("exp.fg", 2, 10, "!singleton:named_list"),
        ("exp.fg", 1, 7, "!singleton:dict"),
    ]
    assert info.value.__notes__[0] == "  while building !singleton:.m:explode (exp.fg:3:7)"


def test_origins_point_at_the_generated_code(tmp_path):
    _, config, src = compile_text(
        tmp_path,
        """\
opt: &opt !partial:operator:mul [2]
main: !singleton:dict
  x: !singleton:abs [-3]
  y: !call:call [*opt, 21]
""",
    )
    lines = src.splitlines()
    assert {row[4] for row in config.ORIGINS} == {"exp.fg"}
    starts = {what: lines[l0 - 1][c0:] for l0, c0, *_, what in config.ORIGINS}
    assert starts["!singleton:abs"].startswith("abs(")
    assert starts["!partial:operator:mul"].startswith("partial(mul, 2)")
    assert config.construct() == {"x": 3, "y": 42}


def test_unknown_target(tmp_path):
    _, config, _ = compile_text(tmp_path, "main: 1\nother: 2\n")
    with pytest.raises(Exception, match=r"no target `mian` .*did you mean `main`"):
        config.construct("mian")


def test_compilation_never_calls_the_config(tmp_path):
    (tmp_path / "exp.fg").write_text("main: !singleton:.side:touch []\nother: !partial:.side:touch\n")
    (tmp_path / "side.py").write_text(
        "from pathlib import Path\n\ndef touch():\n    Path(__file__).with_name('called').touch()\n    return 'built'\n"
    )
    assert fgc.check(tmp_path / "exp.fg") == []
    build = fgc.compile(tmp_path / "exp.fg", tmp_path / "build")
    assert not (tmp_path / "called").exists()
    assert build.load().construct() == "built"


def test_edited_local_module_is_read_again(tmp_path):
    (tmp_path / "exp.fg").write_text("main: !singleton:.m:f { a: 1 }\n")
    (tmp_path / "m.py").write_text("def f(a):\n    return a\n")
    assert fgc.check(tmp_path / "exp.fg") == []
    (tmp_path / "m.py").write_text("def f(b):\n    return b\n\n# longer\n")
    assert [d.code for d in fgc.check(tmp_path / "exp.fg")] == ["FG0611", "FG0610"]
