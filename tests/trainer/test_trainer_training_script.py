"""TrainingScript: run directory, build snapshot, training, final model, loss.png, summary."""

import json

import pytest
import transformers
from transformers import AutoModelForCausalLM
from trainer_testlib import Subset, params_equal, tiny_llama

from forgather.ml.data import DataCollatorForCausalLM
from forgather.ml.trainer import Trainer, TrainingArguments
from forgather.ml.training_script import BUILD_DIR_ENV, TrainingScript, loss_figure, plot_losses

PNG = b"\x89PNG\r\n\x1a\n"


def fake_build(root):
    """The files `fgc compile` writes (contents do not matter to the snapshot)."""
    build = root / "build"
    (build / "sources").mkdir(parents=True)
    (build / "modules").mkdir()
    (build / "model").mkdir()
    (build / "config.py").write_text("def construct(target='main'): ...\n")
    (build / "config.yaml").write_text("main: 1\n")
    (build / "fgc-manifest.json").write_text(json.dumps({"fgc": "0.1"}))
    (build / "sources" / "exp.fg").write_text("main: 1\n")
    (build / "modules" / "helper.py").write_text("X = 1\n")
    (build / "model" / "modeling.py").write_text("# generated\n")
    (build / "unrelated.txt").write_text("not part of the snapshot")
    return build


def our_trainer(out, tok, train_blocks, eval_blocks):
    args = TrainingArguments(output_dir=str(out), max_steps=6, per_device_train_batch_size=4,
                             learning_rate=3e-3, logging_steps=2, eval_strategy="steps", eval_steps=3,
                             save_steps=3, disable_tqdm=True, report_to="jsonl")
    return Trainer(tiny_llama(len(tok)), args, data_collator=DataCollatorForCausalLM(tok),
                   train_dataset=Subset(train_blocks, 32), eval_dataset=Subset(eval_blocks, 8),
                   processing_class=tok)


def test_run_directory(tmp_path, tok, train_blocks, eval_blocks, capsys, monkeypatch):
    build = fake_build(tmp_path)
    monkeypatch.setenv(BUILD_DIR_ENV, str(build))  # as `fgc run` does
    out = tmp_path / "run"
    trainer = our_trainer(out, tok, train_blocks, eval_blocks)
    result = TrainingScript(trainer, config_name="tiny", description="a test run").run()

    assert result["snapshot"] == ["config.py", "config.yaml", "fgc-manifest.json", "sources", "modules", "model"]
    assert (out / "sources" / "exp.fg").read_text() == "main: 1\n"
    assert (out / "model" / "modeling.py").is_file() and not (out / "unrelated.txt").exists()
    assert (out / "loss.png").read_bytes().startswith(PNG)
    assert (out / "checkpoint-6").is_dir()
    reloaded = AutoModelForCausalLM.from_pretrained(out)
    assert params_equal(reloaded, trainer.model) == []
    assert (out / "tokenizer.json").is_file()
    assert result["eval_metrics"]["eval_loss"] > 0 and result["train_metrics"]["train_loss"] > 0
    # the loop evaluated after its last step (6): the script reports that evaluation, never a second
    (logs,) = out.glob("**/trainer_logs.jsonl")
    evals = [r for r in map(json.loads, logs.read_text().splitlines()) if "eval_loss" in r]
    assert [r["global_step"] for r in evals] == [3, 6]
    assert result["eval_metrics"]["eval_loss"] == evals[-1]["eval_loss"]
    assert result["eval_metrics"]["eval_loss"] == pytest.approx(trainer.evaluate()["eval_loss"], rel=1e-12)
    printed = capsys.readouterr().out
    for expected in ("Run tiny: ", str(out), "build snapshot : config.py", "checkpoints    : 2",
                     "final model", "loss curves", "logs", "eval metrics"):
        assert expected in printed
    assert not any(p.name.startswith((".tmp", ".old")) for p in out.iterdir())


def test_without_a_build_the_snapshot_is_skipped(tmp_path, tok, train_blocks, eval_blocks, capsys, monkeypatch):
    monkeypatch.delenv(BUILD_DIR_ENV, raising=False)
    result = TrainingScript(our_trainer(tmp_path / "run", tok, train_blocks, eval_blocks), do_eval=False).run()
    assert result["snapshot"] is None and "eval_metrics" not in result
    assert "build snapshot : skipped (no build directory)" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="missing-build: build directory not found"):
        TrainingScript(our_trainer(tmp_path / "b", tok, train_blocks, eval_blocks),
                       build_dir=tmp_path / "missing-build").run()


def test_drives_the_huggingface_trainer_too(tmp_path, tok, train_blocks, eval_blocks):
    out = tmp_path / "hf"
    args = transformers.TrainingArguments(output_dir=str(out), max_steps=4, logging_steps=2,
                                          per_device_train_batch_size=4, save_strategy="no",
                                          report_to="none", disable_tqdm=True, use_cpu=True)
    trainer = transformers.Trainer(model=tiny_llama(len(tok)), args=args,
                                   data_collator=DataCollatorForCausalLM(tok),
                                   train_dataset=Subset(train_blocks, 16), processing_class=tok)
    result = TrainingScript(trainer, build_dir=fake_build(tmp_path)).run()
    assert (out / "config.py").is_file() and (out / "loss.png").is_file()
    assert params_equal(AutoModelForCausalLM.from_pretrained(out), trainer.model) == []
    assert result["train_metrics"]["train_loss"] > 0


