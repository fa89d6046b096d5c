"""How many of the reference's configs fgc reads in project mode: every config of every project
(a directory with `meta.yaml`) under a checkout of the reference, through `fgc graph --no-import`,
and, where the reference's CLI is given, through its `forgather graph` too.

    python bench/reference_configs.py REFERENCE_CHECKOUT [--reference-cli PATH]

The configs of a project are those its meta.yaml names (`<config_prefix>` under each `searchdir`
root). A config counts as loadable when the reference's `forgather -p PROJECT -t CONFIG graph --format
none` exits 0 (without --reference-cli, every config found counts); fgc gives its graph when
`fgc graph PROJECT -t CONFIG --no-import` exits 0 (diagnostics of the imports are not asked for:
the reference's graph does not import either). Printed: the counts, then each config that the
reference loads and fgc does not, with fgc's first error. Not a test: it needs the reference's
checkout, which is not part of this repository.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ENV = dict(os.environ)
REF_ENV = {k: v for k, v in ENV.items() if k != "PYTHONPATH"}  # its package is also `forgather`


def projects(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("meta.yaml") if "forgather_workspace" not in p.parts)


def configs(project: Path) -> list[str]:
    """The project's config names: `<config_prefix>` under each root of its meta's `searchdir`
    (the reference's dataset projects keep theirs in `templatelib/configs`); where fgc cannot
    read the meta, those under `templates/configs`."""
    from fgc.project import load_project

    loaded = load_project(project).value
    if loaded is not None:
        return list(loaded.configs())
    base = project / "templates" / "configs"
    return sorted(str(p.relative_to(base)) for p in base.rglob("*.yaml")) if base.is_dir() else []


def first_error(stderr: str) -> str:
    for line in stderr.splitlines():
        if line.startswith("error"):
            return line
    return (stderr.strip().splitlines() or ["(no output)"])[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout", type=Path)
    parser.add_argument("--reference-cli", help="the reference's `forgather` executable")
    args = parser.parse_args()
    loadable = ours = 0
    failures: list[tuple[str, str]] = []
    for project in projects(args.checkout.resolve()):
        for config in configs(project):
            where = f"{project.relative_to(args.checkout.resolve())} {config}"
            if args.reference_cli:
                ref = subprocess.run(
                    [args.reference_cli, "-p", str(project), "-t", config, "graph", "--format", "none"],
                    capture_output=True, text=True, env=REF_ENV,
                )
                if ref.returncode != 0:
                    print(f"  (the reference does not load {where})")
                    continue
            loadable += 1
            done = subprocess.run(
                [sys.executable, "-m", "fgc", "graph", str(project), "-t", config, "--no-import", "--no-cache"],
                capture_output=True, text=True, env=ENV,
            )
            if done.returncode == 0:
                ours += 1
            else:
                failures.append((where, first_error(done.stderr)))
    print(f"fgc gives the graph of {ours} of {loadable} loadable configs")
    for where, why in failures:
        print(f"  {where}: {why}")


if __name__ == "__main__":
    main()
