"""Passes over the typed ASTs: the template pass and the config semantic passes."""
