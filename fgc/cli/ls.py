"""`fgc ls DIR`: the experiments of a folder, with their descriptions.

An experiment is a `.fg` file; its description is the first sentence of its header (the `##`
comment at its top, without the leading `name.fg:`). A file that another file of the folder
extends is marked `base`. Only the files' first lines are read: nothing is compiled. Hidden
directories and fgc's output (builds, run directories: anything holding `fgc-manifest.json` or
`fgc-run.json`, so sweeps too) are skipped.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from .common import EXIT_OK, UsageError, add_examples, add_format_option

# `-- extends 'name'` / `-- include "name"` (a line statement naming a literal template)
_REFERENCE = re.compile(r"""^\s*--\s*(?:extends|include)\s+(['"])([^'"]+)\1""")
_SUBTEMPLATE = re.compile(r"^#---\s.*---\s*$")
WIDTH = 100  # a description longer than this is cut


@dataclass
class Experiment:
    path: str  # relative to the listed folder, `/`-separated
    description: str
    base: bool  # another file of the folder extends or includes it


def add_parser(sub) -> None:
    p = sub.add_parser(
        "ls",
        help="list the experiments of a folder with their descriptions",
        description=(
            "List every .fg file under DIR (recursively) with the first sentence of its header "
            "comment; files that another file there extends or includes are marked `base`."
        ),
    )
    p.add_argument(
        "dir",
        metavar="DIR",
        help="the folder to list (e.g. examples), or a project directory (it holds meta.yaml): its configs",
    )
    add_format_option(
        p,
        text="human: a table (the default); json: the listing as one JSON value on stdout, a list of "
        "{path, description, base}, or for a project {project, description, configs}",
    )
    add_examples(
        p,
        'fgc ls examples                  every experiment with the first sentence of its header',
        "fgc ls my_project                a project's configs (the directory holds meta.yaml)",
        'fgc ls . --format json',
    )
    p.set_defaults(handler=run)


def header(text: str) -> str:
    """The first paragraph of the leading `##` comment, without its `name.fg:` prefix."""
    lines: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if _SUBTEMPLATE.match(stripped):
            break
        if stripped.startswith("--") and not lines:  # the extends before the header
            continue
        if not stripped.startswith("##"):
            break
        body = stripped[2:].strip()
        if not body:
            if lines:
                break
            continue
        lines.append(body)
    paragraph = " ".join(lines)
    paragraph = re.sub(r"^[\w./-]+\.fg:\s*", "", paragraph)
    sentence = re.split(r"(?<=[.!?])\s|:\s", paragraph, maxsplit=1)[0].rstrip(".")
    return sentence if len(sentence) <= WIDTH else sentence[: WIDTH - 3].rstrip() + "..."


def _templates_under(folder: Path) -> list[Path]:
    """The `.fg` files under `folder`, skipping hidden directories and fgc's output: builds, run
    directories and the sweeps made of them (their `sources/` are copies of the templates)."""
    from ..loader import listed_dir

    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if listed_dir(Path(dirpath, d))]
        out.extend(Path(dirpath, f) for f in filenames if f.endswith(".fg"))
    return out


def list_experiments(folder: Path) -> list[Experiment]:
    """Every `.fg` file under `folder`, sorted by folder then name, with its description."""
    files = sorted(_templates_under(folder), key=lambda p: (p.parent.as_posix(), p.name))
    texts = {p: p.read_text(encoding="utf-8", errors="replace") for p in files}
    referenced: set[Path] = set()
    for path, text in texts.items():
        for line in text.splitlines():
            match = _REFERENCE.match(line)
            if match:
                referenced.add((path.parent / match.group(2)).resolve())
    return [
        Experiment(p.relative_to(folder).as_posix(), header(texts[p]), p.resolve() in referenced)
        for p in files
    ]


def run(args) -> int:
    folder = Path(args.dir)
    if not folder.is_dir():
        raise UsageError(f"fgc ls: {folder}: not a directory")
    if (folder / "meta.yaml").is_file():
        return _list_project(folder, args.format)
    experiments = list_experiments(folder)
    if args.format == "json":
        sys.stdout.write(json.dumps([asdict(e) for e in experiments], indent=1) + "\n")
        return EXIT_OK
    if not experiments:
        print(f"{folder}: no experiments (.fg files)")
        return EXIT_OK
    width = max(len(e.path) for e in experiments)
    for e in experiments:
        mark = "base  " if e.base else "      "
        print(f"{e.path.ljust(width)}  {mark}{e.description}")
    return EXIT_OK


def _list_project(folder: Path, fmt: str) -> int:
    """A project (DIR holds meta.yaml): its configs, with the names and descriptions their `meta`
    declares, the default marked, a broken config with its first error (fgc/project/listing.py)."""
    from ..diagnostics import has_errors
    from ..project.listing import list_configs
    from .common import EXIT_INPUT, load_project_or_report

    project, diags = load_project_or_report(str(folder))
    entries = list_configs(project)
    if fmt == "json":
        listing = {"project": project.name, "description": project.meta.description, "configs": [asdict(e) for e in entries]}
        sys.stdout.write(json.dumps(listing, indent=1) + "\n")
    else:
        print(f"{project.name}: {project.meta.description or ''}".rstrip(": "))
        width = max((len(e.config) for e in entries), default=0)
        for e in entries:
            mark = "[default]" if e.default else ""
            what = f"ERROR {e.error}" if e.error else ": ".join(x for x in (e.name, e.description) if x)
            print(f"  {e.config.ljust(width)}  {mark:9}  {what}".rstrip())
    return EXIT_INPUT if has_errors(diags) or any(e.error for e in entries) else EXIT_OK
