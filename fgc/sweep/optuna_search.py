"""`--search optuna`: an Optuna study chooses the combinations, the axes' choices as categorical
parameters, minimising the run's final eval loss (else its final train loss). The study is kept
in the sweep directory (optuna.db, SQLite), so a re-run continues it: trials an interrupted
invocation left running are marked failed, and a combination that already ran is answered from
its run instead of running again. optuna is optional (the `sweep` extra)."""

from __future__ import annotations

from pathlib import Path

from .plan import Axis

STUDY_NAME = "fgc-sweep"
STUDY_FILE = "optuna.db"


class OptunaUnavailable(Exception):
    pass


def _optuna():
    try:
        import optuna
    except ImportError:
        raise OptunaUnavailable("--search optuna needs optuna: pip install 'forgather[sweep]' (or pip install optuna)") from None
    return optuna


def check_available() -> None:
    _optuna()


class Study:
    def __init__(self, sweep_dir: Path, axes: list[Axis], seed: int) -> None:
        optuna = _optuna()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna = optuna
        self.axes = axes
        self.study = optuna.create_study(
            study_name=STUDY_NAME,
            storage=f"sqlite:///{sweep_dir / STUDY_FILE}",
            load_if_exists=True,
            direction="minimize",
            sampler=optuna.samplers.TPESampler(seed=seed),
        )
        running = self.optuna.trial.TrialState.RUNNING
        for trial in self.study.get_trials(deepcopy=False, states=(running,)):
            self.study.tell(trial.number, state=self.optuna.trial.TrialState.FAIL)

    def finished(self) -> int:
        return sum(1 for t in self.study.get_trials(deepcopy=False) if t.state.is_finished())

    def ask(self) -> tuple[int, dict[str, str]]:
        trial = self.study.ask()
        return trial.number, {a.name: trial.suggest_categorical(a.name, list(a.values)) for a in self.axes}

    def tell(self, number: int, value: float | None) -> None:
        if value is None:
            self.study.tell(number, state=self.optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(number, value)

    def best(self) -> tuple[float, dict] | None:
        try:
            return self.study.best_value, self.study.best_params
        except ValueError:  # no completed trial
            return None
