"""`TrainingArguments`: the subset of Hugging Face's training arguments that our Trainer supports.

Field names and defaults are Hugging Face's (transformers v5; ``logging_dir``,
``overwrite_output_dir`` and ``save_safetensors``, gone from v5, keep their v4 meaning), so a
config can pass the same mapping to either trainer. An unknown field is an error naming the
closest supported one.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import json
import math
import os
import socket
import weakref
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Literal

import torch

STRATEGIES = ("no", "steps", "epoch")
SAVE_STRATEGIES = ("no", "steps", "epoch", "best")
SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup", "cosine_with_min_lr")
# "jsonl" is our JsonLinesLogger; the trackers are transformers' own integration callbacks
# (tracking.py). "all" keeps its old meaning here: jsonl + tensorboard, never a tracker that
# starts remote runs (mlflow, wandb) unasked.
REPORT_TO = ("none", "all", "jsonl", "tensorboard", "mlflow", "wandb")
SAMPLING = ("random", "sequential")
# Forgather's own fields (not in transformers.TrainingArguments): the memory options
MEMORY_FIELDS = ("model_dtype", "optimizer_in_backward", "activation_offloading", "linear_cross_entropy")


@dataclass
class TrainingArguments:
    """Arguments of `forgather.ml.trainer.Trainer`; see ``docs/runtime.md`` for each field."""

    output_dir: str = "trainer_output"
    logging_dir: str | None = None
    overwrite_output_dir: bool = False
    # batch and length
    per_device_train_batch_size: int = 8
    per_device_eval_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    max_steps: int = -1
    num_train_epochs: float = 3.0
    # logging, evaluation, saving
    logging_strategy: str = "steps"
    logging_steps: float = 500
    logging_first_step: bool = False
    eval_strategy: str = "no"
    eval_steps: float | None = None
    eval_delay: float = 0
    save_strategy: str = "steps"
    save_steps: float = 500
    save_total_limit: int | None = None
    save_safetensors: bool = True
    load_best_model_at_end: bool = False
    metric_for_best_model: str | None = None
    greater_is_better: bool | None = None
    # optimisation (used by the default optimizer and scheduler factories)
    seed: int = 42
    max_grad_norm: float = 1.0
    learning_rate: float = 5e-5
    weight_decay: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    warmup_steps: float = 0
    lr_scheduler_type: str = "linear"
    lr_scheduler_kwargs: dict | None = None
    # speed and memory
    bf16: bool = False
    fp16: bool = False
    torch_compile: bool = False
    torch_compile_backend: str | None = None
    torch_compile_mode: str | None = None
    gradient_checkpointing: bool = False
    use_cache: bool = False
    use_cpu: bool = False
    # data
    dataloader_num_workers: int = 0
    dataloader_drop_last: bool = False
    dataloader_pin_memory: bool = True
    train_sampling_strategy: str = "random"
    # resuming and reporting
    resume_from_checkpoint: str | bool | None = None
    restore_callback_states_from_checkpoint: bool = False
    disable_tqdm: bool | None = None
    report_to: str | list[str] | None = "none"
    run_name: str | None = None  # the tracker's run name (MLflow, wandb); HF's field
    # transformers' API in full (issue 20): evaluation, metrics and the fields a fine-tune sets.
    # do_train / do_eval / do_predict: as in transformers, the Trainer does not read them (scripts
    # do); accepted so that the same arguments serve both trainers.
    do_train: bool = False
    do_eval: bool = False
    do_predict: bool = False
    # columns: a datasets.Dataset loses the columns the model's forward (and the collator) do not
    # take; the features of any other dataset lose those keys before the collator
    remove_unused_columns: bool = True
    label_names: list[str] | None = None  # None: ["labels"]
    # evaluation and predict(): metrics from compute_metrics
    prediction_loss_only: bool = False
    include_for_metrics: list[str] = dataclasses.field(default_factory=list)  # "inputs", "loss"
    eval_accumulation_steps: int | None = None  # accepted; predictions go to the CPU every batch
    eval_on_start: bool = False
    label_smoothing_factor: float = 0.0
    # data order, memory, the optimizer by name (trainer/optimizers.py)
    data_seed: int | None = None  # None: seed
    gradient_checkpointing_kwargs: dict | None = None
    # transformers v5's names of the two above (v4's stay the fields the Trainer reads)
    activation_checkpointing: bool = False
    activation_checkpointing_kwargs: dict | None = None
    optim: Literal["adamw_torch", "adamw_torch_fused", "sgd", "adafactor", "galore_adamw", "apollo_adamw"] = (
        "adamw_torch_fused"
    )
    optim_args: str | None = None
    optim_target_modules: str | list[str] | None = None
    # ---- memory (Forgather's; docs/runtime.md, "Memory"): each option is one line of a config
    model_dtype: str | None = None  # "bfloat16": weights and gradients in bf16 (pure low precision)
    optimizer_in_backward: bool = False  # each parameter steps inside backward; no whole-model grads
    activation_offloading: bool = False  # saved activations in pinned host memory (CUDA)
    linear_cross_entropy: bool | str = False  # loss from hidden states in chunks; or "torch"/"cce"/"liger"

    def __new__(cls, *args: Any, **kwargs: Any) -> "TrainingArguments":
        # Runs before the generated __init__, so an unknown field gets a helpful message instead
        # of "__init__() got an unexpected keyword argument".
        known = {f.name for f in dataclasses.fields(cls)}
        for name in kwargs:
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise TypeError(f"TrainingArguments: unknown field {name!r}{hint}")
        return super().__new__(cls)

    def __post_init__(self) -> None:
        for name in ("logging_strategy", "eval_strategy", "save_strategy", "lr_scheduler_type"):
            value = getattr(self, name)
            if isinstance(value, Enum):  # HF's IntervalStrategy etc.
                setattr(self, name, value.value)
        self._check_choice("logging_strategy", STRATEGIES)
        self._check_choice("eval_strategy", STRATEGIES)
        self._check_choice("save_strategy", SAVE_STRATEGIES)
        self._check_choice("lr_scheduler_type", SCHEDULERS)
        self._check_choice("train_sampling_strategy", SAMPLING)
        if self.activation_checkpointing is not None:
            self.gradient_checkpointing = self.gradient_checkpointing or bool(self.activation_checkpointing)
        if self.activation_checkpointing_kwargs is not None and self.gradient_checkpointing_kwargs is None:
            self.gradient_checkpointing_kwargs = self.activation_checkpointing_kwargs
        if isinstance(self.optim, Enum):
            self.optim = self.optim.value
        from .optimizers import OPTIMIZERS

        self._check_choice("optim", OPTIMIZERS)
        unknown = set(self.include_for_metrics) - {"inputs", "loss"}
        if unknown:
            raise ValueError(f"TrainingArguments: include_for_metrics takes 'inputs' and 'loss', not {sorted(unknown)}")
        if not 0.0 <= self.label_smoothing_factor < 1.0:
            raise ValueError(f"TrainingArguments: label_smoothing_factor must be in [0, 1), got {self.label_smoothing_factor}")
        if self.eval_steps is None and self.eval_strategy == "steps":
            self.eval_steps = self.logging_steps  # HF's rule
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size",
                     "gradient_accumulation_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainingArguments: {name} must be >= 1, got {getattr(self, name)}")
        for name in ("logging_steps", "eval_steps", "save_steps"):
            value = getattr(self, name)
            if value is None:
                continue
            if value <= 0 or (value > 1 and value != int(value)):
                raise ValueError(
                    f"TrainingArguments: {name} must be a positive integer or a ratio in (0, 1), "
                    f"got {value}"
                )
        if self.max_steps == 0 or (self.max_steps < 0 and self.num_train_epochs <= 0):
            raise ValueError("TrainingArguments: set max_steps > 0 or num_train_epochs > 0")
        if not (self.warmup_steps >= 0 and (self.warmup_steps < 1 or self.warmup_steps == int(self.warmup_steps))):
            raise ValueError(
                f"TrainingArguments: warmup_steps must be a step count or a ratio in [0, 1), got {self.warmup_steps}"
            )
        if self.bf16 and self.fp16:
            raise ValueError("TrainingArguments: at most one of bf16 and fp16 can be True")
        if self.save_total_limit is not None and self.save_total_limit < 1:
            raise ValueError(f"TrainingArguments: save_total_limit must be >= 1 or None, got {self.save_total_limit}")
        self.report_to = _normalize_report_to(self.report_to)
        if self.load_best_model_at_end:
            if self.save_strategy != self.eval_strategy and self.save_strategy != "best":
                raise ValueError(
                    "TrainingArguments: load_best_model_at_end needs save_strategy == eval_strategy "
                    f"(got save_strategy={self.save_strategy!r}, eval_strategy={self.eval_strategy!r})"
                )
            if self.save_strategy == "steps" and self.save_steps % self.eval_steps != 0:
                raise ValueError(
                    "TrainingArguments: load_best_model_at_end needs save_steps to be a multiple of "
                    f"eval_steps (got {self.save_steps} and {self.eval_steps})"
                )
            if self.metric_for_best_model is None:
                self.metric_for_best_model = "loss"
        if self.save_strategy == "best" and self.metric_for_best_model is None:
            raise ValueError("TrainingArguments: save_strategy='best' needs metric_for_best_model")
        if self.greater_is_better is None and self.metric_for_best_model is not None:
            self.greater_is_better = not self.metric_for_best_model.endswith("loss")
        if self.logging_dir is None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            self.logging_dir = os.path.join(self.output_dir, "runs", f"{stamp}_{socket.gethostname()}")
        if self.disable_tqdm is None:
            self.disable_tqdm = False
        from ..memory.options import check_arguments

        check_arguments(self)

    def _check_choice(self, name: str, choices: tuple[str, ...]) -> None:
        value = getattr(self, name)
        if value not in choices:
            raise ValueError(
                f"TrainingArguments: {name}={value!r} is not supported; choose one of "
                + ", ".join(repr(c) for c in choices)
            )

    # Read-only views that Hugging Face callbacks expect on their `args`.
    @property
    def device(self) -> torch.device:
        if torch.cuda.is_available() and not self.use_cpu:
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")

    @property
    def train_batch_size(self) -> int:
        return self.per_device_train_batch_size

    @property
    def eval_batch_size(self) -> int:
        return self.per_device_eval_batch_size

    # The process topology: the trainer's engine once a trainer binds these arguments
    # (bind_topology), else torch.distributed when it is initialised, else one process.
    def bind_topology(self, engine: Any) -> None:
        """Report ``engine``'s world size and process index from now on."""
        object.__setattr__(self, "_topology", weakref.ref(engine))  # copies of args stay light

    def _topology_value(self, name: str, dist_value: Any, default: int) -> int:
        ref = getattr(self, "_topology", None)
        engine = ref() if ref is not None else None
        if engine is not None:
            return int(getattr(engine, name))
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return int(dist_value())
        return default

    @property
    def world_size(self) -> int:
        return self._topology_value("world_size", torch.distributed.get_world_size, 1)

    @property
    def process_index(self) -> int:
        return self._topology_value("process_index", torch.distributed.get_rank, 0)

    @property
    def local_process_index(self) -> int:
        return self._topology_value("local_process_index", lambda: int(os.environ.get("LOCAL_RANK", 0)), 0)

    @property
    def should_save(self) -> bool:
        """Whether this process writes shared files (the main process)."""
        return self.process_index == 0

    @property
    def should_log(self) -> bool:
        return self.process_index == 0

    def warmup_steps_for(self, max_steps: int) -> int:
        """Warm-up length in steps: ``warmup_steps`` itself, or that ratio of ``max_steps``."""
        if 0 < self.warmup_steps < 1:
            return math.ceil(self.warmup_steps * max_steps)
        return int(self.warmup_steps)

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-compatible values."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def to_json_string(self) -> str:
        """The fields as indented JSON (what HF's TensorBoardCallback writes as the `args` text)."""
        return json.dumps(self.to_dict(), indent=2, default=str)

    def to_sanitized_dict(self) -> dict[str, Any]:
        """The fields with every value a bool, int, float, str or tensor (HF's hparams form)."""
        kept = (bool, int, float, str, torch.Tensor)
        return {k: v if isinstance(v, kept) else str(v) for k, v in self.to_dict().items()}

    @classmethod
    def from_hf(cls, hf_args: Any) -> "TrainingArguments":
        """Our arguments from a ``transformers.TrainingArguments``: the fields both define.

        ``report_to`` keeps only the loggers and trackers we support, and ``logging_dir`` (gone in transformers
        v5) defaults as usual. A field we do not implement set to anything but transformers' default
        is an error naming it (``fgc check`` reports it at the config line: FG0630).
        """
        set_fields = unimplemented_fields_set(hf_args)
        if set_fields:
            raise ValueError(
                "TrainingArguments: forgather's Trainer does not implement "
                + ", ".join(f"{name}={_normal(getattr(hf_args, name))!r}" for name in set_fields)
                + " (transformers.TrainingArguments fields; docs/runtime.md lists what is implemented)"
            )
        values = {}
        for f in dataclasses.fields(cls):
            if hasattr(hf_args, f.name):
                value = getattr(hf_args, f.name)
                values[f.name] = value.value if isinstance(value, Enum) else value
        report = values.get("report_to") or []
        report = [report] if isinstance(report, str) else list(report)
        values["report_to"] = [r for r in report if r in REPORT_TO] or "none"
        if values.get("gradient_checkpointing") is None:
            values["gradient_checkpointing"] = False
        return cls(**values)


