"""Completion, from what the text before the cursor asks for.

    `[` at a line's start, or `-- block `   block names the parents define (to override)
    `extends`/`include`/`import` + quote    template names on the search path
    `!partial:` (any tag with a `:`)        modules, then the attributes of a module
    inside a tagged mapping                 the callable's keyword arguments not yet given
    `!var ` + quote                         the experiment's `!var` names
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from lsprotocol import types

from ..imports.signature import KEYWORD_ONLY, POSITIONAL_OR_KEYWORD
from ..loader import Loader, search_path
from ..pyast import parse_python
from .query import Query, query

if TYPE_CHECKING:
    from .query import Guard
    from .server import FgcServer

_BLOCK_HEADER = re.compile(r"^\s*\[(\w*)$")
_BLOCK_STATEMENT = re.compile(r"(?:^\s*(?:--|<<|>>)|\{%-?)\s*block\s+(\w*)$")
_TEMPLATE_NAME = re.compile(r"(?:extends|include|import|from)\s+['\"]([^'\"]*)$")
_SPEC = re.compile(r"!(?:partial|lambda|call|singleton|factory|meta):([\w.]*)(?::([\w.]*))?$")
_VAR = re.compile(r"!var\s+['\"]?(\w*)$")
_KEY = re.compile(r"^(\s*)(\w*)$")


def block_names(q: Query) -> list[types.CompletionItem]:
    graph = q.analysis.template_graph if q.analysis else None
    if graph is None:
        return []
    own = [n for n in graph.templates.values() if n.file == q.path]
    names: dict[str, str] = {}
    for node in own:
        for ancestor in graph.ancestors(node.name):
            for block in ancestor.blocks.values():
                names.setdefault(block.name, ancestor.name)
    return [
        types.CompletionItem(name, kind=types.CompletionItemKind.Module, detail=f"block of {where}")
        for name, where in sorted(names.items())
    ]


def template_names(q: Query) -> list[types.CompletionItem]:
    roots = q.analysis.search_roots if q.analysis else []
    if not roots:
        roots = search_path(q.path, q.include_dirs)[0].roots
    names = Loader(roots).candidates()
    return [types.CompletionItem(n, kind=types.CompletionItemKind.File) for n in names if n.endswith((".fg", ".yaml"))]


def spec_names(module_prefix: str, attr: str | None, q: Query) -> list[types.CompletionItem]:
    """Modules (found on sys.path and beside the template, never imported), or the top-level
    names a module's source defines."""
    import ast
    import pkgutil
    import sys

    from .pysource import importable_file

    here = os.path.dirname(q.path)
    if attr is not None:
        file = importable_file(module_prefix, [here])
        if file is None:
            return []
        try:
            with open(file, encoding="utf-8") as f:
                tree = parse_python(f.read(), file)
        except (OSError, SyntaxError, UnicodeDecodeError):
            return []
        assert isinstance(tree, ast.Module)
        names = sorted(
            {s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.ClassDef)) and not s.name.startswith("_")}
        )
        return [types.CompletionItem(n, kind=types.CompletionItemKind.Class) for n in names]
    package, _, _ = module_prefix.rpartition(".")
    if package:
        file = importable_file(package, [here])
        if file is None or not file.endswith("__init__.py"):
            return []
        paths = [os.path.dirname(file)]
        found = [f"{package}.{m.name}" for m in pkgutil.iter_modules(paths)]
    else:
        found = [m.name for m in pkgutil.iter_modules([here, *sys.path])]
    return [
        types.CompletionItem(n, kind=types.CompletionItemKind.Module)
        for n in sorted(set(found))
        if not n.rpartition(".")[2].startswith("_")
    ]


def keyword_arguments(q: Query) -> list[types.CompletionItem]:
    """The parameters of the callable whose tagged mapping holds the cursor's line."""
    analysis = q.analysis
    if analysis is None or analysis.graph is None or analysis.imports is None:
        return []
    indent = len(q.text) - len(q.text.lstrip())
    # The tag is on the nearest line above that is less indented.
    for n in range(q.line - 1, 0, -1):
        text = q.lines[n - 1]
        if not text.strip():
            continue
        if len(text) - len(text.lstrip()) < indent:
            nodes = [nd for nd in analysis.index.nodes.get(q.path, []) if nd.span.line == n]
            break
    else:
        return []
    for node in nodes:
        resolved = analysis.imports.resolved.get(node)
        if resolved is None or resolved.signature is None:
            continue
        given = set(node.kwargs)
        return [
            types.CompletionItem(p.name, kind=types.CompletionItemKind.Field, insert_text=f"{p.name}: ",
                                 detail="required" if p.required else None)
            for p in resolved.signature.params
            if p.kind in (POSITIONAL_OR_KEYWORD, KEYWORD_ONLY) and p.name not in given
        ]
    return []


def var_names(q: Query) -> list[types.CompletionItem]:
    graph = q.analysis.graph if q.analysis else None
    if graph is None:
        return []
    return [types.CompletionItem(n, kind=types.CompletionItemKind.Variable) for n in sorted(graph.variables)]


def complete(q: Query) -> list[types.CompletionItem]:
    before = q.text[: q.col - 1]
    if _BLOCK_HEADER.search(before) or _BLOCK_STATEMENT.search(before):
        return block_names(q)
    if _TEMPLATE_NAME.search(before):
        return template_names(q)
    m = _SPEC.search(before)
    if m:
        return spec_names(m.group(1), m.group(2), q)
    if _VAR.search(before):
        return var_names(q)
    if _KEY.match(before):
        return keyword_arguments(q)
    return []


def register(server: FgcServer, guarded: Guard) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=["[", ":", "'", '"', "/", " "]),
    )
    @guarded
    def on_completion(ls: FgcServer, params: types.CompletionParams) -> types.CompletionList | None:
        q = query(ls, params.text_document, params.position)
        if q is None:
            return None
        return types.CompletionList(is_incomplete=False, items=complete(q))
