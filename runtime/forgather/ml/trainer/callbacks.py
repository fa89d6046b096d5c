"""Shipped callbacks: tqdm progress, JSON-lines log, TensorBoard log, text-generation samples.

All are ``transformers.TrainerCallback`` subclasses using only what HF passes to every callback,
so they work unchanged under ``transformers.Trainer`` too.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import torch
from tqdm.auto import tqdm
from transformers import TrainerCallback


def logging_dir(args: Any) -> str:
    """The run's log directory: ``args.logging_dir`` (gone from HF v5 arguments) or ``<output_dir>/runs``."""
    return getattr(args, "logging_dir", None) or os.path.join(args.output_dir or ".", "runs")


def args_to_dict(args: Any) -> dict[str, Any]:
    """Training arguments as JSON-safe values (ours or Hugging Face's)."""
    if hasattr(args, "to_dict"):
        values = args.to_dict()
    elif dataclasses.is_dataclass(args):
        values = dataclasses.asdict(args)
    else:
        values = dict(vars(args))
    return json.loads(json.dumps(values, default=str))


# Training arguments that describe an optimizer or a schedule: the record states what was built
# instead (an optimizer_factory or lr_scheduler_factory leaves them unused).
BUILT_INSTEAD = (
    "learning_rate", "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon", "optim", "optim_args",
    "lr_scheduler_type", "lr_scheduler_kwargs", "warmup_steps", "warmup_ratio",
)


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"


def describe_optimizer(optimizer: Any) -> dict[str, Any] | None:
    """The optimizer that was built: its class and each parameter group's hyper-parameters."""
    if optimizer is None:
        return None
    groups = [
        {"parameters": len(g.get("params", ())), **{k: v for k, v in g.items() if k not in ("params", "param_names")}}
        for g in getattr(optimizer, "param_groups", [])
    ]
    return _json_safe({"class": _qualname(type(optimizer)), "param_groups": groups})


def describe_lr_scheduler(scheduler: Any) -> dict[str, Any] | None:
    """The schedule that was built: its class, and for a LambdaLR the multiplier's function and
    arguments (a ``functools.partial``'s keywords, a dataclass's fields)."""
    if scheduler is None:
        return None
    out: dict[str, Any] = {"class": _qualname(type(scheduler)), "base_lrs": getattr(scheduler, "base_lrs", None)}
    lambdas = getattr(scheduler, "lr_lambdas", None)
    if lambdas:
        f = lambdas[0]
        if hasattr(f, "func") and hasattr(f, "keywords"):  # functools.partial
            out["lr_lambda"], out["arguments"] = _qualname(f.func), dict(f.keywords)
        elif dataclasses.is_dataclass(f):
            out["lr_lambda"], out["arguments"] = _qualname(type(f)), dataclasses.asdict(f)
        else:
            out["lr_lambda"] = _qualname(f)
    return _json_safe(out)


def format_logs(step: int, logs: dict[str, Any]) -> str:
    """One human-readable line: ``step 100 | loss 3.21 | learning_rate 0.001 | ...``."""
    parts = [f"step {step}"]
    for key, value in logs.items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        parts.append(f"{key} {value}")
    return " | ".join(parts)


