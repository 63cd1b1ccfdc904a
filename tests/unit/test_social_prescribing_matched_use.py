"""GP appointments and A&E attendances before and after referral to social prescribing, against
matched people not referred (issue 19).

* On a store of nine people made by hand (below), each person's use in the three windows is
  counted by hand, the exclusions are counted by reason, and the matching keeps the one
  comparison person alike and drops the others (a man; a woman with more eFI deficits; an
  objector never enters).
* The difference-in-differences against independent computations: with a saturated model the
  estimate is the ratio of the two groups' weighted rate ratios, worked out here from sums; on
  simulated people with a known effect its interval covers it; and a rise in use just before
  referral fails the check that warns of regression to the mean.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from joinedup.analytics.evaluation import did
from joinedup.carestore.db import make_engine, session_factory
from joinedup.cli import app as cli_app
from joinedup.dates import UK_TIME_ZONE
from joinedup.directory.social_prescribing import matched_use as mu
from joinedup.directory.social_prescribing.matched_use import matched_use
from joinedup.directory.social_prescribing.models import SocialPrescribingReferral
from joinedup.directory.social_prescribing.synthetic import (
    DEMO_LINK_WORKER,
    seed_social_prescribing,
)
from joinedup.directory.synthetic import seed_directory
from joinedup.governance.models import User
from joinedup.governance.suppression import suppress_count
from joinedup.population.contracts import CONTRACTS, contract
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.formatting import decimal, number, signed_percent
from tests.auth_support import signed_in_app
from tests.carestore_support import migrated
from tests.html_support import html_table, page_text

D = dt.date
INDEX = D(2025, 7, 15)  # P1's referral: windows from 15 Jan 2025 / 15 Jul 2025 / 15 Jan 2026
ANAEMIA, ARTHRITIS, ATRIAL_FIBRILLATION = "109996008", "161567008", "134377004"  # eFI SNOMED


def _person(pid: int, sex: str, born: dt.date, imd: int, died: dt.date | None = None) -> dict:
    return {
        "person_id": pid,
        "date_of_birth": born,
        "sex": sex,
        "imd_decile": imd,
        "ethnicity": "White",
        "care_home": False,
        "housebound": False,
        "carer": False,
        "date_of_death": died,
    }


def _reg(pid: int, start: dt.date, end: dt.date | None = None, practice: str = "P1") -> dict:
    return {"person_id": pid, "practice_code": practice, "start_date": start, "end_date": end}


_ids = iter(range(1, 1000))


def _gp(pid: int, day: dt.date, attended: bool = True) -> dict[str, Any]:
    return {
        "appointment_id": next(_ids),
        "person_id": pid,
        "practice_code": "P1",
        "appointment_date": day,
        "clinician_id": "c1",
        "clinician_role": "gp",
        "mode": "face_to_face",
        "attended": attended,
        "cost": 30.0,
    }


def _ae(pid: int, day: dt.date) -> dict[str, Any]:
    return {
        "attendance_id": next(_ids),
        "person_id": pid,
        "provider_code": "T1",
        "arrival_date": day,
        "disposal": "discharged",
        "cost": 100.0,
    }


def _code(pid: int, day: dt.date, code: str) -> dict[str, Any]:
    return {
        "event_id": next(_ids),
        "person_id": pid,
        "event_date": day,
        "code_system": "snomed",
        "code": code,
    }


# P1 referred 15 Jul 2025: woman, 75, IMD 2, one eFI deficit; GP 2 earlier, 3 before, 2 after
#    (a did-not-attend and a day past the window not counted); A&E 1 before.
# P2 never referred: woman, 75 (birthday 1 Aug not reached), IMD 1 (same quintile), one deficit
#    (atrial fibrillation coded on the index date itself does not count); GP 1 / 3 / 1, A&E 0 /
#    1 / 1; moved practice on 1 Mar 2025 (registered throughout); died 1 Dec 2025 (139 days
#    of the 184 after). The one alike: matched.
# P3 as P1 but a man: not matched.  P4 as P1 but three eFI deficits (band 3–4): not matched.
# P5 referred 1 Dec 2025: six months after end past the extract (31 Mar 2026).
# P6 referred 1 Jul 2025, registered only from 1 Mar 2025.  P7 objects: never compared.
# P9 referred 1 Jun 2024: the records (from 1 Jan 2024) do not reach 12 months before.
# 999 referred but not in the store.
TABLES: dict[str, list[dict[str, Any]]] = {
    "organisations": [
        {"org_code": "P1", "name": "One", "org_type": "practice"},
        {"org_code": "P2", "name": "Two", "org_type": "practice"},
    ],
    "patients": [
        _person(1, "F", D(1950, 5, 1), 2),
        _person(2, "F", D(1949, 8, 1), 1, died=D(2025, 12, 1)),
        _person(3, "M", D(1950, 1, 1), 2),
        _person(4, "F", D(1950, 3, 1), 2),
        _person(5, "F", D(1960, 1, 1), 5),
        _person(6, "F", D(1960, 1, 1), 5),
        _person(7, "F", D(1950, 6, 1), 2),
        _person(9, "F", D(1960, 1, 1), 5),
    ],
    "registrations": [
        _reg(1, D(2020, 1, 1)),
        _reg(2, D(2010, 1, 1), D(2025, 3, 1)),
        _reg(2, D(2025, 3, 1), practice="P2"),
        _reg(3, D(2020, 1, 1)),
        _reg(4, D(2020, 1, 1)),
        _reg(5, D(2020, 1, 1)),
        _reg(6, D(2025, 3, 1)),
        _reg(7, D(2020, 1, 1)),
        _reg(9, D(2020, 1, 1)),
    ],
    "gp_appointments": [
        *(_gp(1, d) for d in (D(2024, 8, 1), D(2024, 12, 1))),
        *(_gp(1, d) for d in (D(2025, 1, 15), D(2025, 3, 1), D(2025, 7, 14))),
        _gp(1, D(2025, 5, 1), attended=False),
        *(_gp(1, d) for d in (D(2025, 7, 15), D(2026, 1, 14), D(2026, 1, 15))),
        _gp(2, D(2024, 10, 1)),
        *(_gp(2, d) for d in (D(2025, 2, 1), D(2025, 4, 1), D(2025, 6, 1), D(2025, 9, 1))),
        *(_gp(p, d) for p in (3, 4, 7) for d in (D(2025, 2, 1), D(2025, 3, 1), D(2025, 4, 1))),
    ],
    "ae_attendances": [
        _ae(1, D(2025, 3, 1)),
        _ae(2, D(2025, 6, 15)),
        _ae(2, D(2025, 10, 1)),
        *(_ae(p, D(2025, 5, 1)) for p in (3, 4, 7)),
    ],
    "clinical_events": [
        _code(1, D(2023, 1, 1), ANAEMIA),
        _code(2, D(2023, 1, 1), ARTHRITIS),
        _code(2, INDEX, ATRIAL_FIBRILLATION),
        _code(3, D(2023, 1, 1), ANAEMIA),
        *(_code(4, D(2023, 1, 1), c) for c in (ANAEMIA, ARTHRITIS, ATRIAL_FIBRILLATION)),
        _code(7, D(2023, 1, 1), ANAEMIA),
    ],
}
REFERRED = {1: INDEX, 5: D(2025, 12, 1), 6: D(2025, 7, 1), 9: D(2024, 6, 1), 999: D(2025, 7, 1)}


@pytest.fixture(scope="module")
def hand_store(tmp_path_factory: pytest.TempPathFactory) -> PopulationStore:
    store = PopulationStore(tmp_path_factory.mktemp("sp-use") / "population")
    for name in CONTRACTS:
        rows = TABLES.get(name)
        table = contract(name).arrow_schema().empty_table() if rows is None else None
        store.write(name, table if table is not None else pa.Table.from_pylist(rows))
    store.write_metadata(
        {"extract_date": "2026-03-31", "history_start": "2024-01-01", "synthetic": True}
    )
    return store


def test_use_in_each_window_exclusions_and_the_matched_control(hand_store: PopulationStore):
    cohort, excluded, latest, extract, pool = mu.build_cohort(
        hand_store, REFERRED, frozenset({7}), mu.SEED
    )
    assert dict(excluded) == {"follow_up": 1, "history": 1, "unknown": 1, "not_registered": 1}
    assert (latest, extract) == (D(2025, 10, 1), D(2026, 3, 31))
    assert pool == 3  # P2, P3, P4: P7 objects, the referred are never compared
    rows = cohort.set_index("person_id")
    assert sorted(rows.index) == [1, 2, 3, 4]
    assert (rows["index_date"] == pd.Timestamp(INDEX)).all()  # the pseudo index date
    by_hand = {
        # person: GP earlier, before, after; A&E earlier, before, after; days before, after
        1: (2, 3, 2, 0, 1, 0, 181, 184),
        2: (1, 3, 1, 0, 1, 1, 181, 139),
    }
    for person, expected in by_hand.items():
        row = rows.loc[person]
        assert (
            row["gp_appointments_earlier"],
            row["gp_appointments_before"],
            row["gp_appointments_after"],
            row["ae_attendances_earlier"],
            row["ae_attendances_before"],
            row["ae_attendances_after"],
            row["days_before"],
            row["days_after"],
        ) == expected
    assert rows.loc[[1, 2, 3, 4], "efi_deficits"].tolist() == [1, 1, 1, 3]
    assert rows.loc[[1, 2, 3, 4], "age"].tolist() == [75, 75, 75, 75]

    weights = dict(
        zip(cohort["person_id"], did.cem_weights(cohort, mu.strata(cohort)), strict=True)
    )
    assert weights == {1: 1.0, 2: 1.0, 3: 0.0, 4: 0.0}

    report = mu.matched_use_of(hand_store, REFERRED, left_out=frozenset({7}))
    assert report.matched and report.changes == []  # one matched person: no estimate
    assert report.problem is not None and "fewer than 8" in report.problem
    assert [x.people for x in report.excluded] == [None, None, None, None]  # 1 each: withheld


def _panel(rng: np.random.Generator, n: int, effect: float, trend: float) -> pd.DataFrame:
    """`n` referred and `n` comparison people with their own baseline rates (gamma), a trend
    shared by both, and `effect` on the referred after referral: Poisson counts."""
    treated = np.repeat([True, False], n)
    rate = rng.gamma(2.0, 1.5, size=2 * n)  # GP appointments per six months
    days = {p: rng.integers(120, 185, size=2 * n) for p in ("earlier", "before", "after")}
    after = rate * trend * np.where(treated, 1 + effect, 1.0)
    frame = pd.DataFrame({"person_id": np.arange(2 * n), "treated": treated})
    for period, mean in (("earlier", rate), ("before", rate), ("after", after)):
        frame[f"gp_appointments_{period}"] = rng.poisson(mean * days[period] / 182.625)
        frame[f"days_{period}"] = days[period]
    return frame


def test_the_estimate_is_the_ratio_of_weighted_rate_ratios():
    rng = np.random.default_rng(3)
    cohort = _panel(rng, 40, effect=-0.2, trend=1.1)
    weights = np.where(cohort["treated"], 1.0, rng.uniform(0.2, 2.0, size=len(cohort)))
    weights[5] = 0.0  # an unmatched referred person counts nowhere
    estimate, low, high = mu.did_estimate(cohort, weights, "gp_appointments", "before", "after")

    def rate(group: np.ndarray, period: str) -> float:
        w = weights * group
        return float(
            np.sum(w * cohort[f"gp_appointments_{period}"]) / np.sum(w * cohort[f"days_{period}"])
        )

    t, c = cohort["treated"].to_numpy(), ~cohort["treated"].to_numpy()
    by_hand = (rate(t, "after") / rate(t, "before")) / (rate(c, "after") / rate(c, "before")) - 1
    assert estimate == pytest.approx(by_hand, abs=1e-6)
    assert low < estimate < high


def test_a_known_effect_is_inside_the_interval_and_a_rise_before_referral_is_flagged():
    rng = np.random.default_rng(11)
    cohort = _panel(rng, 1500, effect=-0.3, trend=1.1)
    weights = np.ones(len(cohort))
    estimate, low, high = mu.did_estimate(cohort, weights, "gp_appointments", "before", "after")
    assert low < -0.3 < high and high < 0  # covers the planted 30% fall, excludes no change
    assert abs(estimate + 0.3) < 0.05
    _, steady_low, steady_high = mu.did_estimate(
        cohort, weights, "gp_appointments", "earlier", "before"
    )
    assert steady_low < 0 < steady_high  # nothing happened before referral

    # Referred because use had just risen: the earlier six months were a third lower.
    spiked = cohort.copy()
    referred = spiked["treated"].to_numpy()
    spiked.loc[referred, "gp_appointments_earlier"] = rng.poisson(
        0.6 * spiked.loc[referred, "gp_appointments_before"].to_numpy() + 0.01
    )
    change = mu._change(spiked, weights, "gp_appointments", "GP")
    assert change.change_before_referral is not None and change.change_before_referral > 0.3
    report = mu.MatchedUse(
        extract_date=D(2026, 3, 31),
        latest_index_date=D(2025, 10, 1),
        referrals=1500,
        eligible=1500,
        matched_referred=1500,
        matched_comparison=1500,
        comparison_pool=1500,
        follow_up_cut_short=0,
        excluded=[],
        balance=[mu.BalanceRow("x", "x", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)],
        changes=[change],
    )
    (check,) = [c for c in mu._checks(report, 1500, 1500) if c.name.startswith("GP")]
    assert not check.passed and "regression to the mean" in check.detail


# --- the demo's referrals on the small area: the page and `joinedup directory …` -------------


@pytest.fixture(scope="module")
def demo_referrals(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The small area with a care store of this module's own: the synthetic directory and the
    demo's social prescribing referrals (a year of them), written as the demo link worker (the
    only user made: hashing every demo user's password would cost seconds)."""
    database = tmp_path_factory.mktemp("sp-use-demo") / "care.db"
    settings = Settings(home=small_area.home, database_url=f"sqlite:///{database}")
    migrated(settings.database_url)
    sessions = session_factory(make_engine(settings.database_url))
    sync_organisations(PopulationStore(settings.population_dir), sessions)
    with sessions() as session, session.begin():  # the one user the seeding writes as
        session.add(
            User(
                username=DEMO_LINK_WORKER,
                display_name="Link worker",
                role="link_worker",
                created_at=dt.datetime.now(dt.UTC),
            )
        )
    seed_directory(sessions, settings)
    assert seed_social_prescribing(sessions, settings).referrals > 0
    return settings


