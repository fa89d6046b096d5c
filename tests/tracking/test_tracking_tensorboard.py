"""report_to=tensorboard: transformers' TensorBoardCallback writes the loss scalars and the run
record as text, under our Trainer (into args.logging_dir) and under transformers.Trainer."""

import json
from pathlib import Path

import pytest
import transformers
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tracking_testlib import logged, train, write_record

from forgather.ml.trainer import Trainer


def events(directory: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(directory))
    accumulator.Reload()
    return accumulator


def record_text(accumulator: EventAccumulator) -> dict:
    [event] = accumulator.Tensors("fgc_run/text_summary")
    text = event.tensor_proto.string_val[0].decode()
    return json.loads(text.strip().removeprefix("```").removesuffix("```"))


@pytest.mark.parametrize("trainer_cls", [Trainer, transformers.Trainer], ids=["forgather", "transformers"])
def test_loss_scalars_and_run_record(trainer_cls, tmp_path, monkeypatch):
    monkeypatch.delenv("TENSORBOARD_LOGGING_DIR", raising=False)
    run_dir = tmp_path / "run"
    record = write_record(run_dir)
    trainer = train(trainer_cls, run_dir, "tensorboard", evaluate=False)
    if trainer_cls is Trainer:
        directories = [Path(trainer.args.logging_dir)]  # next to trainer_logs.jsonl
    else:  # transformers': <output_dir>/runs/<date>_<host>; the record beside it in <output_dir>/runs
        directories = [p for p in (run_dir / "runs").iterdir() if p.is_dir()] + [run_dir / "runs"]
    scalars = [events(d) for d in directories if "train/loss" in events(d).Tags()["scalars"]]
    assert len(scalars) == 1
    got = [(e.step, e.value) for e in scalars[0].Scalars("train/loss")]
    expected = logged(trainer, "loss")
    assert [s for s, _ in got] == [s for s, _ in expected] == [2, 4]
    for (_, a), (_, b) in zip(got, expected):
        assert a == pytest.approx(b, abs=1e-6)
    texts = [record_text(events(d)) for d in directories if "fgc_run/text_summary" in events(d).Tags()["tensors"]]
    assert texts == [json.loads(json.dumps(record, default=str))]
