"""`fgc.cache_dir.user_dir` answers what platformdirs answers (it skips importing platformdirs on
Linux): each kind, with the XDG variable unset, empty, blank and set."""

from __future__ import annotations

import pytest

platformdirs = pytest.importorskip("platformdirs")

from fgc.cache_dir import default_cache_dir, user_dir  # noqa: E402

CASES = [None, "", "   ", "/tmp/xdg-elsewhere"]


@pytest.mark.parametrize("value", CASES)
@pytest.mark.parametrize("kind, variable", [("cache", "XDG_CACHE_HOME"), ("config", "XDG_CONFIG_HOME")])
def test_user_dir_is_platformdirs(monkeypatch, kind, variable, value):
    if value is None:
        monkeypatch.delenv(variable, raising=False)
    else:
        monkeypatch.setenv(variable, value)
    expected = getattr(platformdirs, f"user_{kind}_dir")("forgather", "someone")
    assert str(user_dir(kind, "forgather", "someone")) == expected


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("FGC_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("FGC_CACHE_DIR")
    assert str(default_cache_dir()) == platformdirs.user_cache_dir("fgc")
