"""Social prescribing's synthetic referrals, measured back against their calibration targets,
and the time to seed them and to work out the report.

    uv run python bench/bench_social_prescribing.py --home DIR [--patients 60000] [--seed 1]

Generates an area in DIR (unless one with that size is there), migrates a SQLite care store,
mirrors the organisations, makes the demo users, loads the synthetic directory and seeds the
referrals (`directory.social_prescribing.synthetic`). Then prints the measured figures next to
their targets: referrals per registered person a year (target 1.6%, NHS Long Term Plan), and
the mean WEMWBS change (target +5, the +4 to +7 of UK evaluations), computed here from the
stored measures independently of the report; and the report's own figures and timing.
Prints figures only, never patient data.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from sqlalchemy import select

from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.migrate import upgrade
from joinedup.directory.social_prescribing.matched_use import matched_use
from joinedup.directory.social_prescribing.models import (
    SocialPrescribingMeasure,
    SocialPrescribingReferral,
)
from joinedup.directory.social_prescribing.reports import social_prescribing_report
from joinedup.directory.social_prescribing.synthetic import seed_social_prescribing
from joinedup.directory.synthetic import seed_directory
from joinedup.governance.users import create_demo_users
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.reads import registered_person_ids
from joinedup.population.store import PopulationStore
from joinedup.population.synthetic import generate_area
from joinedup.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--patients", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    database = args.home / "sp-bench.db"
    database.unlink(missing_ok=True)
    settings = Settings(home=args.home, database_url=f"sqlite:///{database}")
    store = PopulationStore(settings.population_dir)
    if not store.exists() or store.metadata().get("patients") != args.patients:
        generate_area(store, patients=args.patients, seed=args.seed)
    upgrade(settings.database_url)
    sessions = session_factory(make_engine(settings.database_url))
    sync_organisations(store, sessions)
    create_demo_users(sessions)
    seed_directory(sessions, settings, args.seed)

    began = time.perf_counter()
    made = seed_social_prescribing(sessions, settings, args.seed)
    seeding = time.perf_counter() - began
    registered = len(registered_person_ids(store))
    print(f"registered people: {registered:,}; referrals seeded: {made.referrals:,}")
    print(
        f"referrals a year per registered person: {made.referrals / registered:.2%} (target 1.6%)"
    )
    print(
        f"open with the demo link worker: {made.open}; with an end measure: {made.with_end_measure}"
    )
    for instrument in ("wemwbs", "swemwbs"):
        changes = _changes(sessions, instrument)
        if len(changes) > 1:
            print(
                f"{instrument} change: mean {statistics.fmean(changes):+.2f}, "
                f"SD {statistics.stdev(changes):.2f}, n {len(changes)}"
                + (" (target +5, +4 to +7 published)" if instrument == "wemwbs" else "")
            )
    began = time.perf_counter()
    report = social_prescribing_report(sessions, store)
    reporting = time.perf_counter() - began
    for outcome in report.outcomes:
        c = outcome.overall
        print(f"report {outcome.key}: n {c.people}, change {c.mean_change} ({c.low} to {c.high})")
    print(f"median days to first contact: {report.wait.median_days}")
    print(f"seeding: {seeding:.1f} s; report: {reporting:.2f} s")
    _matched_use(sessions, store)


def _matched_use(sessions, store: PopulationStore) -> None:  # type: ignore[no-untyped-def]
    """GP and A&E use before and after referral against matched people not referred: the
    figures and the time (wall and CPU: the machine is shared, so wall is an upper bound)."""
    wall, cpu = time.perf_counter(), time.process_time()
    use = matched_use(sessions, store)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert use is not None  # the area was generated above
    print(
        f"matched use: {use.eligible} referred with six months before and after, "
        f"{use.matched_referred} matched against {use.matched_comparison} of "
        f"{use.comparison_pool} eligible not referred; "
        + "; ".join(f"{x.reason}: {x.people}" for x in use.excluded)
    )
    for c in use.changes:
        print(
            f"  {c.label}: referred {c.referred_before} -> {c.referred_after}, not referred "
            f"{c.comparison_before} -> {c.comparison_after}; change {c.change} "
            f"({c.low} to {c.high}); before referral {c.change_before_referral}"
        )
    for check in use.checks:
        print(f"  {'passed' if check.passed else 'FAILED'}: {check.name}: {check.detail}")
    print(f"matched use: {wall:.2f} s wall, {cpu:.2f} s CPU")


def _changes(sessions, instrument: str) -> list[float]:  # type: ignore[no-untyped-def]
    """End − start of each referral measured at both, straight from the table."""
    with sessions() as session:
        rows = session.execute(
            select(
                SocialPrescribingMeasure.referral_id,
                SocialPrescribingMeasure.timepoint,
                SocialPrescribingMeasure.score,
            )
            .join(SocialPrescribingReferral)
            .where(SocialPrescribingMeasure.instrument == instrument)
        ).all()
    by: dict[int, dict[str, float]] = {}
    for referral, timepoint, score in rows:
        by.setdefault(referral, {})[timepoint] = score
    return [m["end"] - m["start"] for m in by.values() if "start" in m and "end" in m]


if __name__ == "__main__":
    main()
