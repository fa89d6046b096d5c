"""The server's settings, from `initializationOptions` or `workspace/didChangeConfiguration`.

Editors send them in one of three shapes, all accepted: nested (`{"fgc": {"lsp": {"import":
"on"}, "includePaths": [...]}}`), dotted keys (`{"fgc.lsp.import": "on"}`), or bare
(`{"import": "on", "includePaths": [...]}`). Unknown keys are ignored; a bad value is reported
(`problems`) and the default kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..workspace import ImportMode

DEFAULT_DEBOUNCE_MS = 30  # changes within this of the last check wait and go as one


@dataclass
class Settings:
    import_mode: ImportMode = ImportMode.ON
    include_paths: list[str] = field(default_factory=list)
    debounce_ms: int = DEFAULT_DEBOUNCE_MS
    problems: list[str] = field(default_factory=list)


def _flatten(options: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(options, dict):
        return out
    for key, value in options.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _lookup(flat: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in flat:
            return flat[name]
    return None


def parse_settings(options: Any, base: Settings | None = None) -> Settings:
    flat = _flatten(options)
    settings = Settings() if base is None else Settings(base.import_mode, list(base.include_paths), base.debounce_ms)
    mode = _lookup(flat, "fgc.lsp.import", "lsp.import", "import")
    if mode is not None:
        try:
            settings.import_mode = ImportMode(str(mode))
        except ValueError:
            settings.problems.append(f"fgc.lsp.import: `{mode}` is not one of on, cached-only, off; using cached-only")
            settings.import_mode = ImportMode.CACHED_ONLY  # an unreadable choice must not grant trust
    paths = _lookup(flat, "fgc.includePaths", "includePaths")
    if paths is not None:
        if isinstance(paths, list) and all(isinstance(p, str) for p in paths):
            settings.include_paths = list(paths)
        else:
            settings.problems.append("fgc.includePaths: a list of directory names is expected")
    debounce = _lookup(flat, "fgc.lsp.debounceMs", "lsp.debounceMs", "debounceMs")
    if debounce is not None:
        if isinstance(debounce, int) and not isinstance(debounce, bool) and debounce >= 0:
            settings.debounce_ms = debounce
        else:
            settings.problems.append("fgc.lsp.debounceMs: a number of milliseconds >= 0 is expected")
    return settings
