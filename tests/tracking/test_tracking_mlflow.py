"""report_to=mlflow: transformers' MLflowCallback under our Trainer and under transformers.Trainer,
the run record as the run's params, read back from a local MLflow file store."""

import json

import pytest
import transformers
from tracking_testlib import LONG, SETS, VARIABLES, history, logged, mlflow_runs, train, write_record

from forgather.ml.trainer import Trainer

pytest.importorskip("mlflow")


@pytest.mark.parametrize("trainer_cls", [Trainer, transformers.Trainer], ids=["forgather", "transformers"])
def test_metrics_and_params_reach_the_store(trainer_cls, tmp_path, mlflow_store):
    run_dir = tmp_path / "run"
    record = write_record(run_dir)
    # transformers.Trainer puts an evaluate() after train() into a second run (its MLflowCallback
    # ended the first at on_train_end); our trainers resume the training run for it
    trainer = train(trainer_cls, run_dir, ["mlflow"], evaluate=trainer_cls is Trainer)

    client, runs = mlflow_runs()
    assert len(runs) == 1, "the evaluate() after train() went to another run"
    run = client.get_run(runs[0].info.run_id)
    assert run.info.status == "FINISHED"
    # every logged value, at its step, as the trainer logged it
    for key in ("loss", "learning_rate", "grad_norm"):
        expected = logged(trainer, key)
        got = history(client, run.info.run_id, key)
        assert [s for s, _ in got] == [s for s, _ in expected] == [2, 4]
        for (_, a), (_, b) in zip(got, expected):
            assert a == pytest.approx(b, abs=1e-6)
    if trainer_cls is Trainer:  # the evaluate() after train(), in the training run too
        [(step, value)] = logged(trainer, "eval_loss")
        assert history(client, run.info.run_id, "eval_loss") == [(step, pytest.approx(value, abs=1e-6))]
        import mlflow

        assert mlflow.active_run() is None  # resumed for that log only
    params = run.data.params
    assert float(params["learning_rate"]) == 2e-3 and params["max_steps"] == "4"
    # the run record, flattened
    assert params["fgc.run_dir"] == str(run_dir)
    assert params["fgc.target"] == "main"
    assert params["fgc.command"] == "fgc run build --set note=tracked"
    assert params["fgc.build.config_sha256"] == "ab" * 32
    assert {k: params[f"fgc.sets.{k}"] for k in SETS} == {"max_steps": "4", "note": "tracked"}
    assert float(params["fgc.variables.learning_rate"]) == VARIABLES["learning_rate"]
    long = params["fgc.variables.long_value"]
    assert long.endswith("...") and LONG.startswith(long[:-3]) and len(long) <= 6000
    assert params["fgc.packages.torch"] == record["packages"]["torch"]
    # and all of it as an artifact
    path = client.download_artifacts(run.info.run_id, "fgc-run.json", str(tmp_path))
    assert json.loads(open(path).read()) == json.loads(json.dumps(record, default=str))


def test_without_a_run_record_only_the_arguments(tmp_path, mlflow_store, monkeypatch):
    monkeypatch.delenv("FGC_RUN_DIR", raising=False)
    train(Trainer, tmp_path / "run", "mlflow")
    client, (run,) = mlflow_runs()
    assert "learning_rate" in run.data.params
    assert not [k for k in run.data.params if k.startswith("fgc.")]
