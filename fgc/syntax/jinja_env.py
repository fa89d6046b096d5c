"""The jinja2 settings of the template layer, and an environment that only parses with them.

Whether a template parses depends only on the lexer settings (delimiters, `trim_blocks`, line
handling), not on globals or filters, so the syntax checks, the template pass and the renderer
share these settings and rendering adds the rest (`fgc.render.environment`).
"""

from __future__ import annotations

import functools

import jinja2
import jinja2.lexer
from jinja2 import StrictUndefined, nodes
from jinja2.sandbox import SandboxedEnvironment

from ..pyast import literal_eval

# jinja2's lexer turns a float token (`1.0e-3`) into its value with `ast.literal_eval`, an AST
# conversion that must not run beside another thread's (fgc/pyast.py, python/cpython#106905).
jinja2.lexer.literal_eval = literal_eval

SETTINGS = dict(
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=False,
    keep_trailing_newline=False,
    autoescape=False,
    auto_reload=False,
)


class LexedEnvironment(SandboxedEnvironment):
    """A sandboxed environment whose lexer scans template data fast (`fgc.syntax.jinja_lexer`:
    the same tokens as jinja2's)."""

    @property
    def lexer(self) -> jinja2.lexer.Lexer:
        from .jinja_lexer import fast_lexer

        return fast_lexer(self)


@functools.cache
def parse_environment() -> LexedEnvironment:
    """An environment used only to parse (never to render: it has no globals or filters)."""
    return LexedEnvironment(**SETTINGS)


@functools.lru_cache(maxsize=8192)
def parse_statement(body: str) -> nodes.Node | None:
    """jinja2's node for one statement `{% body %}`, or None when it does not parse (the syntax
    checks report that). Cached by text: the template pass and every knob lookup ask again for
    the same statements (callers only read the node); and between processes (`_Kept`): a
    command-line run whose statements were all seen before neither parses them nor builds
    jinja2's lexer (about 3 ms of a compiler command)."""
    kept = _kept()
    if body in kept.statements:
        return kept.statements[body]
    node = _parse_statement(body)
    kept.add(body, node)
    return node


def _parse_statement(body: str) -> nodes.Node | None:
    from jinja2.exceptions import TemplateSyntaxError
    from jinja2.parser import Parser

    try:
        tree = Parser(parse_environment(), "{% " + body + " %}").parse()
    except TemplateSyntaxError:
        return None
    return tree.body[0] if tree.body else None


class _Kept:
    """The parsed statements kept in `<cache dir>/statements/`, one entry for jinja2's and
    Python's versions and these settings (nothing else changes a parse), read once per
    process; the statements parsed anew are added to it when the process exits (one write).
    Nodes are pickled with the parse environment left out and put back when read, as
    `fgc.render.code_cache` keeps trees. An unreadable entry is empty; past `LIMIT`
    statements the entry starts again with the new ones, and a process (the language server is
    long-lived) keeps at most `LIMIT` new ones."""

    LIMIT = 4096

    def __init__(self) -> None:
        import hashlib
        import sys

        from ..cache_dir import default_cache_dir

        salt = repr(("statements-v1", jinja2.__version__, sys.version_info[:3], sorted(SETTINGS.items(), key=lambda kv: kv[0])))
        self.key = hashlib.sha256(salt.encode()).hexdigest()
        self.directory = default_cache_dir()  # where it was read: an exit writes there
        self.statements: dict[str, nodes.Node | None] = self._read()
        self.new: dict[str, nodes.Node | None] = {}

    def _read(self) -> dict[str, nodes.Node | None]:
        try:
            data = (self.directory / "statements" / self.key).read_bytes()
        except OSError:
            return {}
        kept = load_with_environment(data, parse_environment())
        if not isinstance(kept, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, nodes.Node)) for k, v in kept.items()
        ):
            return {}
        return kept

    def add(self, body: str, node: nodes.Node | None) -> None:
        if len(self.new) >= self.LIMIT:
            return  # bounded in a long-lived process (the language server); the lru_cache still answers
        if not self.new:
            import atexit

            atexit.register(self.write)
        self.new[body] = node
        self.statements[body] = node

    def write(self) -> None:
        from forgather_files.atomic import write_bytes

        keep = self.statements if len(self.statements) <= self.LIMIT else self.new
        data = dump_with_environment(keep, parse_environment())
        if data is None:
            return
        try:
            (self.directory / "statements").mkdir(parents=True, exist_ok=True)
            write_bytes(self.directory / "statements" / self.key, data)
        except OSError:  # a cache that cannot be written is only slower
            pass


def dump_with_environment(value: object, env: jinja2.Environment) -> bytes | None:
    """`value` (jinja2 nodes: each points to its environment) pickled with `env` left out, for
    `load_with_environment` to put the loading process's environment back; None when it does
    not pickle (what does not pickle is only not kept)."""
    import io
    import pickle

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj: object) -> object:
            return _ENVIRONMENT if obj is env else None

    out = io.BytesIO()
    try:
        Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    except Exception:
        return None
    return out.getvalue()


def load_with_environment(data: bytes, env: jinja2.Environment) -> object:
    """What `dump_with_environment` wrote, bound to `env`; None when unreadable (damaged, or
    written by another jinja2)."""
    import io
    import pickle

    class Unpickler(pickle.Unpickler):
        def persistent_load(self, pid: object) -> object:
            if pid != _ENVIRONMENT:
                raise pickle.UnpicklingError(f"unknown reference {pid!r}")
            return env

    try:
        return Unpickler(io.BytesIO(data)).load()
    except Exception:
        return None


_ENVIRONMENT = "environment"  # the persistent id of the environment in a kept pickle


@functools.cache
def _kept() -> _Kept:
    return _Kept()
