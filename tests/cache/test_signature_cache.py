"""fgc.imports.cache: the on-disk signature cache keeps one file per module file under
`<cache dir>/signatures/`, read back by a later process, and bounded in number."""

from __future__ import annotations

import os
import random

from fgc.imports import cache as signature_cache
from fgc.imports.cache import SignatureCache

RESULT = {"kind": "class", "params": []}


def module_files(tmp_path, n: int) -> list[str]:
    out = []
    for i in range(n):
        path = tmp_path / "src" / f"m{i}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"X = {i}\n")
        out.append(str(path))
    return out


def test_a_later_cache_reads_what_was_flushed(tmp_path):
    (module,) = module_files(tmp_path, 1)
    first = SignatureCache(tmp_path / "cache")
    first.put(module, "X", None, RESULT, [module])
    first.flush()
    assert [p.parent.name for p in (tmp_path / "cache").rglob("*.json")] == ["signatures"]
    assert SignatureCache(tmp_path / "cache").get(module, "X", None) == RESULT


def test_the_files_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(signature_cache, "LIMIT", 4)
    monkeypatch.setattr(random, "random", lambda: 0.0)  # count at every flush
    modules = module_files(tmp_path, 12)
    for i, module in enumerate(modules):
        cache = SignatureCache(tmp_path / "cache")
        cache.put(module, "X", None, RESULT, [module])
        cache.flush()
        assert len(list((tmp_path / "cache" / "signatures").iterdir())) <= 4
        written = cache._path(module)
        if written.exists():  # distinct, increasing times whatever the file system's resolution
            os.utime(written, ns=(i * 10**9, i * 10**9))
    assert SignatureCache(tmp_path / "cache").get(modules[-1], "X", None) == RESULT  # the newest stays
