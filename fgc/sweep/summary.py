"""The results of a sweep: one row per run (read from its trainer_logs.jsonl, its run record and
the sweep record), printed as a table and written as summary.md and summary.csv, and every run's loss
curve in one plot, loss.png (matplotlib is optional: without it the plot is skipped)."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from forgather_files import atomic
from forgather_files.runs import read_record

COLUMNS = ("final eval loss", "best eval loss", "final train loss", "steps", "wall time", "peak memory",
           "peak GPU memory")


def read_logs(run_dir: Path) -> list[dict]:
    """The `log` records of every trainer_logs.jsonl of a run (a resumed run may have several),
    oldest file first; unreadable lines are skipped (a crash can cut the last one)."""
    files = sorted(run_dir.glob("**/trainer_logs.jsonl"), key=lambda p: p.stat().st_mtime) if run_dir.is_dir() else []
    out = []
    for path in files:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("event") == "log":
                out.append(record)
    return out


def _finite(x) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def metrics(run_dir: Path) -> dict:
    """final/best eval loss, final train loss, steps and the train and eval curves of a run."""
    logs = read_logs(run_dir)
    train: dict[int, float] = {}
    evals: dict[int, float] = {}
    steps = 0
    train_loss = None
    for r in logs:
        step = int(r.get("global_step") or 0)
        steps = max(steps, step)
        loss, eval_loss = _finite(r.get("loss")), _finite(r.get("eval_loss"))
        if loss is not None:
            train[step] = loss
        if eval_loss is not None:
            evals[step] = eval_loss
        if _finite(r.get("train_loss")) is not None:
            train_loss = _finite(r["train_loss"])
    last_eval = [r["eval_loss"] for r in logs if _finite(r.get("eval_loss")) is not None]
    return {
        "final_eval_loss": float(last_eval[-1]) if last_eval else None,
        "best_eval_loss": min(last_eval) if last_eval else None,
        "final_train_loss": train[max(train)] if train else train_loss,
        "steps": steps if logs else None,
        "train_curve": sorted(train.items()),
        "eval_curve": sorted(evals.items()),
    }


def objective(m: dict) -> float | None:
    """What a search minimises: the final eval loss, else the final train loss."""
    return m["final_eval_loss"] if m["final_eval_loss"] is not None else m["final_train_loss"]


def _loss(x) -> str:
    return "-" if x is None else f"{x:.4f}"


def _seconds(x) -> str:
    if x is None:
        return "-"
    return f"{x:.1f} s" if x < 120 else f"{x / 60:.1f} min"


def _memory(kib) -> str:
    return "-" if kib is None else f"{kib / 1024:.0f} MiB"


def _gpu_memory(run_dir: Path) -> int | None:
    """The run record's peak GPU memory (fgc run writes it for a run that used a GPU)."""
    value = read_record(run_dir).get("peak_gpu_memory_bytes")
    return int(value) if isinstance(value, (int, float)) and value > 0 else None


def rows(record: dict, sweep_dir: Path, axes: list[str]) -> list[dict]:
    """One dict per run: its name, status, axis values, metrics (None when absent), error."""
    out = []
    for run in record["runs"]:
        run_dir = sweep_dir / run["name"] / "run"
        m = metrics(run_dir)
        gpu = _gpu_memory(run_dir)
        out.append({"run": run["name"], "status": run.get("status"), **{a: run["values"].get(a) for a in axes},
                    **{k: v for k, v in m.items() if not k.endswith("_curve")},
                    "wall_seconds": run.get("seconds"), "peak_rss_kib": run.get("peak_rss_kib"),
                    "peak_gpu_memory_bytes": gpu,
                    "error": run.get("error"), "_curves": (m["train_curve"], m["eval_curve"])})
    return out


def markdown(table_rows: list[dict], axes: list[str]) -> str:
    head = ["run", "status", *axes, *COLUMNS]
    body = []
    for r in table_rows:
        status = r["status"] or "-"
        if status == "failed" and r.get("error"):
            status = f"failed: {r['error']}".replace("|", "\\|")
        body.append([r["run"], status, *(str(r[a]) for a in axes), _loss(r["final_eval_loss"]),
                     _loss(r["best_eval_loss"]), _loss(r["final_train_loss"]),
                     "-" if r["steps"] is None else str(r["steps"]), _seconds(r["wall_seconds"]),
                     _memory(r["peak_rss_kib"]),
                     "-" if r["peak_gpu_memory_bytes"] is None else _memory(r["peak_gpu_memory_bytes"] / 1024)])
    widths = [max(len(x) for x in column) for column in zip(head, *body)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in [head, *body]]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines) + "\n"


def csv_text(table_rows: list[dict], axes: list[str]) -> str:
    fields = ["run", "status", *axes, "final_eval_loss", "best_eval_loss", "final_train_loss", "steps",
              "wall_seconds", "peak_rss_kib", "peak_gpu_memory_bytes", "error"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in table_rows:
        writer.writerow({k: ("" if r.get(k) is None else r[k]) for k in fields})
    return out.getvalue()


def plot(table_rows: list[dict], path: Path, title: str) -> bool:
    """Every run's train loss (line) and eval loss (markers, same colour) into one PNG; False
    when matplotlib is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return False
    figure = Figure(figsize=(8, 5), dpi=100)
    FigureCanvasAgg(figure)  # Agg, without touching pyplot's global backend
    axes = figure.add_subplot()
    drawn = False
    for r in table_rows:
        train, evals = r["_curves"]
        colour = None
        if train:
            (line,) = axes.plot(*zip(*train), label=r["run"], marker="." if len(train) < 50 else None)
            colour, drawn = line.get_color(), True
        if evals:  # in the run's colour; one legend entry per run
            axes.plot(*zip(*evals), linestyle="--", marker="o", color=colour,
                      label=None if train else r["run"])
            drawn = True
    if not drawn:
        axes.text(0.5, 0.5, "no losses were logged", ha="center", va="center", transform=axes.transAxes)
    else:
        axes.legend(fontsize="small")
    axes.set_title(title)
    axes.set_xlabel("step")
    axes.set_ylabel("loss (line: train, dashed with circles: eval)")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    png = io.BytesIO()
    figure.savefig(png, format="png")
    atomic.write_bytes(path, png.getvalue())
    return True


def best_line(table_rows: list[dict]) -> str | None:
    """`best: NAME (final eval loss 1.2345)`: the completed run of least objective (objective())."""
    scored = []
    for r in table_rows:
        value, what = objective(r), "final eval loss" if r["final_eval_loss"] is not None else "final train loss"
        if r["status"] == "completed" and value is not None:
            scored.append((value, r["run"], what))
    if not scored:
        return None
    value, name, what = min(scored)
    return f"best: {name} ({what} {value:.4f})"


def write_summary(record: dict, sweep_dir: Path, axes: list[str], title: str) -> tuple[str, bool]:
    """Write summary.md, summary.csv and loss.png; returns the table (and the best run's line)
    and whether it plotted."""
    table_rows = rows(record, sweep_dir, axes)
    table = markdown(table_rows, axes)
    best = best_line(table_rows)
    if best:
        table += f"\n{best}\n"
    atomic.write_text(sweep_dir / "summary.md", f"# {title}\n\n{table}")
    atomic.write_text(sweep_dir / "summary.csv", csv_text(table_rows, axes))
    return table, plot(table_rows, sweep_dir / "loss.png", title)
