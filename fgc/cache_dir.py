"""Where fgc keeps what it caches on disk (signatures, check results, compiled templates):
`$FGC_CACHE_DIR`, else the user cache directory (`platformdirs.user_cache_dir("fgc")`)."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    env = os.environ.get("FGC_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("fgc"))
