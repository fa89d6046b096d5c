"""A callable's definition line and docstring, read from its module's source with `ast`.

Hover and go-to-definition need them for a tag's callable; reading the file never runs it, so
this is safe in every import mode, and costs nothing when the module was not imported. Parsing
takes fgc's AST lock (fgc/pyast.py), which the analysis thread holds while it imports a
config's modules: a feature does not wait for it (`parse_file_quickly`).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass

from ..pyast import exclusive
from ..workspace.bounded import LruDict


@dataclass(frozen=True)
class PyDefinition:
    file: str
    line: int  # 1-based
    col: int  # 1-based
    docstring: str | None


LOCK_WAIT_S = 0.005  # how long a feature waits for the AST lock before answering without
_TREES: LruDict[tuple[str, int], ast.Module] = LruDict(64)


def parse_file_quickly(file: str) -> ast.Module | None:
    """`file` parsed, or None when it cannot be read, or when the AST lock (fgc.pyast) is held
    longer than LOCK_WAIT_S by the analysis thread (importing a module, say): a feature on the
    event loop answers without it rather than wait for a check."""
    try:
        mtime = os.stat(file).st_mtime_ns
    except OSError:
        return None
    key = (file, mtime)
    tree = _TREES.get(key)
    if tree is not None:
        return tree
    try:
        with open(file, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return None
    lock = exclusive()
    if not lock.acquire(timeout=LOCK_WAIT_S):
        return None
    try:
        parsed = ast.parse(text, file)
    except (SyntaxError, ValueError):
        return None
    finally:
        lock.release()
    _TREES[key] = parsed
    return parsed


def find_definition(file: str, attrs: tuple[str, ...], depth: int = 0) -> PyDefinition | None:
    """The `def`/`class` (or assignment) of `attrs` (e.g. ("Trainer",) or ("Outer", "method"))
    in `file`; None when it is not defined there (re-exported from elsewhere)."""
    tree = parse_file_quickly(file)
    if tree is None or not attrs:
        return None
    body: list[ast.stmt] = tree.body
    found: ast.stmt | None = None
    for name in attrs:
        found = None
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and stmt.name == name:
                found = stmt
            elif isinstance(stmt, ast.ImportFrom) and depth < 6 and name == attrs[0]:
                # A package re-exporting the name (`from .trainer import Trainer`): follow it.
                for alias in stmt.names:
                    if (alias.asname or alias.name) == name:
                        target = _import_from_file(file, stmt)
                        if target is not None:
                            hit = find_definition(target, (alias.name, *attrs[1:]), depth + 1)
                            if hit is not None:
                                return hit
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                    found = stmt
        if found is None:
            return None
        body = found.body if isinstance(found, ast.ClassDef) else []
    assert found is not None
    doc = ast.get_docstring(found) if isinstance(found, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else None
    return PyDefinition(file, found.lineno, found.col_offset + 1, doc)


def _import_from_file(file: str, stmt: ast.ImportFrom) -> str | None:
    if stmt.level:
        base = os.path.dirname(file)
        for _ in range(stmt.level - 1):
            base = os.path.dirname(base)
        parts = (stmt.module or "").split(".") if stmt.module else []
        stem = os.path.join(base, *parts)
        for candidate in (stem + ".py", os.path.join(stem, "__init__.py")):
            if parts and os.path.isfile(candidate):
                return candidate
        return None
    return importable_file(stmt.module or "", [])


def first_paragraph(doc: str | None) -> str | None:
    if not doc:
        return None
    return doc.strip().split("\n\n", 1)[0].strip()


def importable_file(module: str, search: list[str]) -> str | None:
    """The source file of a dotted module, found without importing it (importlib's finders
    import the parent packages, so walk the directories instead)."""
    import sys

    parts = module.split(".")
    for root in [*search, *sys.path]:
        base = os.path.join(root or ".", *parts)
        for candidate in (base + ".py", os.path.join(base, "__init__.py")):
            if os.path.isfile(candidate):
                return candidate
    return None
