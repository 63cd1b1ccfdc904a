"""What `joinedup demo` puts in the care store so that every page has something in it.

Each step seeds one domain from the generated area (synthetic data only) and says in one line
what it did; each is idempotent, so a second demo run on the same area changes nothing. The
command itself (generate, train, stratify, serve) is `joinedup.cli.demo`.

The demo's area runs to the day before it is generated (`demo_extract_date`), so its recent
activity is recent. A later `joinedup demo` reuses the stored area as it is and says how old
it is (`area_age_words`); `--fresh` generates it again up to yesterday. A new area has new
people, so what belonged to the old one — its care store, audit anchors, runs and models — is
first set aside in a folder of its own (`set_aside_previous_area`), never deleted (ADR 0032).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from joinedup.errors import UserError
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

#: Where a step says what it did (the command line's console).
Say = Callable[..., None]


#: What belongs to one generated area besides its population store, by name in the data folder:
#: the default SQLite care store, the audit chain's anchors, stratification runs, risk models
#: and the inputs worked out from the store (practice variation's cache).
AREA_BOUND = (
    "care.db",
    "care.db-wal",
    "care.db-shm",
    "audit-anchors.jsonl",
    "runs",
    "models",
    "cache",
)


class DemoAreaError(UserError, RuntimeError):
    """The demo cannot replace its area (a care store elsewhere still names the old people)."""


#: The demo stratifies twice: a quarter before the extract date, then on it, so the worklists
#: and the MDT agenda have risers (people whose need rose between the two runs) to show.
EARLIER_RUN_DAYS = 91


def demo_run_dates(extract: dt.date) -> tuple[dt.date, dt.date]:
    """Index dates of the demo's two stratification runs, in the order they are made."""
    return extract - dt.timedelta(days=EARLIER_RUN_DAYS), extract


def demo_extract_date(today: dt.date) -> dt.date:
    """The extract date of an area the demo generates on `today`: the day before."""
    return today - dt.timedelta(days=1)


def area_age_words(extract: dt.date, today: dt.date) -> str:
    """How old a stored area's records are, in words: "to 5 December 2026 (yesterday)"."""
    from joinedup.dates import long_date

    days = (today - extract).days
    if days <= 1:
        ago = "yesterday" if days == 1 else "today" if days == 0 else "a future date"
    else:
        ago = f"{days:,} days ago"
    return f"to {long_date(extract)} ({ago})"


def set_aside_previous_area(settings: Settings, *, now: dt.datetime) -> Path | None:
    """Move what belonged to the stored area (`AREA_BOUND`) into a folder of the data folder
    named for `now`, before a new area replaces it; the folder, or None when there was nothing.

    A care store given by JOINEDUP_DATABASE_URL cannot be moved: if it holds anyone on the
    register, DemoAreaError says so and nothing is moved."""
    default_url = f"sqlite:///{settings.home / 'care.db'}"
    if settings.database_url != default_url and _register_in_use(settings.database_url):
        raise DemoAreaError(
            "the care store at JOINEDUP_DATABASE_URL has people on its register from the area "
            "in use; a new area has other people. Point JOINEDUP_DATABASE_URL at an empty "
            "database, or run `joinedup demo` without --fresh to keep the area"
        )
    found = [settings.home / name for name in AREA_BOUND if (settings.home / name).exists()]
    if not found:
        return None
    folder = settings.home / f"previous-area-{now:%Y%m%d-%H%M%S}"
    folder.mkdir(parents=True)
    for path in found:
        path.rename(folder / path.name)
    return folder


def _register_in_use(database_url: str) -> bool:
    from sqlalchemy import func, inspect, select

    from joinedup.care.models import RegisterEntry
    from joinedup.carestore.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(RegisterEntry.__tablename__):
                return False
            count = connection.scalar(select(func.count()).select_from(RegisterEntry))
            return bool(count)
    finally:
        engine.dispose()


