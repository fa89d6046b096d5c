"""One process of a distributed evaluation with metrics (started by torchrun): the Trainer on the
tiny Forgather model with data parallelism or parallel=FullyShard(), evaluate() with
compute_metrics and predict().

    metrics_worker.py ROOT OUT PLAN[,PLAN...]     (PLAN: dp or fsdp, one after the other)

Writes OUT/result_<plan>_<rank>.json: the metrics of evaluate() and predict(), and predict()'s
predictions (argmax) and label ids.
"""

import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(__file__))
from metrics_lib import evaluate_with_metrics  # noqa: E402

from forgather.ml.trainer import FullyShard  # noqa: E402


def main(root: str, out: str, plans: str) -> None:
    torch.set_num_threads(1)
    for plan in plans.split(","):  # one launch for every plan: the processes start once
        trainer, record = evaluate_with_metrics(Path(root), Path(out) / plan, FullyShard() if plan == "fsdp" else None)
        record["world_size"] = trainer.args.world_size
        (Path(out) / f"result_{plan}_{trainer.args.process_index}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(*sys.argv[1:4])