class ProgressCallback(TrainerCallback):
    """A tqdm bar over the optimizer steps (and one per evaluation); log lines printed above it.

    With ``show_bars=False`` only the log lines are printed (the trainer's ``disable_tqdm``).
    """

    def __init__(self, show_bars: bool = True, stream: TextIO | None = None) -> None:
        self.show_bars = show_bars
        self.stream = stream
        self.train_bar = None
        self.eval_bar = None

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero and self.show_bars:
            self.train_bar = tqdm(
                total=state.max_steps, initial=state.global_step, desc="train",
                dynamic_ncols=True, file=self.stream,
            )

    def on_step_end(self, args, state, control, **kwargs):
        if self.train_bar is not None:
            self.train_bar.update(state.global_step - self.train_bar.n)

    def on_prediction_step(self, args, state, control, eval_dataloader=None, **kwargs):
        if not (state.is_world_process_zero and self.show_bars):
            return
        if self.eval_bar is None:
            try:
                total = len(eval_dataloader)
            except TypeError:
                total = None
            self.eval_bar = tqdm(
                total=total, desc="eval", leave=False, dynamic_ncols=True, file=self.stream
            )
        self.eval_bar.update(1)

    def on_evaluate(self, args, state, control, **kwargs):
        if self.eval_bar is not None:
            self.eval_bar.close()
            self.eval_bar = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        line = format_logs(state.global_step, logs)
        # the metrics of an evaluation are logged while its bar is still open (after training too)
        bar = self.train_bar or self.eval_bar
        if bar is not None:
            bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream or sys.stdout, flush=True)

    def on_train_end(self, args, state, control, **kwargs):
        if self.train_bar is not None:
            self.train_bar.close()
            self.train_bar = None


class JsonLinesLogger(TrainerCallback):
    """Append every log record as one JSON object per line to ``<logging_dir>/trainer_logs.jsonl``.

    The first record of each ``train()`` holds the training arguments, the optimizer and the
    learning-rate schedule that were built (class and hyper-parameters; the arguments that
    describe them, such as ``learning_rate`` and ``lr_scheduler_type``, are left out of ``args``,
    since an ``optimizer_factory`` leaves them unused), the number of processes (``world_size``)
    and ``experiment_info`` (e.g. config name and versions). Only the main
    process writes. Lines are flushed as written, so a crash leaves a valid file.
    A record logged after ``train()`` (a final ``evaluate()``) is appended to the same file.
    """

    def __init__(self, path: str | os.PathLike | None = None, **experiment_info: Any) -> None:
        self.path = Path(path) if path is not None else None
        self.experiment_info = experiment_info
        self._file: TextIO | None = None

    def _write(self, record: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(json.dumps(record, default=str) + "\n")
            self._file.flush()

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        path = self.path or Path(logging_dir(args)) / "trainer_logs.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")
        self.path = path
        built = {"optimizer": describe_optimizer(kwargs.get("optimizer")),
                 "lr_scheduler": describe_lr_scheduler(kwargs.get("lr_scheduler"))}
        arguments = args_to_dict(args)
        if built["optimizer"] is not None:  # the optimizer and schedule it built, not unused defaults
            arguments = {k: v for k, v in arguments.items() if k not in BUILT_INSTEAD}
        self._write({"event": "train_begin", "time": time.time(), "global_step": state.global_step,
                     "args": arguments, **built, "world_size": getattr(args, "world_size", 1),
                     **self.experiment_info})

    def on_log(self, args, state, control, logs=None, **kwargs):
        record = {"event": "log", "time": time.time(), "global_step": state.global_step,
                  "epoch": state.epoch, **(logs or {})}
        if self._file is None and self.path is not None and state.is_world_process_zero:
            # a record after train() (the final evaluate()): appended to the same file
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, default=str) + "\n")
            return
        self._write(record)

    def on_train_end(self, args, state, control, **kwargs):
        self._write({"event": "train_end", "time": time.time(), "global_step": state.global_step})
        if self._file is not None:
            self._file.close()
            self._file = None


def _tensorboard_tag(key: str) -> str:
    """HF's naming: ``eval_loss`` -> ``eval/loss``, anything else -> ``train/<key>``."""
    for prefix in ("eval_", "test_"):
        if key.startswith(prefix):
            return f"{prefix[:-1]}/{key[len(prefix):]}"
    return f"train/{key}"


