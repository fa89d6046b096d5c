"""A mapping with a size bound, the least recently used entries dropped first.

The workspace's caches are keyed by content (a template's lowered text): every edit adds a key,
so each cache needs a bound, by count and by the total size of what it holds, or a long editing
session grows without end.
"""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LruDict(dict, Generic[K, V]):  # type: ignore[type-arg]
    """A dict whose `get` and `__setitem__` keep it within `limit` entries and `budget` units of
    `weight(key)` (characters of a lowered template, say), dropping the least recently used."""

    def __init__(self, limit: int, budget: int | None = None, weight: Callable[[K], int] = lambda _: 1) -> None:
        super().__init__()
        self.limit = limit
        self.budget = budget
        self.weight = weight
        self.total = 0

    def get(self, key: K, default: V | None = None) -> V | None:  # type: ignore[override]
        if key not in self:
            return default
        value = super().pop(key)
        super().__setitem__(key, value)  # the most recently used: last
        return value

    def __setitem__(self, key: K, value: V) -> None:
        if key in self:
            super().pop(key)
        else:
            self.total += self.weight(key)
        super().__setitem__(key, value)
        while len(self) > 1 and (len(self) > self.limit or (self.budget is not None and self.total > self.budget)):
            oldest = next(iter(self))
            super().pop(oldest)
            self.total -= self.weight(oldest)
