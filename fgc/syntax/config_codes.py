"""Diagnostic codes of the config layer (FG04xx), with one line of meaning each.

docs/diagnostics.md ("Config layer") lists the same table; a test keeps the two in step.
"""

SYNTAX = "FG0401"
INDENTATION = "FG0402"
TAB_INDENT = "FG0403"
UNTERMINATED_SCALAR = "FG0404"
UNTERMINATED_FLOW = "FG0405"
BAD_ESCAPE = "FG0406"
UNKNOWN_TAG = "FG0407"
UNSUPPORTED = "FG0408"
TAG_VALUE = "FG0409"
ANCHOR_NAME = "FG0410"
BAD_CHARACTER = "FG0411"
MAPPING_KEY = "FG0412"
BLOCK_SCALAR = "FG0413"
MALFORMED_TAG = "FG0414"
COMMENT = "FG0415"
YAML11 = "FG0420"

MEANINGS = {
    SYNTAX: "syntax error: the token found does not fit here (the message says what was expected)",
    INDENTATION: "bad indentation of a mapping entry or sequence entry",
    TAB_INDENT: "a tab character in indentation (YAML indents with spaces only)",
    UNTERMINATED_SCALAR: "unterminated single- or double-quoted scalar",
    UNTERMINATED_FLOW: "unterminated flow sequence `[` or flow mapping `{`",
    BAD_ESCAPE: "invalid escape sequence in a double-quoted scalar",
    UNKNOWN_TAG: "unknown tag: not a Forgather tag (`!call`, `!partial`, ...) nor a standard `!!` tag",
    UNSUPPORTED: "YAML feature that fgc does not support (`?` keys, several documents, directives, "
    "verbatim or named-handle tags, `!!binary`/`!!timestamp`/`!!set`/`!!python/...`)",
    TAG_VALUE: "a value that its standard tag cannot read (`!!int abc`, `!!map` on a scalar)",
    ANCHOR_NAME: "invalid anchor or alias name",
    BAD_CHARACTER: "a character that cannot appear here (control character, `@` or a backtick "
    "starting a scalar, `,` outside a flow collection, ...)",
    MAPPING_KEY: "a mapping key without `:`, spanning lines, or a block mapping starting on its "
    "parent key's line",
    BLOCK_SCALAR: "invalid block scalar header (chomping `+`/`-`, indentation 1-9) or content indentation",
    MALFORMED_TAG: "malformed Forgather tag (empty `@name`, `!var` with a spec, ...)",
    COMMENT: "warning: a `#` comment not preceded by whitespace",
    YAML11: "warning: YAML 1.1 (the reference) reads this plain scalar differently from YAML 1.2",
}
