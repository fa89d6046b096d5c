"""Template-layer speed: fgc's rendering vs the reference's text-rewriting pipeline.

    python bench/bench_templates.py [--blocks 150] [--repeat 7]

Generates a three-level hierarchy (experiment -> project -> base, a macro library, blocks with
`super()`, loops, `{{ }}` values and `##` comments) that renders to about 5,000 lines, then
times, alternating the two in each round so both see the same machine state:

* fgc: `fgc.render.render_file` -- load, Lark parse of every template to the AST, template
  pass (inheritance graph and checks), lowering with origin markers, jinja2 parse, compile and
  render, and the source map;
* reference: the reference's pipeline as its code behaves (a regex preprocessor
  per line, the TOML block pass, jinja2 with the same environment), re-implemented in
  tests/templates/reference_dialect.py (the conformance tests' oracle).

Prints the best time of each and the ratio fgc / reference (lower is better for fgc), and
checks that both rendered the same text.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "templates"))

import reference_dialect  # noqa: E402

from fgc.render import render_file  # noqa: E402


def generate(root: Path, blocks: int) -> Path:
    """Write the hierarchy below root; the experiment file."""
    base = ["## generated base", "-- set ns = namespace(scale=2)"]
    for b in range(blocks):
        base += [f"section_{b}:", f"[block_{b}]"]
        for k in range(30):
            if k % 5 == 0:
                base.append(f"    key_{k}: {{{{ ns.scale * {k} }}}} ## computed")
            elif k % 7 == 0:
                base.append(f'    name_{k}: "value {k}"')
            else:
                base.append(f"    key_{k}: {k}.5")
    (root / "base.fg").write_text("\n".join(base) + "\n")
    project = ["-- extends 'base.fg'"]
    for b in range(0, blocks, 2):
        project += [f"[block_{b}]", "    == super()", f"    project_{b}: {{{{ {b} | toyaml }}}}"]
    (root / "project.fg").write_text("\n".join(project) + "\n")
    exp = ["-- extends 'project.fg'", "-- from 'lib.jinja' import item"]
    for b in range(0, blocks, 3):
        exp += [f"[block_{b}]", "    == super()", "    -- for i in range(3)", "    {{ item(i) }}", "    -- endfor"]
    (root / "exp.fg").write_text("\n".join(exp) + "\n")
    (root / "lib.jinja").write_text("{% macro item(i) -%}\nitem_{{ i }}: {{ i * 1.5 }}\n{%- endmacro %}\n")
    return root / "exp.fg"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--blocks", type=int, default=150, help="blocks in the base template (~34 lines each)")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        exp = generate(Path(d), args.blocks)
        ours, ref = [], []
        result = text = None
        for _ in range(args.repeat):
            t = time.perf_counter()
            result = render_file(exp)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            text = reference_dialect.render(exp, [], {})
            ref.append(time.perf_counter() - t)
    assert result is not None and not result.diagnostics, result.diagnostics
    # The reference keeps the blanks before a cut `##` comment; fgc drops them.
    assert result.text.split("\n") == [line.rstrip() for line in text.split("\n")]
    lines = result.text.count("\n") + 1
    a, b = min(ours), min(ref)
    print(f"rendered lines: {lines} (4 template files)")
    print(f"fgc render_file (AST, graph, source map): {a * 1e3:8.1f} ms")
    print(f"reference pipeline (regex preprocessor):  {b * 1e3:8.1f} ms")
    print(f"ratio fgc / reference: {a / b:.2f}")


if __name__ == "__main__":
    main()
