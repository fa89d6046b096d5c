"""Front-end speed: fgc's parse + render + config parse vs jinja2 + PyYAML on the same input.

    python bench/bench_frontend.py [--sections 120] [--repeat 7]

Generates a three-level template hierarchy (experiment -> project -> base, a macro library,
blocks overridden with `super()`, loops, `{{ }}` values, `##` comments) whose rendered text is a
Forgather-style config of about 5,000 lines (tagged callables with nested keyword arguments,
anchors and aliases, flow and block collections, quoted strings, block scalars). Then times,
interleaved round by round so every contender sees the same machine state, best CPU time of
`--repeat` rounds:

* fgc: `fgc.pipeline.frontend` -- load and Lark-parse every template to the AST, template pass,
  lowering with origin markers, jinja2 render, source map, YAML lexer + LALR parse to the typed
  config AST with every span mapped to its template, YAML 1.2 typing and 1.1 warnings;
* reference: the reference's text pipeline (regex preprocessor per line and TOML block pass, as
  re-implemented as the template tests' oracle in
  tests/templates/reference_dialect.py) rendered by jinja2, then PyYAML's pure-Python
  SafeLoader with constructors for the Forgather tags (as the reference's loader has);
* the same with libyaml's CSafeLoader, where available.

Prints each time and the ratios (below 1.0: fgc is faster). Both sides must read the same
rendered text (checked).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "templates"))
sys.path.insert(0, str(ROOT / "bench"))

import reference_dialect  # noqa: E402
from bench_config import ReferenceCLoader, ReferenceLoader  # noqa: E402

from fgc.pipeline import frontend  # noqa: E402


def _section(i: int) -> list[str]:
    """One base block: about 40 rendered lines of a typical experiment section."""
    return [
        f"[section_{i}]",
        f"## section {i}: a model part, its optimizer and a trainer",
        f".define: &layer_{i} !partial:torch.nn:Linear@layer_{i}",
        f"    in_features: {{{{ ns.width * {i % 7 + 1} }}}}",
        "    out_features: {{ ns.width }}",
        "    bias: true",
        f"optimizer_{i}: &optimizer_{i} !partial:torch.optim:AdamW",
        "    lr: {{ ns.lr | toyaml }}",
        "    betas: [ 0.9, 0.999 ]",
        f"    weight_decay: 0.0{i % 10}  ## decoupled",
        f"trainer_{i}: !singleton:forgather.ml.trainer:Trainer@trainer_{i}",
        f"    model: *layer_{i}",
        f"    optimizer_factory: *optimizer_{i}",
        "    args: !singleton:forgather.ml.trainer:TrainingArguments",
        f'        output_dir: "{{{{ joinpath(ns.out, "run_{i}") }}}}"',
        "        per_device_train_batch_size: 16",
        "        max_steps: 1000",
        "        logging_steps: 10",
        "        eval_strategy: 'steps'",
        "    callbacks:",
        "        - !singleton:forgather.ml.trainer.callbacks:JsonLogger",
        "            every: 10",
        "        - !singleton:forgather.ml.trainer.callbacks:ProgressBar {}",
        "    data:",
        f"        train: !call:forgather.ml.data:text_files [ 'corpus/train_{i}.txt' ]",
        "        eval: ~",
        "    notes: |",
        f"        Section {i} of the benchmark.",
        "        A literal block scalar, kept as written.",
        f"    tags: {{ experiment: bench, index: {i}, flag: false }}",
        "    schedule:",
        "        - [ 0, 0.0 ]",
        "        - [ 100, 1.0 ]",
        "        - [ 1000, 0.1 ]",
        f"    seed: {{{{ {i} * 7 }}}}",
    ]


def generate(root: Path, sections: int) -> Path:
    """Write the hierarchy below root; return the experiment file."""
    base = [
        "## generated benchmark base",
        "-- set ns = namespace(width=64, lr=3.0e-4, out='output')",
    ]
    for i in range(sections):
        base += _section(i)
    (root / "base.fg").write_text("\n".join(base) + "\n")
    project = ["-- extends 'base.fg'"]
    for i in range(0, sections, 2):
        project += [f"[section_{i}]", "    == super()", f"trainer_{i}_extra: {{{{ {i} | toyaml }}}}"]
    (root / "project.fg").write_text("\n".join(project) + "\n")
    exp = ["-- extends 'project.fg'", "-- from 'lib.jinja' import item"]
    for i in range(0, sections, 3):
        exp += [f"[section_{i}]", "    == super()", "    -- for k in range(3)", f"{{{{ item(k, {i}) }}}}", "    -- endfor"]
    (root / "exp.fg").write_text("\n".join(exp) + "\n")
    (root / "lib.jinja").write_text("{% macro item(k, n) -%}\nitem_{{ k }}_{{ n }}: {{ k * 1.5 }}\n{%- endmacro %}\n")
    return root / "exp.fg"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sections", type=int, default=137, help="sections in the base (~40 rendered lines each)")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        exp = generate(Path(d), args.sections)
        contenders = {
            "fgc (parse + render + config parse)": lambda: frontend(exp),
            "reference render + PyYAML SafeLoader": lambda: yaml.load(
                reference_dialect.render(exp, [], {}), ReferenceLoader
            ),
        }
        if ReferenceCLoader is not None:
            contenders["reference render + PyYAML CSafeLoader"] = lambda: yaml.load(
                reference_dialect.render(exp, [], {}), ReferenceCLoader
            )
        contenders["(reference render alone)"] = lambda: reference_dialect.render(exp, [], {})
        best = {name: float("inf") for name in contenders}
        for _ in range(args.repeat):
            for name, fn in contenders.items():
                t0 = time.process_time()
                fn()
                best[name] = min(best[name], time.process_time() - t0)
        result = frontend(exp)
        assert result.ok and result.document is not None, result.diagnostics
        ref_text = reference_dialect.render(exp, [], {})
        assert result.render.text.split("\n") == [line.rstrip() for line in ref_text.split("\n")]
    lines = result.render.text.count("\n") + 1
    print(f"rendered config: {lines} lines from 4 template files; best CPU time of {args.repeat}")
    ours = best["fgc (parse + render + config parse)"]
    for name, t in best.items():
        ratio = "" if t is ours else f"   fgc / this = {ours / t:.2f}"
        print(f"  {name:42s} {t * 1e3:8.1f} ms{ratio}")


if __name__ == "__main__":
    main()
