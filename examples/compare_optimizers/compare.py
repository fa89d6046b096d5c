"""Compare runs of this example: one loss plot, and a table of optimizer-state memory and step time.

    python examples/compare_optimizers/compare.py RUN_DIR [RUN_DIR ...] [--plot losses.png]

Reads each run directory's trainer_logs.jsonl (the JSON-lines logger of the stdlib trainer
templates; base.fg's OptimizerStats callback adds `optimizer_state_bytes` and `step_seconds` to
its records), prints one row per run (final train loss, optimizer state, mean step time) and draws every training-loss curve into one PNG.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def run_name(run_dir: Path) -> str:
    """`runs/compare_sgd/20261202-081500` and `runs/compare_sgd/latest` are both `compare_sgd`."""
    name = run_dir.resolve().name
    return run_dir.resolve().parent.name if name[:8].isdigit() else name


def read_run(run_dir: Path) -> dict:
    """The loss curve and the last statistics of a run directory (its newest trainer_logs.jsonl)."""
    logs = sorted(run_dir.glob("**/trainer_logs.jsonl"), key=lambda p: p.stat().st_mtime)
    if not logs:
        raise SystemExit(f"{run_dir}: no trainer_logs.jsonl (is it a run directory of this example?)")
    run = {"name": run_name(run_dir), "curve": {}, "state_bytes": None, "step_seconds": []}
    for number, line in enumerate(logs[-1].read_text().splitlines(), 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise SystemExit(f"{logs[-1]}:{number}:{e.colno}: not JSON: {e.msg}")
        if record.get("event") != "log":
            continue
        step = int(record["global_step"])
        if "loss" in record:
            run["curve"][step] = float(record["loss"])
        if "optimizer_state_bytes" in record:
            run["state_bytes"] = int(record["optimizer_state_bytes"])
        if "step_seconds" in record:
            run["step_seconds"].append(float(record["step_seconds"]))
    return run


def table(runs: list[dict]) -> str:
    rows = [("run", "final loss", "optimizer state", "step time")]
    for run in runs:
        final = run["curve"][max(run["curve"])] if run["curve"] else None
        # the first window holds the warm-up of the kernels and allocator: left out when possible
        times = run["step_seconds"][1:] or run["step_seconds"]
        rows.append((
            run["name"],
            f"{final:.3f}" if final is not None else "-",
            f"{run['state_bytes'] / 1024:.0f} KiB" if run["state_bytes"] is not None else "-",
            f"{1000 * sum(times) / len(times):.1f} ms" if times else "-",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def plot(runs: list[dict], path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for run in runs:
        if run["curve"]:
            axes.plot(*zip(*sorted(run["curve"].items())), label=run["name"])
    axes.set_title("training loss by optimizer")
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    tmp = path.with_name(f".tmp-{path.name}")
    figure.savefig(tmp, format="png")
    os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR")
    parser.add_argument("--plot", type=Path, default=Path("compare_optimizers.png"),
                        help="where to draw the loss curves (default: compare_optimizers.png)")
    args = parser.parse_args(argv)
    runs = [read_run(run) for run in args.runs]
    print(table(runs))
    print(f"loss curves: {plot(runs, args.plot)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