# ------------------------------------------------------- transformers' fields not implemented here


# Why some fields are not implemented, and what to use instead (the others simply are not).
NOT_IMPLEMENTED_WHY = {
    "deepspeed": "train on several GPUs with the Accelerate or FSDP2 trainers (docs/runtime.md, Scale-out)",
    "push_to_hub": "nothing is uploaded; the run directory holds the model",
    "hub_model_id": "nothing is uploaded; the run directory holds the model",
    "use_liger_kernel": "Liger kernels are not applied",
}


def unimplemented_hf_fields() -> dict[str, dict[str, Any]]:
    """The fields of ``transformers.TrainingArguments`` that this Trainer does not implement:
    name -> {"default": transformers' default (None when it is not a JSON value), "why": ...}.

    The Trainer publishes them as ``FGC_UNSUPPORTED_ARGUMENTS["args"]``, so that ``fgc check``
    reports such a field at its config line (FG0630; FG0631 when it is written with its
    default), and ``from_hf`` refuses one that is set.
    """
    try:
        from transformers import TrainingArguments as HF
    except ImportError:
        return {}
    ours = {f.name for f in dataclasses.fields(TrainingArguments)}
    table = {}
    for f in dataclasses.fields(HF):
        if f.name in ours or not f.init or f.name.startswith("_"):
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        default = default.value if isinstance(default, Enum) else default
        try:
            json.dumps(default)
        except (TypeError, ValueError):
            default = None
        table[f.name] = {"default": default, "why": NOT_IMPLEMENTED_WHY.get(f.name, "")}
    return table


