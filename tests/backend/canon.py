"""Comparable forms of constructed values: the same structure, the same sharing.

Plain values (None, bool, int, str, and floats unless `pattern_floats`) compare by value;
containers by their items; every other object by its type name and by WHICH earlier object it
is (a label in order of first appearance), so two constructions compare equal when they build
objects of the same types shared in the same way.
"""

from __future__ import annotations


def canon(value, pattern_floats: bool = False):
    labels: dict[int, int] = {}
    float_labels: dict[float, int] = {}
    keep = []

    def walk(v):
        if v is None or isinstance(v, (bool, int, str)):
            return v
        if isinstance(v, float):
            if not pattern_floats:
                return ("float", repr(v))
            return ("float#", float_labels.setdefault(v, len(float_labels)))
        if isinstance(v, list):
            return ["list", [walk(x) for x in v]]
        if isinstance(v, tuple):
            return ["tuple", [walk(x) for x in v]]
        if isinstance(v, dict):
            return ["dict", [(walk(k), walk(x)) for k, x in v.items()]]
        keep.append(v)
        label = labels.setdefault(id(v), len(labels))
        kind = (
            "callable"
            if callable(v) and not isinstance(v, type) and hasattr(v, "__call__") and _is_function_like(v)
            else type(v).__qualname__
        )
        return ("object", kind, label)

    return walk(value)


def _is_function_like(v) -> bool:
    import functools
    import types

    return isinstance(v, (functools.partial, types.FunctionType, types.MethodType))
