"""One process of the tensor-parallel test run (started by torchrun): the Trainer with
parallel=TensorParallel() on the tiny Forgather model.

    tp_worker.py SPEC.json

SPEC: {"root", "out", "output_dir", "batch", "ga", "steps", "save_steps", "optimizer", "export"}.
Writes OUT/result_<rank>.json (losses, eval metrics, world size, the local shape of every
parameter) and, on process 0, OUT/weights.pt (the model gathered whole); then the same for a tiny
Hugging Face Llama (OUT/llama_weights.pt).
"""

import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(__file__))
from tp_lib import LLAMA_STEPS, build_llama, build_model, losses, train  # noqa: E402

from forgather.ml.trainer import TensorParallel  # noqa: E402
from forgather.ml.trainer.distributed_checkpoint import full_model_state_dict  # noqa: E402


def main(spec_path: str) -> None:
    torch.set_num_threads(1)
    spec = json.loads(Path(spec_path).read_text())
    out, root = Path(spec["out"]), Path(spec["root"])
    trainer = train(root, Path(spec["output_dir"]), parallel=TensorParallel(), batch=spec["batch"],
                    ga=spec["ga"], steps=spec["steps"], save_steps=spec["save_steps"],
                    optimizer=spec["optimizer"], model=build_model(root))
    rank = trainer.args.process_index
    record = {
        "losses": losses(trainer),
        "grad_norms": [r["grad_norm"] for r in trainer.state.log_history if "grad_norm" in r],
        "eval": trainer.evaluate(),
        "world_size": trainer.args.world_size,
        "local_shapes": {n: list(p.to_local().shape if hasattr(p, "to_local") else p.shape)
                         for n, p in trainer.model.named_parameters()},
    }
    trainer.save_model(spec["export"])
    state = full_model_state_dict(trainer.model)  # every process takes part; process 0 gets it
    if rank == 0:
        torch.save(state, out / "weights.pt")
    # a Hugging Face Llama, split by its config's base_model_tp_plan, in the same job
    llama = train(root, out / "llama", parallel=TensorParallel(), batch=spec["batch"], ga=spec["ga"],
                  steps=LLAMA_STEPS, optimizer=spec["optimizer"], model=build_llama())
    record["llama_losses"] = losses(llama)
    record["llama_local_shapes"] = {n: list(p.to_local().shape) for n, p in llama.model.named_parameters()
                                    if hasattr(p, "to_local")}
    state = full_model_state_dict(llama.model)
    if rank == 0:
        torch.save(state, out / "llama_weights.pt")
    (out / f"result_{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(sys.argv[1])
