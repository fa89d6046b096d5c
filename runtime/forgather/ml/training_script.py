"""`TrainingScript`: the usual ``main`` target of a training config.

``run()`` creates the run directory, copies the build's snapshot into it, trains, evaluates,
saves the final model, draws ``loss.png``, writes a greedy sample (``sample.txt``) when given a
prompt, and prints where everything is. It drives our
`Trainer` or a ``transformers.Trainer`` alike.

A signal (SIGTERM, Ctrl-C, SLURM's warning) or `fgc ctl stop` during training stops it after a
checkpoint (the trainer's `PreemptionCallback`, added here when the trainer has none); ``run()``
then raises `forgather_files.runs.RunStopped` instead of evaluating and saving, and `fgc run`
records the run as preempted, resumable from that checkpoint.
"""

from __future__ import annotations

import io
import logging
import math
import os
import textwrap
from pathlib import Path
from typing import Any

from forgather_files.atomic import write_bytes, write_text
from forgather_files.runs import BUILD_DIR_ENV, RESUME_ENV, copy_snapshot

logger = logging.getLogger(__name__)


class TrainingScript:
    """Train ``trainer`` and leave a self-describing run directory.

    Args:
        trainer: a `forgather.ml.trainer.Trainer` or a ``transformers.Trainer``.
        output_dir: the run directory; defaults to ``trainer.args.output_dir``.
        build_dir: the fgc build to snapshot; defaults to ``$FGC_BUILD_DIR`` (set by ``fgc run``).
        do_train, do_eval, do_save, do_plot: which stages to run.
        resume_from_checkpoint: passed to ``trainer.train`` (True = latest checkpoint); when
            None, ``$FGC_RESUME_FROM_CHECKPOINT`` (set by ``fgc run --resume``) if it is set.
        config_name, description: printed in the summary (the name also titles ``loss.png``).
        sample_prompt: when set, the trained model continues it greedily for ``sample_tokens``
            tokens; the text is printed at the end and written to ``sample.txt``.
    """

    def __init__(
        self,
        trainer: Any,
        *,
        output_dir: str | os.PathLike | None = None,
        build_dir: str | os.PathLike | None = None,
        do_train: bool = True,
        do_eval: bool = True,
        do_save: bool = True,
        do_plot: bool = True,
        resume_from_checkpoint: str | bool | None = None,
        config_name: str | None = None,
        description: str | None = None,
        sample_prompt: str | None = None,
        sample_tokens: int = 64,
    ) -> None:
        self.trainer = trainer
        self.output_dir = Path(output_dir or trainer.args.output_dir)
        self.build_dir = build_dir if build_dir is not None else os.environ.get(BUILD_DIR_ENV)
        self.do_train = do_train
        self.do_eval = do_eval
        self.do_save = do_save
        self.do_plot = do_plot
        if resume_from_checkpoint is None:
            resume_from_checkpoint = os.environ.get(RESUME_ENV) or None
        self.resume_from_checkpoint = resume_from_checkpoint
        self.config_name = config_name
        self.description = description
        self.sample_prompt = sample_prompt
        self.sample_tokens = sample_tokens

    def run(self) -> dict[str, Any]:
        """Snapshot, train, evaluate, save, plot; returns the paths and metrics it produced.

        In a multi-process run every process trains and evaluates; only the main process writes
        the run directory's shared files (snapshot, final model, plot, summary). Raises
        `RunStopped` when training was stopped on request (a checkpoint was written)."""
        main = _is_main_process(self.trainer)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        result: dict[str, Any] = {"run_dir": str(self.output_dir)}
        result["snapshot"] = self.copy_snapshot() if main else None
        if self.do_train:
            stopper = self.preemption_callback()
            output = self.trainer.train(resume_from_checkpoint=self.resume_from_checkpoint)
            if stopper.stopped is not None:
                raise stopper.stopped
            if stopper.first_step is not None and output.global_step == stopper.first_step:
                result["train_metrics"] = {}  # resumed at its last step: nothing was trained
                result["nothing_trained"] = output.global_step
            else:
                result["train_metrics"] = dict(output.metrics)
        if self.do_eval and getattr(self.trainer, "eval_dataset", None) is not None:
            done = final_evaluation(self.trainer) if self.do_train else None
            result["eval_metrics"] = done if done is not None else dict(self.trainer.evaluate())
        if self.do_save:
            result["model_dir"] = str(self.save_model())
        if self.do_plot and main:
            title = ": ".join(t for t in (self.config_name, self.description) if t)
            path = plot_losses(self.trainer.state.log_history, self.output_dir / "loss.png", title=title)
            result["loss_plot"] = str(path)
        if self.sample_prompt and main:
            result["sample"] = self.write_sample()
        if main:
            self.print_summary(result)
        return result

    def preemption_callback(self) -> Any:
        """The trainer's `PreemptionCallback`; one is added when it has none."""
        from .trainer.preemption import PreemptionCallback

        for callback in self.trainer.callback_handler.callbacks:
            if isinstance(callback, PreemptionCallback):
                return callback
        callback = PreemptionCallback()
        self.trainer.add_callback(callback)
        return callback

    def copy_snapshot(self) -> list[str] | None:
        """Copy the build's files into the run directory; None (with a note) when there is no build."""
        if not self.build_dir:
            logger.info("no build directory (pass build_dir or run with `fgc run`): snapshot skipped")
            return None
        build = Path(self.build_dir)
        if not build.is_dir():
            raise FileNotFoundError(f"{build}: build directory not found ({BUILD_DIR_ENV} or build_dir)")
        return copy_snapshot(build, self.output_dir)  # nothing when `fgc run` copied it already

    def write_sample(self) -> str:
        """The prompt and its greedy continuation by the trained model, also in ``sample.txt``."""
        tokenizer = getattr(self.trainer, "processing_class", None)
        if tokenizer is None or not hasattr(self.trainer.model, "generate"):
            raise TypeError("sample_prompt needs a model with .generate() and the trainer's tokenizer")
        text = self.sample_prompt + greedy_continuation(
            self.trainer.model, tokenizer, self.sample_prompt, self.sample_tokens
        )
        write_text(self.output_dir / "sample.txt", text + "\n")
        return text

    def save_model(self) -> Path:
        """Our models are exported stand-alone; others use the trainer's ``save_model``."""
        return save_final_model(self.trainer, self.output_dir)

    def print_summary(self, result: dict[str, Any]) -> None:
        from .trainer.checkpoint import list_checkpoints

        lines = ["", f"Run {self.config_name or ''}".rstrip() + f": {self.output_dir}"]
        if self.description:
            lines.append(f"  {self.description}")
        snapshot = result.get("snapshot")
        lines.append(
            f"  build snapshot : {', '.join(snapshot)} (from {self.build_dir})"
            if snapshot
            else "  build snapshot : skipped (no build directory)"
        )
        checkpoints = list_checkpoints(self.output_dir)
        if checkpoints:
            lines.append(f"  checkpoints    : {len(checkpoints)}, latest {checkpoints[-1]}")
        if "model_dir" in result:
            lines.append(f"  final model    : {result['model_dir']}")
        logging_dir = getattr(self.trainer.args, "logging_dir", None)
        if logging_dir and Path(logging_dir).exists():
            lines.append(f"  logs           : {logging_dir}")
        if "loss_plot" in result:
            lines.append(f"  loss curves    : {result['loss_plot']}")
        if "nothing_trained" in result:
            lines.append(f"  train          : nothing left to train (resumed at its last step, {result['nothing_trained']})")
        for key in ("train_metrics", "eval_metrics"):
            if result.get(key):
                metrics = ", ".join(f"{k}={_fmt(v)}" for k, v in result[key].items())
                lines.append(f"  {key.replace('_', ' '):<15}: {metrics}")
        if "sample" in result:
            lines.append(f"  sample         : {self.output_dir / 'sample.txt'} (greedy, {self.sample_tokens} tokens)")
            lines += ["", result["sample"]]
        print("\n".join(lines), flush=True)


