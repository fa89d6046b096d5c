"""Splitting a causal LM into stages (in one process): chained stages compute the whole model,
split points (even and explicit) and their errors, shared (tied) parameters, stage placement,
and the trainer's argument errors that need no process group."""

from __future__ import annotations

import pytest
import torch

from forgather.ml.trainer.pipeline import PipelineTrainer, resolve_schedule
from forgather.ml.trainer.pipeline_split import (
    SplitError,
    check_split_points,
    even_split_points,
    split_model,
    stage_indices,
)
from pipeline_testlib import build_model


@pytest.mark.parametrize(
    "layers, stages, points",
    [
        (4, 2, [2]),
        (4, 4, [1, 2, 3]),
        (5, 2, [3]),  # the remainder goes to the first stage when there is no middle one
        (5, 3, [2, 4]),  # ... to the middle stages first, then the first
        (7, 3, [2, 5]),
        (6, 1, []),
    ],
)
def test_even_split_points(layers, stages, points):
    assert even_split_points(layers, stages) == points


@pytest.mark.parametrize(
    "points, layers, stages, message",
    [
        ([2, 2], 4, 3, "strictly increasing"),
        ([1], 4, 3, "give 2 split points"),
        ([5], 4, 2, r"lie in \[0, 4\]"),
        ([-1], 4, 2, r"lie in \[0, 4\]"),
    ],
)
def test_bad_split_points_are_explained(points, layers, stages, message):
    with pytest.raises(SplitError, match=message):
        check_split_points(points, layers, stages)


def test_more_stages_than_layers_is_explained():
    with pytest.raises(SplitError, match="cannot split 2 layers into 3 stages"):
        even_split_points(2, 3)


@pytest.mark.parametrize("tie", [False, True])
@pytest.mark.parametrize("stages, points", [(2, None), (3, None), (4, None), (2, [0]), (2, [4]), (3, [1, 2])])
def test_chained_stages_compute_the_whole_model(tmp_path, tie, stages, points):
    model = build_model(tmp_path, tie=tie)
    split = split_model(model, stages, points)
    ids = torch.randint(0, 37, (3, 9), generator=torch.Generator().manual_seed(0))
    pos = torch.arange(9).expand(3, 9)
    x = ids
    for stage in split.stages:
        x = stage(x, position_ids=pos)
    torch.testing.assert_close(x, model(ids, position_ids=pos).logits, rtol=0, atol=0)
    # every tensor of the model is owned by exactly one stage and saved once
    saved = [k for i in range(stages) for k in split.stage_state_dict(i)]
    assert len(saved) == len(set(saved))
    expected = set(model.state_dict()) - ({"model.output_head.weight"} if tie else set())
    assert set(saved) == expected
    # stage names are the whole model's
    assert all(k.startswith("model.") for k in saved)


def test_a_tied_embedding_is_shared_by_the_first_and_last_stage(tmp_path):
    split = split_model(build_model(tmp_path, tie=True), 3)
    assert [(s.name, s.stages) for s in split.shared] == [("model.input_encoder.embedding.weight", [0, 2])]
    assert split.stages[2].output_head.weight is split.stages[0].input_encoder.embedding.weight
    assert split_model(build_model(tmp_path, tie=False), 3).shared == []


def test_stages_hold_only_their_parts(tmp_path):
    split = split_model(build_model(tmp_path), 2, [1])
    first, last = split.stages
    assert first.input_encoder is not None and first.output_head is None
    assert last.input_encoder is None and last.output_head is not None
    assert list(first.layer_stack.layers) == ["0"] and list(last.layer_stack.layers) == ["1", "2", "3"]


@pytest.mark.parametrize(
    "rank, world, stages, style, expected",
    [
        (0, 2, 2, "loop", [0]),
        (1, 2, 4, "loop", [1, 3]),
        (0, 2, 4, "v", [0, 3]),
        (1, 2, 4, "v", [1, 2]),
        (2, 4, 8, "v", [2, 5]),
    ],
)
def test_stage_placement(rank, world, stages, style, expected):
    assert stage_indices(rank, world, stages, style) == expected


def test_a_model_not_built_from_our_blocks_is_refused():
    with pytest.raises(SplitError, match="expected a causal LM built from forgather.ml.models blocks"):
        split_model(torch.nn.Linear(2, 2), 2)


def test_unknown_schedule_names_the_available_ones():
    with pytest.raises(ValueError, match="unknown pipeline schedule 'OneFOneB'.*GPipe, 1F1B, Interleaved1F1B"):
        PipelineTrainer(model_init=lambda: None, schedule="OneFOneB")
    assert resolve_schedule("gpipe").__name__ == "ScheduleGPipe"
