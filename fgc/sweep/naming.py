"""The directory name of a combination: `hidden_size=64,lr=1e-3` from its values alone, so the
same combination has the same directory in every invocation of the sweep (what makes a re-run
find its finished runs). Only the axes with several choices are named; a name with characters
that are unsafe in a path, or a long one, is shortened and gets a hash of the full values."""

from __future__ import annotations

import hashlib
import json
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+\-]")
MAX_LENGTH = 80


def combination_name(values: dict[str, str], named: list[str]) -> str:
    raw = ",".join(f"{k}={values[k]}" for k in named) or "run"
    safe = _UNSAFE.sub("_", raw)
    if safe.startswith("."):  # never a hidden directory
        safe = "_" + safe[1:]
    if safe == raw and len(raw) <= MAX_LENGTH:
        return raw
    digest = hashlib.sha1(json.dumps(values, sort_keys=True).encode()).hexdigest()[:8]
    return f"{safe[:MAX_LENGTH]}-{digest}"
