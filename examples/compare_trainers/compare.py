"""Compare the training-loss curves of runs of this example, step by step.

    python examples/compare_trainers/compare.py RUN_DIR [RUN_DIR ...] [--rtol 1e-4]

Reads each run's trainer_logs.jsonl (written by the JsonLinesLogger of the stdlib trainer
templates), prints the loss of every run at every logged step, and the largest relative
difference from the first run. Exits 1 when it is above --rtol (or the runs logged different
steps), so CI can hold the trainers to one curve.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def loss_curve(run_dir: Path) -> dict[int, float]:
    """``{step: loss}`` of a run directory (its newest trainer_logs.jsonl)."""
    logs = sorted(run_dir.glob("**/trainer_logs.jsonl"), key=lambda p: p.stat().st_mtime)
    if not logs:
        raise SystemExit(f"{run_dir}: no trainer_logs.jsonl (is it a run directory of this example?)")
    curve = {}
    for line in logs[-1].read_text().splitlines():
        record = json.loads(line)
        if record.get("event") == "log" and "loss" in record:
            curve[int(record["global_step"])] = float(record["loss"])
    return curve


def largest_relative_difference(reference: dict[int, float], other: dict[int, float]) -> float:
    if reference.keys() != other.keys():
        return float("inf")
    return max((abs(other[s] - reference[s]) / abs(reference[s]) for s in reference), default=0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR")
    parser.add_argument("--rtol", type=float, default=1e-4,
                        help="largest relative loss difference from the first run allowed (default: 1e-4)")
    args = parser.parse_args(argv)
    curves = [loss_curve(run) for run in args.runs]
    names = [run.name if run.name != "latest" else run.parent.name for run in args.runs]
    print("step  " + "  ".join(f"{n[:14]:>14}" for n in names))
    for step in sorted(curves[0]):
        print(f"{step:>4}  " + "  ".join(f"{c.get(step, float('nan')):>14.6f}" for c in curves))
    worst = max((largest_relative_difference(curves[0], c) for c in curves[1:]), default=0.0)
    print(f"largest relative difference from {names[0]}: {worst:.2e} (rtol {args.rtol:g})")
    return 0 if worst <= args.rtol else 1


if __name__ == "__main__":
    sys.exit(main())