def seed_demo(
    say: Say,
    store: PopulationStore,
    sessions: Any,
    settings: Settings,
    seed: int,
    *,
    today: dt.date | None = None,
) -> None:
    """Every demo step in order: governance first (objections, users), then each domain.
    `today` (default: the real date) is the day the delivery plan's returns run up to."""
    _demo_objections(say, store, sessions, seed)
    _demo_variation(say, store, sessions)
    _demo_users(say, sessions)
    _demo_care(say, sessions, settings)
    _demo_caseloads(say, store, sessions)
    _demo_hubs(say, sessions, today or dt.date.today())
    _demo_ward(say, store, sessions, seed)
    _demo_directory(say, sessions, settings, seed)
    _demo_social_prescribing(say, sessions, settings, seed)
    _demo_commissioning(say, store, sessions, settings)
    _demo_delivery(say, sessions, settings, seed, today or dt.date.today())
    _demo_anchor(say, sessions, settings)


def _demo_anchor(say: Say, sessions: Any, settings: Settings) -> None:
    """Anchor the audit chain's head outside the care store (`joinedup audit verify` checks it)."""

    from joinedup.governance.audit_anchor import anchor_head

    anchor_head(sessions, settings.audit_anchors_path, dt.datetime.now(dt.UTC))
    say(f"Audit chain anchored in {settings.audit_anchors_path}")


def _demo_care(say: Say, sessions: Any, settings: Settings) -> None:
    """The coordinated-care loop with something in it: register, plans, MDT meetings."""
    from joinedup.care.demo import seed_demo_care

    care = seed_demo_care(sessions, settings)
    meetings = "MDT meeting" if care.meetings_held == 1 else "MDT meetings"
    plans = "care plan" if care.plans == 1 else "care plans"
    say(
        f"Coordinated care: {care.register.added + care.register.already} people on the "
        f"register, {care.plans} new {plans}, {care.meetings_held} {meetings} held and "
        f"{care.meetings_upcoming} upcoming"
    )


def _demo_caseloads(say: Say, store: PopulationStore, sessions: Any) -> None:
    """Each neighbourhood's team, caseload and a week's rota from today (issues 15, 16)."""

    from joinedup.neighbourhood.caseload_demo import demo_principal, seed_demo_caseloads

    seeded = seed_demo_caseloads(
        sessions, store, demo_principal(sessions), first_day=dt.date.today()
    )
    say(f"Neighbourhood caseloads: {seeded} neighbourhoods seeded with a team and rota")


def _demo_hubs(say: Say, sessions: Any, today: dt.date) -> None:
    """An extended-access hub per neighbourhood with six weeks of rota from this week, so a
    receptionist can book and the PCN week (and A4 of the delivery plan) is measured."""
    from joinedup.access.demo import seed_demo_hubs

    loaded = seed_demo_hubs(sessions, today)
    if loaded is None:
        say("Extended access: hubs already loaded")
    else:
        say(
            f"Extended access: {loaded.hubs} hubs, {loaded.sessions:,} sessions, "
            f"{loaded.slots:,} slots from this week"
        )


def _demo_ward(say: Say, store: PopulationStore, sessions: Any, seed: int) -> None:
    """A virtual ward with a history of stays, readings, alerts and responses (synthetic)."""

    from joinedup.neighbourhood.ward_demo import seed_demo_ward

    made = seed_demo_ward(sessions, store, seed=seed, now=dt.datetime.now(dt.UTC))
    if made is not None:
        say(
            f"Virtual ward: {made.stays} stays ({made.open_stays} on the ward now), "
            f"{made.sets:,} reading sets, {made.alerts:,} alerts"
        )


def _demo_directory(say: Say, sessions: Any, settings: Settings, seed: int) -> None:
    """The area's fictional community-services directory, loaded through the ORUK import."""
    from joinedup.directory.synthetic import seed_directory

    report = seed_directory(sessions, settings, seed)
    if report.no_changes:
        say("Community-services directory: already loaded")
    else:
        say(f"Community-services directory: {report.loaded:,} services (Open Referral UK)")


