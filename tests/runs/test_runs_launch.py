"""fgc/runs/trainers.py: which trainer classes a build names, and whether they run in several
processes, found from graph.json without constructing anything."""

from __future__ import annotations

import pytest
import transformers

import fgc
from fgc.runs.trainers import nproc_refusal, trainer_class, trainer_classes
from forgather.ml.trainer import BaseTrainer, Trainer
from stdlib_testlib import write


class MultiTrainer(Trainer):
    supports_multi_process = True


class HFSubclass(transformers.Trainer):
    pass


class NotATrainer:
    pass


@pytest.mark.parametrize(
    "obj, multi",
    [
        (Trainer, True),  # the parallel plan decides how the processes share the work
        (BaseTrainer, False),
        (MultiTrainer, True),
        (transformers.Trainer, True),
        (HFSubclass, True),
        (type("Declares", (), {"supports_multi_process": False}), False),
        (NotATrainer, None),
        (len, None),
        (None, None),
    ],
)
def test_trainer_class(obj, multi):
    found = trainer_class(obj)
    assert (found.multi_process if found else None) == multi


TRAINERS = """\
from forgather.ml.trainer import Trainer


class LocalMulti(Trainer):
    supports_multi_process = True


class LocalSingle(Trainer):
    supports_multi_process = False
"""


@pytest.mark.parametrize(
    "spec, refused",
    [
        ("forgather.ml.trainer:Trainer", False),
        ("forgather.ml.trainer:BaseTrainer", True),
        ("transformers:Trainer", False),
        (".trainers:LocalMulti", False),
        (".trainers:LocalSingle", True),
        ("forgather.ml.trainer:TrainingArguments", False),  # not a trainer: nothing to refuse
    ],
)
def test_nproc_refusal_from_the_graph(tmp_path, spec, refused):
    path = write(tmp_path, f"main: !partial:{spec}\n")
    write(tmp_path, TRAINERS, "trainers.py")
    build = fgc.compile(path, tmp_path / "build")
    build.load()  # imports config.py (and its local modules); constructs nothing
    assert [t.spec for t in trainer_classes(build.dir)] == ([] if "Arguments" in spec else [spec])
    message = nproc_refusal(build.dir, 2)
    assert (message is not None) == refused
    if refused:
        assert "--nproc 2" in message and spec in message
    assert nproc_refusal(build.dir, 1) is None
