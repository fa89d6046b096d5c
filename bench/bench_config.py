"""Config-layer speed: fgc's YAML parser vs PyYAML on the same ~5,000-line document.

    python bench/bench_config.py [--lines 5000] [--repeat 5]

Times `fgc.syntax.config_parser.parse_config` (lexer + LALR parse + AST with mapped spans +
scalar typing and 1.1 warnings) against `yaml.load` with PyYAML's pure-Python SafeLoader and,
where available, libyaml's CSafeLoader, each with constructors for the Forgather tags (as the
reference's loader has), on one generated Forgather-style document. Prints the best CPU time
of `--repeat` runs and the ratios. (The full front-end benchmark, templates included, is
bench/bench_frontend.py.)
"""

from __future__ import annotations

import argparse
import random
import time

import yaml

from fgc.sourcemap import SourceMap
from fgc.syntax.config_parser import parse_config


def generate(lines: int, seed: int = 0) -> str:
    """A config shaped like real Forgather output: tagged callables, nested kwargs, lists,
    anchors and aliases, block scalars, quoted strings, comments."""
    rng = random.Random(seed)
    out: list[str] = ["# generated benchmark config", "---"]
    i = 0
    while len(out) < lines:
        i += 1
        out.append(f"# ---- section {i} ----")
        out.append(f".define: &model_args_{i}")
        out.append(f"    hidden_size: {rng.choice([256, 512, 768])}")
        out.append(f"    num_layers: {rng.randint(2, 24)}")
        out.append(f"    dropout: {rng.random():.3f}")
        out.append(f"    activation: {rng.choice(['gelu', 'relu', 'silu'])}")
        out.append(f"layer_{i}: &layer_{i} !partial:torch.nn:Linear@layer_{i}")
        out.append(f"    in_features: {rng.randint(16, 4096)}")
        out.append(f"    out_features: {rng.randint(16, 4096)}")
        out.append("    bias: true")
        out.append(f"optimizer_{i}: !partial:torch.optim:AdamW")
        out.append(f"    lr: {rng.choice(['1.0e-3', '3.0e-4', '0.001', '2.5e-5'])}")
        out.append("    betas: [ 0.9, 0.999 ]")
        out.append(f"    weight_decay: {rng.random():.4f}  # decoupled")
        out.append(f"trainer_{i}: !call:forgather.ml.trainer:Trainer")
        out.append(f"    model: *layer_{i}")
        out.append("    args: !call:forgather.ml.trainer:TrainingArguments")
        out.append(f"        output_dir: \"output/run_{i}\"")
        out.append(f"        per_device_train_batch_size: {rng.choice([8, 16, 32])}")
        out.append("        logging_steps: 100")
        out.append("        save_strategy: 'steps'")
        out.append("    callbacks:")
        out.append("        - !call:forgather.ml.trainer.callbacks:ProgressCallback []")
        out.append("        - !call:forgather.ml.trainer.callbacks:JsonLogger")
        out.append(f"            <<: *model_args_{i}")
        out.append(f"            log_dir: logs/{i}")
        out.append("    description: |")
        out.append(f"        Section {i} of the benchmark config.")
        out.append("        It has a literal block scalar.")
        out.append(f"    tags: {{ experiment: bench, index: {i}, flag: false }}")
    return "\n".join(out[:lines]) + "\n"


class ReferenceLoader(yaml.SafeLoader):
    """Like the reference's ConfigLoader: every `!tag` becomes a plain Python value."""


def _construct_tagged(loader, suffix, node):
    if isinstance(node, yaml.MappingNode):
        return ("tagged", suffix, loader.construct_mapping(node, deep=True))
    if isinstance(node, yaml.SequenceNode):
        return ("tagged", suffix, loader.construct_sequence(node, deep=True))
    return ("tagged", suffix, loader.construct_scalar(node))


ReferenceLoader.add_multi_constructor("!", _construct_tagged)

try:
    class ReferenceCLoader(yaml.CSafeLoader):
        pass

    ReferenceCLoader.add_multi_constructor("!", _construct_tagged)
except AttributeError:  # PyYAML without libyaml
    ReferenceCLoader = None


def best_time(fn, repeat: int) -> float:
    """Best CPU time (process_time: steadier than wall time on a shared machine) of `repeat` runs."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    text = generate(args.lines)
    sm = SourceMap.identity("bench.fg", text)
    document, diagnostics = parse_config(text, sm)  # warm up (grammar load) and check
    errors = [d for d in diagnostics if d.is_error]
    assert document is not None and not errors, errors[:3]
    yaml.load(text, Loader=ReferenceLoader)

    fgc_t = best_time(lambda: parse_config(text, SourceMap.identity("bench.fg", text)), args.repeat)
    py_t = best_time(lambda: yaml.load(text, Loader=ReferenceLoader), args.repeat)
    print(f"document: {text.count(chr(10))} lines, {len(text)} characters")
    print(f"fgc parse_config            {fgc_t * 1000:8.1f} ms")
    print(f"PyYAML SafeLoader (Python)  {py_t * 1000:8.1f} ms   fgc/PyYAML = {fgc_t / py_t:.2f}")
    if ReferenceCLoader is not None:
        c_t = best_time(lambda: yaml.load(text, Loader=ReferenceCLoader), args.repeat)
        print(f"PyYAML CSafeLoader (libyaml){c_t * 1000:8.1f} ms   fgc/CSafeLoader = {fgc_t / c_t:.2f}")


if __name__ == "__main__":
    main()
