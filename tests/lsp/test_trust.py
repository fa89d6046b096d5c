"""Part 7: the server imports only what `fgc check` would, and `fgc.lsp.import` = `cached-only`
or `off` imports nothing (a module that records its own import tells)."""

from __future__ import annotations

import pytest

from .conftest import codes, diagnostics_until, open_doc, write

pytestmark = pytest.mark.asyncio

MODULE = """\
import pathlib
pathlib.Path(__file__).with_name("imported.txt").write_text("this module's top level ran")


def make(alpha, beta=2):
    return alpha
"""
EXPERIMENT = """\
main: !singleton:.mod:make
    alpha: 1
    gamma: 3
"""


@pytest.mark.parametrize("client", [{"fgc": {"lsp": {"import": "on"}}}], indirect=True)
async def test_import_on_checks_signatures_like_fgc_check(client, tmp_path):
    files = write(tmp_path, {"mod.py": MODULE, "exp.fg": EXPERIMENT})
    uri = open_doc(client, files["exp.fg"])
    diags = await diagnostics_until(client, uri, lambda d: len(d) > 0)
    assert codes(diags) == ["FG0611"]  # unknown argument `gamma`
    assert (tmp_path / "imported.txt").exists()


@pytest.mark.parametrize(
    "client",
    [{"fgc": {"lsp": {"import": "cached-only"}}}, {"fgc.lsp.import": "off"}, {"import": "not-a-mode"}],
    indirect=True,
)
async def test_cached_only_and_off_import_nothing(client, tmp_path):
    files = write(tmp_path, {"mod.py": MODULE, "exp.fg": EXPERIMENT})
    uri = open_doc(client, files["exp.fg"])
    assert await diagnostics_until(client, uri, lambda d: True) == []  # nothing known to check against
    assert not (tmp_path / "imported.txt").exists()
    # Config code never runs either: a template's Jinja is rendered, its tags are not called.
    assert not (tmp_path / "made.txt").exists()
