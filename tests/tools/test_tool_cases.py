"""The data-driven cases of the experiment tools: tests/cases/tools/*.txt.

    overrides.txt   `--override` values, and the diagnostics of bad ones at <command line>:N:COL
    explain.txt     `fgc explain` output: the chain of lines that set a value, most recent first
    diff.txt        `fgc diff` output and exit code

Run through the functions the commands call (tests/tools/test_tools_cli.py runs the real CLI).
"""

from __future__ import annotations

import argparse
import re
import shlex
from contextlib import ExitStack
from pathlib import Path

import pytest
from casefile import Case, all_cases, check_diagnostics, params

from fgc.cli.diff import readable as diff_text
from fgc.cli.experiment_input import load_experiment
from fgc.cli.explain import explain, readable as explain_text, show_value
from fgc.analysis.graph_diff import diff_graphs
from fgc.imports.locate import forget_local_modules
from fgc.passes.config_paths import locate, parse_path
from fgc.passes.overrides import COMMAND_LINE, parse_overrides
from fgc.pipeline import compile_file

CASES = all_cases("tools")
OVERRIDE_CASES = [c for c in CASES if c.source.startswith("cases/tools/overrides.txt")]
EXPLAIN_CASES = [c for c in CASES if any(k.startswith("explain ") for k in c.expect)]
DIFF_CASES = [c for c in CASES if any(k.startswith("diff ") for k in c.expect)]
_COMMAND_LINE_EXPECTATION = re.compile(r"^(\d+)(?::(\d+))?: (error|warning|note)\[(FG\d+)\]: ?(.*)$")


def test_enough_cases() -> None:
    assert len(OVERRIDE_CASES) >= 20 and len(EXPLAIN_CASES) >= 8 and len(DIFF_CASES) >= 6


def _write(case: Case, root: Path) -> Path:
    for name, text in case.files.items():
        if name != "ARGS":
            (root / name).write_text(text, encoding="utf-8")
    return root / case.input


def _args(case: Case) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--override", dest="overrides", action="append", default=[])
    p.add_argument("-D", dest="defines", action="append", default=[])
    ns = p.parse_args(shlex.split(case.files.get("ARGS", "")))
    ns.include_dirs, ns.config, ns.file = [], None, None
    return ns


@pytest.mark.parametrize("case", params(OVERRIDE_CASES))
def test_override_case(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = _write(case, tmp_path)
    forget_local_modules()
    overrides = parse_overrides(_args(case).overrides)
    comp = compile_file(path, overrides=overrides, stop_after="imports")
    on_command_line = [d for d in comp.diagnostics if d.span and d.span.file == COMMAND_LINE]
    check_diagnostics(case, [d for d in comp.diagnostics if d not in on_command_line], tmp_path)
    expected = [line for line in case.expect.get("command-line", "").splitlines() if line.strip()]
    assert len(on_command_line) == len(expected), [str(d) for d in on_command_line]
    for d, line in zip(on_command_line, expected):
        m = _COMMAND_LINE_EXPECTATION.match(line)
        assert m, f"{case.source}: malformed expectation {line!r}"
        n, col, severity, code, pattern = m.groups()
        assert d.span is not None and d.span.line == int(n) and (col is None or d.span.col == int(col)), str(d)
        assert (str(d.severity), d.code) == (severity, code), str(d)
        text = d.message + (f" ({d.hint})" if d.hint else "")
        assert re.search(pattern, text, re.S), f"/{pattern}/ not in {text!r}"
        assert any("--override" in r.message for r in d.related), "the note quoting the override"
    for key, want in case.expect.items():
        if key.startswith("value "):
            assert comp.ok, [str(d) for d in comp.diagnostics]
            assert comp.graph is not None
            assert show_value(locate(comp.graph, parse_path(key.split(" ", 1)[1])).value) == want


@pytest.mark.parametrize("case", params(EXPLAIN_CASES))
def test_explain_case(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = _write(case, tmp_path)
    args = _args(case)
    for key, want in case.expect.items():
        if not key.startswith("explain "):
            continue
        with load_experiment(path.name, args) as exp:
            assert exp.ok, [str(d) for d in exp.diagnostics]
            assert explain_text(explain(exp, key.split(" ", 1)[1])) == want + "\n"


@pytest.mark.parametrize("case", params(DIFF_CASES))
def test_diff_case(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _write(case, tmp_path)
    args = _args(case)
    for key, want in case.expect.items():
        if not key.startswith("diff "):
            continue
        a_name, b_name = key.split()[1:]
        with ExitStack() as stack:
            a = stack.enter_context(load_experiment(a_name, args))
            b = stack.enter_context(load_experiment(b_name, args))
            assert a.ok and b.ok, [str(d) for d in a.diagnostics + b.diagnostics]
            assert a.comp.graph is not None and b.comp.graph is not None
            changes = diff_graphs(a.comp.graph, b.comp.graph)
            assert diff_text(a, b, changes) == want + "\n"
            assert (1 if changes else 0) == int(case.expect.get("exit", "1"))
