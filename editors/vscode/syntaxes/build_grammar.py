"""Writes forgather.tmLanguage.json, the TextMate grammar of `.fg` files.

The grammar is written here, not in JSON, so that its regular expressions are raw strings and
the pieces they share (a YAML key, a tag's callable spec, where a scalar may start) are written
once. Run `python editors/vscode/syntaxes/build_grammar.py` after a change; a test
(tests/editors/test_grammar_source.py) fails when the JSON is stale.

How it follows fgc (docs/language.md): the template layer comes first, line by line, as
grammar/template.lark classifies lines (split, `##` comment, `[block]` header, `-- << >>`
statement, `== =>` expression, else text); text is YAML with inline Jinja. The template layer
does not know YAML, so line statements, comments and headers are recognised inside YAML block
scalars and multi-line flow collections too, but not inside a multi-line `{# #}`, `{{ }}` or
`{% %}`. A trailing ` ##` comment is cut outside quotes, where a quote opens only at the start
of a line or after whitespace or one of `[{,:-` (fgc/syntax/template_parser.py); quotes do not
carry over a line break there, so YAML quoted strings end at the end of their line here.

Approximations (a TextMate grammar has no indentation or flow-depth state): a tag ends at
whitespace or `,[]{}` everywhere, not only inside flow collections; a block scalar lasts while
lines are indented more than the line that opened it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).with_name("forgather.tmLanguage.json")

# fgc's table of tags (fgc/tags.py), read from the source tree beside this file. Any other
# `!kind` is scoped storage.type.tag.unknown.forgather.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from fgc.tags import TAGS  # noqa: E402

FORGATHER_TAGS = list(TAGS)

# The globals of fgc's Jinja environment (docs/language.md, "Environment") and Jinja's own.
JINJA_GLOBALS = ["super", "range", "dict", "lipsum", "cycler", "joiner", "namespace",
                 "joinpath", "normpath", "abspath", "relpath", "dirname", "basename",
                 "splitext", "modname_from_path", "repr", "isotime", "utcisotime", "filetime",
                 "utcfiletime", "now", "utcnow", "user_home_dir", "getcwd",
                 "forgather_config_dir", "user_data_dir", "user_cache_dir", "user_config_dir",
                 "site_data_dir", "site_config_dir"]

# A YAML node may start at the start of a line, after whitespace or after a flow indicator:
# "not preceded by anything else" (a negative look-behind also holds at the line start).
NODE_START = r"(?<![^ \t\[{,])"
# A value may also follow a JSON-style quoted key directly: `{"a":1}`.
VALUE_START = r"""(?:(?<![^ \t\[{,])|(?<=["']:))"""
# fgc opens a quoted scalar also right after `:` or `-` (template_parser._QUOTE_AFTER).
QUOTE_START = r"(?<![^ \t\[{,:\-])"
# Where a plain scalar ends: the line end, a comment, (in flow) the next indicator, or a Jinja
# statement or comment, which renders as nothing (`debug: true{% endif %}`).
SCALAR_END = r"(?=[ \t]*$|[ \t]+#|[ \t]*[,\]}]|[ \t]*\{[%#])"

DQ_KEY = r'"(?:[^"\\]|\\.)*"'
SQ_KEY = r"'(?:[^']|'')*'"
# A plain block key: it cannot start with an indicator (`-`, `?` and `:` only when a
# non-space follows), and it ends at the first `: ` (lazy).
PLAIN_KEY = r"""(?:[^\s\-?:,\[\]{}#&*!|>'"%@`]|[-?:](?=\S))(?:[^:#\n]|:(?=\S)|(?<=\S)#)*?"""
BLOCK_KEY = rf"(?:{DQ_KEY}|{SQ_KEY}|{PLAIN_KEY})"
# A flow key also ends at a flow indicator.
PLAIN_FLOW_KEY = (r"""(?:[^\s\-?:,\[\]{}#&*!|>'"%@`]|[-?:](?=[^\s,\[\]{}]))"""
                  r"(?:[^\s:,\[\]{}#]|[ \t]+(?=[^\s:,\[\]{}#])|:(?=[^\s,\[\]{}]))*")
# Where a block key may stand: after the indentation, or after a sequence dash.
KEY_START = r"(?:^[ \t]*|(?<=-[ \t]))"
# A tag's callable spec (`torch.optim:AdamW`, `path/f.py:Name`, `{{ ns.mod }}:Cls`): it ends
# at whitespace, `@` or a flow indicator, except inside `{{ }}`.
SPEC = r"(?:[^\s,\[\]{}@]|\{\{(?:[^}]|\}(?!\}))*\}\})+"
ANCHOR_NAME = r"[\w-]+"

LINE_STATEMENT_PREFIX = r"(?:--|<<|>>)"
LINE_EXPRESSION_PREFIX = r"(?:==|=>)"


def rule(name: str | None = None, **kw) -> dict:
    """A grammar rule; `captures` and friends map group numbers to scope names."""
    out = {"name": name} if name else {}
    for key, value in kw.items():
        if key.endswith("aptures") and isinstance(value, dict):
            value = {str(k): ({"name": v} if isinstance(v, str) else v) for k, v in value.items()}
        out[key] = value
    return out


def inc(*names: str) -> list[dict]:
    return [{"include": f"#{n}"} for n in names]


def words(ws: list[str]) -> str:
    return r"\b(?:" + "|".join(ws) + r")\b"


# -- template layer: whole lines -------------------------------------------------------------

template_lines = {
    "line-constructs": {"patterns": inc("split", "comment-line", "block-header",
                                        "line-statement", "line-expression")},
    "split": rule(
        "meta.split.forgather",
        match=r"^(#)([ \t]*)(-{3,})[ \t]*([\w./][\w./-]*?)[ \t]*(-{3,})[ \t]*$",
        captures={1: "punctuation.definition.split.forgather",
                  3: "punctuation.definition.split.forgather",
                  4: "entity.name.section.template.forgather",
                  5: "punctuation.definition.split.forgather"}),
    "comment-line": rule(
        "comment.line.double-number-sign.forgather",
        match=r"^[ \t]*(##).*$",
        captures={1: "punctuation.definition.comment.forgather"}),
    "block-header": rule(
        "meta.block-header.forgather",
        match=r"^[ \t]*(\[)(\w+)(!*)(\])(?:[ \t]+(#{2,}.*?))?[ \t]*$",
        captures={1: "punctuation.definition.block-header.begin.forgather",
                  2: "entity.name.section.block.forgather",
                  3: "keyword.operator.trim.forgather",
                  4: "punctuation.definition.block-header.end.forgather",
                  5: "comment.line.double-number-sign.forgather"}),
    "line-statement": rule(
        "meta.statement.line.forgather",
        begin=rf"^[ \t]*({LINE_STATEMENT_PREFIX})[ \t]",
        end=r"$",
        beginCaptures={1: "keyword.control.line-statement.forgather"},
        patterns=inc("statement-head", "trailing-comment", "jinja-expression")),
    "line-expression": rule(
        "meta.expression.line.forgather",
        begin=rf"^[ \t]*({LINE_EXPRESSION_PREFIX})[ \t]",
        end=r"$",
        beginCaptures={1: "keyword.control.line-expression.forgather"},
        patterns=inc("trailing-comment", "jinja-expression")),
    # ` ##` (whitespace, two or more `#`) to the end of the line; quoted strings and Jinja are
    # matched before it wherever they may stand, so a `##` inside them is not reached here.
    "trailing-comment": rule(
        "comment.line.double-number-sign.forgather",
        match=r"(?<=[ \t])(#{2,}).*$",
        captures={1: "punctuation.definition.comment.forgather"}),
}

# -- Jinja ------------------------------------------------------------------------------------

STATEMENT_KEYWORDS = [
    (["extends", "include", "import", "from"], "keyword.control.import.jinja"),
    (["if", "elif", "else", "endif"], "keyword.control.conditional.jinja"),
    (["for", "endfor"], "keyword.control.loop.jinja"),
    (["set", "endset", "filter", "endfilter", "with", "endwith", "raw", "endraw",
      "autoescape", "endautoescape", "trans", "pluralize", "endtrans", "endmacro", "endcall",
      "do", "break", "continue"], "keyword.control.jinja"),
]

jinja = {
    "jinja-inline": {"patterns": inc("jinja-comment", "jinja-raw", "jinja-statement",
                                     "jinja-expression-inline")},
    "jinja-comment": rule(
        "comment.block.jinja",
        begin=r"\{#", end=r"#\}",
        beginCaptures={0: "punctuation.definition.comment.begin.jinja"},
        endCaptures={0: "punctuation.definition.comment.end.jinja"}),
    "jinja-raw": rule(
        "meta.embedded.raw.jinja",
        begin=r"(\{%[-+]?)[ \t]*(raw)[ \t]*([-+]?%\})",
        end=r"(\{%[-+]?)[ \t]*(endraw)[ \t]*([-+]?%\})",
        contentName="string.unquoted.raw.jinja",
        beginCaptures={1: "punctuation.section.embedded.begin.jinja",
                       2: "keyword.control.jinja", 3: "punctuation.section.embedded.end.jinja"},
        endCaptures={1: "punctuation.section.embedded.begin.jinja",
                     2: "keyword.control.jinja", 3: "punctuation.section.embedded.end.jinja"}),
    "jinja-statement": rule(
        "meta.embedded.statement.jinja",
        begin=r"\{%[-+]?", end=r"[-+]?%\}",
        beginCaptures={0: "punctuation.section.embedded.begin.jinja"},
        endCaptures={0: "punctuation.section.embedded.end.jinja"},
        patterns=inc("statement-head", "jinja-expression")),
    "jinja-expression-inline": rule(
        "meta.embedded.expression.jinja",
        begin=r"\{\{[-+]?", end=r"[-+]?\}\}",
        beginCaptures={0: "punctuation.section.embedded.begin.jinja"},
        endCaptures={0: "punctuation.section.embedded.end.jinja"},
        patterns=inc("jinja-expression")),
    # The first word of a statement (`\G`: right after `{%` or the line prefix).
    "statement-head": {"patterns": [
        rule(match=r"\G[ \t]*\b(block|endblock)\b(?:[ \t]+(\w+))?",
             captures={1: "keyword.control.block.jinja",
                       2: "entity.name.section.block.jinja"}),
        rule(match=r"\G[ \t]*\b(macro|call)\b(?:[ \t]+(\w+))?",
             captures={1: "keyword.control.macro.jinja",
                       2: "entity.name.function.macro.jinja"}),
        *[rule(match=r"\G[ \t]*(" + words(ws) + ")", captures={1: scope})
          for ws, scope in STATEMENT_KEYWORDS],
    ]},
    "jinja-expression": {"patterns": [
        rule("string.quoted.double.jinja", begin='"', end='"',
             beginCaptures={0: "punctuation.definition.string.begin.jinja"},
             endCaptures={0: "punctuation.definition.string.end.jinja"},
             patterns=[rule("constant.character.escape.jinja", match=r"\\.")]),
        rule("string.quoted.single.jinja", begin="'", end="'",
             beginCaptures={0: "punctuation.definition.string.begin.jinja"},
             endCaptures={0: "punctuation.definition.string.end.jinja"},
             patterns=[rule("constant.character.escape.jinja", match=r"\\.")]),
        rule("constant.numeric.jinja",
             match=r"\b[0-9][0-9_]*(?:\.[0-9_]+)?(?:[eE][-+]?[0-9]+)?\b"),
        rule("constant.language.jinja", match=words(["true", "false", "none", "True",
                                                     "False", "None"])),
        rule(match=r"\b(is)(?:[ \t]+(not))?[ \t]+([A-Za-z_]\w*)",
             captures={1: "keyword.operator.logical.jinja", 2: "keyword.operator.logical.jinja",
                       3: "entity.name.function.test.jinja"}),
        rule("keyword.operator.logical.jinja", match=words(["and", "or", "not", "in"])),
        rule("keyword.control.conditional.jinja", match=words(["if", "else"])),
        rule("keyword.other.jinja", match=words(["as", "import", "with", "without", "context",
                                                 "ignore", "missing", "required", "scoped",
                                                 "recursive"])),
        rule(match=r"(\|)[ \t]*([A-Za-z_]\w*)",
             captures={1: "keyword.operator.filter.jinja",
                       2: "entity.name.function.filter.jinja"}),
        rule(match=r"(\.)[ \t]*([A-Za-z_]\w*)",
             captures={1: "punctuation.accessor.jinja", 2: "variable.other.property.jinja"}),
        rule("support.function.builtin.jinja",
             match=r"(?<![\w.])" + words(JINJA_GLOBALS) + r"(?=[ \t]*\()"),
        rule("variable.language.jinja", match=words(["loop", "self", "caller", "varargs",
                                                     "kwargs"])),
        rule("entity.name.function.jinja", match=r"\b[A-Za-z_]\w*(?=[ \t]*\()"),
        rule("variable.other.jinja", match=r"\b[A-Za-z_]\w*\b"),
        rule("keyword.operator.jinja", match=r"==|!=|<=|>=|//|\*\*|[-+*/%~<>=]"),
        rule("punctuation.separator.jinja", match=r"[,:]"),
        rule("punctuation.section.brackets.jinja", match=r"[()\[\]{}]"),
    ]},
}

# -- YAML -------------------------------------------------------------------------------------

yaml = {
    "yaml-block": {"patterns": inc("block-scalar", "yaml-common", "block-key",
                                   "sequence-dash", "yaml-values")},
    # Shared by block and flow context, and tried first: what may hide a `##` or a `#`.
    "yaml-common": {"patterns": inc("jinja-inline", "trailing-comment", "yaml-comment",
                                    "document-marker", "merge-key")},
    "yaml-values": {"patterns": inc("standard-tag", "tag", "anchor", "alias",
                                    "string-double", "string-single", "flow-mapping",
                                    "flow-sequence", "constant")},
    "yaml-comment": rule(
        "comment.line.number-sign.yaml",
        begin=r"(?<![^ \t])(#)", end=r"(?=[ \t]#{2,})|$",
        beginCaptures={1: "punctuation.definition.comment.yaml"},
        # Quotes open in a comment too (fgc does not cut a ` ##` inside them); Jinja runs.
        patterns=[*inc("jinja-inline"),
                  rule(match=QUOTE_START + r"""(?:"(?:[^"\\]|\\.)*(?:"|$)|'(?:[^']|'')*(?:'|$))""")]),
    "document-marker": rule(
        match=r"^(?:(---)|(\.\.\.))(?=[ \t]|$)",
        captures={1: "entity.other.document.begin.yaml", 2: "entity.other.document.end.yaml"}),
    "merge-key": rule(
        match=KEY_START + r"(<<)[ \t]*(:)(?=[ \t]|$)",
        captures={1: "keyword.operator.merge-key.yaml",
                  2: "punctuation.separator.key-value.mapping.yaml"}),
    "block-key": rule(
        match=KEY_START + rf"({BLOCK_KEY})[ \t]*(:)(?=[ \t]|$)",
        captures={1: {"name": "entity.name.tag.yaml", "patterns": inc("jinja-inline")},
                  2: "punctuation.separator.key-value.mapping.yaml"}),
    "sequence-dash": rule(
        match=KEY_START + r"(-)(?=[ \t]|$)",
        captures={1: "punctuation.definition.block.sequence.item.yaml"}),
    # `key: |2-` ... : the lines after it indented more than its own line, and blank lines.
    # Statement and comment lines do not end it (fgc drops their indentation).
    "block-scalar": rule(
        "meta.block-scalar.yaml",
        begin=(r"^([ \t]*)((?:-[ \t]+)*)"
               rf"(?:({BLOCK_KEY})[ \t]*(:)[ \t]+)?"
               rf"((?:(?:!\S*|&{ANCHOR_NAME})[ \t]+)*)"
               r"([|>])([1-9][+-]?|[+-][1-9]?)?([ \t]+#.*)?$"),
        end=(r"^(?!\1[ \t]+\S|[ \t]*$|[ \t]*" + LINE_STATEMENT_PREFIX + r"[ \t]|[ \t]*"
             + LINE_EXPRESSION_PREFIX + r"[ \t]|[ \t]*##)"),
        beginCaptures={
            2: {"patterns": [rule("punctuation.definition.block.sequence.item.yaml",
                                  match="-")]},
            3: {"name": "entity.name.tag.yaml", "patterns": inc("jinja-inline")},
            4: "punctuation.separator.key-value.mapping.yaml",
            5: {"patterns": inc("standard-tag", "tag", "anchor")},
            6: "keyword.control.flow.block-scalar.yaml",
            7: "constant.numeric.indentation-indicator.yaml",
            8: {"patterns": inc("trailing-comment", "yaml-comment")}},
        contentName="string.unquoted.block.yaml",
        patterns=inc("line-constructs", "jinja-inline", "trailing-comment")),
    "standard-tag": rule(
        "storage.type.tag.yaml",
        match=NODE_START + r"(!!)[\w/.-]*",
        captures={1: "punctuation.definition.tag.yaml"}),
    # `!partial:torch.optim:AdamW@name`, `!dict:@meta`, `!dict@meta`, `!var`.
    "tag": rule(
        "meta.tag.forgather",
        match=NODE_START + rf"(!)([A-Za-z_][\w-]*)?(?:(:)({SPEC})?)?(?:(@)([\w.-]*))?",
        captures={1: "punctuation.definition.tag.forgather",
                  2: {"patterns": [
                      rule("storage.type.tag.forgather",
                           match=r"(?<=!)" + words(FORGATHER_TAGS) + r"(?![\w-])"),
                      rule("storage.type.tag.unknown.forgather", match=r"(?<=!)[\w-]+")]},
                  3: "punctuation.separator.spec.forgather",
                  4: {"name": "meta.spec.forgather", "patterns": [
                      *inc("jinja-inline"),
                      rule("punctuation.separator.spec.forgather", match=":"),
                      rule("entity.name.namespace.forgather", match=r"[^\s:{}]+(?=:)"),
                      rule("entity.name.function.forgather", match=r"[^\s:{}]+")]},
                  5: "punctuation.definition.node-name.forgather",
                  6: "variable.other.node-name.forgather"}),
    "anchor": rule(
        match=NODE_START + rf"(&)({ANCHOR_NAME})",
        captures={1: "punctuation.definition.anchor.yaml", 2: "entity.name.type.anchor.yaml"}),
    "alias": rule(
        match=NODE_START + rf"(\*)({ANCHOR_NAME})",
        captures={1: "punctuation.definition.alias.yaml", 2: "variable.other.alias.yaml"}),
    "string-double": rule(
        "string.quoted.double.yaml",
        begin=QUOTE_START + '"', end='"|$',
        beginCaptures={0: "punctuation.definition.string.begin.yaml"},
        endCaptures={0: "punctuation.definition.string.end.yaml"},
        patterns=[*inc("jinja-inline"),
                  rule("constant.character.escape.yaml",
                       match=r"\\(?:[0abtnvfre \"/\\N_LP\t]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})"),
                  rule("invalid.illegal.escape.yaml", match=r"\\.")]),
    "string-single": rule(
        "string.quoted.single.yaml",
        begin=QUOTE_START + "'", end="'(?!')|$",
        beginCaptures={0: "punctuation.definition.string.begin.yaml"},
        endCaptures={0: "punctuation.definition.string.end.yaml"},
        patterns=[*inc("jinja-inline"),
                  rule("constant.character.escape.yaml", match="''")]),
    "flow-mapping": rule(
        "meta.flow-mapping.yaml",
        begin=NODE_START + r"\{(?![{%#])", end=r"\}",
        beginCaptures={0: "punctuation.definition.mapping.begin.yaml"},
        endCaptures={0: "punctuation.definition.mapping.end.yaml"},
        patterns=[*inc("line-constructs", "yaml-common", "flow-key", "yaml-values"),
                  rule("punctuation.separator.mapping.yaml", match=",")]),
    "flow-sequence": rule(
        "meta.flow-sequence.yaml",
        begin=NODE_START + r"\[", end=r"\]",
        beginCaptures={0: "punctuation.definition.sequence.begin.yaml"},
        endCaptures={0: "punctuation.definition.sequence.end.yaml"},
        patterns=[*inc("line-constructs", "yaml-common", "flow-key", "yaml-values"),
                  rule("punctuation.separator.sequence.yaml", match=",")]),
    "flow-key": rule(
        match=rf"({DQ_KEY}|{SQ_KEY}|{PLAIN_FLOW_KEY})[ \t]*(:)(?=[\s,\[\]{{}}]|$|(?<=[\"']:))",
        captures={1: {"name": "entity.name.tag.yaml", "patterns": inc("jinja-inline")},
                  2: "punctuation.separator.key-value.mapping.yaml"}),
    "constant": {"patterns": [
        rule("constant.language.null.yaml",
             match=VALUE_START + r"(?:null|Null|NULL|~)" + SCALAR_END),
        rule("constant.language.boolean.yaml",
             match=VALUE_START + r"(?:true|True|TRUE|false|False|FALSE)" + SCALAR_END),
        rule("constant.numeric.yaml",
             match=VALUE_START + r"(?:[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
                   r"|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))" + SCALAR_END),
    ]},
}


def grammar() -> dict:
    return {
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
        "name": "Forgather",
        "scopeName": "source.forgather",
        "fileTypes": ["fg"],
        "comment": "Generated by build_grammar.py: edit that file, then run it.",
        "patterns": inc("line-constructs", "yaml-block"),
        "repository": {**template_lines, **jinja, **yaml},
    }


def render() -> str:
    return json.dumps(grammar(), indent=2) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if OUT.read_text() == render() else "forgather.tmLanguage.json is stale")
    OUT.write_text(render())
