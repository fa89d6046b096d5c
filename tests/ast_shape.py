"""`shape`: a syntax tree (or diagnostics) as nested tuples of every field of every node, so that
two parses compare field by field, spans included (the chunked parse against the full one:
tests/config/test_config_chunks.py, tests/templates/test_config_chunks_rendered.py)."""

import dataclasses
import math


def shape(x: object) -> object:
    """A value to compare: every field of every node, recursively (NaN equal to NaN)."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return (type(x).__name__, tuple((f.name, shape(getattr(x, f.name))) for f in dataclasses.fields(x)))
    if isinstance(x, (list, tuple)):
        return tuple(shape(i) for i in x)
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    return x
