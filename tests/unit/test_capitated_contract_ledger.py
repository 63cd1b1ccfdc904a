"""Known answers for the shadow budget ledger of a capitated contract (issue 18), on a store of
five people whose budget and spend are priced by hand in the comments below; the risk-share
bands at their edges; the what-if; and the contract file's checks."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from joinedup.analytics.evaluation.result import Check, Evaluation
from joinedup.commissioning.contracts.definition import (
    Band,
    ContractError,
    RiskShare,
    find_contract,
    parse_contract,
)
from joinedup.commissioning.contracts.ledger import build_ledger, what_if
from joinedup.commissioning.contracts.report import EvaluationReport, statement_lines
from joinedup.commissioning.contracts.risk_share import settle
from joinedup.commissioning.contracts.service import terms_from_form
from joinedup.population.contracts import CONTRACTS, contract
from joinedup.population.store import PopulationStore
from tests.carestore_support import migrated

D = dt.date

CONTRACT: dict[str, Any] = {
    "name": "tiny",
    "cohort": {"conditions": [{"column": "age", "op": ">=", "value": 65}]},
    "start": D(2024, 4, 1),
    "years": 2,
    "services": {
        "emergency_admissions": {"price": 1000, "bed_day_price": 100},
        "ae_attendances": {"price": 200},
        "outpatients": {"price": 100},
        "community": {"price": 50},
        "prescribing": {"price": "recorded_cost"},
    },
    "capitation": {
        "source": "hand-made weights for a known-answer test",
        "base_rate": 1200,
        "uplift": 0.1,
        "age_sex_weights": [
            {"ages": "0-64", "F": 0.5, "M": 0.5},
            {"ages": "65-74", "F": 0.8, "M": 0.9},
            {"ages": "75+", "F": 1.1, "M": 1.2},
        ],
        "need_weights": {"column": "efi_category", "weights": {"severe": 1.5}},
    },
    "risk_share": {
        "gain": [{"up_to": 0.02, "provider_share": 0.5}, {"up_to": 0.05, "provider_share": 0.25}],
        "loss": [{"up_to": 0.02, "provider_share": 0.5}, {"up_to": 0.05, "provider_share": 0.25}],
        "gain_cap": 0.02,
        "loss_cap": 0.02,
    },
    "outcomes": {
        "value_at_risk": 0.1,
        "measures": [{"measure": "emergency_admissions", "target_change": -0.05, "share": 1.0}],
    },
}


def _person(pid: int, sex: str, born: dt.date, died: dt.date | None = None) -> dict[str, Any]:
    return {
        "person_id": pid,
        "date_of_birth": born,
        "sex": sex,
        "ethnicity": "White",
        "care_home": False,
        "housebound": False,
        "carer": False,
        "date_of_death": died,
    }


def _registration(pid: int, end: dt.date | None = None) -> dict[str, Any]:
    return {"person_id": pid, "practice_code": "P1", "start_date": D(2020, 1, 1), "end_date": end}


def _spell(sid: int, pid: int, day: dt.date, nights: int, method: str = "emergency"):  # type: ignore[no-untyped-def]
    return {
        "spell_id": sid,
        "person_id": pid,
        "provider_code": "T1",
        "admission_date": day,
        "discharge_date": day + dt.timedelta(days=nights),
        "admission_method": method,
        "length_of_stay": nights,
        "cost": 9999.0,  # the tariff prices spells, not their recorded cost
    }


def _ae(aid: int, pid: int, day: dt.date) -> dict[str, Any]:
    return {
        "attendance_id": aid,
        "person_id": pid,
        "provider_code": "T1",
        "arrival_date": day,
        "disposal": "discharged",
        "cost": 1.0,
    }


# P1 woman 73 (65-74: 0.8), all years.   P2 man 84 (75+: 1.2), dies 15 June 2024.
# P3 woman 54: never in the cohort.      P4 woman 64 in 2024, 65 by April 2025: joins year 2.
# P5 man 79 (1.2), registration ends 30 September 2024 (moves away).
TABLES: dict[str, list[dict[str, Any]]] = {
    "organisations": [{"org_code": "P1", "name": "Practice", "org_type": "practice"}],
    "patients": [
        _person(1, "F", D(1950, 6, 1)),
        _person(2, "M", D(1940, 1, 1), died=D(2024, 6, 15)),
        _person(3, "F", D(1970, 1, 1)),
        _person(4, "F", D(1959, 4, 15)),
        _person(5, "M", D(1945, 1, 1)),
    ],
    "registrations": [
        _registration(1),
        _registration(2),
        _registration(3),
        _registration(4),
        _registration(5, end=D(2024, 9, 30)),
    ],
    "hospital_spells": [
        _spell(1, 1, D(2024, 5, 10), 3),  # 1,000 + 3 × 100 = 1,300 in May 2024
        _spell(2, 2, D(2024, 6, 1), 5),  # 1,000 + 5 × 100 = 1,500 in June 2024
        _spell(3, 1, D(2024, 7, 1), 2, method="elective"),  # elective: not in scope
        _spell(4, 1, D(2023, 6, 1), 4),  # the baseline year (before the contract): not priced
    ],
    "ae_attendances": [
        _ae(1, 1, D(2024, 5, 10)),  # 200 in May 2024
        _ae(2, 3, D(2024, 5, 1)),  # P3 is not in the cohort
        _ae(3, 4, D(2024, 8, 1)),  # P4 is not a member yet
        _ae(4, 4, D(2025, 4, 2)),  # 200 in April 2025 (year 2)
    ],
    "outpatient_appointments": [
        {
            "appointment_id": 1,
            "person_id": 1,
            "provider_code": "T1",
            "appointment_date": D(2024, 7, 1),
            "specialty_code": "300",
            "first_attendance": True,
            "attended": True,
            "cost": 5.0,
        },  # 100 in July 2024
        {
            "appointment_id": 2,
            "person_id": 1,
            "provider_code": "T1",
            "appointment_date": D(2024, 7, 2),
            "specialty_code": "300",
            "first_attendance": False,
            "attended": False,
            "cost": 5.0,
        },  # did not attend: not priced
    ],
    "community_contacts": [
        {
            "contact_id": 1,
            "person_id": 5,
            "contact_date": D(2024, 9, 30),
            "service": "district_nursing",
            "setting": "home",
            "duration_minutes": 30,
            "cost": 1.0,
        },  # 50 in September 2024: the last day of membership counts
        {
            "contact_id": 2,
            "person_id": 5,
            "contact_date": D(2024, 10, 5),
            "service": "district_nursing",
            "setting": "home",
            "duration_minutes": 30,
            "cost": 1.0,
        },  # after moving away: not priced
    ],
    "medications": [
        {
            "issue_id": 1,
            "person_id": 1,
            "issue_date": D(2024, 4, 15),
            "code_system": "dmd",
            "code": "123",
            "name": "Medicine",
            "cost": 12.34,
        },  # recorded cost, April 2024
    ],
}


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> PopulationStore:
    store = PopulationStore(tmp_path_factory.mktemp("tiny") / "population")
    for name in CONTRACTS:
        rows = TABLES.get(name)
        schema = contract(name).arrow_schema()
        table = schema.empty_table() if rows is None else pa.Table.from_pylist(rows)
        store.write(name, table)
    store.write_metadata({"extract_date": "2025-05-31", "synthetic": True})
    return store


@pytest.fixture(scope="module")
def ledger(tiny_store: PopulationStore):  # type: ignore[no-untyped-def]
    return build_ledger(tiny_store, parse_contract(CONTRACT, "tiny"))


def test_monthly_budget_and_spend_by_hand(ledger) -> None:  # type: ignore[no-untyped-def]
    months = {m.month: m for m in ledger.months}
    # 12 months of year 1 and the two whole months of year 2 up to the 31 May 2025 extract.
    assert len(months) == 14 and max(months) == D(2025, 5, 1)
    # Capitation a month: P1 1,200 × 0.8 / 12 = 80; P2 and P5 1,200 × 1.2 / 12 = 120 each.
    assert months[D(2024, 4, 1)].budget == 320.00
    assert months[D(2024, 4, 1)].spend["prescribing"] == 12.34
    assert months[D(2024, 5, 1)].spend == {
        "emergency_admissions": 1300.0,
        "ae_attendances": 200.0,
        "outpatients": 0.0,
        "community": 0.0,
        "prescribing": 0.0,
    }
    # P2 dies on 15 June: 15 of June's 30 days, 60; P1 80; P5 120.
    assert months[D(2024, 6, 1)].budget == 260.00
    assert months[D(2024, 6, 1)].spend["emergency_admissions"] == 1500.0
    assert months[D(2024, 7, 1)].spend["outpatients"] == 100.0  # attended only
    assert months[D(2024, 9, 1)].budget == 200.00  # P5's last month, whole
    assert months[D(2024, 9, 1)].spend["community"] == 50.0
    assert months[D(2024, 10, 1)].budget == 80.00 and months[D(2024, 10, 1)].total_spend == 0
    # Year 2 (base rate 1,320): P1 and the joiner P4, each 1,320 × 0.8 / 12 = 88 a month.
    assert months[D(2025, 4, 1)].budget == 176.00
    assert months[D(2025, 4, 1)].spend["ae_attendances"] == 200.0


def test_year_statement_by_hand(ledger) -> None:  # type: ignore[no-untyped-def]
    first, second = ledger.years
    # P1 960 + P2 (120 + 120 + 60) + P5 (6 × 120).
    assert first.budget == 1980.00
    assert first.total_spend == 1300 + 1500 + 200 + 100 + 50 + 12.34
    assert (first.movement.members_at_start, first.movement.died, first.movement.moved) == (3, 1, 1)
    assert first.complete and not second.complete and second.months == 2
    assert (second.movement.members_at_start, second.movement.joiners) == (2, 1)
    # Loss 1,182.34: 2% of budget (39.60) at 50% = 19.80; 2–5% (59.40) at 25% = 14.85; the
    # rest (1,083.34) the commissioner's. Cap 2% (39.60) not reached.
    s = first.settlement
    assert s.kind == "loss" and s.variance == -1182.34
    assert [(b.amount, b.provider) for b in s.bands] == [
        (39.60, 19.80),
        (59.40, 14.85),
        (1083.34, 0.0),
    ]
    assert s.provider == -34.65 and s.commissioner == -1147.69
    lines = {line.ref: line.amount for line in statement_lines(first)}
    assert lines["6"] == round(3162.34 - 34.65, 2)  # settled value
    assert lines["7"] == -198.00  # 10% of the budget withheld
    assert lines["9"] == round(3162.34 - 34.65 - 198.00, 2)


def test_outcome_payments_against_the_baseline_year(ledger) -> None:  # type: ignore[no-untyped-def]
    # Baseline year (the rule on 31 March 2023: P1, P2, P5, all year, 366 days each): 1
    # emergency admission in 1,098 days = 365,250 / 1,098 = 332.65 (332.7) per 1,000 member-years.
    # Year 1: 2 admissions in 365 + 76 + 183 = 624 days = 1,170.7: +252%, not met.
    # Year 2 so far (P1 and P4, 61 days each to the extract): none, −100%: met, so the whole
    # value at risk, 10% of 352.00, is earned.
    first, second = (year.outcomes[0] for year in ledger.years)
    assert (first.baseline_rate, first.rate, first.met, first.earned) == (332.7, 1170.7, False, 0)
    assert (second.rate, second.met, second.earned) == (0.0, True, 35.20)
    assert "met so far" in second.reason
    assert ledger.years[1].budget == 352.00 and ledger.years[1].payable == round(
        ledger.years[1].settlement.settled_value - 35.20 + 35.20, 2
    )


TERMS = RiskShare(
    gain=(Band(0.02, 0.5), Band(0.05, 0.25)),
    loss=(Band(0.02, 0.5), Band(0.05, 0.25)),
    gain_cap=None,
    loss_cap=None,
)


@pytest.mark.parametrize(
    ("spend", "bands", "provider"),
    [
        (9800.00, [200.00, 0.00, 0.00], 100.00),  # a gain of exactly 2%: all in the first band
        (9799.99, [200.00, 0.01, 0.00], 100.00),  # a penny over: 25% of 1p rounds to 0
        (9799.96, [200.00, 0.04, 0.00], 100.01),
        (9500.00, [200.00, 300.00, 0.00], 175.00),  # exactly 5%
        (9000.00, [200.00, 300.00, 500.00], 175.00),  # beyond the last band: none
        (10200.00, [200.00, 0.00, 0.00], -100.00),  # a loss of exactly 2%
        (10000.00, [], 0.00),
    ],
)
def test_bands_at_their_edges(spend: float, bands: list[float], provider: float) -> None:
    s = settle(10000.00, spend, TERMS)
    assert [b.amount for b in s.bands] == bands
    assert s.provider == provider
    assert round(s.provider + s.commissioner, 2) == s.variance


def test_caps_limit_the_provider() -> None:
    capped = RiskShare(TERMS.gain, TERMS.loss, gain_cap=0.015, loss_cap=0.01)
    gain = settle(10000.00, 9000.00, capped)
    assert (gain.provider_before_cap, gain.provider, gain.commissioner) == (175.0, 150.0, 850.0)
    loss = settle(10000.00, 11000.00, capped)
    assert (loss.provider, loss.commissioner) == (-100.0, -900.0)


def test_what_if_recomputes_each_year(ledger) -> None:  # type: ignore[no-untyped-def]
    # The provider bears all of the first 10%, nothing beyond, no cap: year 1's loss of
    # 1,182.34 against 1,980 is 59.7%, so it bears 198.00.
    whole = RiskShare(gain=(Band(0.1, 1.0),), loss=(Band(0.1, 1.0),), gain_cap=None, loss_cap=None)
    first, _ = what_if(ledger, whole)
    assert first.provider == -198.00 and first.commissioner == -984.34
    assert ledger.years[0].settlement.provider == -34.65  # the ledger's own terms unchanged


def test_shipped_contract_reads() -> None:
    shipped = find_contract("frailty-alliance")
    assert shipped.years == 3 and shipped.start == D(2023, 4, 1)
    assert "efi_category" in shipped.cohort_rule


def _broken(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(CONTRACT)
    *parents, last = path.split(".")
    here = data
    for key in parents:
        here = here[key]
    here[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("services.ambulance", {"price": 300}, "unknown service(s) ambulance"),
        ("services.ae_attendances", {"price": "free"}, "price (a £ amount or recorded_cost)"),
        ("services.community", {"price": 5, "bed_day_price": 1}, "admissions only"),
        ("start", D(2024, 4, 2), "first day of a month"),
        ("cohort.conditions", [{"column": "shoe_size", "op": ">", "value": 9}], "shoe_size"),
        ("capitation.age_sex_weights", [{"ages": "0-64", "F": 1, "M": 1}], "open-ended"),
        ("capitation.need_weights.weights", {"very": 2}, "need_weights"),
        (
            "risk_share.gain",
            [{"up_to": 0.05, "provider_share": 0.5}, {"up_to": 0.02, "provider_share": 0.25}],
            "rise band by band",
        ),
        ("risk_share.loss_cap", 2, "loss_cap"),
        (
            "outcomes.measures",
            [{"measure": "emergency_admissions", "target_change": -0.05, "share": 0.6}],
            "add up to 1",
        ),
    ],
)
def test_contract_file_faults_are_named(path: str, value: Any, message: str) -> None:
    with pytest.raises(ContractError, match=None) as caught:
        parse_contract(_broken(path, value), "broken.yaml")
    assert message in str(caught.value) and "broken.yaml" in str(caught.value)


def test_unknown_contract_name_lists_the_known(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="frailty-alliance"):
        find_contract("no-such-contract")


def test_an_age_the_weights_do_not_cover_is_named(tiny_store: PopulationStore) -> None:
    # P4 is 65 in year 2: weights starting at 70 leave her without one.
    data = _broken("capitation.age_sex_weights", [{"ages": "70+", "F": 1, "M": 1}])
    with pytest.raises(ContractError, match="no age-sex weight covers age 65"):
        build_ledger(tiny_store, parse_contract(data, "tiny"))


def test_cli_ledger_json_and_reconcile(tiny_store: PopulationStore, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from joinedup.cli import app

    home = tiny_store.root.parent
    contract_file = tmp_path / "tiny.yaml"
    contract_file.write_text(yaml.safe_dump(CONTRACT, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "ledger.json"
    runner = CliRunner()
    result = runner.invoke(app, ["contract", "ledger", str(contract_file), "--home", str(home)])
    assert result.exit_code == 1 and "joinedup db upgrade" in result.output  # objectors unknown
    migrated(f"sqlite:///{home / 'care.db'}")
    result = runner.invoke(
        app, ["contract", "ledger", str(contract_file), "--home", str(home), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert len(written["months"]) == 14
    assert written["months"][0] | {"budget": 320.0, "month": "2024-04"} == written["months"][0]
    lines = {line["ref"]: line["amount"] for line in written["statements"][0]["lines"]}
    assert (lines["1"], lines["2"], lines["4"]) == (1980.0, 3162.34, -34.65)

    result = runner.invoke(app, ["contract", "reconcile", str(contract_file), "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert (
        "provisional: 2 of 12 months" in result.output
        and "Payable to the provider" in result.output
    )

    result = runner.invoke(app, ["contract", "ledger", "no-such-contract", "--home", str(home)])
    assert result.exit_code == 1
    assert "no contract named 'no-such-contract'" in result.output
    assert "Traceback" not in result.output


def test_what_if_form_terms() -> None:
    form = {"gain_1_up_to": "3", "gain_1_share": "100", "gain_cap": "", "loss_cap": "1.5"}
    terms = terms_from_form(form, TERMS)
    assert terms.gain[0] == Band(0.03, 1.0) and terms.gain[1] == TERMS.gain[1]
    assert terms.gain_cap is None and terms.loss_cap == pytest.approx(0.015)
    with pytest.raises(ContractError, match="as a percentage"):
        terms_from_form({"loss_2_share": "lots"}, TERMS)
    with pytest.raises(ContractError, match="rise band by band"):
        terms_from_form({"gain_1_up_to": "9"}, TERMS)  # above band 2's 5%


def _evaluation(estimate: float, low: float, high: float) -> Evaluation:
    return Evaluation(
        programme="p",
        method="did",
        outcome="emergency_admissions",
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        interval_meaning="95% confidence interval",
        compared="treated people with matched comparison people",
        checks=[Check("parallel trends", True, "p = 0.4")],
    )


def test_evaluation_report_in_plain_words() -> None:
    found = EvaluationReport(
        "c",
        "p",
        "did",
        "emergency_admissions",
        D(2026, 12, 6),
        _evaluation(-0.2, -0.27, -0.12),
        None,
    )
    assert found.headline.startswith("Our best estimate is 20% fewer emergency admissions")
    assert "excludes no change" in found.headline
    assert found.headline.endswith("All 1 checks of the method's assumptions passed.")
    unclear = EvaluationReport(
        "c",
        "p",
        "did",
        "emergency_admissions",
        D(2026, 12, 6),
        _evaluation(0.03, -0.05, 0.11),
        None,
    )
    assert "3% more" in unclear.headline and "does not show" in unclear.headline
    unclear.evaluation.checks.append(Check("pre-trends", False, "p = 0.01"))  # type: ignore[union-attr]
    assert "1 of 2 checks of the method's assumptions failed (pre-trends)" in unclear.headline
    missing = EvaluationReport("c", "p", "did", "x", D(2026, 12, 6), None, "no comparison")
    assert missing.headline == "No evaluation: no comparison"
    assert any("regression to the mean" in line for line in missing.does_not_show)


def test_lean_cohort_summary_matches_the_person_summary(small_store: PopulationStore) -> None:
    """The lean summary the cohort rule uses gives the person summary's own values."""
    from joinedup.analytics.engine import connect
    from joinedup.analytics.person_summary import person_summary
    from joinedup.commissioning.contracts.activity import (
        LEAN_COLUMNS,
        lean_summary,
        necessary_conditions,
        store_tables,
    )

    day = D(2024, 3, 31)
    columns = sorted(LEAN_COLUMNS)
    con = connect("duckdb")
    tables = store_tables(con, small_store)
    lean = lean_summary(tables, day).select(columns).to_pandas()
    whole = person_summary(tables, day).select(columns).to_pandas()
    lean = lean.sort_values("person_id", ignore_index=True)
    whole = whole.sort_values("person_id", ignore_index=True)
    assert len(lean) > 1000 and (lean["efi_category"] != "fit").any()
    assert lean.equals(whole)
    # Narrowed by the shipped contract's age condition, the eFI is computed from those people's
    # records alone: the same values for them, and no one else.
    shipped = find_contract("frailty-alliance")
    narrowed = lean_summary(tables, day, necessary_conditions(shipped)).select(columns)
    narrowed = narrowed.to_pandas().sort_values("person_id", ignore_index=True)
    older = whole[whole["age"] >= 65].reset_index(drop=True)
    assert 0 < len(narrowed) < len(whole) and narrowed.equals(older)


