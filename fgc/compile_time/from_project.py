"""`!call:forgather:from_project`, the second compile-time node: another project's targets
linked into the build (docs/language.md, Linking another project).

    model: !call:forgather:from_project
        project_dir: "{{ joinpath(workspace_root, 'models') }}"
        config_template: "llama.yaml"
        targets: "model"                  # or a list: a dict {target: value}
        pp_kwargs: { hidden_size: 256 }   # template variables of the linked config
        seed: 7                           # every other keyword: its context variables (!var)

With literal `project_dir`, `config_template`, `targets` and `pp_kwargs` the link is static:
fgc compiles the linked project's config (its own meta.yaml, search path and globals, with
`pp_kwargs` as template variables) into a complete build of its own under
`build/linked/<project>-<config>/`, and config.py constructs the targets from that build's
config.py, passing the other keyword arguments (any values, nodes of this config included) as
its variables. The build then runs without fgc and without the other project.

Any other argument that is not literal (a `!var`, a node) falls back to `fgc.from_project` at
run time (FG0808, a warning): that build needs fgc and the project where it runs.

Compiling another project is the driver's business (fgc/project/link.py runs the pipeline on it);
the driver hands this kind that function (`Linker`), so this module stays below the driver.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from ..codegen import pytree as py
from ..codegen.compile_time_node import CompileTimeNode, ConfigWriter, Planned
from ..diagnostics import Diagnostic, Result, Span, error, warning
from ..graph import Graph, Node, Value, walk_nodes
from ..imports import Imports
from ..imports.specs import FROM_PROJECT, Form, Spec

LINKED_DIR = "linked"
# The reference's parameters, in its order; every other keyword is a context variable.
PARAMETERS = ("project_dir", "config_template", "targets", "pp_debug", "pp_kwargs")


@dataclass(frozen=True)
class LinkRequest:
    """One literal from_project: which project and config, with which template variables."""

    project_dir: str  # absolute
    config: str | None  # None: the project's default config
    variables: dict[str, Any]
    span: Span  # the from_project node, for diagnostics


class LinkedBuild(Protocol):
    """A compiled linked config (fgc/project/link.py): its name and how to write its build."""

    @property
    def name(self) -> str: ...

    @property
    def targets(self) -> list[str]: ...

    def write(self, directory: Path) -> list[Diagnostic]: ...  # the diagnostics of a failure


Linker = Callable[[LinkRequest], "Result[LinkedBuild | None]"]


@dataclass
class Arguments:
    """The arguments of a `from_project` node, as graph values."""
    project_dir: Value
    config: Value
    targets: Value
    pp_kwargs: Value
    context: dict[str, Value]  # config_kwargs: the linked config's variables
    spans: dict[str, Span]


def arguments(node: Node) -> Arguments:
    named: dict[str, Value] = {}
    spans: dict[str, Span] = {}
    for i, value in enumerate(node.args[: len(PARAMETERS)]):
        named[PARAMETERS[i]] = value
        spans[PARAMETERS[i]] = node.arg_spans[i] if i < len(node.arg_spans) else node.span
    context: dict[str, Value] = {}
    for key, value in node.kwargs.items():
        if key in PARAMETERS:
            named[key] = value
            spans[key] = node.kwarg_spans.get(key, node.span)
        else:
            context[key] = value
    return Arguments(
        named.get("project_dir"), named.get("config_template"), named.get("targets", ""), named.get("pp_kwargs"),
        context, spans,
    )


def is_literal(value: Value) -> bool:
    """No node anywhere inside (a `!var` or a tag is known only when the config is built)."""
    return not any(True for _ in walk_nodes(value, {}))


def target_names(targets: Value) -> list[str] | None:
    """`"model"` -> ["model"], `["a", "b"]` -> as it is, `""` -> ["main"]; None: malformed."""
    if isinstance(targets, str):
        return [targets or "main"]
    if isinstance(targets, list) and targets and all(isinstance(t, str) and t for t in targets):
        return list(targets)
    return None


@dataclass
class StaticLink(Planned):
    """config.py constructs the targets from the linked build's own config.py."""

    node: Node
    directory: str  # "linked/<project>-<config>"
    targets: list[str]
    single: bool  # `targets` was a string: the value itself, not a dict
    context: dict[str, Value]
    linked: LinkedBuild
    consumed: set[Node] = field(default_factory=set)

    def children(self) -> list[Value]:
        return list(self.context.values())

    def prepare(self, emitter: ConfigWriter) -> None:
        emitter.build_module(self.directory, "config", "construct")

    def expr(self, emitter: ConfigWriter) -> ast.expr:
        construct = py.name(emitter.build_module(self.directory, "config", "construct"))
        keywords = py.keywords([(k, emitter.expr(v)) for k, v in self.context.items()])
        if self.single:
            return py.call(construct, [ast.Constant(self.targets[0])], keywords)
        names = ast.Tuple([ast.Constant(t) for t in self.targets], ast.Load())
        built = py.call(construct, [names], keywords)
        return py.call(py.name("dict"), [py.call(py.name("zip"), [names, built])])

    def write_files(self, root: Path) -> list[Diagnostic]:
        (root / LINKED_DIR).mkdir(exist_ok=True)
        return self.linked.write(root / self.directory)


