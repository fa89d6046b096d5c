"""`fgc check PROJECT --all` against one `fgc check PROJECT -t CONFIG` process per config, on a
generated project of the reference layout (50 configs by default).

    python bench/bench_projects.py [--configs 50] [--repeat 3]

The project: a workspace (`forgather_workspace/meta_defaults.yaml`, `base_directories.yaml`), a
template library (a config type with metadata blocks), a project template with a model, an
optimizer and a trainer written as sub-templates and TOML blocks, and N configs that override
its blocks with `super()` and `ns` (a third of them choose their trainer with a dynamic
`extends`). The callables are torch's and the standard library's. Both ways run with a warm
signature cache (filled by one run first), so neither imports torch: the difference is what one
process saves by starting once and sharing parsed templates and signatures across configs.
Each figure is the median of --repeat runs, in seconds, of whole processes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

META_DEFAULTS = """\
-- set ns = namespace()
-- include "base_directories.yaml"
searchdir:
-- block searchdir_project
    - "{{ joinpath(project_dir, 'templates') }}"
-- endblock searchdir_project
-- block searchdir_common
    - "{{ joinpath(workspace_root, 'forgather_workspace') }}"
    - "{{ joinpath(ns.forgather_dir, 'lib') }}"
-- endblock searchdir_common
-- block configs
-- endblock configs
"""

CONFIG_TYPE = """\
-- set ns = namespace()
-- include "base_directories.yaml"
-- block config_metadata
    -- set ns.config_name = "Anonymous"
    -- set ns.config_description = ""
    -- set ns.lr = 1.0e-3
    -- set ns.hidden = 64
-- endblock config_metadata
-- block header
-- endblock header
meta: !dict:@meta
    config_name: "{{ ns.config_name }}"
    config_description: "{{ ns.config_description }}"
-- block main required
-- endblock main
"""

TRAINER = """\
-- extends "config_type.yaml"
[main]
main: !partial:dict@trainer
    model: *model
    optimizer: *optimizer
    [trainer_args]
    max_steps: {{ max_steps | toyaml(100) }}
    accumulation: {{ ns.accumulation | default(1) }}
"""

PROJECT = """\
-- set ns = namespace()
-- set ns.trainer = "trainers/" ~ (trainer | default("plain")) ~ ".yaml"
-- extends ns.trainer

[header]
    -- include "project.model"

#-------------------- project.model --------------------
.define: &model !factory:torch.nn:Sequential
    - !factory:torch.nn:Linear [ {{ ns.hidden }}, {{ ns.hidden * 4 }} ]
    - !factory:torch.nn:GELU []
    - !factory:torch.nn:Linear [ {{ ns.hidden * 4 }}, {{ ns.hidden }} ]
-- include "project.optimizer"

#-------------------- project.optimizer --------------------
.define: &optimizer !partial:torch.optim:AdamW
    lr: {{ ns.lr }}
    betas: !tuple [ 0.9, 0.999 ]
    weight_decay: 0.01

"""

CONFIG = """\
## Experiment {i}.
{set_trainer}-- extends "project.yaml"

[config_metadata]
    == super()
    -- set ns.config_name = "Experiment {i}"
    -- set ns.config_description = "hidden {hidden}, lr {lr}"
    -- set ns.hidden = {hidden}
    -- set ns.lr = {lr}
    -- set ns.accumulation = {acc}
"""


def write_project(root: Path, n: int) -> Path:
    files = {
        "forgather_workspace/meta_defaults.yaml": META_DEFAULTS,
        "forgather_workspace/base_directories.yaml": "-- set ns.forgather_dir = workspace_root\n",
        "lib/config_type.yaml": CONFIG_TYPE,
        "lib/trainers/plain.yaml": TRAINER,
        "lib/trainers/accumulating.yaml": '-- extends "trainers/plain.yaml"\n',
        "proj/meta.yaml": '-- extends "meta_defaults.yaml"\n-- block configs\nname: "Bench"\n'
        'default_config: "exp_00.yaml"\n<< endblock configs\n',
        "proj/templates/project.yaml": PROJECT,
    }
    for i in range(n):
        set_trainer = '-- set trainer = "accumulating"\n' if i % 3 == 0 else ""
        files[f"proj/templates/configs/exp_{i:02d}.yaml"] = CONFIG.format(
            i=i, set_trainer=set_trainer, hidden=32 * (1 + i % 4), lr=f"{(i + 1) * 1e-4:.1e}", acc=1 + i % 2
        )
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root / "proj"


def run(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        project = write_project(Path(d), args.configs)
        env = {**os.environ, "FGC_CACHE_DIR": str(Path(d) / "cache")}
        fgc = [sys.executable, "-m", "fgc", "check"]
        configs = sorted(p.name for p in (project / "templates" / "configs").iterdir())
        run(fgc + [str(project), "--all"], env)  # fill the signature cache
        together = statistics.median(run(fgc + [str(project), "--all"], env) for _ in range(args.repeat))
        apart = statistics.median(
            sum(run(fgc + [str(project), "-t", c], env) for c in configs) for _ in range(args.repeat)
        )
    print(f"{args.configs} configs, warm signature cache, median of {args.repeat}:")
    print(f"  fgc check PROJECT --all (one process)       {together:7.2f} s  ({together / args.configs * 1000:.0f} ms per config)")
    print(f"  fgc check PROJECT -t CONFIG, one process each {apart:7.2f} s  ({apart / args.configs * 1000:.0f} ms per config)")
    print(f"  ratio (one process each / --all)              {apart / together:7.1f}x")


if __name__ == "__main__":
    main()
