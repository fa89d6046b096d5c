"""Test tiers: which tests are `slow` (they spawn a Python process or train a model).

`python -m pytest -m "not slow" tests` is the fast selection for development; CI runs everything.
A test is slow when it is marked `@pytest.mark.slow`, lives in a training directory (`SLOW_DIRS`),
or when its code, a fixture it uses, or a test helper they call (followed through the names their
bytecode loads, within tests/) starts a process or constructs a trainer. So a new test that calls
an existing `fgc(...)` subprocess helper is slow without anyone marking it.

In a run that deselects slow tests, `SpawnGuard` fails any test that starts a Python process after
all: the classification is checked by every fast run, not trusted.
"""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

TESTS = Path(__file__).resolve().parent

# Directories whose every test starts processes: workers and runs, or the language server over
# stdio (started by pytest-lsp's fixture, whose code is not in tests/).
SLOW_DIRS = ("distributed", "runs", "lsp")

# Names whose load in a test's bytecode means "starts a process": `subprocess.run`, `Popen`,
# `sys.executable`, torchrun, `mp.spawn`, `start_processes`.
_SPAWN_NAMES = frozenset({"subprocess", "Popen", "executable", "torchrun", "spawn", "start_processes"})
# A trainer class referenced (`Trainer`, `AccelTrainer`, `PipelineTrainer`, ...): the test trains.
_TRAINER = re.compile(r"Trainer$")


def _is_test_code(obj: Any, root: Path) -> bool:
    code = getattr(obj, "__code__", None)
    if code is None:
        return False
    path = Path(code.co_filename).resolve()
    return path.is_relative_to(root) and path != Path(__file__).resolve()  # not the guard itself


def _codes(code: types.CodeType) -> Iterator[types.CodeType]:
    """The code object and those nested in it (inner functions, lambdas, comprehensions)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


class SlowFinder:
    """Follows the names a function's bytecode loads to the test helpers they name (memoized)."""

    def __init__(self, root: Path = TESTS) -> None:
        self.root = root
        self._memo: dict[Any, bool] = {}

    def function_is_slow(self, fn: Callable[..., Any]) -> bool:
        fn = getattr(fn, "__func__", fn)
        key = getattr(fn, "__code__", None)
        if key is None or not _is_test_code(fn, self.root):
            return False
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = False  # a recursive helper is not slow because of itself
        found = self._scan(fn)
        self._memo[key] = found
        return found

    def _scan(self, fn: Any) -> bool:
        glb = getattr(fn, "__globals__", {})
        for code in _codes(fn.__code__):
            names = code.co_names
            if _SPAWN_NAMES.intersection(names) or any(_TRAINER.search(n) for n in names):
                return True
            for name in names:
                value = glb.get(name)
                if isinstance(value, types.FunctionType) and self.function_is_slow(value):
                    return True
                if isinstance(value, type) and self._is_test_class(value) and self._class_is_slow(value):
                    return True
                if isinstance(value, types.ModuleType) and self._is_test_module(value):
                    # `testlib.helper(...)`: the attribute names loaded next to the module's name
                    for attr in names:
                        member = getattr(value, attr, None)
                        if isinstance(member, types.FunctionType) and self.function_is_slow(member):
                            return True
        return False

    def _class_is_slow(self, cls: type) -> bool:
        return any(
            self.function_is_slow(member) for member in vars(cls).values() if isinstance(member, types.FunctionType)
        )

    def item_is_slow(self, item: pytest.Item) -> bool:
        if item.get_closest_marker("slow"):
            return True
        path = Path(str(item.fspath)).resolve()
        if path.is_relative_to(self.root) and path.relative_to(self.root).parts[0] in SLOW_DIRS:
            return True
        fn = getattr(item, "function", None)
        if fn is not None and self.function_is_slow(fn):
            return True
        info = getattr(item, "_fixtureinfo", None)
        for name in getattr(item, "fixturenames", ()):
            for fixturedef in (info.name2fixturedefs.get(name, ()) if info else ()):
                if self.function_is_slow(fixturedef.func):
                    return True
        return False


    def _is_test_module(self, module: types.ModuleType) -> bool:
        file = getattr(module, "__file__", None)
        return bool(file) and Path(file).resolve().is_relative_to(self.root)

    def _is_test_class(self, cls: type) -> bool:
        return self._is_test_module(sys.modules.get(cls.__module__, types.ModuleType("x")))


def mark_slow_items(items: list[pytest.Item], root: Path = TESTS) -> None:
    finder = SlowFinder(root)
    for item in items:
        if not item.get_closest_marker("slow") and finder.item_is_slow(item):
            item.add_marker(pytest.mark.slow)


def deselects_slow(config: pytest.Config) -> bool:
    expr = config.getoption("markexpr", "") or ""
    return re.search(r"\bnot\s+slow\b", expr) is not None


def _starts_python(args: Any) -> bool:
    argv = [args] if isinstance(args, (str, bytes)) else list(args or ())
    first = str(argv[0]) if argv else ""
    return first == sys.executable or Path(first).name.startswith(("python", "torchrun", "fgc"))


class SpawnGuard:
    """In a fast run, a test that starts a Python process fails: it must be classified slow."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self._init = subprocess.Popen.__init__

    def __enter__(self) -> "SpawnGuard":
        guard, original = self, self._init

        def init(popen: subprocess.Popen, args: Any, *rest: Any, **kw: Any) -> None:
            if _starts_python(args):
                guard.started.append(" ".join(map(str, args if not isinstance(args, (str, bytes)) else [args]))[:120])
            original(popen, args, *rest, **kw)

        subprocess.Popen.__init__ = init  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: Any) -> None:
        subprocess.Popen.__init__ = self._init  # type: ignore[method-assign]
