"""Support code of every generated config module.

The code generator copies the definitions below (parsed with `ast`, never as text templates)
into each `config.py`, so that a build depends only on the standard library and on the modules
its config names. The definitions refer to module globals of the generated module: `ORIGINS`
(generated-code position -> template position) and `VARIABLES`.
"""

import difflib
import functools
import hashlib
import importlib
import importlib.util
import random
import sys
import types
import weakref
from pathlib import Path

ORIGINS: tuple = ()  # replaced in the generated module
VARIABLES: dict = {}  # replaced in the generated module
TARGETS: dict = {}  # replaced in the generated module


class _Sentinel:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


REQUIRED = _Sentinel("REQUIRED")  # a variable without a default
DEFAULT = _Sentinel("DEFAULT")  # a variable whose default is built from the config


class ConfigError(Exception):
    """A problem with the config found while constructing it (not a bug of the callee)."""


class MissingVariableError(ConfigError):
    pass


class UnknownTargetError(ConfigError):
    pass


class NotExecutedError(ConfigError):
    pass


class partial(functools.partial):
    """functools.partial whose failing calls name the template node that defined it."""

    origin: tuple | None

    def __new__(cls, func, /, *args, **kwargs):
        self = super().__new__(cls, func, *args, **kwargs)
        caller = sys._getframe(1)
        self.origin = (_origins_at(caller.f_code, caller.f_lasti) or [None])[0]
        return self

    def __call__(self, /, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            _annotate(exc, self.origin)
            raise


class BaseConstruction:
    """The objects of one construct() call, each built when first needed."""

    def __init__(self, /, **variables):
        self.variables = variables

    def build(self, target):
        """The value of a target, or a tuple of values for a tuple of targets.

        A config with a `seed` variable is seeded first, so that every construction of one
        build with one seed gives the same objects (model weights included)."""
        try:
            if "seed" in VARIABLES:
                seed_everything(self.var("seed"))
            if isinstance(target, tuple):
                value = tuple([self.target(t) for t in target])
            else:
                value = self.target(target)
        except Exception as exc:
            _annotate(exc)
            raise
        _register_built(self)
        return value

    def target(self, name):
        raise NotImplementedError

    def default(self, name):
        """The default of a variable that is built from the config (generated when there are any)."""
        raise NotImplementedError

    def var(self, name):
        """The value given to construct() for variable `name`, or its default."""
        value = self.variables[name]
        if value is REQUIRED:
            used = ", ".join(VARIABLES[name]["used_at"])
            raise MissingVariableError(
                f"variable `{name}` has no value: pass construct(..., {name}=...) "
                f"(or `fgc run --set {name}=...`); it is used at {used}"
            )
        if value is DEFAULT:  # built from the config, once per construction
            value = self.variables[name] = self.default(name)
        return value

    def unknown_target(self, name):
        close = difflib.get_close_matches(str(name), list(TARGETS), n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        return UnknownTargetError(f"no target `{name}` (targets: {', '.join(TARGETS)}){hint}")


def seed_everything(seed):
    """Seed Python's `random`, and numpy's and torch's global generators where installed (all
    torch devices). A seed that is not an int (None) leaves the generators as they are."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        return
    random.seed(seed)
    for name in ("numpy", "torch"):
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        if name == "numpy":
            module.random.seed(seed % 2**32)
        else:
            module.manual_seed(seed)


def not_executed(what):
    raise NotExecutedError(f"{what} is a `!meta` node: fgc keeps it in the graph but never executes it")


def call(function, /, *args, **kwargs):
    return function(*args, **kwargs)


def named_list(*items):
    return list(items)


def named_tuple(*items):
    return tuple(items)


def named_dict(**items):
    return dict(items)


BUILD = Path(__file__).resolve().parent
MODULES = BUILD / "modules"


def local_module(directory, name, search=(), root=MODULES):
    """Import `<root>/<directory>/<name>.py` (by default a module copied into the build's
    modules/ from next to a template) as a submodule of a private package, so that its relative
    imports work."""
    paths = [str(root / d) for d in (directory, *search)]
    package = "_fgc_build_" + hashlib.sha1("\0".join(paths).encode()).hexdigest()[:12]
    if package not in sys.modules:
        module = types.ModuleType(package)
        module.__path__ = paths
        sys.modules[package] = module
    return importlib.import_module(f"{package}.{name}")


def _origins_at(code, lasti):
    """The config nodes whose generated code contains instruction `lasti` of `code`, innermost
    first (nested nodes written inline share one line of code)."""
    if code.co_filename != __file__ or lasti < 0:
        return []
    positions = list(code.co_positions())
    if lasti // 2 >= len(positions):
        return []
    line, end_line, col, end_col = positions[lasti // 2]
    if line is None or col is None:
        return []
    found = []
    for origin in ORIGINS:
        l0, c0, l1, c1 = origin[:4]
        if (l0, c0) <= (line, col) and (end_line, end_col) <= (l1, c1):
            found.append(origin)
    found.sort(key=lambda o: (o[0], o[1]), reverse=True)  # the latest start is the innermost
    return [o[4:] for o in found]


# The objects the named nodes built, by identity (id -> (weak reference, template origin)), so
# that an error raised later inside one of them (a forward, a callback, a collator) names the
# tag that built it: `built_origin(obj)`.
_BUILT: dict = {}


def built_origin(obj):
    """(file, line, col, node) of the tag that built `obj` in some construct() of this module,
    or None."""
    entry = _BUILT.get(id(obj))
    return entry[1] if entry is not None and entry[0]() is obj else None


def _register_built(construction):
    for key in [k for k, (ref, _) in _BUILT.items() if ref() is None]:
        del _BUILT[key]
    for name, value in vars(construction).items():
        member = getattr(type(construction), name, None)
        code = getattr(getattr(member, "func", None), "__code__", None)
        if code is None:
            continue
        lines = [line for _, _, line in code.co_lines() if line is not None]
        inside = [o for o in ORIGINS if lines and min(lines) <= o[0] <= max(lines)]
        inside.sort(key=lambda o: (o[0], o[1]))
        if not inside:
            continue
        _remember(value, inside[0][4:])
        items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
        for item in items:  # a list's elements: the inline node that names the element's class
            named = [o for o in inside if o[7].split("@")[0].rsplit(":", 1)[-1].split(".")[-1] == type(item).__name__]
            _remember(item, (named or inside)[0][4:])


def _remember(obj, origin):
    try:
        _BUILT[id(obj)] = (weakref.ref(obj), origin)
    except TypeError:  # not weakly referable (a list, an int): no method of it can fail
        pass


def _annotate(exc, outer=None):
    """Note on `exc` each config node it passed through: template file:line:col and callable."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(_origins_at(tb.tb_frame.f_code, tb.tb_lasti))
        tb = tb.tb_next
    found = [origin for origins in reversed(frames) for origin in origins]  # innermost first
    if outer is not None:
        found.append(outer)
    known = getattr(exc, "fgc_origins", None)
    if known is None:
        known = []
        try:
            exc.fgc_origins = known
        except AttributeError:
            return
    for file, line, col, what in found:
        if (file, line, col, what) not in known:
            known.append((file, line, col, what))
            exc.add_note(f"  while building {what} ({file}:{line}:{col})")