def final_evaluation(trainer: Any) -> dict[str, Any] | None:
    """The metrics of the evaluation the training loop made after its last step (every named
    eval set's), or None when it made none: the model has not changed since, so evaluating again
    would only repeat it. None too when the best checkpoint was loaded at the end."""
    state, args = getattr(trainer, "state", None), getattr(trainer, "args", None)
    if state is None or getattr(args, "load_best_model_at_end", False):
        return None
    metrics: dict[str, Any] = {}
    for entry in reversed(state.log_history):
        if entry.get("step") != state.global_step:
            break
        if any(k.startswith("eval_") and k.endswith("loss") for k in entry):
            metrics = {**{k: v for k, v in entry.items() if k != "step"}, **metrics}
    return metrics or None


def save_final_model(trainer: Any, output_dir: str | os.PathLike) -> Path:
    """Save ``trainer.model`` (and tokenizer) into ``output_dir`` next to the run's other files.

    A Forgather model is exported with ``forgather.ml.models.export.save_model`` when the model
    library provides it, whichever trainer trained it; a peft (LoRA) model is saved merged, with
    its adapters in ``adapter/`` (`model_io.save_model_files`).
    """
    from .trainer.base import BaseTrainer
    from .trainer.model_io import forgather_exporter, is_forgather_model, is_peft_model, save_model_files

    output_dir = Path(output_dir)
    if isinstance(trainer, BaseTrainer):
        return trainer.save_model(output_dir)
    if (is_forgather_model(trainer.model) and forgather_exporter() is not None) or is_peft_model(trainer.model):
        if not _is_main_process(trainer):
            return output_dir
        return save_model_files(trainer.model, output_dir, tokenizer=getattr(trainer, "processing_class", None))
    trainer.save_model(str(output_dir))
    return output_dir