def unimplemented_fields_set(hf_args: Any) -> list[str]:
    """The fields of ``unimplemented_hf_fields`` whose value in ``hf_args`` differs from the value
    a ``transformers.TrainingArguments`` with the same output_dir has by default."""
    names = list(unimplemented_hf_fields())
    if not names:
        return []
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = type(hf_args)(output_dir=hf_args.output_dir)
    return [n for n in names if _normal(getattr(hf_args, n, None)) != _normal(getattr(reference, n, None))]


def _normal(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _normalize_report_to(value: str | list[str] | None) -> list[str]:
    from .tracking import check_installed

    names = [value] if isinstance(value, str) else list(value or [])
    for name in names:
        if name not in REPORT_TO:
            raise ValueError(
                f"TrainingArguments: report_to={name!r} is not supported; choose from "
                + ", ".join(repr(c) for c in REPORT_TO)
            )
        check_installed(name)
    if "all" in names:
        names = ["tensorboard", "jsonl"] + [n for n in names if n not in ("all", "tensorboard", "jsonl")]
    return list(dict.fromkeys(n for n in names if n != "none"))


# The generated __init__ carries the real signature; __new__ only validates names. Expose the
# former so that `inspect.signature(TrainingArguments)` (used by fgc to bind config arguments)
# lists every field.
TrainingArguments.__signature__ = inspect.signature(TrainingArguments.__init__).replace(
    parameters=list(inspect.signature(TrainingArguments.__init__).parameters.values())[1:]
)
