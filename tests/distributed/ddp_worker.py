"""One process of a data-parallel test run (started by torchrun): AccelTrainer on the tiny model.

    ddp_worker.py OUT --batch B --ga G --steps N [--stop-at K --save-steps S] [--resume]
                  [--stream M --save-epochs]

Writes OUT/weights_<rank>.pt and OUT/result_<rank>.json (losses, eval metrics, and whether the
DDP gradient sync was on at each micro-batch's forward).
"""

import argparse
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(__file__))
from ddp_lib import train, write_result  # noqa: E402

from forgather.ml.trainer.accelerate import AccelTrainer  # noqa: E402


class SyncRecorder:
    """Forward pre-hook on the inner model: was DDP going to all-reduce this micro-batch?"""

    def __init__(self) -> None:
        self.ddp = None
        self.flags: list[bool] = []

    def __call__(self, module, args, kwargs):
        if module.training and self.ddp is not None:
            self.flags.append(bool(self.ddp.require_backward_grad_sync))


class RecordingAccelTrainer(AccelTrainer):
    def _post_init(self) -> None:
        super()._post_init()
        self.sync = SyncRecorder()
        if isinstance(self.forward_module, torch.nn.parallel.DistributedDataParallel):
            self.sync.ddp = self.forward_module
        self.model.register_forward_pre_hook(self.sync, with_kwargs=True)


def main() -> None:
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--ga", type=int, default=1)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--stop-at", type=int)
    parser.add_argument("--save-steps", type=int)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--stream", type=int, help="train on the first M samples as an iterable dataset")
    parser.add_argument("--save-epochs", action="store_true", help="save_strategy=epoch")
    a = parser.parse_args()
    trainer = train(RecordingAccelTrainer, a.out, batch=a.batch, ga=a.ga, steps=a.steps, stop_at=a.stop_at,
                    save_steps=a.save_steps, resume=a.resume, stream=a.stream,
                    arguments={"save_strategy": "epoch"} if a.save_epochs else None)
    rank = trainer.args.process_index
    write_result(trainer, a.out, rank, {"world_size": trainer.args.world_size, "sync": trainer.sync.flags,
                                        "should_save": trainer.args.should_save})


if __name__ == "__main__":
    main()
