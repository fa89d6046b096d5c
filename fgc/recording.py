"""A template source that records what a compilation read, and the check that a record still
holds: the result cache keeps whole command results with it (`fgc.result_cache.inputs`, which
adds Python files and module directories), and a project keeps its meta.yaml's reading
(`fgc.project.meta`).

Recorded as the templates are loaded: every file read, with the sha256 of its bytes (None when
it cannot be read); every search-path probe (`root/name` is a file or not: a template created
earlier on the search path would now shadow the one read); and stats of directories
(`stats`, filled by subclasses). What cannot be recorded makes the record `volatile` (not to be
kept): a template that may read the clock (its text calls or passes `now()`, `isotime()`...),
or a directory listing (the did-you-mean of a template that is not found).

`still_valid()` re-checks a record: stat, probe, read and hash; no parsing, no import.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .loader import TemplateSource

# The template globals whose value changes from one run to the next (fgc/render/environment.py),
# called (`now()`) or passed on (`set t = now`, `f(now)`).
_CLOCK = re.compile(r"\b(?:now|utcnow|isotime|utcisotime|filetime|utcfiletime)\b\s*[()|,]|[=(,]\s*(?:now|utcnow|isotime|utcisotime|filetime|utcfiletime)\b")

Stat = list[int] | None  # [mtime_ns, size], None when the path does not exist


# What the template globals read from the environment besides their arguments
# (fgc/render/environment.py: the home and user directories, the login name).
ENVIRONMENT_VARIABLES = ("HOME", "USER", "LOGNAME", "USERPROFILE", "APPDATA", "LOCALAPPDATA")


def environment_key() -> dict[str, Any]:
    """What a rendering depends on besides its templates and globals: the working directory
    (`abspath`, `getcwd`) and the environment variables the globals read."""
    return {
        "cwd": os.getcwd(),
        "env": {k: v for k, v in sorted(os.environ.items()) if k in ENVIRONMENT_VARIABLES or k.startswith("XDG_")},
    }


def stat_of(path: str) -> Stat:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Recording:
    def __init__(self) -> None:
        self.reads: dict[str, str | None] = {}  # file -> sha256 of its bytes
        self.probes: dict[str, bool] = {}  # search-path candidate -> is a file
        self.stats: dict[str, Stat] = {}  # directories where something new would change the result
        self.volatile: list[str] = []  # why the result must not be kept

    def source(self) -> TemplateSource:
        from .loader import TemplateSource, parse_kept

        return TemplateSource(
            read_text=self._read_text, parse=parse_kept, is_file=self._is_file, list_files=self._list_files
        )

    def _read_text(self, path: str) -> str:
        try:
            data = Path(path).read_bytes()
        except OSError:
            self.reads[path] = None
            raise
        self.reads[path] = sha256_of(data)
        text = data.decode("utf-8")  # UnicodeDecodeError: the loader reports it, as the disk's
        if _CLOCK.search(text):
            self.volatile.append(f"{path} may read the clock")
        return text

    def _is_file(self, path: str) -> bool:
        found = os.path.isfile(path)
        self.probes[path] = found
        return found

    def _list_files(self, root: Path) -> list[str]:
        from .loader import list_template_files

        self.volatile.append(f"listed {root}")
        return list_template_files(root)

    def to_json(self) -> dict[str, Any]:
        return {"reads": self.reads, "probes": self.probes, "stats": self.stats}

    @staticmethod
    def still_valid(data: dict[str, Any]) -> bool:
        """Whether every input recorded in `data` (`to_json()`) is as it was."""
        for path, stat in data["stats"].items():
            if stat_of(path) != stat:
                return False
        for path, found in data["probes"].items():
            if os.path.isfile(path) != found:
                return False
        for path, digest in data["reads"].items():
            try:
                now: str | None = sha256_of(Path(path).read_bytes())
            except OSError:
                now = None
            if now != digest:
                return False
        return True
