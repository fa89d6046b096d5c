"""A signature check never rejects a call that Python accepts (issue 20, part 2).

The corpus: every public factory of transformers' Auto classes, peft, datasets and torch.optim
(the classes and functions, and their public class and static methods). For each, calls are
made up from the signature its documentation shows (required arguments by position, the same
by keyword, every optional one by keyword) and from two mistakes (an unknown keyword, one
positional too many). Python itself says whether it accepts each: the call is made with
placeholder values under a trace that stops it as soon as the frame of the function that binds
the arguments is entered, so no body runs. Every call Python accepts must get no error from
fgc's binding (a note, FG0615, is allowed); every call that Python rejects at the same boundary
must get an error or a note (the check keeps its teeth), except where fgc has no signature.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from fgc.diagnostics import Span
from fgc.graph import Kind, Node
from fgc.imports import as_notes
from fgc.imports.cache import SignatureCache
from fgc.imports.resolve import Resolver
from fgc.imports.signature import bind
from fgc.imports.specs import parse_spec

pytest.importorskip("peft")
pytest.importorskip("datasets")

HERE = os.path.dirname(os.path.abspath(__file__))
SPAN = Span.point(os.path.join(HERE, "corpus.fg"), 1)


class _Entered(BaseException):
    """Raised by the trace when the binding frame is entered: Python accepted the arguments."""


def python_accepts(f: Callable[..., Any], target: Any, args: tuple, kwargs: dict) -> bool:
    """Does Python bind `f(*args, **kwargs)` (up to the frame of code object `target`)?"""

    def tracer(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code is target:
            raise _Entered
        return None

    sys.settrace(tracer)
    try:
        result = f(*args, **kwargs)
    except _Entered:
        return True
    except TypeError:
        return False
    except Exception:  # raised by Python code before the binding frame: not a binding error
        return True
    finally:
        sys.settrace(None)
    if inspect.isgenerator(result) or inspect.iscoroutine(result):
        result.close()  # a generator or coroutine function binds without entering its frame
    return True


def binding_code(f: Any) -> Any:
    """The code object of the Python function a call of `f` binds its arguments to first."""
    if inspect.isclass(f):
        for name in ("__init__", "__new__"):
            g = getattr(f, name, None)
            code = getattr(getattr(g, "__func__", g), "__code__", None)
            if code is not None:
                return code
        return None
    g = getattr(f, "__func__", f)
    code = getattr(g, "__code__", None)
    if code is None and hasattr(g, "__wrapped__"):  # a wrapper written in C (functools.lru_cache)
        code = getattr(inspect.unwrap(g), "__code__", None)
    return code


@dataclass
class Factory:
    spec: str  # module:Attr.path, as a config writes it
    obj: Any


def _public_methods(cls: type) -> list[str]:
    names = []
    for name in dir(cls):
        if name.startswith("_"):
            continue
        raw = inspect.getattr_static(cls, name, None)
        if isinstance(raw, (classmethod, staticmethod)):
            names.append(name)
    return names


def factories(module: str, names: list[str] | None = None) -> list[Factory]:
    m = importlib.import_module(module)
    out = []
    for name in names if names is not None else getattr(m, "__all__", dir(m)):
        if name.startswith("_"):
            continue
        try:
            obj = getattr(m, name)
        except Exception:  # an optional backend that is not installed
            continue
        if not callable(obj) or inspect.ismodule(obj):
            continue
        out.append(Factory(f"{module}:{name}", obj))
        if inspect.isclass(obj):
            for meth in _public_methods(obj):
                out.append(Factory(f"{module}:{name}.{meth}", getattr(obj, meth)))
    return out


def corpus() -> list[Factory]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import transformers

        autos = sorted(n for n in dir(transformers) if n.startswith("Auto") and inspect.isclass(getattr(transformers, n)))
        torch_optim = importlib.import_module("torch.optim")
        optimizers = [n for n in dir(torch_optim) if inspect.isclass(getattr(torch_optim, n))]
        return (
            factories("transformers", autos)
            + factories("peft")
            + factories("datasets")
            + factories("torch.optim", optimizers)
            + factories("torch.optim.lr_scheduler")
        )


def calls(sig: inspect.Signature) -> list[tuple[str, tuple, dict, bool]]:
    """(label, args, kwargs, a mistake?) made up from a documented signature."""
    P = inspect.Parameter
    params = list(sig.parameters.values())
    required = [p for p in params if p.default is P.empty and p.kind not in (P.VAR_POSITIONAL, P.VAR_KEYWORD)]
    positional = tuple(object() for p in required if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD))
    keyword = {p.name: object() for p in required if p.kind == P.KEYWORD_ONLY}
    by_name = {p.name: object() for p in required if p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY)}
    posonly = tuple(object() for p in required if p.kind == P.POSITIONAL_ONLY)
    optional = {
        p.name: object() for p in params if p.default is not P.empty and p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY)
    }
    n_positional = sum(p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD) for p in params)
    return [
        ("required, positionally", positional, keyword, False),
        ("required, by keyword", posonly, by_name, False),
        ("every optional by keyword", positional, {**keyword, **optional}, False),
        ("an unknown keyword", positional, {**keyword, "zz_not_a_parameter": object()}, True),
        ("one positional too many", tuple(object() for _ in range(n_positional + 1)), keyword, True),
    ]


def node_for(spec: str, args: tuple, kwargs: dict) -> Node:
    return Node(
        Kind.SINGLETON,
        spec,
        None,
        SPAN,
        args=list(args),
        kwargs=dict(kwargs),
        arg_spans=[SPAN] * len(args),
        kwarg_spans={k: SPAN for k in kwargs},
    )


@pytest.fixture(scope="module")
def checked() -> dict[str, Any]:
    resolver = Resolver(SignatureCache(None))
    accepted_errors: list[str] = []
    rejected_silent: list[str] = []
    counts = {"factories": 0, "calls": 0, "accepted": 0, "rejected": 0, "notes": 0, "no signature": 0}
    seen: set[str] = set()
    for factory in corpus():
        if factory.spec in seen:
            continue
        seen.add(factory.spec)
        target = binding_code(factory.obj)
        try:
            documented = inspect.signature(factory.obj)
        except (ValueError, TypeError):
            documented = None
        if target is None or documented is None:
            counts["no signature"] += 1
            continue
        counts["factories"] += 1
        resolved = resolver.resolve(parse_spec(factory.spec, HERE), HERE)
        for label, args, kwargs, mistake in calls(documented):
            accepted = python_accepts(factory.obj, target, args, kwargs)
            counts["calls"] += 1
            counts["accepted" if accepted else "rejected"] += 1
            if resolved.signature is None:
                continue
            found = bind(resolved.signature, node_for(factory.spec, args, kwargs), False, factory.spec)
            found = as_notes(found, resolved.signature.wrapper, factory.spec)
            counts["notes"] += sum(d.code == "FG0615" for d in found)
            errors = [d for d in found if d.is_error]
            where = f"{factory.spec} ({label}), fgc's signature {resolved.signature}"
            if accepted and errors:
                accepted_errors.append(f"{where}: {errors[0].message}")
            if not accepted and not found:
                rejected_silent.append(where)
    return {"accepted_errors": accepted_errors, "rejected_silent": rejected_silent, "counts": counts}


def test_the_corpus_is_large(checked):
    counts = checked["counts"]
    assert counts["factories"] >= 300, counts
    assert counts["accepted"] >= 900 and counts["rejected"] >= 300, counts


def test_no_call_that_python_accepts_is_rejected(checked):
    assert checked["accepted_errors"] == []


def test_calls_that_python_rejects_are_reported(checked):
    assert checked["rejected_silent"] == []


def test_auto_from_config_takes_its_config_positionally(tmp_path):
    """The issue's example, through `fgc check` and a run: `from_config [*cfg]`."""
    import fgc

    (tmp_path / "exp.fg").write_text(
        "cfg: &cfg !singleton:transformers:GPT2Config { n_layer: 1, n_embd: 8, n_head: 2, vocab_size: 11, n_positions: 8 }\n"
        "main: !singleton:transformers:AutoModelForCausalLM.from_config [*cfg]\n"
    )
    diagnostics = fgc.check(tmp_path / "exp.fg")
    assert [d for d in diagnostics if d.is_error] == []
    build = fgc.compile(tmp_path / "exp.fg", tmp_path / "build")
    model = fgc.load(build.dir).construct()
    assert type(model).__name__ == "GPT2LMHeadModel" and model.config.n_embd == 8