def test_objectors_are_left_out_by_the_cli_and_the_pages_alike(
    tiny_store: PopulationStore, tmp_path: Path
) -> None:
    """One rule in the service: `joinedup contract ledger` leaves out the same objectors the
    pages do, from budget and spend."""
    from typer.testing import CliRunner

    from joinedup.carestore.db import make_engine, session_factory
    from joinedup.cli import app
    from joinedup.commissioning.contracts.service import secondary_use_ledger
    from joinedup.governance.objections import import_objections

    home = tmp_path / "home"
    home.mkdir()
    (home / "population").symlink_to(tiny_store.root.resolve(), target_is_directory=True)
    url = f"sqlite:///{home / 'care.db'}"
    migrated(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    # P1 (budget 80 a month, May's admission and A&E) objects to secondary use.
    import_objections(
        sessions, "test", [{"person_id": "1", "kind": "national_data_opt_out"}], store=tiny_store
    )
    contract_file = tmp_path / "tiny.yaml"
    contract_file.write_text(yaml.safe_dump(CONTRACT, allow_unicode=True), encoding="utf-8")
    pages = {
        m.month: m for m in secondary_use_ledger(tiny_store, sessions, str(contract_file)).months
    }
    engine.dispose()
    assert pages[D(2024, 4, 1)].budget == 240.00  # P2 and P5 only
    assert pages[D(2024, 5, 1)].total_spend == 0.0

    out = tmp_path / "ledger.json"
    result = CliRunner().invoke(
        app, ["contract", "ledger", str(contract_file), "--home", str(home), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    written = {m["month"]: m for m in json.loads(out.read_text())["months"]}
    assert written["2024-04"]["budget"] == 240.0 and written["2024-05"]["total_spend"] == 0.0
    assert json.loads(out.read_text())["left_out"] == 1


def test_money_from_a_small_count_is_withheld_with_its_complement() -> None:
    """£ at a unit price ÷ the price is the count: 1 to 7 units withhold the money, one more
    figure is withheld beside it, or the total when there is none."""
    from joinedup.commissioning.contracts.definition import Tariff
    from joinedup.commissioning.contracts.published import published_spend

    tariffs = (
        Tariff("emergency_admissions", 1000.0),
        Tariff("ae_attendances", 200.0),
        Tariff("prescribing", None),
    )
    units = {"emergency_admissions": 3, "ae_attendances": 10, "prescribing": 40}
    spend = {"emergency_admissions": 3000.0, "ae_attendances": 2000.0, "prescribing": 500.0}
    shown = published_spend(tariffs, spend, units)
    # 3 admissions withheld; prescribing, the smallest other figure, withheld beside it.
    assert shown.spend == {
        "emergency_admissions": None,
        "ae_attendances": 2000.0,
        "prescribing": None,
    }
    assert shown.total == 5500.0
    alone = published_spend(
        tariffs,
        {"emergency_admissions": 2000.0, "ae_attendances": 0.0, "prescribing": 0.0},
        {"emergency_admissions": 2, "ae_attendances": 0, "prescribing": 0},
    )
    assert alone.spend["emergency_admissions"] is None and alone.total is None
    many = published_spend(tariffs, spend, units | {"emergency_admissions": 8, "prescribing": 1})
    assert many.spend == spend and many.total == 5500.0  # recorded cost is not a count × price


def test_the_ledger_page_withholds_small_money(ledger) -> None:  # type: ignore[no-untyped-def]
    from joinedup.commissioning.contracts.published import (
        published_month,
        published_year,
        withheld_lines,
    )

    tariffs = ledger.contract.tariffs
    may = next(published_month(tariffs, m) for m in ledger.months if m.month == D(2024, 5, 1))
    # One admission (£1,300) and one A&E attendance (£200): both withheld, and with nothing
    # else that month to withhold beside them, the total and variance too.
    assert may.spend.withheld == {"emergency_admissions", "ae_attendances"}
    assert may.spend.total is None and may.variance is None
    first = ledger.years[0]
    refs = withheld_lines(first, published_year(tariffs, first))
    # Year 1: every priced service has 1 or 2 units; prescribing (recorded cost, £12.34) is
    # withheld beside them, so the total and the lines after it can stay.
    assert refs == {"2.1", "2.2", "2.3", "2.4", "2.5"}


# --- the weights and where they come from (ADR 0036) ----------------------------------------


def _asaria_rows() -> list[dict[str, str]]:
    import csv
    from importlib import resources

    table = resources.files("joinedup.commissioning.contracts") / "asaria_2014_15_spend_65_plus.csv"
    with table.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_shipped_weights_are_the_published_tables_worked_out() -> None:
    """Age-sex weights: each band's mean spend per head (population-weighted across deprivation
    quintiles) over the England mean, £97,894,691,600 / 53,244,002 people (Asaria 2017,
    2014/15); deprivation weights: spend over the spend expected at the all-quintile rate of
    each age and sex. Worked here from the published rows, independently of the contract."""
    rows = _asaria_rows()
    england = 97_894_691_600 / 53_244_002

    def age(r: dict[str, str]) -> int:
        return 85 if r["age"] == "85+" else int(r["age"])

    def spend(rs: list[dict[str, str]]) -> float:
        return sum(float(r["mean_spend_gbp"]) * int(r["population"]) for r in rs)

    def people(rs: list[dict[str, str]]) -> int:
        return sum(int(r["population"]) for r in rs)

    cap = find_contract("frailty-alliance").capitation
    for band in cap.age_sex:
        for sex, weight in (("F", band.female), ("M", band.male)):
            inside = [r for r in rows if r["sex"] == sex and band.holds(age(r))]
            assert weight == round(spend(inside) / people(inside) / england, 2), (band, sex)
    rate = {}
    for key in {(r["age"], r["sex"]) for r in rows}:
        cell = [r for r in rows if (r["age"], r["sex"]) == key]
        rate[key] = spend(cell) / people(cell)
    deprivation = dict(next(n for n in cap.needs if n.column == "imd_decile").weights)
    for quintile in range(1, 6):
        mine = [r for r in rows if r["imd_quintile"] == str(quintile)]
        expected = sum(int(r["population"]) * rate[(r["age"], r["sex"])] for r in mine)
        ratio = round(spend(mine) / expected, 2)
        assert deprivation[str(2 * quintile - 1)] == deprivation[str(2 * quintile)] == ratio
    frailty = dict(next(n for n in cap.needs if n.column == "efi_category").weights)
    assert frailty == {"mild": 2.0, "moderate": 3.0, "severe": 4.0}  # Fogg et al. 2024
    assert "Asaria" in cap.age_sex_source and all(n.source for n in cap.needs)
    assert "assumption" in cap.base_rate_source


def test_each_need_weight_multiplies_the_budget() -> None:
    import pandas as pd

    from joinedup.commissioning.contracts.ledger import annual_capitation

    data = copy.deepcopy(CONTRACT)
    data["capitation"]["need_weights"] = [
        {"column": "imd_decile", "weights": {1: 1.2, 10: 0.9}, "source": "by hand"},
        {"column": "efi_category", "weights": {"severe": 1.5}},
    ]
    tiny = parse_contract(data, "tiny")
    members = pd.DataFrame(
        {
            "year": [1, 1, 2, 1],
            "age": [70, 80, 80, 66],
            "sex": ["F", "M", "M", "M"],
            "imd_decile": ["1", "10", None, "5"],
            "efi_category": ["severe", "fit", "severe", None],
        }
    )
    # 1,200 × 0.8 × 1.2 × 1.5; 1,200 × 1.2 × 0.9; 1,320 (uplifted 10%) × 1.2 × 1 × 1.5;
    # 1,200 × 0.9 (decile 5 and no eFI category weigh 1).
    assert list(annual_capitation(tiny, members)) == [1728.0, 1296.0, 2376.0, 1080.0]
    assert tiny.capitation.need_columns == ("imd_decile", "efi_category")


def test_the_statement_shows_each_weight_with_its_source(ledger) -> None:  # type: ignore[no-untyped-def]
    cap = ledger.contract.capitation
    lines = {line.ref: line for line in statement_lines(ledger.years[1], capitation=cap)}
    assert lines["1.1"].label == "Base rate: £1,320.00 per weighted member-year"
    assert "uplifted 10.0% a year" in lines["1.1"].how
    assert lines["1.2"].how.startswith("0–64 F 0.50 M 0.50; 65–74 F 0.80 M 0.90; 75+ F 1.10 M 1.20")
    assert lines["1.3"].label == "Need weights: frailty (eFI category)"
    assert "severe 1.50" in lines["1.3"].how and cap.source in lines["1.3"].how
    assert all(lines[ref].amount is None for ref in ("1.1", "1.2", "1.3"))
    shipped = find_contract("frailty-alliance").capitation
    refs = [line.ref for line in statement_lines(ledger.years[0], capitation=shipped)]
    assert refs[:5] == ["1", "1.1", "1.2", "1.3", "1.4"]  # base rate, age-sex, IMD, frailty


def test_the_ledger_page_shows_each_weight_with_its_source(
    tiny_store: PopulationStore, tmp_path: Path
) -> None:
    """The shipped contract's page on the five-person store (no one is frail, so no members):
    every weight and its source are shown, and the year statement's lines 1.x say them again."""
    from fastapi.testclient import TestClient

    from joinedup.carestore.migrate import upgrade
    from joinedup.settings import Settings
    from tests.auth_support import signed_in_app
    from tests.html_support import html_table, page_row, page_text

    home = tmp_path / "home"
    home.mkdir()
    (home / "population").symlink_to(tiny_store.root.resolve(), target_is_directory=True)
    url = f"sqlite:///{home / 'care.db'}"
    upgrade(url)
    client = TestClient(signed_in_app(Settings(home=home, database_url=url), "commissioner"))
    page = client.get("/commissioning/contracts/ledger", params={"contract": "frailty-alliance"})
    assert page.status_code == 200, page.text
    cap = find_contract("frailty-alliance").capitation
    ages = html_table(page.text, "age-sex-weights")
    assert [[c.text for c in r.cells] for r in ages.body_rows][-1] == ["85+", "2.99", "3.52"]
    frailty = html_table(page.text, "need-weights-efi-category")
    assert [[c.text for c in r.cells] for r in frailty.body_rows] == [
        ["mild", "2.00"],
        ["moderate", "3.00"],
        ["severe", "4.00"],
    ]
    assert [c.text for c in page_row(page.text, "value", "1").cells] == ["1", "1.17"]
    text = page_text(page.text)
    for source in (cap.age_sex_source, cap.base_rate_source, *(n.source for n in cap.needs)):
        assert page_text(source) in text
    statement = html_table(page.text, "statement-1")
    assert "Age-sex weights" in [r.cells[1].text for r in statement.body_rows]
