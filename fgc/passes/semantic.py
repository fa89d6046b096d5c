"""The semantic passes, in pipeline order: config AST -> config graph + diagnostics.

    leaves         mapping keys are strings                         FG0510
    anchors        aliases become the anchored node (sharing)       FG0501-FG0503
    merge_keys     `<<: *base`                                      FG0504
    duplicates     last wins at the first position (overrides)     FG0505 (notes, optional)
    unused_defines top-level `.keys` nothing uses: kept aside, checked FG0540
    dotnames       top-level `.keys` are not targets                FG0506
    dlist          `!dlist` mappings folded to lists                FG0508
    lower          tags -> nodes (arguments, containers, `!var`)    FG0509, FG0511-FG0513, FG0516-FG0518
    reserved       `submodule_searchpath`, `latent_args`            FG0519
    variables      `!var` names, defaults and uses                  FG0514
    names          `@name` uniqueness                               FG0515

Import resolution and signature binding (fgc.imports) run on the graph afterwards.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, DiagnosticError, Result
from ..graph import Graph
from ..syntax.config_ast import Document
from .anchors import resolve_aliases
from .dlist import fold_dlists
from .dotnames import elide_dot_names
from .duplicates import resolve_duplicates
from .leaves import check_keys
from .lower import lower
from .merge_keys import merge_keys
from .names import check_names
from .unused_defines import mark, unused_entries
from .reserved import check_reserved
from .variables import collect_variables


def analyze(document: Document, override_notes: bool = False) -> Result[Graph]:
    """Run every semantic pass; the graph is meaningful only when no error was reported."""
    diags: list[Diagnostic] = []
    try:
        diags += check_keys(document)
        unused, d = unused_entries(document)
        diags += d
        doc, d = resolve_aliases(document)
        diags += d
        doc = mark(doc, unused)
        doc, d = merge_keys(doc)
        diags += d
        doc, overrides, d = resolve_duplicates(doc, notes=override_notes)
        diags += d
        doc, d = elide_dot_names(doc)
        diags += d
        doc, d = fold_dlists(doc)
        diags += d
        graph, d = lower(doc)
        diags += d
    except DiagnosticError as e:
        return Result(Graph(), diags + e.diagnostics)
    graph.overrides = overrides
    diags += check_reserved(graph)
    diags += collect_variables(graph)
    diags += check_names(graph)
    return Result(graph, diags)
