"""Shared pieces of the pipeline tests: a tiny Llama-style model package (exportable), a synthetic
token dataset, and a launcher for real multi-process gloo runs of `pipeline_worker.py`."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# A Llama-style model from our blocks: RMSNorm, RoPE, GQA attention, gated feed-forward.
MODELING = '''
from functools import partial

from .attention import CausalSelfAttention
from .causal_lm import CausalLM
from .feedforward import GLUFeedforward
from .hf_causal import ForgatherCausalLM, ForgatherCausalLMConfig
from .init_weights import init_llama
from .input_encoder import InputEncoder
from .layer_stack import LayerStack
from .layers import PreLNLayer
from .norms import RMSNorm
from .rotary_pe import RotaryPE


def construct_model(*, vocab_size, hidden_size, num_heads, num_layers, intermediate_size, tie_word_embeddings):
    return CausalLM(
        input_encoder_factory=partial(InputEncoder, hidden_size, vocab_size),
        positional_encoder_factory=partial(RotaryPE, hidden_size, num_heads),
        attention_factory=partial(CausalSelfAttention, hidden_size, num_heads, num_kv_heads=1),
        feedforward_factory=partial(GLUFeedforward, hidden_size, intermediate_size),
        norm_factory=partial(RMSNorm, hidden_size),
        layer_factory=PreLNLayer,
        layer_stack_factory=partial(LayerStack, num_layers=num_layers),
        init_weights=init_llama,
        tie_word_embeddings=tie_word_embeddings,
    )


class TinyConfig(ForgatherCausalLMConfig):
    model_type = "forgather-pipeline-test"


class TinyForCausalLM(ForgatherCausalLM):
    config_class = TinyConfig
    construct_model = staticmethod(construct_model)
'''

TINY = dict(vocab_size=37, hidden_size=16, num_heads=2, num_layers=4, intermediate_size=24)


def write_package(root: Path) -> Path:
    """`root/tinymodel/`: the model package (importable once `root` is on sys.path)."""
    from forgather.ml.models.package import write_model_package

    return write_model_package(root / "tinymodel", MODELING)


def build_model(root: Path, *, seed: int = 0, tie: bool = False, num_layers: int = 4):
    """The tiny model from the package under `root` (written if missing), seeded."""
    import importlib

    import torch

    if not (root / "tinymodel").is_dir():
        write_package(root)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    modeling = importlib.import_module("tinymodel.modeling")
    torch.manual_seed(seed)
    config = modeling.TinyConfig(**{**TINY, "num_layers": num_layers}, tie_word_embeddings=tie)
    return modeling.TinyForCausalLM(config)


def meta_model(root: Path, weights: str, *, tie: bool = False, num_layers: int = 4):
    """The tiny model built on the meta device, to be filled from the saved model `weights`
    (each pipeline rank reads its own stages' tensors)."""
    import importlib

    from forgather.ml.models.materialize import on_meta

    build_model(root, tie=tie, num_layers=num_layers)  # writes and imports the package
    modeling = importlib.import_module("tinymodel.modeling")
    config = modeling.TinyConfig(**{**TINY, "num_layers": num_layers}, tie_word_embeddings=tie)
    return on_meta(modeling.TinyForCausalLM, config, weights=weights)


class TokenRows:
    """A map-style dataset of `n` rows of random token ids (lengths vary when `ragged`)."""

    def __init__(self, n: int, length: int = 12, seed: int = 1, ragged: bool = False) -> None:
        import torch

        g = torch.Generator().manual_seed(seed)
        self.rows = []
        for i in range(n):
            size = length - (i % 3) if ragged else length
            self.rows.append({"input_ids": torch.randint(0, TINY["vocab_size"], (size,), generator=g).tolist()})

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict:
        return self.rows[index]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    return env


def run_workers(spec: dict, tmp_path: Path, *, nproc: int = 2, hang_guard_s: int = 600) -> list[dict]:
    """Run `pipeline_worker.py` on `nproc` gloo processes with `spec`; returns each rank's result.

    A fresh port per launch; `hang_guard_s` only stops a deadlocked group (it is no time limit on
    the work); on failure the workers' output is part of the assertion message. A launch whose
    worker crashed by a signal (an occasional SIGABRT inside gloo on small machines) is retried
    once, from the files the first launch found (the spec's "out" and "output_dir" put back as
    they were), and the retry is reported if the second launch fails too.
    """
    spec_path = tmp_path / f"spec-{free_port()}.json"
    spec_path.write_text(json.dumps(spec))
    notes = []
    keep = tmp_path / f"before-{spec_path.stem}"
    outputs = [Path(spec[k]) for k in ("out", "output_dir") if spec.get(k)]
    for i, directory in enumerate(outputs):
        if directory.is_dir():
            shutil.copytree(directory, keep / str(i), symlinks=True)
    for attempt in range(2):
        if attempt:  # start the retry from what the first launch found
            for i, directory in enumerate(outputs):
                shutil.rmtree(directory, ignore_errors=True)
                if (keep / str(i)).is_dir():
                    shutil.copytree(keep / str(i), directory, symlinks=True)
        cmd = [
            sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", str(nproc),
            "--master-addr", "127.0.0.1", "--master-port", str(free_port()),
            str(HERE / "pipeline_worker.py"), str(spec_path),
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, env=worker_env(), timeout=hang_guard_s)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"pipeline workers hung; output:\n{e.stdout}\n{e.stderr}") from None
        if done.returncode == 0:
            break
        crashed = any(sig in done.stderr for sig in ("SIGABRT", "SIGSEGV", "SIGBUS"))
        notes.append(f"attempt {attempt + 1}: exit {done.returncode}" + (" (a worker crashed by a signal)" if crashed else ""))
        if not crashed:
            break
    shutil.rmtree(keep, ignore_errors=True)
    assert done.returncode == 0, f"pipeline workers failed ({'; '.join(notes)}):\n{done.stdout}\n{done.stderr}"
    results = []
    for rank in range(nproc):
        path = Path(spec["out"]) / f"result-rank{rank}.json"
        assert path.is_file(), f"rank {rank} wrote no result:\n{done.stdout}\n{done.stderr}"
        results.append(json.loads(path.read_text()))
    return results


def training_arguments(spec: dict) -> dict:
    """The TrainingArguments of a test run; the single-process reference uses the same ones."""
    return dict(
        output_dir=spec["output_dir"],
        per_device_train_batch_size=spec.get("batch_size", 4),
        per_device_eval_batch_size=spec.get("eval_batch_size", 4),
        gradient_accumulation_steps=spec.get("ga", 1),
        max_steps=spec.get("max_steps", 4),
        learning_rate=1e-2,
        max_grad_norm=spec.get("max_grad_norm", 1.0),
        lr_scheduler_type="constant",
        logging_steps=1,
        save_strategy="steps" if spec.get("save_steps") else "no",
        save_steps=spec.get("save_steps") or 500,
        weight_decay=0.1,
        seed=spec.get("seed", 3),
        disable_tqdm=True,
        use_cpu=True,
        bf16=spec.get("bf16", False),
        gradient_checkpointing=spec.get("gradient_checkpointing", False),
        overwrite_output_dir=True,
    )
