"""The package installs as designed: console script, version, data directories, diagnostics."""

import json
import subprocess
import sys

import fgc
from fgc import resources
from fgc.diagnostics import Span, error, render_human, render_json


def test_version_and_help():
    out = subprocess.run([sys.executable, "-m", "fgc", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.strip() == f"fgc {fgc.__version__}"
    out = subprocess.run([sys.executable, "-m", "fgc", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "fgc compile" in out.stdout


def test_bad_command_line_exits_2():
    out = subprocess.run([sys.executable, "-m", "fgc", "no-such-command"], capture_output=True, text=True)
    assert out.returncode == 2


def test_data_directories_found():
    assert (resources.grammar_dir() / "template.lark").is_file()
    assert resources.stdlib_dir().is_dir()


def test_diagnostic_renderers(tmp_path):
    f = tmp_path / "a.fg"
    f.write_text("optimizer: !partial:torch.optim:AdamW\n  lrr: 1.0e-3\n")
    d = error("FG0601", "unknown argument `lrr`", Span(str(f), 2, 3, 2, 6), hint="did you mean `lr`?")
    text = render_human([d])
    assert "error[FG0601]: unknown argument `lrr`" in text
    assert "  lrr: 1.0e-3" in text and "  ^^^" in text and "did you mean `lr`?" in text
    obj = json.loads(render_json([d]))
    assert (obj["line"], obj["col"], obj["end_line"], obj["end_col"]) == (2, 3, 2, 6)
    assert obj["severity"] == "error" and obj["hint"] == "did you mean `lr`?"
