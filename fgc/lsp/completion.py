"""Completion, from what the text before the cursor asks for.

    `[` at a line's start, or `-- block `   block names the parents define (to override)
    `extends`/`include`/`import` + quote    template names on the search path
    `!partial:` (any tag with a `:`)        modules, then the names a module exports (exports.py)
    `*` (an alias)                          the config's anchor names
    `!var ` + quote                         the experiment's `!var` names
    inside a tagged mapping                 the callable's keyword arguments not yet given

Every item replaces what was typed of it (`textEdit` over the word before the cursor: the
whole dotted name or template path, so `torch.` completes to `torch.optim`, never
`torch.torch.optim`) and only items that start with it are offered.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Callable

from lsprotocol import types

from ..imports.signature import KEYWORD_ONLY, POSITIONAL_OR_KEYWORD
from ..loader import Loader, search_path
from ..syntax import config_ast as ca
from ..workspace import utf16_length
from .query import Query, query

if TYPE_CHECKING:
    from .exports import Exports
    from .query import Guard
    from .server import FgcServer

_BLOCK_HEADER = re.compile(r"^\s*\[(\w*)$")
_BLOCK_STATEMENT = re.compile(r"(?:^\s*(?:--|<<|>>)|\{%-?)\s*block\s+(\w*)$")
_TEMPLATE_NAME = re.compile(r"(?:extends|include|import|from)\s+['\"]([^'\"]*)$")
_SPEC = re.compile(r"!(?:partial|lambda|call|singleton|factory|meta):([\w.]*)(?::([\w.]*))?$")
_ALIAS = re.compile(r"(?:^|[\s\[\{,:])\*([\w.\-]*)$")
_VAR = re.compile(r"!var\s+['\"]?(\w*)$")
_KEY = re.compile(r"^(\s*)(\w*)$")

Items = list[types.CompletionItem]


def _items(q: Query, typed: str, names: list[str], kind: types.CompletionItemKind, detail: dict[str, str] | None = None,
           insert: Callable[[str], str] = lambda n: n) -> Items:
    """The names that start with `typed`, each replacing `typed` (which ends at the cursor)."""
    line = q.line - 1
    end = utf16_length(q.text[: q.col - 1])
    start = end - utf16_length(typed)
    span = types.Range(types.Position(line, start), types.Position(line, end))
    return [
        types.CompletionItem(
            name,
            kind=kind,
            detail=(detail or {}).get(name),
            filter_text=name,
            text_edit=types.TextEdit(span, insert(name)),
        )
        for name in names
        if name.startswith(typed)
    ]


def block_names(q: Query, typed: str) -> Items:
    graph = q.analysis.template_graph if q.analysis else None
    if graph is None:
        return []
    own = [n for n in graph.templates.values() if n.file == q.path]
    names: dict[str, str] = {}
    for node in own:
        for ancestor in graph.ancestors(node.name):
            for block in ancestor.blocks.values():
                names.setdefault(block.name, f"block of {ancestor.name}")
    return _items(q, typed, sorted(names), types.CompletionItemKind.Module, names)


def template_names(q: Query, typed: str) -> Items:
    roots = q.analysis.search_roots if q.analysis else []
    if not roots:
        roots = search_path(q.path, q.include_dirs)[0].roots
    names = [n for n in Loader(roots).candidates() if n.endswith((".fg", ".yaml"))]
    return _items(q, typed, names, types.CompletionItemKind.File)


async def spec_names(module: str, attr: str | None, q: Query, exports: Exports) -> Items:
    """Modules (found on sys.path and beside the template, never imported), or the names a
    module exports."""
    from .exports import submodules

    here = os.path.dirname(q.path)
    if attr is not None:
        names = await exports.names(module, here)
        return _items(q, attr, names, types.CompletionItemKind.Class)
    package = module.rpartition(".")[0]
    return _items(q, module, submodules(package, here), types.CompletionItemKind.Module)


def alias_names(q: Query, typed: str) -> Items:
    comp = q.analysis.compilation if q.analysis else None
    document = comp.front.document if comp is not None else None
    if document is None:
        return []
    names = sorted({n.name for n in ca.walk(document.root) if isinstance(n, ca.Anchor)})
    return _items(q, typed, names, types.CompletionItemKind.Reference)


def keyword_arguments(q: Query, typed: str) -> Items:
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
        params = [p for p in resolved.signature.params if p.kind in (POSITIONAL_OR_KEYWORD, KEYWORD_ONLY) and p.name not in given]
        required = {p.name: "required" for p in params if p.required}
        return _items(q, typed, [p.name for p in params], types.CompletionItemKind.Field, required, lambda n: f"{n}: ")
    return []


def var_names(q: Query, typed: str) -> Items:
    graph = q.analysis.graph if q.analysis else None
    if graph is None:
        return []
    return _items(q, typed, sorted(graph.variables), types.CompletionItemKind.Variable)


async def complete(q: Query, exports: Exports) -> Items:
    before = q.text[: q.col - 1]
    if m := (_BLOCK_HEADER.search(before) or _BLOCK_STATEMENT.search(before)):
        return block_names(q, m.group(1))
    if m := _TEMPLATE_NAME.search(before):
        return template_names(q, m.group(1))
    if m := _SPEC.search(before):
        return await spec_names(m.group(1), m.group(2), q, exports)
    if m := _ALIAS.search(before):
        return alias_names(q, m.group(1))
    if m := _VAR.search(before):
        return var_names(q, m.group(1))
    if m := _KEY.match(before):
        return keyword_arguments(q, m.group(2))
    return []


def register(server: FgcServer, guarded: Guard) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=["[", ":", "'", '"', "/", " ", ".", "*"]),
    )
    async def on_completion(ls: FgcServer, params: types.CompletionParams) -> types.CompletionList | None:
        try:
            items = await _complete(ls, params)
        except Exception:
            import traceback

            ls.show_log(f"fgc: completion failed:\n{traceback.format_exc(limit=-3)}", types.MessageType.Error)
            return None
        return types.CompletionList(is_incomplete=False, items=items)


async def _complete(ls: FgcServer, params: types.CompletionParams) -> Items:
    q = query(ls, params.text_document, params.position)
    if q is None:
        return []
    return await complete(q, ls.exports)
