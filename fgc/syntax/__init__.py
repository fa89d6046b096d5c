"""Lexers, parsers and typed ASTs of the two language layers (templates and config)."""
