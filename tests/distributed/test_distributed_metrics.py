"""compute_metrics and predict() on 2 processes (gloo), data parallel and fully sharded, against
one process: the same metrics and the same predictions, in dataset order (issue 20, part 1).
Process r evaluates samples r, r + 2, ...; the predictions are gathered back into order."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from launcher import torchrun  # noqa: E402
from metrics_lib import evaluate_with_metrics  # noqa: E402
from pipeline_testlib import write_package  # noqa: E402

WORKER = str(Path(__file__).parent / "metrics_worker.py")
CLOCKS = ("_runtime", "_per_second")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("metrics")
    write_package(root)
    return root, evaluate_with_metrics(root, root / "single")[1]


@pytest.fixture(scope="module")
def launched(reference, tmp_path_factory):
    """One 2-process launch evaluates under both plans (data parallel, then fully sharded)."""
    root, _ = reference
    out = tmp_path_factory.mktemp("launched")
    torchrun(WORKER, root, out, "dp,fsdp", nproc=2, outputs=[out])
    return out


@pytest.mark.parametrize("plan", ["dp", "fsdp"])
def test_metrics_and_predictions_as_one_process(plan, reference, launched):
    _, single = reference
    results = [json.loads((launched / f"result_{plan}_{rank}.json").read_text()) for rank in (0, 1)]
    for result in results:
        assert result["world_size"] == 2
        assert result["predictions"] == single["predictions"] and result["label_ids"] == single["label_ids"]
        for key in ("eval", "test"):
            got = {k: v for k, v in result[key].items() if not k.endswith(CLOCKS)}
            want = {k: v for k, v in single[key].items() if not k.endswith(CLOCKS)}
            assert got.keys() == want.keys()
            for name in got:
                assert got[name] == pytest.approx(want[name], rel=1e-5), (plan, key, name)


def test_a_pipeline_refuses_metrics_clearly(reference, tmp_path):
    """A pipeline's last stage keeps the logits inside its schedule: compute_metrics and predict()
    are an error naming the engine, never an evaluation that silently lacks the metrics."""
    from metrics_lib import Trainer, TrainingArguments, build_model, token_accuracy, TokenRows, DataCollatorForCausalLM

    from forgather.ml.trainer.pipeline import PipelineEngine

    root, _ = reference
    assert PipelineEngine.supports_predictions is False
    trainer = Trainer(build_model(root), TrainingArguments(output_dir=str(tmp_path), report_to="none"),
                      data_collator=DataCollatorForCausalLM(pad_token_id=0), eval_dataset=TokenRows(4),
                      compute_metrics=token_accuracy)
    trainer.engine.supports_predictions = False  # as PipelineEngine's
    with pytest.raises(ValueError, match="compute_metrics and predict\\(\\) need the model's logits"):
        trainer.evaluate()
    with pytest.raises(ValueError, match="need the model's logits"):
        trainer.predict(TokenRows(4))