def _is_main_process(trainer: Any) -> bool:
    """Our trainers and transformers' both answer ``is_world_process_zero()``."""
    check = getattr(trainer, "is_world_process_zero", None)
    return bool(check()) if callable(check) else True


def greedy_continuation(model: Any, tokenizer: Any, prompt: str, max_new_tokens: int) -> str:
    """The text ``model`` appends to ``prompt`` by greedy decoding (eval mode, then restored)."""
    import torch

    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            encoded = tokenizer(prompt, return_tensors="pt").to(device)
            output = model.generate(
                **encoded,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
    finally:
        model.train(was_training)
    return tokenizer.decode(output[0, encoded["input_ids"].shape[1]:], skip_special_tokens=True)


def plot_losses(log_history: list[dict[str, Any]], path: str | os.PathLike, title: str | None = None) -> Path:
    """Draw train and eval loss against the step into ``path`` (PNG, written atomically)."""
    path = Path(path)
    figure = loss_figure(log_history, title)
    png = io.BytesIO()
    figure.savefig(png, format="png")
    write_bytes(path, png.getvalue())
    return path


def loss_figure(log_history: list[dict[str, Any]], title: str | None = None):
    """The matplotlib Figure of :func:`plot_losses`; a long title is wrapped to fit its width."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    train = [(r["step"], r["loss"]) for r in log_history if "loss" in r and "step" in r]
    evals = [(r["step"], r["eval_loss"]) for r in log_history if "eval_loss" in r and "step" in r]
    figure = Figure(figsize=(7, 4.5), dpi=100)
    FigureCanvasAgg(figure)  # Agg rendering without touching pyplot's global backend
    axes = figure.add_subplot()
    if train:
        axes.plot(*zip(*train), label="train loss", marker="." if len(train) < 50 else None)
    if evals:
        axes.plot(*zip(*evals), label="eval loss", marker="o")
    if not (train or evals):
        axes.text(0.5, 0.5, "no losses were logged", ha="center", va="center", transform=axes.transAxes)
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.grid(True, alpha=0.3)
    if title:
        axes.set_title(textwrap.fill(title, TITLE_WIDTH))
    if train or evals:
        axes.legend()
    figure.tight_layout()
    return figure


# Characters per line of loss.png's title: about the width of the 7-inch figure at 12 points.
TITLE_WIDTH = 64


def _fmt(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.4g}"
    return str(value)