@dataclass
class RuntimeLink(Planned):
    """config.py calls `fgc.from_project` when it is built (fgc compiles on the fly there)."""

    node: Node
    consumed: set[Node] = field(default_factory=set)

    def children(self) -> list[Value]:
        return [*self.node.args, *self.node.kwargs.values()]

    def _function(self, emitter: ConfigWriter) -> str:
        return emitter.importer.module(self.node, Spec("fgc:from_project", Form.MODULE, "fgc", ("from_project",)))

    def prepare(self, emitter: ConfigWriter) -> None:
        self._function(emitter)

    def expr(self, emitter: ConfigWriter) -> ast.expr:
        args = [emitter.expr(v) for v in self.node.args]
        keywords = py.keywords([(k, emitter.expr(v)) for k, v in self.node.kwargs.items()])
        return py.call(py.name(self._function(emitter)), args, keywords)


def _directory_name(project_dir: str, config: str | None, taken: set[str]) -> str:
    stem = os.path.basename(project_dir.rstrip(os.sep)) or "project"
    if config:
        stem += "-" + re.sub(r"\.(yaml|fg)$", "", config)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)
    name, n = stem, 2
    while name in taken:
        name, n = f"{stem}-{n}", n + 1
    taken.add(name)
    return f"{LINKED_DIR}/{name}"


class FromProject(CompileTimeNode):
    def __init__(self, link: Linker | None = None) -> None:
        self.link = link  # None: no driver to compile another project (every link at run time)

    def recognise(self, node: Node, imports: Imports) -> bool:
        spec = imports.specs.get(node)
        return spec is not None and spec.form == Form.HELPER and spec.text == FROM_PROJECT

    def plan(
        self, nodes: list[Node], graph: Graph, imports: Imports, use_black: bool
    ) -> Result[list[Planned]]:
        planned: list[Planned] = []
        diags: list[Diagnostic] = []
        taken: set[str] = set()
        for node in nodes:
            a = arguments(node)
            static = all(is_literal(v) for v in (a.project_dir, a.config, a.targets, a.pp_kwargs))
            if not static or self.link is None:
                diags.append(
                    warning(
                        "FG0808",
                        "from_project with arguments known only when the config is built: linked at run "
                        "time by fgc.from_project (the build needs fgc and the project where it runs)",
                        node.span,
                        hint="write project_dir, config_template, targets and pp_kwargs as literals to link statically",
                    )
                )
                planned.append(RuntimeLink(node))
                continue
            problem = self._check(a, node)
            if problem is not None:
                diags.append(problem)
                continue
            assert isinstance(a.project_dir, str)
            project_dir = os.path.normpath(os.path.join(node.template_dir, a.project_dir))
            variables = a.pp_kwargs if isinstance(a.pp_kwargs, dict) else {}
            request = LinkRequest(
                project_dir, a.config if isinstance(a.config, str) else None, dict(variables), node.span
            )
            linked, link_diags = self.link(request)
            diags.extend(link_diags)
            if linked is None:
                continue
            names = target_names(a.targets)
            assert names is not None
            unknown = [t for t in names if t not in linked.targets]
            if unknown:
                diags.append(
                    error(
                        "FG0807",
                        f"the linked config has no target {', '.join(f'`{t}`' for t in unknown)}; "
                        f"its targets: {', '.join(linked.targets)}",
                        a.spans.get("targets", node.span),
                    )
                )
                continue
            directory = _directory_name(project_dir, request.config, taken)
            planned.append(StaticLink(node, directory, names, isinstance(a.targets, str), a.context, linked))
        return Result(planned, diags)

    @staticmethod
    def _check(a: Arguments, node: Node) -> Diagnostic | None:
        def at(key: str) -> Span:
            return a.spans.get(key, node.span)

        if not isinstance(a.project_dir, str) or not a.project_dir:
            return error("FG0807", "from_project needs `project_dir`, a directory", at("project_dir"))
        if a.config is not None and not isinstance(a.config, str):
            return error("FG0807", "`config_template` must be a config name (a string)", at("config_template"))
        if target_names(a.targets) is None:
            return error("FG0807", "`targets` must be a target name or a list of them", at("targets"))
        if a.pp_kwargs is not None and not isinstance(a.pp_kwargs, dict):
            return error("FG0807", "`pp_kwargs` must be a mapping of template variables", at("pp_kwargs"))
        return None


__all__ = ["FromProject", "LinkRequest", "LinkedBuild", "Linker"]