def test_plot_losses(tmp_path):
    history = [{"loss": 3.0, "step": 1}, {"loss": 2.5, "step": 2}, {"eval_loss": 2.7, "step": 2},
               {"train_runtime": 1.0, "step": 2}]
    assert plot_losses(history, tmp_path / "a.png").read_bytes().startswith(PNG)
    assert plot_losses([], tmp_path / "empty.png").read_bytes().startswith(PNG)


@pytest.mark.parametrize("title", ["tiny", "quickstart: a 1M-parameter Llama-like model on the Python standard library",
                                   "a" * 30 + " " + "b" * 30 + " " + "c" * 40])
def test_loss_figure_title_fits_the_figure(title):
    figure = loss_figure([{"loss": 3.0, "step": 1}, {"loss": 2.5, "step": 2}], title)
    renderer = figure.canvas.get_renderer()
    box, frame = figure.axes[0].title.get_window_extent(renderer), figure.bbox
    assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and box.y1 <= frame.y1, (box, frame)
    assert figure.axes[0].title.get_text().replace("\n", " ") == title


# A model package as `fgc compile` emits it (build/model/): generated modeling.py over the
# portable blocks of forgather.ml.models. Written by hand here, for a tiny pre-LN transformer.
MODELING = '''
from functools import partial
from .hf_causal import ForgatherCausalLMConfig, ForgatherCausalLM
from .attention import CausalSelfAttention
from .causal_lm import CausalLM
from .feedforward import MLP
from .input_encoder import InputEncoder
from .layer_stack import LayerStack
from .layers import PreLNLayer
from .norms import LayerNorm
from .output_head import OutputHead
from .sinusoidal_pe import SinusoidalPE


def construct_model(*, vocab_size=64, hidden_size=32, num_hidden_layers=2):
    return partial(
        CausalLM,
        input_encoder_factory=partial(InputEncoder, d_model=hidden_size, vocab_size=vocab_size),
        positional_encoder_factory=partial(SinusoidalPE, d_model=hidden_size),
        attention_factory=partial(CausalSelfAttention, d_model=hidden_size, num_heads=4),
        feedforward_factory=partial(MLP, d_model=hidden_size, d_feedforward=64),
        norm_factory=partial(LayerNorm, d_model=hidden_size),
        layer_factory=partial(PreLNLayer),
        layer_stack_factory=partial(LayerStack, num_layers=num_hidden_layers),
        output_head_factory=partial(OutputHead, d_model=hidden_size, vocab_size=vocab_size),
    )()


class DynamicCausalLMConfig(ForgatherCausalLMConfig):
    model_type = "forgather-dynamic"


class DynamicCausalLMForCausalLM(ForgatherCausalLM):
    config_class = DynamicCausalLMConfig
    construct_model = staticmethod(construct_model)
'''


def test_forgather_models_are_exported_stand_alone(tmp_path, tok, train_blocks, monkeypatch):
    import importlib

    from forgather.ml.models.package import write_model_package

    write_model_package(tmp_path / "fg_export_pkg" / "model", MODELING)
    (tmp_path / "fg_export_pkg" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    modeling = importlib.import_module("fg_export_pkg.model.modeling")
    model = modeling.DynamicCausalLMForCausalLM(modeling.DynamicCausalLMConfig(vocab_size=len(tok)))
    out = tmp_path / "run"
    args = TrainingArguments(output_dir=str(out), max_steps=2, per_device_train_batch_size=4,
                             save_strategy="no", disable_tqdm=True)
    trainer = Trainer(model, args, data_collator=DataCollatorForCausalLM(tok),
                      train_dataset=Subset(train_blocks, 8), processing_class=tok)
    TrainingScript(trainer, build_dir=None, do_plot=False).run()
    assert json.loads((out / "config.json").read_text())["auto_map"]["AutoModelForCausalLM"] == (
        "modeling.DynamicCausalLMForCausalLM")
    assert (out / "modeling.py").is_file() and (out / "tokenizer.json").is_file()
    reloaded = AutoModelForCausalLM.from_pretrained(out, trust_remote_code=True)
    assert params_equal(reloaded, trainer.model) == []


def test_in_process_forgather_models_fall_back_to_save_pretrained(tmp_path, caplog):
    from forgather.ml.models.dynamic import dynamic_causal_lm

    model = dynamic_causal_lm(lambda **kw: modeling_free_core(), hidden_size=8)
    trainer = Trainer(model, TrainingArguments(output_dir=str(tmp_path), disable_tqdm=True))
    trainer.save_model()
    assert "cannot export" in caplog.text
    assert (tmp_path / "config.json").is_file() and (tmp_path / "model.safetensors").is_file()


def modeling_free_core():
    import torch

    return torch.nn.Linear(8, 8)
