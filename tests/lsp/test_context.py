"""Issue 21 part 3, over stdio: every template checked in its real context. A library template
is checked through the experiments that use it (what holds in all of them), or for its syntax
alone when nothing uses it; a project's config as `fgc check PROJECT -t CONFIG` checks it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fgc.resources import stdlib_dir

from .conftest import codes, diagnostics_until, open_doc, write

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[2]
OFF = {"fgc.lsp.import": "off"}  # these are about templates: no module is imported


@pytest.mark.parametrize("client", [OFF], indirect=True)
async def test_a_library_template_is_checked_through_the_experiments_that_use_it(client, tmp_path):
    # trainers/trainer.fg alone names aliases that only the script including it defines
    # (`*model`, `*optimizer`...); the quick start, in the workspace's folder, uses it.
    for f in ("base.fg", "experiment.fg"):
        shutil.copy(ROOT / "examples" / "quickstart" / f, tmp_path / f)
    library = stdlib_dir() / "trainers" / "trainer.fg"
    uri = open_doc(client, library)
    assert await diagnostics_until(client, uri, lambda d: True) == []


@pytest.mark.parametrize("client", [{**OFF, "includePaths": ["lib"]}], indirect=True)
async def test_a_library_template_that_nothing_uses_is_checked_for_its_syntax(client, tmp_path):
    files = write(
        tmp_path,
        {"lib/orphan.fg": "model: *from_the_user\n", "lib/broken.fg": "model: *from_the_user\nbad: {{ oops\n", "exp.fg": "main: 1\n"},
    )
    uri = open_doc(client, files["lib/orphan.fg"])
    (note,) = await diagnostics_until(client, uri, lambda d: len(d) > 0)  # not FG0501: a user defines it
    assert note.code == "FG0542" and "syntax only" in note.message
    uri = open_doc(client, files["lib/broken.fg"])
    assert codes(await diagnostics_until(client, uri, lambda d: len(d) > 0)) == ["FG0101", "FG0542"]


@pytest.mark.parametrize("client", [OFF], indirect=True)
async def test_an_open_parent_shows_what_holds_in_every_child(client, tmp_path):
    files = write(
        tmp_path,
        {
            "base.fg": "main:\n    value: {{ value }}\n    other: !unknown_tag 1\n",
            "good.fg": "-- extends 'base.fg'\n-- set value = 1\n",
            "bad.fg": "-- extends 'base.fg'\n",
        },
    )
    good = open_doc(client, files["good.fg"])
    bad = open_doc(client, files["bad.fg"])
    base = open_doc(client, files["base.fg"])
    # `value` is undefined only in bad.fg's rendering: bad.fg shows it at its extends line; the
    # base shows only what both children find (the unknown tag, in its own line).
    in_bad = await diagnostics_until(client, bad, lambda d: "FG0301" in codes(d))
    assert [d.range.start.line for d in in_bad if d.code == "FG0301"] == [0]
    in_good = await diagnostics_until(client, good, lambda d: True)
    assert "FG0301" not in codes(in_good)
    in_base = await diagnostics_until(client, base, lambda d: len(d) > 0)
    assert "FG0301" not in codes(in_base)


def _copy_projects(tmp_path: Path) -> Path:
    workspace = tmp_path / "workspace"
    shutil.copytree(ROOT / "tests" / "projects" / "workspace", workspace)
    return workspace


@pytest.mark.parametrize("client", [OFF], indirect=True)
@pytest.mark.parametrize("project, config", [("tiny", "train.yaml"), ("broken", "bad.yaml")])
async def test_a_project_config_is_checked_as_fgc_check_project_does(client, tmp_path, project, config):
    workspace = _copy_projects(tmp_path)
    path = workspace / project / "templates" / "configs" / config
    command = [sys.executable, "-m", "fgc", "check", str(workspace / project), "-t", config]
    done = subprocess.run([*command, "--no-import", "--no-cache", "--format", "json"], capture_output=True, text=True)
    expected = [json.loads(line) for line in done.stdout.splitlines()]
    uri = open_doc(client, path)
    diags = await diagnostics_until(client, uri, lambda d: True)
    assert codes(diags) == sorted(d["code"] for d in expected)  # not FG0201 `project.yaml` not found
    assert [d.range.start.line + 1 for d in diags] == [d["line"] for d in expected]
