"""Benchmark the emergency-admission risk model: features, training, card and scoring.

    uv run python bench/bench_risk.py 300000 [--seed 1] [--home DIR]

Generates N people into a temporary folder (or uses an existing JOINEDUP home with --home),
then times building the two years of features, training LightGBM and the baseline, writing the
card, and scoring the whole population at the extract date with explanations. Prints the
timings, peak memory and the model card's headline figures; never patient data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from joinedup.analytics.engine import connect, read_store
from joinedup.analytics.risk import model as risk_model
from joinedup.analytics.risk.features import TABLES
from joinedup.analytics.risk.registry import TrainedModel, build_card, save_model, score_population
from joinedup.population.store import PopulationStore
from joinedup.population.synthetic import generate_area
from joinedup.settings import Settings


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patients", type=int, nargs="?", default=300_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--home", type=Path, help="an existing JOINEDUP home to use instead")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="joinedup-bench-risk-") as scratch:
        home = args.home or Path(scratch)
        settings = Settings(home=home, database_url="sqlite://")
        store = PopulationStore(settings.population_dir)
        stages: list[tuple[str, float]] = []

        def timed(name: str, start: float) -> float:
            now = time.perf_counter()
            stages.append((name, now - start))
            return now

        t = time.perf_counter()
        if not args.home:
            generate_area(store, patients=args.patients, seed=args.seed)
            t = timed("generate area (not part of the model)", t)
        extract = dt.date.fromisoformat(str(store.metadata()["extract_date"])[:10])
        split = risk_model.Split.for_extract(extract)
        con = connect("duckdb")
        tables = read_store(con, store, list(TABLES))
        train = risk_model.dataset(con, tables, split.train_index)
        evaluation = risk_model.dataset(con, tables, split.eval_index)
        t = timed("features + outcome, two index dates", t)
        fitted = risk_model.fit(train)
        t = timed("train LightGBM + logistic baseline", t)
        created = dt.datetime.now(dt.UTC)
        card = build_card(
            model_id="bench",
            created=created,
            area=str(store.metadata().get("area_name")),
            extract=extract,
            split=split,
            training=(len(train), float(train["admitted"].mean())),
            evaluation=evaluation,
            fitted=fitted,
        )
        model = TrainedModel(model_id="bench", fitted=fitted, card=card)
        t = timed("model card (200 bootstrap resamples x 3 scorers)", t)
        save_model(settings, model)
        t = timed("save", t)
        scored = score_population(model, tables, extract, explanations=False)
        t = timed("score population at extract date (risk only)", t)
        scored = score_population(model, tables, extract)
        t = timed("score population at extract date with explanations", t)

    print(f"# bench_risk: {args.patients:,} people, seed {args.seed}")
    print(f"python {platform.python_version()} on {platform.machine()}")
    for name, seconds in stages:
        print(f"  {name:<55} {seconds:7.1f} s")
    model_time = sum(s for n, s in stages if not n.startswith(("generate", "score")))
    print(f"  {'train total (features + train + card + save)':<55} {model_time:7.1f} s")
    print(f"peak memory {peak_rss_gb():.2f} GB; scored {scored.num_rows:,} people")
    print(
        f"training {card.training_size:,} people, outcome rate {card.training_outcome_rate:.2%}; "
        f"evaluation {card.evaluation_size:,}, rate {card.evaluation_outcome_rate:.2%}"
    )
    for name in ("model", "baseline", "rule"):
        perf = getattr(card, name)
        line = (
            f"  {name:<9} AUROC {perf.auroc:.3f} ({perf.auroc_ci[0]:.3f}-{perf.auroc_ci[1]:.3f})"
            f"  PPV top2% {perf.top['2%']['ppv']:.1%} top5% {perf.top['5%']['ppv']:.1%}"
            f"  sens top5% {perf.top['5%']['sensitivity']:.1%}"
        )
        if perf.brier is not None:
            line += (
                f"  Brier {perf.brier:.4f}  calibration intercept "
                f"{perf.calibration_intercept:.3f} slope {perf.calibration_slope:.3f}"
            )
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
