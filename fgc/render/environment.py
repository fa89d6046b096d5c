"""The Jinja environment of the template layer: the reference's settings, globals and filters.

`SandboxedEnvironment`, `StrictUndefined`, `trim_blocks=True`, no trailing newline, autoescape
off; the reference's globals (paths, times, platform directories) and the `toyaml` filter. The
reference's `versions`, `hostname` and `project_dir` globals are left out: rendering never
imports torch. `trim` is replaced by a version that treats the source-map markers as invisible.
"""

from __future__ import annotations

import functools
import math
import os
import re
import sys
from typing import TYPE_CHECKING, Any, Callable

import jinja2
from jinja2 import Undefined

from ..syntax.jinja_env import SETTINGS, LexedEnvironment
from .markers import is_marker

if TYPE_CHECKING:
    import datetime

# --------------------------------------------------------------------------------------------
# Globals


def _check_defined(*values: Any) -> None:
    for v in values:
        if isinstance(v, Undefined):
            v._fail_with_undefined_error()


def joinpath(*parts: str) -> str:
    """os.path.join that names an undefined argument instead of failing on its type."""
    _check_defined(*parts)
    return os.path.join(*parts)


def normpath(path: str) -> str:
    _check_defined(path)
    return os.path.normpath(path)


def _path_fn(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        _check_defined(*args)
        return fn(*args)

    return wrapper


def modname_from_path(path: str) -> str:
    """`dir/name.py` -> `name` (as the reference: splitext of the basename)."""
    _check_defined(path)
    return os.path.splitext(os.path.basename(path))[0]


def _login() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "user"


def forgather_config_dir() -> str:
    from ..cache_dir import user_dir

    # platformdirs uses the author only on Windows; elsewhere the login name is not looked up
    return str(user_dir("config", "forgather", _login() if sys.platform == "win32" else None))


def _platformdirs(name: str) -> Callable:
    def call(*args: Any, **kwargs: Any) -> Any:
        import platformdirs

        return getattr(platformdirs, name)(*args, **kwargs)

    call.__name__ = name
    return call


def _now() -> datetime.datetime:
    import datetime  # here: most renderings never read the clock

    return datetime.datetime.now()


def _utcnow() -> datetime.datetime:
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


GLOBALS: dict[str, Any] = {
    "joinpath": joinpath,
    "normpath": normpath,
    "abspath": _path_fn(os.path.abspath),
    "relpath": _path_fn(os.path.relpath),
    "dirname": _path_fn(os.path.dirname),
    "basename": _path_fn(os.path.basename),
    "splitext": _path_fn(os.path.splitext),
    "repr": repr,
    "isotime": lambda: _now().isoformat(timespec="seconds"),
    "utcisotime": lambda: _utcnow().isoformat(timespec="seconds"),
    "filetime": lambda: _now().strftime("%Y-%m-%dT%H-%M-%S"),
    "utcfiletime": lambda: _utcnow().strftime("%Y-%m-%dT%H-%M-%S"),
    "now": _now,
    "utcnow": _utcnow,
    "modname_from_path": modname_from_path,
    "user_home_dir": lambda: os.path.expanduser("~"),
    "getcwd": os.getcwd,
    "forgather_config_dir": forgather_config_dir,
    **{n: _platformdirs(n) for n in ("user_data_dir", "user_cache_dir", "user_config_dir", "site_data_dir", "site_config_dir")},
}


# --------------------------------------------------------------------------------------------
# Filters

_MISSING = object()


@functools.cache
def _dumper() -> type:
    import yaml

    class Dumper(yaml.SafeDumper):
        """PyYAML's safe dumper that also quotes strings YAML 1.2 would read as numbers."""

    Dumper.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"),
        list("-+0123456789."),
    )
    Dumper.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(r"^0o[0-7]+$|^0x[0-9a-fA-F]+$"),
        list("0"),
    )
    return Dumper


def toyaml(value: Any, default: Any = _MISSING) -> str:
    """A value as YAML flow text (the reference's filter).

    Undefined -> `default` (an undefined error without one); int and bool -> str(); None ->
    `null`; anything else -> PyYAML flow style on one line. Floats always carry a `.` or an
    exponent (`1.0e-05`, `.inf`), and strings that YAML 1.2 would read as numbers are quoted.
    """
    if isinstance(value, Undefined):
        if default is _MISSING:
            value._fail_with_undefined_error()
        value = default
    if isinstance(value, (bool, int)) and not isinstance(value, float):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, float) and math.isfinite(value):
        text = repr(value).lower()
        if "." not in text and "e" in text:
            text = text.replace("e", ".0e", 1)
        return text
    import yaml

    text = yaml.dump(
        value,
        Dumper=_dumper(),
        default_flow_style=True,
        allow_unicode=True,
        width=float("inf"),
    ).strip()
    if text.endswith("\n..."):
        text = text[:-4].rstrip()
    elif text == "...":
        text = ""
    return text


def trim(value: Any, chars: str | None = None) -> str:
    """Jinja's `trim`, blind to source-map markers: the output is what `trim` gives on the
    unmarked text, and the markers of the lines that remain stay with them."""
    text = jinja2.filters.soft_str(value) if not isinstance(value, str) else value
    if not any(map(is_marker, text[:1] + text[-1:])) and not _edge_marker(text):
        return text.strip(chars)
    strip = str.isspace if chars is None else (lambda c: c in chars)
    n = len(text)
    i = 0
    while i < n and (is_marker(text[i]) or strip(text[i])):
        i += 1
    if i == n:
        return ""
    start = i
    while start > 0 and is_marker(text[start - 1]):
        start -= 1
    k = n
    while k > i and (is_marker(text[k - 1]) or strip(text[k - 1])):
        k -= 1
    end = k
    while end < n and is_marker(text[end]):
        end += 1
    return text[start:end]


def _edge_marker(text: str) -> bool:
    """Does a marker sit within the whitespace at either edge of text?"""
    for ch in text:
        if is_marker(ch):
            return True
        if not ch.isspace():
            break
    for ch in reversed(text):
        if is_marker(ch):
            return True
        if not ch.isspace():
            break
    return False


FILTERS: dict[str, Callable] = {"toyaml": toyaml, "trim": trim}


# --------------------------------------------------------------------------------------------
# Environments


class FgcEnvironment(LexedEnvironment):
    """The sandboxed environment, with a hook that sees every template reference at render time
    (`extends`, `include`, `import` with the referencing template), to record dynamic edges."""

    on_reference: Callable[[str, str], None] | None = None

    def join_path(self, template: str, parent: str) -> str:
        if self.on_reference is not None and isinstance(template, str):
            self.on_reference(template, parent)
        return template


def make_environment(loader: jinja2.BaseLoader | None = None) -> FgcEnvironment:
    """A fresh environment for one compilation (never shared: no stale templates)."""
    env = FgcEnvironment(loader=loader, **SETTINGS)
    env.globals.update(GLOBALS)
    env.filters.update(FILTERS)
    return env
