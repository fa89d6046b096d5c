"""Callable specs as written after a tag: `!partial:SPEC`.

    builtin     dict, len, dict.fromkeys            a (dotted) name of `builtins`
    helper      getitem items keys values call      the reference's graph helpers
                named_list named_tuple named_dict
                forgather:from_project              another project's targets, linked by fgc
    module      torch.optim:AdamW, torch:optim.AdamW
                torch.nn.SiLU (no `:`, not a builtin: accepted with a warning, split by locate)
    file        path/to/file.py:Attr                relative to the template that wrote it
    relative    .module:Attr, .pkg.module:Attr      a module next to that template, else in a
                                                    directory of the node's submodule_searchpath

Parsing needs no import. A module spec whose top-level package is not installed but exists next
to the template (`my_optim:MyOptimizer` beside `my_optim.py`) is a local module too; that is
decided by `locate`, not here.
"""

from __future__ import annotations

import builtins
import enum
import os
from dataclasses import dataclass

HELPERS = frozenset({"getitem", "items", "keys", "values", "call", "named_list", "named_tuple", "named_dict"})
# The reference's `!call:forgather:from_project`: a helper whose signature fgc knows (no import);
# fgc links it at compile time (fgc/compile_time/from_project.py), never through the runtime.
FROM_PROJECT = "forgather:from_project"


class Form(str, enum.Enum):
    BUILTIN = "builtin"
    HELPER = "helper"
    MODULE = "module"
    FILE = "file"
    RELATIVE = "relative"


@dataclass(frozen=True)
class Spec:
    """An import text (`module:name`, a file path, a builtin) split into its parts."""
    text: str
    form: Form
    module: str | None  # dotted module name (MODULE, RELATIVE without the dot), None otherwise
    attrs: tuple[str, ...]  # attribute path inside the module (or in builtins for BUILTIN)
    path: str | None = None  # FILE: absolute path of the .py file
    # A dotted name without `:` that is not a builtin (`torch.nn.SiLU`): a MODULE spec whose
    # split between module and name is decided by `locate.split_colonless` (the reference's
    # projects write such specs; they are accepted with a warning naming the `:` form).
    colonless: bool = False

    @property
    def attr(self) -> str:
        return ".".join(self.attrs)


class SpecError(ValueError):
    """A malformed spec; the message says what was expected, `hint` may suggest a fix."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def _dotted(text: str) -> tuple[str, ...] | None:
    parts = tuple(text.split("."))
    return parts if all(p.isidentifier() for p in parts) else None


def parse_spec(text: str, template_dir: str) -> Spec:
    """Parse SPEC; FILE paths are made absolute against `template_dir`."""
    text = text.strip()
    if not text:
        raise SpecError("empty callable spec")
    if text == FROM_PROJECT:
        return Spec(text, Form.HELPER, None, ("from_project",))
    if text.count(":") > 1:
        raise SpecError(
            f"`{text}` is not a callable spec: expected `module:Name` with one `:`",
        )
    if ":" not in text:
        attrs = _dotted(text)
        if attrs is None:
            raise SpecError(f"`{text}` is not a callable spec: expected `module:Name` or a builtin name")
        if len(attrs) == 1 and text in HELPERS:
            return Spec(text, Form.HELPER, None, attrs)
        if not hasattr(builtins, attrs[0]):
            if len(attrs) > 1:  # `torch.nn.SiLU`: the module's name and the attribute's
                return Spec(text, Form.MODULE, ".".join(attrs[:-1]), attrs[-1:], colonless=True)
            raise SpecError(f"`{text}` is not a builtin; a module needs a `:` before the name")
        return Spec(text, Form.BUILTIN, None, attrs)
    left, right = text.split(":")
    attrs = _dotted(right)
    if attrs is None:
        raise SpecError(f"`{right}` is not a (dotted) Python name in `{text}`")
    if left.endswith(".py") or "/" in left or os.sep in left:
        path = left if os.path.isabs(left) else os.path.join(template_dir, left)
        stem = os.path.basename(left)[: -len(".py")] if left.endswith(".py") else ""
        if not stem.isidentifier():
            raise SpecError(f"`{left}` must name a Python file whose name is a module name (`name.py`)")
        return Spec(text, Form.FILE, stem, attrs, os.path.normpath(path))
    if left.startswith("."):
        mod = _dotted(left[1:])
        if mod is None:
            raise SpecError(f"`{left}` is not a relative module name: expected `.module` (one dot)")
        return Spec(text, Form.RELATIVE, left[1:], attrs)
    if _dotted(left) is None:
        raise SpecError(f"`{left}` is not a module name in `{text}`")
    return Spec(text, Form.MODULE, left, attrs)
