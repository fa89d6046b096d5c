"""AccelTrainer in one process: it trains as Trainer does, mixed precision comes from the
arguments through Accelerate, and an Accelerator whose settings would silently change the
training is refused with a message saying what to do."""

import sys
from pathlib import Path

import pytest
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState

sys.path.insert(0, str(Path(__file__).parent))
from ddp_lib import losses, train  # noqa: E402

from forgather.ml.trainer import Trainer  # noqa: E402
from forgather.ml.trainer.accelerate import AccelTrainer  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    """Accelerate keeps its state in a process-wide singleton: each test starts from none."""
    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


def test_one_process_trains_as_trainer(tmp_path):
    accel = train(AccelTrainer, tmp_path / "accel", batch=4, ga=2, steps=3)
    plain = train(Trainer, tmp_path / "plain", batch=4, ga=2, steps=3)
    assert accel.args.world_size == 1 and accel.accelerator.num_processes == 1
    assert losses(accel) == pytest.approx(losses(plain), rel=1e-6)
    for (name, a), b in zip(accel.model.named_parameters(), plain.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=name)


def test_bf16_through_accelerate(tmp_path):
    dtypes = []

    class Probe(AccelTrainer):
        def _post_init(self):
            super()._post_init()
            self.model.lm_head.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))

    trainer = train(Probe, tmp_path, batch=4, ga=1, steps=2, arguments={"bf16": True})
    assert str(trainer.accelerator.mixed_precision) == "bf16"
    assert dtypes and set(dtypes) == {torch.bfloat16}  # the forward ran under Accelerate's autocast
    assert next(trainer.model.parameters()).dtype == torch.float32  # master weights stay float32
    assert all(torch.isfinite(torch.tensor(losses(trainer))))


REFUSED = [
    (dict(gradient_accumulation_steps=2), {}, "set gradient_accumulation_steps in the TrainingArguments"),
    (dict(mixed_precision="bf16"), {}, "mixed_precision='bf16' disagrees with the arguments"),
    (dict(), {"bf16": True}, "mixed_precision='no' disagrees with the arguments"),
]


@pytest.mark.parametrize("accelerator_options,arguments,message", REFUSED)
def test_accelerator_settings_that_would_change_training_are_refused(tmp_path, accelerator_options, arguments,
                                                                     message):
    accelerator = Accelerator(cpu=True, **accelerator_options)
    with pytest.raises(ValueError, match=message):
        train(AccelTrainer, tmp_path, batch=2, ga=1, steps=1, accelerator=accelerator, arguments=arguments)


def test_fp16_on_the_cpu_is_refused(tmp_path):
    with pytest.raises(ValueError, match="fp16 mixed precision needs a CUDA device .* use bf16=True"):
        train(AccelTrainer, tmp_path, batch=2, ga=1, steps=1, arguments={"fp16": True})


class Counter:
    """A stateful object a user registers with Accelerate: it counts optimizer steps."""

    def __init__(self) -> None:
        self.steps = torch.zeros((), dtype=torch.int64)

    def state_dict(self):
        return {"steps": self.steps.clone()}

    def load_state_dict(self, state):
        self.steps = state["steps"].clone()


class CountingAccelTrainer(AccelTrainer):
    def _post_init(self):
        super()._post_init()
        self.counter = Counter()
        self.accelerator.register_for_checkpointing(self.counter)

    def _optimizer_step(self):
        super()._optimizer_step()
        self.counter.steps += 1


def test_objects_registered_with_accelerate_are_checkpointed(tmp_path):
    out = tmp_path / "run"
    first = train(CountingAccelTrainer, out, batch=2, ga=1, steps=4, stop_at=2, save_steps=2)
    assert (out / "checkpoint-2" / "custom_checkpoint_0.pt").is_file()
    AcceleratorState._reset_state(reset_partial_state=True)
    resumed = train(CountingAccelTrainer, out, batch=2, ga=1, steps=4, resume=True)
    assert int(first.counter.steps) == 2 and int(resumed.counter.steps) == 4


@pytest.mark.parametrize("variable", ["ACCELERATE_USE_FSDP", "ACCELERATE_USE_MEGATRON_LM"])
def test_sharding_asked_of_accelerate_is_refused_not_trained_as_ddp(tmp_path, monkeypatch, variable):
    """`accelerate launch --use_fsdp` sets ACCELERATE_USE_FSDP; on the CPU Accelerate then keeps
    DDP (MULTI_CPU). AccelTrainer used to train that as DDP without a word."""
    monkeypatch.setenv(variable, "true")
    with pytest.raises(ValueError, match=f"set up for sharding \\({variable}=true"):
        train(AccelTrainer, tmp_path, batch=2, ga=1, steps=1)
