"""One result convention (docs/architecture.md, "Stage results and types"): every stage returns
its output with its diagnostics, a `Result` or a record with `diagnostics` and `ok`, and a
user's error is a diagnostic, never an exception, up to writing the build."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from pathlib import Path

import pytest

from fgc.build import write_build
from fgc.diagnostics import Result, error
from fgc.pipeline import backend, compile_file, frontend

# (module, entry function, its return annotation): the stages in pipeline order.
STAGES = [
    ("fgc.syntax.template_parser", "parse_template", "Result[Template]"),
    ("fgc.inheritance.template_pass", "template_pass", "Result[TemplateGraph]"),
    ("fgc.render", "render_file", "RenderResult"),
    ("fgc.syntax.config_parser", "parse_config", "Result[Document]"),
    ("fgc.passes.semantic", "analyze", "Result[Graph]"),
    ("fgc.imports", "resolve_imports", "Result[Imports]"),
    ("fgc.codegen.compile_time_node", "plan_compile_time", "Result[CompileTimePlan]"),
    ("fgc.build", "write_build", "Result[Build | None]"),
    ("fgc.pipeline", "frontend", "Frontend"),
    ("fgc.pipeline", "backend", "Compilation"),
]
RECORDS = [("fgc.render", "RenderResult"), ("fgc.pipeline", "Frontend"), ("fgc.pipeline", "Compilation")]


@pytest.mark.parametrize("module, name, returns", STAGES, ids=[f"{m}.{n}" for m, n, _ in STAGES])
def test_each_stage_returns_a_result(module: str, name: str, returns: str) -> None:
    fn = getattr(importlib.import_module(module), name)
    assert inspect.signature(fn).return_annotation == returns


@pytest.mark.parametrize("module, name", RECORDS, ids=[n for _, n in RECORDS])
def test_records_of_several_outputs_carry_diagnostics_and_ok(module: str, name: str) -> None:
    cls = getattr(importlib.import_module(module), name)
    assert "diagnostics" in {f.name for f in dataclasses.fields(cls)}
    assert isinstance(inspect.getattr_static(cls, "ok"), property)


def test_a_result_unpacks_and_says_ok() -> None:
    value, diags = Result(1, [])
    assert (value, diags, Result(1, []).ok) == (1, [], True)
    assert not Result(None, [error("FG0001", "x")]).ok


def _compiled(tmp_path: Path, text: str = "main: !singleton:builtins:dict { a: 1 }\n"):
    (tmp_path / "exp.fg").write_text(text)
    comp = compile_file(tmp_path / "exp.fg", use_black=False)
    assert comp.ok, comp.diagnostics
    return comp


def test_writing_a_build_where_other_files_are_is_a_diagnostic(tmp_path: Path) -> None:
    comp = _compiled(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    built = write_build(comp, out)
    assert built.value is None and [d.code for d in built.diagnostics] == ["FG0701"]
    assert "not an fgc build" in built.diagnostics[0].message
    assert [p.name for p in out.iterdir()] == ["notes.txt"] and (out / "notes.txt").read_text() == "mine"


def test_a_written_build_is_the_value(tmp_path: Path) -> None:
    built = write_build(_compiled(tmp_path), tmp_path / "out")
    assert built.ok and built.diagnostics == []
    assert built.value is not None and built.value.dir == (tmp_path / "out").absolute()
    assert built.value.load().construct("main") == {"a": 1}


def test_a_stage_after_an_error_does_not_run(tmp_path: Path) -> None:
    (tmp_path / "exp.fg").write_text("main: !singleton:builtins:dict { a: *nowhere }\n")
    front = frontend(tmp_path / "exp.fg")
    assert front.ok and front.document is not None  # the YAML parses; the alias is a semantic error
    comp = backend(front, use_black=False)
    assert not comp.ok and comp.graph is not None
    assert (comp.imports, comp.compile_time, comp.generated) == (None, None, None)
    assert [d.code for d in comp.diagnostics if d.is_error] == ["FG0501"]
