"""One rank of a pipeline test run (launched by `pipeline_testlib.run_workers` under torchrun).

Reads a JSON spec, trains the tiny model with PipelineTrainer, saves it (every stage writes its
shard of one model directory: the spec's "save_model", or "out"/model), and writes
`result-rank<r>.json` (logged losses, eval loss) and, on rank 0, `weights.safetensors` (the
saved shards merged, read back from disk) into the spec's "out" directory.
"""

import json
import os
import sys
from pathlib import Path

import safetensors.torch
import torch

torch.set_num_threads(1)

from forgather.ml.trainer.arguments import TrainingArguments  # noqa: E402
from forgather.ml.trainer.pipeline import PipelineTrainer  # noqa: E402
from pipeline_testlib import TokenRows, build_model, meta_model, training_arguments  # noqa: E402


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    out = Path(spec["out"])
    root = Path(spec["root"])
    seed = int(os.environ["RANK"]) + 10 if spec.get("model_seed_by_rank") else 0
    tie, layers = spec.get("tie", False), spec.get("num_layers", 4)
    if spec.get("meta_weights"):  # built on meta: each rank reads its stages from the saved model
        model_init = lambda: meta_model(root, spec["meta_weights"], tie=tie, num_layers=layers)  # noqa: E731
    elif spec.get("pretrained"):  # transformers' from_pretrained (which turns on hub kernels)
        model_init = lambda: type(build_model(root, num_layers=layers)).from_pretrained(spec["pretrained"])  # noqa: E731
    else:
        model_init = lambda: build_model(root, seed=seed, tie=tie, num_layers=layers)  # noqa: E731
    trainer = PipelineTrainer(
        model_init=model_init,
        args=TrainingArguments(**training_arguments(spec)),
        train_dataset=TokenRows(spec.get("rows", 24), ragged=spec.get("ragged", False)),
        eval_dataset=TokenRows(spec.get("eval_rows", 10), seed=7, ragged=spec.get("ragged", False)),
        schedule=spec["schedule"],
        n_microbatches=spec.get("n_microbatches"),
        stages_per_rank=spec.get("stages_per_rank"),
        split_points=spec.get("split_points"),
        **({"data_parallel": spec["data_parallel"]} if "data_parallel" in spec else {}),
    )
    output = trainer.train(resume_from_checkpoint=spec.get("resume") or None)
    rank = trainer.engine.rank
    result = {
        "losses": [e["loss"] for e in trainer.state.log_history if "loss" in e],
        "grad_norms": [e["grad_norm"] for e in trainer.state.log_history if "grad_norm" in e],
        "global_step": output.global_step,
        "stages": trainer.engine.stage_ids,
        # the parameters this rank holds memory for (its stages'); the rest are meta tensors
        "kept": sorted(n for n, p in trainer.model.named_parameters() if not p.is_meta),
        "checkpointing": [trainer.engine.split.stages[i].layer_stack.gradient_checkpointing
                          for i in trainer.engine.stage_ids],
        # this rank's copy of each parameter that stages on several ranks hold (a tied embedding)
        "shared_copies": {s.name: trainer.model.state_dict()[s.name].flatten().tolist()
                          for s in trainer.engine.split.shared
                          if not trainer.model.state_dict()[s.name].is_meta},
    }
    # samples trained and evaluated, as the throughput metrics count them
    result["train_samples"] = output.metrics["train_samples_per_second"] * output.metrics["train_runtime"]
    if spec.get("eval"):
        metrics = trainer.evaluate()
        result["eval_loss"] = metrics["eval_loss"]
        result["eval_samples"] = metrics["eval_samples_per_second"] * metrics["eval_runtime"]
    model_dir = Path(spec.get("save_model") or out / "model")
    trainer.save_model(model_dir)
    if rank == 0:
        merged = {}
        for shard in sorted(model_dir.glob("model-*.safetensors")):
            merged.update(safetensors.torch.load_file(str(shard)))
        safetensors.torch.save_file(merged, str(out / "weights.safetensors"))
    (out / f"result-rank{rank}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
