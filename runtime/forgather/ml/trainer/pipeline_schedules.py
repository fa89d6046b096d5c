"""A forward-only multi-stage schedule, for evaluating on the interleaved and V placements.

`torch.distributed.pipelining`'s multi-stage schedules evaluate by running their training order
with the backward turned off; on a V placement the backward actions still try to hand gradients
between the two stages of one rank and fail ("can't steal_bwd_input if this stage doesn't have
backward", torch 2.13). `ForwardOnlyMulti` runs forwards only: each rank runs its stages in
ascending order, every micro-batch of a stage before the next stage (breadth first), which never
waits on a later stage; the runtime inserts the sends and receives.
"""

from __future__ import annotations

from typing import Callable

from torch.distributed.pipelining.schedules import (
    _Action,
    _add_send_recv,
    _ComputationType,
    _PipelineScheduleRuntime,
)


class ForwardOnlyMulti(_PipelineScheduleRuntime):
    """Forward passes of `stages` (this rank's) over `n_microbatches`; `stage_to_rank` places
    every stage of the pipeline. Use `eval(...)`: the loss (if any) is computed, nothing backward."""

    def __init__(self, stages: list, n_microbatches: int, stage_to_rank: dict[int, int],
                 loss_fn: Callable | None = None) -> None:
        self._placement = dict(stage_to_rank)
        super().__init__(stages=stages, n_microbatches=n_microbatches, loss_fn=loss_fn, scale_grads=False)
        order: dict[int, list[_Action | None]] = {}
        for rank in range(self.pp_group_size):
            mine = sorted(s for s, r in stage_to_rank.items() if r == rank)
            order[rank] = [
                _Action(s, _ComputationType.FORWARD, mb) for s in mine for mb in range(n_microbatches)
            ]
        self.pipeline_order = order
        # torch's lowering validates one backward per micro-batch; there is none here by design,
        # so place the stages and add the sends and receives directly.
        for rank, actions in order.items():
            for action in actions:
                if self._placement[action.stage_index] != rank:
                    raise AssertionError(f"stage {action.stage_index} is not placed on rank {rank}")
        self.stage_index_to_group_rank = self._placement
        for stage in self._stages:
            stage.stage_index_to_group_rank = self._placement
        self.pipeline_order_with_comms = _add_send_recv(
            {rank: list(actions) for rank, actions in order.items()},
            stage_to_rank=lambda s: self._placement[s],
            num_stages=self._num_stages,
        )

