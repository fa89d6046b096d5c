"""A build whose sources changed since `fgc compile`: it still runs as compiled, with a warning
naming the changed files (the build is self-contained; the user may have meant the new text)."""

from __future__ import annotations

import os
from typing import Any

from ..build import sha256_file


def changed_sources(manifest: dict[str, Any]) -> list[str]:
    """The original template and module files (as the manifest names them) whose bytes differ
    from what was compiled; a file that is gone is not listed (the build needs none of them)."""
    changed = []
    for section in ("sources", "modules"):
        for entry in (manifest.get(section) or {}).values():
            path = entry.get("path") if isinstance(entry, dict) else None
            if path and os.path.isfile(path) and sha256_file(path) != entry.get("sha256"):
                changed.append(path)
    return sorted(set(changed))