def _months_later(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months, the 31st to the month's last day (by hand)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    last = (dt.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month + 1, min(day.day, last))


def test_the_page_and_the_command_show_the_comparison(demo_referrals: Settings, tmp_path: Path):
    sessions = session_factory(make_engine(demo_referrals.database_url))
    store = PopulationStore(demo_referrals.population_dir)
    extract = dt.date.fromisoformat(store.metadata()["extract_date"])
    with sessions() as session:
        first = session.execute(
            select(SocialPrescribingReferral.person_id, SocialPrescribingReferral.referred_at)
        ).all()
    days = {}
    for person, at in first:
        day = at.replace(tzinfo=at.tzinfo or dt.UTC).astimezone(UK_TIME_ZONE).date()
        days[person] = min(day, days.get(person, day))
    too_late = sum(1 for d in days.values() if _months_later(d, 6) > extract + dt.timedelta(1))
    assert 0 < too_late < len(days)  # a year of referrals: about half have six months after

    client = TestClient(signed_in_app(demo_referrals, "commissioner"))
    response = client.get("/social-prescribing/reports")
    assert response.status_code == 200
    people = html_table(response.text, "use-people")
    assert people.row("key", "referrals").cells[1].text == number(suppress_count(len(days)))
    late = people.row("key", "excluded:1")
    assert "follow-up incomplete" in late.cells[0].text
    assert late.cells[1].text == number(suppress_count(too_late))
    report = matched_use(sessions, store)
    assert report is not None
    if report.changes:  # enough people matched on this area to estimate
        change = html_table(response.text, "use-change")
        for c in report.changes:
            shown = change.row("key", c.outcome).cells[-1].text
            assert shown == (
                c.problem
                if c.change is None
                else f"{100 * c.change:+.1f}% ({100 * (c.low or 0):+.1f}% to "
                f"{100 * (c.high or 0):+.1f}%)"
            )
        assert len(html_table(response.text, "use-balance").body_rows) == len(mu.BALANCE)
        assert html_table(response.text, "use-checks").body_rows
    else:
        assert "No estimate yet" in page_text(response.text)
    limits = page_text(response.text)
    assert "regression to the mean" in limits.lower() and "not a randomised comparison" in limits

    out = tmp_path / "use.json"
    result = CliRunner().invoke(
        cli_app,
        [
            "directory",
            "social-prescribing-use",
            "--json",
            str(out),
            "--home",
            str(store.root.parent),
        ],
        env={"JOINEDUP_DATABASE_URL": demo_referrals.database_url},
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["excluded"][0]["people"] == suppress_count(too_late)
    assert data == json.loads(json.dumps(report.to_json(), default=str))  # same report
    assert "follow-up incomplete" in " ".join(result.stdout.split())  # rich wraps lines


def test_the_page_filters_for_rates_and_relative_changes():
    assert (signed_percent(0.052), signed_percent(-0.3), signed_percent(None)) == (
        "+5.2%",
        "-30.0%",
        "withheld",
    )
    assert (decimal(1234.567, 2), decimal(0.05), decimal(None)) == ("1,234.57", "0.1", "withheld")
    assert (decimal(-0.0001, 2), signed_percent(-0.00001)) == ("0.00", "+0.0%")  # no minus zero


def test_without_population_data_the_page_says_so(tmp_path: Path):
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'care.db'}")
    migrated(settings.database_url)
    response = TestClient(signed_in_app(settings, "commissioner")).get(
        "/social-prescribing/reports"
    )
    assert response.status_code == 200
    assert "there is no population data to compare with" in page_text(response.text)
