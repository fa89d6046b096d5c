"""Whole-process timings of `fgc check` and `fgc compile` on the quick-start experiment.

    python bench/bench_compile.py [--repeat 5]

cold = empty signature cache (every module the config names is imported to read signatures);
warm = the cache filled by a previous run (nothing is imported: a warm check never imports
torch). Each command runs in a fresh process, as a user runs it; the median of --repeat runs is
reported. The baseline `python -c "import torch, transformers"` is what any tool that imports
the config's modules pays; the ratios show what the cache saves.
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

REPO = Path(__file__).resolve().parents[1]
EXPERIMENT = REPO / "examples" / "quickstart" / "experiment.fg"


def timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return elapsed


def median_of(repeat: int, cold: bool, cmd: list[str], tmp: Path) -> float:
    times = []
    for i in range(repeat):
        cache = tmp / f"cache-{'cold' if cold else 'warm'}-{cmd[3]}-{i if cold else 0}"
        env = {**os.environ, "FGC_CACHE_DIR": str(cache)}
        if not cold and i == 0:
            timed(cmd, env)  # fill the cache
        times.append(timed(cmd, env))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        py = [sys.executable, "-m", "fgc"]
        check = py + ["check", str(EXPERIMENT)]
        compile_ = py + ["compile", str(EXPERIMENT), "-o", str(tmp / "build")]
        baseline = statistics.median(
            timed([sys.executable, "-c", "import torch, transformers"], dict(os.environ))
            for _ in range(args.repeat)
        )
        rows = {
            "check, cold": median_of(args.repeat, True, check, tmp),
            "check, warm": median_of(args.repeat, False, check, tmp),
            "compile, cold": median_of(args.repeat, True, compile_, tmp),
            "compile, warm": median_of(args.repeat, False, compile_, tmp),
        }
    print(
        f"quick-start experiment ({EXPERIMENT.relative_to(REPO)}), median of {args.repeat} runs, whole process"
    )
    print(f"  {'import torch, transformers':28s} {baseline:6.2f} s   (baseline)")
    for name, t in rows.items():
        print(f"  {'fgc ' + name:28s} {t:6.2f} s   {t / baseline:5.2f} x baseline")
    print(f"  warm/cold check   {rows['check, warm'] / rows['check, cold']:.2f}")
    print(f"  warm/cold compile {rows['compile, warm'] / rows['compile, cold']:.2f}")
    print(f"  compile/check (warm) {rows['compile, warm'] / rows['check, warm']:.2f}")


if __name__ == "__main__":
    main()
