"""Python's `ast.parse` and `compile(tree)`, one thread at a time.

CPython 3.11 converts between Python AST objects and its internal AST with a recursion counter
kept per interpreter, not per thread (python/cpython#106905): two threads in `ast.parse` or
`compile(<ast tree>)` at once can fail with "SystemError: AST constructor recursion depth
mismatch". The compiler runs in several threads (a language server compiles while it parses), so
every such call in `fgc/` goes through these functions, and so does `inspect.signature`, which
parses the text signatures of C builtins with `ast.parse`. Compiling source text (not a tree) is
unaffected and needs no lock. Third-party code that converts ASTs while a module is imported
during import resolution is covered by import resolution holding the same lock (`exclusive`);
jinja2's lexer reads float literals with `ast.literal_eval`, so `fgc/syntax/jinja_env.py` gives
it `literal_eval` below instead.
"""

from __future__ import annotations

import ast
import inspect
import threading
from types import CodeType
from typing import Any, Callable

# Reentrant: a `__signature__` property may itself parse Python.
_LOCK = threading.RLock()


def exclusive() -> threading.RLock:
    """The lock itself, for a stage that runs code fgc does not control which may convert ASTs
    (importing a config's modules: torch.jit, for one, parses source when a module is imported)."""
    return _LOCK


def literal_eval(node_or_string: str | ast.AST) -> Any:
    """`ast.literal_eval(node_or_string)` (it parses with `ast.parse`), never concurrently with another."""
    with _LOCK:
        return ast.literal_eval(node_or_string)


def parse_python(text: str, filename: str = "<unknown>", mode: str = "exec") -> ast.AST:
    """`ast.parse(text, filename, mode)`, never concurrently with another AST conversion."""
    with _LOCK:
        return ast.parse(text, filename, mode)


def compile_python(tree: ast.Module | ast.Expression, filename: str, mode: str = "exec") -> CodeType:
    """`compile(tree, filename, mode)` of an AST tree, never concurrently with another."""
    with _LOCK:
        return compile(tree, filename, mode)


def signature(obj: Callable[..., Any], follow_wrapped: bool = True) -> inspect.Signature:
    """`inspect.signature(obj, follow_wrapped=...)`, never concurrently with another AST conversion."""
    with _LOCK:
        return inspect.signature(obj, follow_wrapped=follow_wrapped)
