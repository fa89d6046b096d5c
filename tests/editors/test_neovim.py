"""The Neovim setup of docs/editors.md, run in a headless Neovim against `python -m fgc lsp`.

The snippet is read from docs/editors.md itself ("Neovim 0.7 to 0.9", the version Debian's
package gives), so what is documented is what runs. A driver appended to it opens an
experiment with a misspelt argument, waits for Neovim's diagnostics, hovers a value, writes what
it saw as JSON and quits. CI installs Neovim (.ci/run) and sets FGC_REQUIRE_NVIM=1, so there a
missing `nvim` fails instead of skipping.
"""

from __future__ import annotations

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
out.settled = vim.wait(240000, function() return #vim.diagnostic.get(0) > 0 end, 50)
for _, d in ipairs(vim.diagnostic.get(0)) do
  local lsp = d.user_data and d.user_data.lsp or {}
  table.insert(out.diagnostics, { code = d.code or lsp.code, lnum = d.lnum, col = d.col, message = d.message })
end
vim.api.nvim_win_set_cursor(0, { 4, 6 })  -- `numeratr`
local answers = vim.lsp.buf_request_sync(0, "textDocument/hover", vim.lsp.util.make_position_params(), 120000) or {}
for _, answer in pairs(answers) do
  if answer.result and answer.result.contents then out.hover = answer.result.contents.value end
end
vim.fn.writefile({ vim.fn.json_encode(out) }, RESULT)
vim.cmd("qall!")
"""


def neovim() -> str:
    found = shutil.which("nvim")
    if found is None:
        if os.environ.get("FGC_REQUIRE_NVIM"):
            pytest.fail("nvim is not installed, and FGC_REQUIRE_NVIM is set (CI installs Debian's neovim)")
        pytest.skip("nvim is not installed on this machine (CI installs it: `apt-get install neovim`)")
    return found


def documented_snippet(title: str) -> str:
    """The first ```lua block after the heading `title` in docs/editors.md."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"### {title}")
    m = re.compile(r"```lua\n(.*?)```", re.S).search(text, start)
    assert m is not None, f"no lua block under {title!r} in {DOC}"
    return m.group(1)


def lua_string(s: str) -> str:
    return json.dumps(s)  # a JSON string literal is a Lua one for these characters


def test_the_documented_neovim_setup_shows_diagnostics_and_hover(tmp_path):
    nvim = neovim()
    (tmp_path / "base.fg").write_text(BASE, encoding="utf-8")
    experiment = tmp_path / "child.fg"
    experiment.write_text(CHILD, encoding="utf-8")
    result = tmp_path / "result.json"
    command = "{ " + ", ".join(lua_string(a) for a in (sys.executable, "-m", "fgc", "lsp")) + " }"
    init = tmp_path / "init.lua"
    init.write_text(
        f"vim.g.fgc_cmd = {command}\n"
        f"EXPERIMENT = {lua_string(str(experiment))}\nRESULT = {lua_string(str(result))}\n"
        + documented_snippet("Neovim 0.7 to 0.9")
        + DRIVER,
        encoding="utf-8",
    )
    env = {**os.environ, "FGC_CACHE_DIR": str(tmp_path / "cache"), "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run([nvim, "--headless", "-n", "-i", "NONE", "-u", str(init)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert result.is_file(), f"Neovim wrote no result (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    seen = json.loads(result.read_text())
    assert seen["settled"], seen
    (d,) = seen["diagnostics"]
    assert d["code"] == "FG0611" and (d["lnum"], d["col"]) == (3, 4)
    assert "unknown argument `numeratr`" in d["message"] and "did you mean `numerator`?" in d["message"]
    assert "`main.numeratr` = `5`" in seen["hover"] and "child.fg:4" in seen["hover"]
