"""A mapping with size bounds, the least recently used entries dropped first.

The workspace's caches are keyed by content (a template's lowered text): every edit adds a key.
So each cache keeps at most `per_group` entries of one group (the versions of one template: the
current one and the one before it, which an undo brings back) besides its bounds by count and
by the total size of what it holds; nothing is retained per edit.
"""

from __future__ import annotations

from typing import Callable, Generic, Hashable, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LruDict(dict, Generic[K, V]):
    """A dict whose `get` and `__setitem__` keep it within `limit` entries, `budget` units of
    `weight(key)` and `per_group` entries of one `group(key)`, dropping the least recently used."""

    def __init__(
        self,
        limit: int,
        budget: int | None = None,
        weight: Callable[[K], int] = lambda _: 1,
        group: Callable[[K], Hashable] | None = None,
        per_group: int = 2,
    ) -> None:
        super().__init__()
        self.limit = limit
        self.budget = budget
        self.weight = weight
        self.group = group
        self.per_group = per_group
        self.total = 0
        self._groups: dict[Hashable, list[K]] = {}  # group -> its keys, least recently used first

    def get(self, key: K, default: V | None = None) -> V | None:  # type: ignore[override]
        if key not in self:
            return default
        value = super().pop(key)
        super().__setitem__(key, value)  # the most recently used: last
        if self.group is not None:
            keys = self._groups[self.group(key)]
            keys.remove(key)
            keys.append(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        if key in self:
            self._drop(key)
        super().__setitem__(key, value)
        self.total += self.weight(key)
        if self.group is not None:
            keys = self._groups.setdefault(self.group(key), [])
            keys.append(key)
            while len(keys) > self.per_group:
                self._drop(keys[0])
        while len(self) > 1 and (len(self) > self.limit or (self.budget is not None and self.total > self.budget)):
            self._drop(next(iter(self)))

    def _drop(self, key: K) -> None:
        super().pop(key)
        self.total -= self.weight(key)
        if self.group is not None:
            g = self.group(key)
            keys = self._groups[g]
            keys.remove(key)
            if not keys:
                del self._groups[g]
