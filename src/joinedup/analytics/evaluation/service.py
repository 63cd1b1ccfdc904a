"""Evaluate a programme: find it, build its cohort's outcomes, run one method, add the
regression-to-the-mean demonstration. What the CLI (and later the commissioner pages) call."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from joinedup.analytics.evaluation import did, its, rtm, synthetic_control
from joinedup.analytics.evaluation.outcomes import OutcomeError, build_panel, check_outcome
from joinedup.analytics.evaluation.programme import Programme, find, load_file
from joinedup.analytics.evaluation.result import Evaluation
from joinedup.population.store import PopulationStore

METHODS = {
    "did": did.evaluate,
    "its": its.evaluate,
    "synthetic-control": synthetic_control.evaluate,
}


def resolve(store: PopulationStore, name: str, programme_file: Path | None) -> Programme:
    return load_file(programme_file) if programme_file is not None else find(name, store.metadata())


def evaluate_programme(
    store: PopulationStore, programme: Programme, outcome: str, method: str
) -> Evaluation:
    if method not in METHODS:
        raise OutcomeError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    check_outcome(outcome)
    result = METHODS[method](build_panel(store, programme, outcome))
    demo = rtm.demonstrate(store, programme)
    result.notes += [rtm.WARNING, demo.sentence()]
    result.tables["regression_to_the_mean"] = [
        {
            **asdict(demo),
            "selected_change": demo.selected_change,
            "everyone_change": demo.everyone_change,
        }
    ]
    return result
