"""Names for the diagnostic codes of the config layer (FG04xx).

Their meanings are in the registry, fgc/diagnostic_codes.py (and docs/diagnostics.md, "Config
layer").
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
