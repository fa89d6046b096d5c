"""An independent, deliberately small interpreter of graph.json (its format: fgc/graph.py; the semantics:
docs/language.md, Tags and semantics).

It knows nothing of fgc's code generator: it reads the JSON graph and builds values with the
language's identity rules, the way the reference materializes a graph:

* a singleton (and a `!list`/`!tuple`/`!dict`/`!dlist`) is built once per construction and
  shared by every reference;
* a factory is built at every reference;
* a partial is a callable; each call builds its arguments (so a factory argument is fresh at
  every call, a singleton argument is the shared one), appends the call's positional arguments
  and merges its keyword arguments;
* a variable takes the value given, else its default.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import os
import sys
import types


class Unbound(Exception):
    pass


HELPERS = {
    "getitem": lambda obj, key: obj[key],
    "items": lambda m: m.items(),
    "keys": lambda m: m.keys(),
    "values": lambda m: m.values(),
    "call": lambda fn, *a, **k: fn(*a, **k),
    "named_list": lambda *a: list(a),
    "named_tuple": lambda *a: tuple(a),
    "named_dict": lambda **k: dict(k),
}


def resolve(spec: str, base_dir: str, search: list[str] = ()):
    if ":" not in spec:
        if spec in HELPERS:
            return HELPERS[spec]
        parts = spec.split(".")
        if not hasattr(builtins, parts[0]):  # `os.path.join`: the longest importable prefix
            for cut in range(len(parts) - 1, 0, -1):
                try:
                    obj = importlib.import_module(".".join(parts[:cut]))
                except ImportError:
                    continue
                for part in parts[cut:]:
                    obj = getattr(obj, part)
                return obj
        obj = builtins
        for part in parts:
            obj = getattr(obj, part)
        return obj
    module, attr = spec.split(":")
    if module.endswith(".py") or module.startswith("."):
        # A file next to the template: a module of a package made of its directory (and of the
        # submodule_searchpath directories), so that its relative imports work.
        file = (
            os.path.join(base_dir, module)
            if module.endswith(".py")
            else os.path.join(base_dir, module[1:].replace(".", "/") + ".py")
        )
        dirs = [os.path.dirname(os.path.abspath(file))] + [os.path.join(base_dir, d) for d in search]
        package = "_interp_" + str(abs(hash(tuple(dirs))))
        if package not in sys.modules:
            pkg = types.ModuleType(package)
            pkg.__path__ = dirs
            sys.modules[package] = pkg
        obj = importlib.import_module(f"{package}.{os.path.basename(file)[:-3]}")
    else:
        try:
            obj = importlib.import_module(module)
        except ModuleNotFoundError:
            obj = resolve(f"./{module.replace('.', '/')}.py:{attr}", base_dir)
            return obj
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Interpreter:
    def __init__(
        self, graph: dict, base_dir: str, variables: dict | None = None, node_dirs: dict | None = None
    ) -> None:
        """`node_dirs`: node id -> directory of the template that wrote it, where that is not
        `base_dir` (relative import specs are relative to it; graph.json has no positions)."""
        assert graph["fgc_graph"] == 1
        self.graph = graph
        self.base_dir = base_dir
        self.node_dirs = node_dirs or {}
        self.variables = dict(variables or {})
        self.singletons: dict[str, object] = {}
        # A variable's default applies to all its uses (construct() has one parameter per variable).
        self.defaults = {
            n["var"]: n["default"] for n in graph["nodes"].values() if n["kind"] == "var" and "default" in n
        }
        self.default_values: dict[str, object] = {}
        self.searchpaths = self._searchpaths()

    def _searchpaths(self) -> dict[str, list[str]]:
        """node id -> the absolute submodule_searchpath directories of the nodes above it (a
        relative spec is also looked for there, as in the reference's model projects)."""
        out: dict[str, list[str]] = {}

        def visit(v, above: list[str]) -> None:
            if isinstance(v, list):
                for x in v:
                    visit(x, above)
            elif isinstance(v, dict) and set(v) != {"$node"}:
                for x in v.values():
                    visit(x, above)
            elif isinstance(v, dict):
                nid = v["$node"]
                n = self.graph["nodes"][nid]
                own = [os.path.join(self.node_dirs.get(nid, self.base_dir), d)
                       for d in n["kwargs"].get("submodule_searchpath", [])]
                new = [d for d in own + above if d not in out.setdefault(nid, [])]
                if new:
                    out[nid].extend(new)
                    for x in [*n["args"], *n["kwargs"].values()]:
                        visit(x, out[nid])

        for target in self.graph["targets"]:
            visit(self.graph["values"][target], [])
        return out

    def search(self, n: dict) -> list[str]:
        if (n["callable"] or "").startswith("."):
            return self.searchpaths.get(n["id"], [])
        return n["kwargs"].get("submodule_searchpath", [])

    def target(self, name: str):
        return self.value(self.graph["values"][name])

    def value(self, v):
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            if set(v) == {"$node"}:
                return self.node(v["$node"])
            return {k: self.value(x) for k, x in v.items()}
        return v

    def node(self, nid: str):
        n = dict(self.graph["nodes"][nid], id=nid)
        kind = n["kind"]
        if kind == "var":
            if n["var"] in self.variables:
                return self.variables[n["var"]]
            if n["var"] in self.defaults:
                if n["var"] not in self.default_values:
                    self.default_values[n["var"]] = self.value(self.defaults[n["var"]])
                return self.default_values[n["var"]]
            raise Unbound(n["var"])
        if kind == "factory":
            return self.build(n)
        if kind == "partial":
            if nid not in self.singletons:
                self.singletons[nid] = self.partial(n)
            return self.singletons[nid]
        if kind == "meta":
            raise NotImplementedError("meta nodes are not executed")
        if nid not in self.singletons:
            self.singletons[nid] = self.build(n)
        return self.singletons[nid]

    def arguments(self, n: dict) -> tuple[list, dict]:
        args = [self.value(a) for a in n["args"]]
        kwargs = {
            k: self.value(v)
            for k, v in n["kwargs"].items()
            if k not in ("submodule_searchpath", "latent_args")
        }
        if "latent_args" in n["kwargs"]:
            kwargs.update(self.value(n["kwargs"]["latent_args"]))
        return args, kwargs

    def dir_of(self, n: dict) -> str:
        return self.node_dirs.get(n["id"], self.base_dir)

    def build(self, n: dict):
        kind = n["kind"]
        if kind in ("list", "dlist"):
            return [self.value(a) for a in n["args"]]
        if kind == "tuple":
            return tuple(self.value(a) for a in n["args"])
        if kind == "dict":
            return {k: self.value(v) for k, v in n["kwargs"].items()}
        args, kwargs = self.arguments(n)
        return resolve(n["callable"], self.dir_of(n), self.search(n))(
            *args, **kwargs
        )

    def partial(self, n: dict):
        def call(*more, **kw):
            args, kwargs = self.arguments(n)
            fn = resolve(n["callable"], self.dir_of(n), self.search(n))
            return fn(*args, *more, **{**kwargs, **kw})

        return call
