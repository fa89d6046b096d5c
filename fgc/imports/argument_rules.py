"""Arguments that a callable declares it does not implement, in the values it is given.

A callable (a trainer class, say) may carry the attribute `FGC_UNSUPPORTED_ARGUMENTS`:

    {parameter: {keyword: {"default": <JSON value>, "why": "<text, may be empty>"}}}

meaning: when the value given to `parameter` is built by a call (`args: !singleton:transformers:
TrainingArguments {...}`), a `keyword` of that call is not implemented by the receiver. fgc reads
the attribute when it resolves the callable (it imports the callable's module then anyway; the
table is cached with the signature, so a warm check imports nothing) and reports each such
keyword at its line: an error (FG0630) when its value differs from `default` (the run would not
do what the line says), a warning (FG0631) when it equals it (the line changes nothing). This is
how forgather's Trainer, given transformers' TrainingArguments, makes `optim: sgd` a compile-time
error instead of a run that silently trains with AdamW.
"""

from __future__ import annotations

import json
from typing import Any

from ..diagnostics import Diagnostic, error, warning
from ..graph import Kind, Node
from .signature import POSITIONAL_ONLY, POSITIONAL_OR_KEYWORD, Signature

ATTRIBUTE = "FGC_UNSUPPORTED_ARGUMENTS"
Rules = dict[str, dict[str, dict[str, Any]]]


def read_rules(obj: Any) -> Rules | None:
    """The callable's table, when it has a well-formed one (anything else is ignored)."""
    try:
        table = getattr(obj, ATTRIBUTE, None)
    except Exception:  # an odd object: no rules
        return None
    if not isinstance(table, dict):
        return None
    rules: Rules = {}
    for param, keywords in table.items():
        if not isinstance(param, str) or not isinstance(keywords, dict):
            return None
        rules[param] = {}
        for keyword, rule in keywords.items():
            if not isinstance(keyword, str) or not isinstance(rule, dict) or not isinstance(rule.get("why"), str):
                return None
            try:
                json.dumps(rule.get("default"))
            except (TypeError, ValueError):
                return None
            rules[param][keyword] = {"default": rule.get("default"), "why": rule["why"]}
    return rules


def _argument(node: Node, sig: Signature, param: str) -> Any:
    if param in node.call_kwargs:
        return node.call_kwargs[param]
    positional = [p.name for p in sig.params if p.kind in (POSITIONAL_ONLY, POSITIONAL_OR_KEYWORD)]
    if param in positional and positional.index(param) < len(node.args):
        return node.args[positional.index(param)]
    return None


def check_rules(node: Node, sig: Signature, rules: Rules, what: str) -> list[Diagnostic]:
    """FG0630/FG0631 for the keywords of the values `node` passes to a rule's parameter."""
    diags: list[Diagnostic] = []
    for param, keywords in rules.items():
        value = _argument(node, sig, param)
        if not isinstance(value, Node) or value.kind not in (Kind.SINGLETON, Kind.FACTORY, Kind.PARTIAL):
            continue
        for keyword, given in value.call_kwargs.items():
            rule = keywords.get(keyword)
            if rule is None:
                continue
            span = value.kwarg_spans.get(keyword, value.span)
            built = value.callable or "the value"
            why = f": {rule['why']}" if rule["why"] else ""
            if not isinstance(given, Node) and _same(given, rule["default"]):
                diags.append(
                    warning(
                        "FG0631",
                        f"`{keyword}` of `{built}` changes nothing: `{what}` does not implement it, and "
                        f"{json.dumps(given)} is what it does{why}",
                        span,
                        hint="remove the line",
                    )
                )
            else:
                diags.append(
                    error(
                        "FG0630",
                        f"`{keyword}` of `{built}` is not implemented by `{what}` (given as its `{param}`){why}",
                        span,
                        hint=f"remove it (the run does what {json.dumps(rule['default'])} would), or use a "
                        "trainer that implements it",
                    )
                )
    return diags


def _same(given: Any, default: Any) -> bool:
    if isinstance(given, bool) or isinstance(default, bool):
        return given is default
    try:  # YAML gives a list where the default may be a tuple: compare as JSON
        return bool(json.loads(json.dumps(given)) == json.loads(json.dumps(default)))
    except (TypeError, ValueError):
        return False