class TensorBoardLogger(TrainerCallback):
    """Write every numeric log value as a TensorBoard scalar (``train/loss``, ``eval/loss``, ...).

    Zeros are written like any value; ``eval/perplexity`` is added for ``eval_loss``. The
    arguments and ``experiment_info`` are written as text at the start of training.
    """

    def __init__(self, log_dir: str | os.PathLike | None = None, summary_writer: Any = None,
                 **experiment_info: Any) -> None:
        self.log_dir = log_dir
        self.writer = summary_writer
        self._owns_writer = summary_writer is None
        self.experiment_info = experiment_info

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(self.log_dir or logging_dir(args)))
        text = json.dumps({"args": args_to_dict(args), **self.experiment_info}, indent=2, default=str)
        self.writer.add_text("run", f"```\n{text}\n```", global_step=state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.writer is None:
            return
        for key, value in (logs or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(_tensorboard_tag(key), value, state.global_step)
                if key == "eval_loss":
                    self.writer.add_scalar("eval/perplexity", math.exp(min(value, 50.0)), state.global_step)
        self.writer.flush()

    def on_train_end(self, args, state, control, **kwargs):
        if self.writer is not None:
            self.writer.flush()
            if self._owns_writer:
                self.writer.close()
                self.writer = None


class TextGenerationCallback(TrainerCallback):
    """After evaluations, sample continuations of ``prompts`` and record them.

    Samples go to ``<logging_dir>/samples.jsonl`` (or ``output_file``), to a TensorBoard writer when
    one is given, and to ``self.samples``. Generation runs under a forked RNG seeded by
    ``seed + global_step``, so it neither perturbs training nor varies between runs.
    ``generation_steps`` limits it to steps that are multiples of it.
    """

    def __init__(
        self,
        prompts: list[str],
        *,
        max_new_tokens: int = 40,
        generation_steps: int | None = None,
        do_sample: bool = True,
        temperature: float = 0.7,
        top_k: int = 20,
        top_p: float = 0.9,
        repetition_penalty: float = 1.15,
        seed: int = 0,
        output_file: str | os.PathLike | None = None,
        summary_writer: Any = None,
    ) -> None:
        if isinstance(prompts, str):
            prompts = [prompts]
        self.prompts = list(prompts)
        self.generation_steps = generation_steps
        self.generate_kwargs = dict(max_new_tokens=max_new_tokens, do_sample=do_sample)
        if do_sample:
            self.generate_kwargs.update(temperature=temperature, top_k=top_k, top_p=top_p)
        self.generate_kwargs["repetition_penalty"] = repetition_penalty
        self.seed = seed
        self.output_file = Path(output_file) if output_file is not None else None
        self.writer = summary_writer
        self.samples: list[dict[str, Any]] = []

    def on_evaluate(self, args, state, control, model=None, processing_class=None, **kwargs):
        if not state.is_world_process_zero:
            return
        if self.generation_steps and state.global_step % self.generation_steps:
            return
        if model is None or processing_class is None or not hasattr(model, "generate"):
            raise TypeError(
                "TextGenerationCallback needs a model with .generate() and the trainer's "
                "processing_class (a tokenizer)"
            )
        texts = self.generate(model, processing_class, seed=self.seed + state.global_step)
        records = [{"global_step": state.global_step, "prompt": p, "text": t}
                   for p, t in zip(self.prompts, texts)]
        self.samples.extend(records)
        path = self.output_file or Path(logging_dir(args)) / "samples.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            for record in records:
                f.write(json.dumps(record) + "\n")
        if self.writer is not None:
            body = "\n\n".join(f"**{r['prompt']}** {r['text']}" for r in records)
            self.writer.add_text("eval/samples", body, state.global_step)

    @torch.no_grad()
    def generate(self, model: Any, tokenizer: Any, *, seed: int) -> list[str]:
        device = next(model.parameters()).device
        devices = [device.index or 0] if device.type == "cuda" else []
        was_training = model.training
        model.eval()
        texts = []
        try:
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(seed)
                for prompt in self.prompts:
                    encoded = tokenizer(prompt, return_tensors="pt").to(device)
                    output = model.generate(
                        **encoded,
                        pad_token_id=tokenizer.pad_token_id,
                        eos_token_id=tokenizer.eos_token_id,
                        **self.generate_kwargs,
                    )
                    new_tokens = output[0, encoded["input_ids"].shape[1]:]
                    texts.append(tokenizer.decode(new_tokens, skip_special_tokens=True))
        finally:
            model.train(was_training)
        return texts
