"""`fgc new NAME --from TEMPLATE`: write a minimal child experiment of a template.

The child extends TEMPLATE and states nothing else, so it compiles and runs as it is; in
comments it lists what it can change: the knobs (template variables that the templates read,
with their defaults) as ready-to-uncomment `-- set` lines, and the blocks of TEMPLATE and its
parents with where each is defined.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from forgather_files.atomic import write_text

from .. import pipeline, resources
from ..diagnostics import has_errors, print_diagnostics
from ..graph import MISSING
from ..inheritance.knobs import top_level_sets
from ..inheritance.template_pass import template_pass
from ..loader import Loader, search_path
from .common import EXIT_INPUT, EXIT_OK, UsageError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "new",
        help="write a minimal child experiment of a stdlib or example template",
        description=(
            "Write NAME.fg, an experiment that extends TEMPLATE and changes nothing yet: it "
            "compiles and runs as it is. Comments in it list the knobs it can set (one "
            "`-- set` line each, with the current default) and the blocks it can override."
        ),
        epilog=(
            "examples:\n"
            "  fgc new my_exp --from scripts/causal_lm.fg      a stdlib template (by its name)\n"
            "  fgc new examples/quickstart/bigger --from examples/quickstart/base.fg\n"
            "A template given as a file is extended by its name in its own folder: write NAME\n"
            "there, or compile NAME with -I that folder (fgc says so)."
        ),
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter,
    )
    p.add_argument("name", metavar="NAME", help="the experiment to write (`.fg` is added if missing)")
    p.add_argument("--from", dest="template", required=True, metavar="TEMPLATE",
                   help="a stdlib template name (models/llama.fg) or a template file")
    p.add_argument("--force", action="store_true", help="overwrite NAME if it exists")
    p.set_defaults(handler=run)


def resolve_template(template: str, out: Path) -> tuple[Path, str, Path | None]:
    """(file, the name to extend it by, the folder to add with -I or None)."""
    given = Path(template)
    if given.is_file():
        folder = given.resolve().parent
        note = None if out.resolve().parent == folder else folder
        return given.resolve(), given.name, note
    stdlib = resources.stdlib_dir()
    if (stdlib / template).is_file():
        return stdlib / template, template, None
    names = sorted(p.relative_to(stdlib).as_posix() for p in stdlib.rglob("*.fg"))
    raise UsageError(
        f"fgc new: template `{template}` is neither a file nor a stdlib template "
        f"(stdlib: {', '.join(names)})"
    )


def chain_of(path: Path):
    """The template graph of `path` and its extends chain, the file itself first."""
    search, _ = search_path(path, [])
    loader = Loader(search.roots)
    root = loader.load_root(path)
    if root is None:  # unreadable: the loader says why
        reason = loader.diagnostics[0].message if loader.diagnostics else "cannot read it"
        raise UsageError(f"fgc new: {path}: {reason}")
    graph = template_pass(loader, root)[0]
    return graph, [graph.templates[graph.root]] + graph.ancestors(graph.root)


def knobs(path: Path, chain) -> tuple[dict[str, str], list, list[str]]:
    """Knob name -> its default as Jinja source, the diagnostics of compiling `path`, and its
    targets.

    The knobs are the chain's top-level `set`s (the nearest wins) and the `!var`s of the
    compiled graph: the templates give a `!var` the template variable of the same name."""
    found: dict[str, str] = {}
    for node in chain:
        for a in top_level_sets(node):
            if a.value is not None and a.name not in found:
                value = a.value.strip()
                prefix = f"{a.name} | default("
                if value.startswith(prefix) and value.endswith(")"):
                    value = value[len(prefix):-1]
                found[a.name] = value
    comp = pipeline.compile_file(path, (), {}, import_modules=False, stop_after="graph")
    graph = comp.graph
    for name, var in (graph.variables.items() if graph else ()):
        # a `!var` without a default is a model hyper-parameter, bound in [hyperparameters]
        if name not in found and var.default is not MISSING:
            found[name] = _jinja_literal(var.default)
    return found, comp.diagnostics, list(graph.targets) if graph else []


def _jinja_literal(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def child_text(
    name: str, extends: str, template_label: str, knob_defaults: dict[str, str], chain, note: Path | None,
    targets: list[str] | None = None,
) -> str:
    stem = Path(name).stem
    compile_line = f"fgc compile {name}{f' -I {note}' if note else ''} -o build/{stem}"
    if targets is None or "main" in targets:
        lines = [
            f"-- extends '{extends}'",
            f"## {stem}.fg: a new experiment from {template_label} (written by `fgc new`). It compiles",
            "## and runs as it is:",
            f"##     {compile_line} && fgc run build/{stem}",
            "##",
        ]
    else:  # a part (a model, an optimizer): `fgc run` would find no `main` to run
        shown = ", ".join(f"`{t}`" for t in targets) or "none"
        lines = [
            f"-- extends '{extends}'",
            f"## {stem}.fg: a new template from {template_label} (written by `fgc new`). It compiles",
            f"## ({compile_line}), but it has no `main` target (targets: {shown}):",
            "## `fgc run` has nothing to run. It is a part, to include in a block of an experiment.",
            "##",
        ]
    lines += [
        "## Knobs: uncomment a line and change the value (each yields to `fgc compile -D name=...`;",
        "## a knob that is a `!var` is also `fgc run --set name=...` at run time).",
    ]
    if not knob_defaults:
        lines.append("## (none: the template's values are written in its blocks, below)")
    if "config_name" in knob_defaults:
        lines.append(f"-- set config_name = config_name | default('{stem}')")
    for knob, default in knob_defaults.items():
        if knob != "config_name":
            lines.append(f"## -- set {knob} = {knob} | default({default})")
    lines += [
        "##",
        "## Blocks: `[name]` replaces one; `[name]`, then `== super()` and the keys to change, amends",
        "## it (the last duplicate key wins; keep the block's indentation). Defined at:",
    ]
    seen = set()
    for node in chain:
        for block in node.blocks.values():
            if block.name in seen:
                continue
            seen.add(block.name)
            inside = f" (inside [{block.parent}])" if block.parent else ""
            lines.append(f"##   [{block.name}]{inside}  {_where(node.file, block.span.line)}")
    return "\n".join(lines) + "\n"


def _where(file: str, line: int) -> str:
    path = Path(file)
    stdlib = resources.stdlib_dir()
    if path.is_relative_to(stdlib):
        return f"{path.relative_to(stdlib).as_posix()}:{line}"
    try:
        return f"{Path(os.path.relpath(path)).as_posix()}:{line}"
    except ValueError:
        return f"{path.as_posix()}:{line}"


def run(args) -> int:
    out = Path(args.name if args.name.endswith(".fg") else args.name + ".fg")
    if out.exists() and not args.force:
        raise UsageError(f"fgc new: {out} exists (--force overwrites it)")
    path, extends, note = resolve_template(args.template, out)
    graph, chain = chain_of(path)
    knob_defaults, diagnostics, targets = knobs(path, chain)
    if has_errors(diagnostics):
        print_diagnostics(diagnostics, "human", sys.stderr)
        print(f"fgc new: {args.template} has errors: nothing written", file=sys.stderr)
        return EXIT_INPUT
    text = child_text(str(out), extends, args.template, knob_defaults, chain, note, targets)
    if out.parent != Path("") and not out.parent.is_dir():
        raise UsageError(f"fgc new: {out.parent}: no such directory")
    write_text(out, text)
    print(f"fgc: wrote {out} (extends {extends})")
    if "main" not in targets:
        print(
            f"fgc: {args.template} has no `main` target (targets: {', '.join(targets) or 'none'}): {out} is a part "
            "to include in an experiment, not one that `fgc run` runs; `fgc new NAME --from scripts/causal_lm.fg` "
            "starts an experiment",
            file=sys.stderr,
        )
    if note:
        print(f"fgc: {extends} is found through -I {note}: fgc compile {out} -I {note} -o build/{out.stem}")
    return EXIT_OK