def _demo_social_prescribing(say: Say, sessions: Any, settings: Settings, seed: int) -> None:
    """A year of social prescribing referrals with outcomes, onward to the directory's services."""
    from joinedup.directory.social_prescribing.synthetic import seed_social_prescribing

    made = seed_social_prescribing(sessions, settings, seed)
    if made.referrals:
        say(
            f"Social prescribing: {made.referrals:,} referrals, {made.open:,} open with the demo "
            f"link worker, {made.with_end_measure:,} with an end measure"
        )
    else:
        say("Social prescribing: already seeded (or no directory or link worker)")


def _demo_commissioning(
    say: Say, store: PopulationStore, sessions: Any, settings: Settings
) -> None:
    """A workforce baseline for the area's practices and, when the published national data
    sits beside the repository, the published-data mode of practice variation."""
    from joinedup.commissioning.published import default_sources, load_published, published_dir
    from joinedup.commissioning.workforce_export import (
        DEMO_COLUMNS,
        rows_to_csv,
        workforce_demo_rows,
    )
    from joinedup.commissioning.workforce_store import import_workforce

    text = rows_to_csv(workforce_demo_rows(store), DEMO_COLUMNS)
    report = import_workforce(sessions, "demo", text, source_name="demo-workforce.csv")
    if report.unchanged:
        say("Workforce baseline: already loaded")
    else:
        say(
            f"Workforce baseline: {report.recorded:,} figures loaded (batch {report.batch_version})"
        )
    sources = default_sources()
    if (published_dir(settings) / "practices.parquet").exists():
        say("Published practice data: already loaded")
    elif all(source.is_dir() for source in sources):
        summary = load_published(settings, sources)
        say(f"Published practice data: {summary.practices:,} English practices loaded")
    else:
        say("Published practice data: not beside the repository; skipped")


def _demo_delivery(say: Say, sessions: Any, settings: Settings, seed: int, today: dt.date) -> None:
    """Each neighbourhood's local delivery plan and past quarterly returns (synthetic, derived
    from the area's measured figures), so the board report has something to judge (issue 13)."""
    from joinedup.commissioning.delivery.demo import seed_demo_delivery

    made = seed_demo_delivery(sessions, settings, today=today, seed=seed)
    if made.already:
        say("Delivery plan: submissions already recorded")
    else:
        say(f"Delivery plan: {made.plans:,} local plans and {made.returns:,} quarterly returns")


def _demo_objections(say: Say, store: PopulationStore, sessions: Any, seed: int) -> None:
    """Synthetic type-1 and national data opt-out objections, so the commissioning views show
    objectors being left out (loaded once; re-importing changes nothing)."""
    from joinedup.governance.objections import import_objections, synthetic_objections

    rows = [{"person_id": str(p), "kind": k} for p, k in synthetic_objections(store, seed)]
    report = import_objections(sessions, "demo", rows, store=store)
    say(
        f"Objections to secondary use: {report.recorded:,} recorded, "
        f"{report.already_recorded:,} already in force"
    )


def _demo_variation(say: Say, store: PopulationStore, sessions: Any) -> None:
    """Work out the practice-variation inputs once for this store version, so the first
    commissioner to open the practice pages does not wait for them."""
    from joinedup.analytics.variation.matrix import prepare
    from joinedup.governance.objections import active_objectors

    say("Practice variation: working out the indicators for every year …")
    prepare(store, objectors=active_objectors(sessions))


def _demo_users(say: Say, sessions: Any) -> None:
    """One user per role; the passwords are shown here once and kept nowhere in clear."""
    from rich.table import Table

    from joinedup.governance.users import create_demo_users

    table = Table(title="Demo users: sign in as any of them (passwords change on every demo run)")
    for column in ("username", "role", "password"):
        table.add_column(column)
    for username, role, password in create_demo_users(sessions):
        table.add_row(username, role, password)
    say(table)
