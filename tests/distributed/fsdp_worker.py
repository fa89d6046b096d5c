"""One process of a fully sharded test run (started by torchrun): the Trainer with
parallel=FullyShard() on the tiny Forgather model.

    fsdp_worker.py SPEC.json

SPEC: {"root", "out", "output_dir", "batch", "ga", "steps", "save_steps", "resume", "optimizer",
"export", "meta_weights"} ("meta_weights": build the model on the meta device, each process
reading its shard of every weight from that saved model). Writes OUT/result_<rank>.json (losses, eval metrics, world size, the parameter shapes
this process holds) and, on process 0, OUT/weights.pt (the model gathered from its shards).
"""

import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(__file__))
from fsdp_lib import losses, train  # noqa: E402
from pipeline_testlib import meta_model  # noqa: E402

from forgather.ml.trainer import FullyShard  # noqa: E402
from forgather.ml.trainer.distributed_checkpoint import full_model_state_dict  # noqa: E402


def main(spec_path: str) -> None:
    torch.set_num_threads(1)
    spec = json.loads(Path(spec_path).read_text())
    out = Path(spec["out"])
    root = Path(spec["root"])
    model = meta_model(root, spec["meta_weights"]) if spec.get("meta_weights") else None
    trainer = train(root, Path(spec["output_dir"]), parallel=FullyShard(), batch=spec["batch"],
                    ga=spec.get("ga", 1), steps=spec["steps"], save_steps=spec.get("save_steps"),
                    resume=spec.get("resume"), optimizer=spec.get("optimizer", "sgd"), model=model)
    rank = trainer.args.process_index
    record = {
        "losses": losses(trainer),
        "eval": trainer.evaluate(),  # under sharding: the processes run their eval shards in lockstep
        "world_size": trainer.args.world_size,
        # what this process holds of each weight: its shard, not the tensor
        "local_rows": {n: p.to_local().shape[0] for n, p in trainer.model.named_parameters() if p.dim()},
        "optimizer": type(trainer.optimizer).__name__,
    }
    if spec.get("export"):
        trainer.save_model(spec["export"])
    state = full_model_state_dict(trainer.model)  # every process takes part; process 0 gets it
    if rank == 0:
        torch.save(state, out / "weights.pt")
    (out / f"result_{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(sys.argv[1])
