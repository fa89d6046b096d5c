"""transformers.TrainingArguments given to forgather's Trainer (issue 20, part 1): a field the
Trainer does not implement is never silently dropped: a compile-time error at the config line
(FG0630; FG0631 when written with the value it behaves as), and at run time an error naming it."""

from __future__ import annotations

import pytest
import torch
import transformers

import fgc
from forgather.ml.trainer import Trainer, TrainingArguments
from forgather.ml.trainer.arguments import unimplemented_hf_fields

CONFIG = """\
args: &args !singleton:transformers:TrainingArguments
    output_dir: {out}
    learning_rate: 1.0e-3
    neftune_noise_alpha: 5.0
    push_to_hub: false
main: !singleton:forgather.ml.trainer:Trainer
    model: !singleton:torch.nn:Linear [2, 2]
    args: *args
"""


def test_fgc_check_reports_unimplemented_fields_at_their_lines(tmp_path):
    path = tmp_path / "exp.fg"
    path.write_text(CONFIG.format(out=tmp_path / "out"))
    found = {(d.code, d.span.line) for d in fgc.check(path)}
    assert found == {("FG0630", 4), ("FG0631", 5)}


def test_the_same_arguments_to_transformers_trainer_are_fine(tmp_path):
    path = tmp_path / "exp.fg"
    path.write_text(CONFIG.format(out=tmp_path / "out").replace("forgather.ml.trainer:Trainer", "transformers:Trainer"))
    assert [d for d in fgc.check(path) if d.code in ("FG0630", "FG0631")] == []


def test_the_trainer_refuses_an_unimplemented_field_that_is_set(tmp_path):
    hf = transformers.TrainingArguments(output_dir=str(tmp_path), neftune_noise_alpha=5.0)
    with pytest.raises(ValueError, match=r"does not implement neftune_noise_alpha=5.0"):
        Trainer(torch.nn.Linear(2, 2), hf)
    same = transformers.TrainingArguments(output_dir=str(tmp_path), learning_rate=1e-3, push_to_hub=False)
    assert Trainer(torch.nn.Linear(2, 2), same).args.learning_rate == 1e-3


def test_the_table_is_every_transformers_field_not_ours():
    import dataclasses

    ours = {f.name for f in dataclasses.fields(TrainingArguments)}
    theirs = {f.name for f in dataclasses.fields(transformers.TrainingArguments) if f.init and not f.name.startswith("_")}
    assert set(unimplemented_hf_fields()) == theirs - ours
    assert Trainer.FGC_UNSUPPORTED_ARGUMENTS == {"args": unimplemented_hf_fields()}
