"""Continuity of care against the shared reference vectors (DuckDB pipeline and oracle)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from joinedup.analytics import continuity as ct
from joinedup.analytics.engine import connect
from joinedup.analytics.oracles import continuity as oracle
from joinedup.governance.suppression import suppress_count

AS_OF = dt.date(2025, 3, 31)


@pytest.fixture(scope="module")
def vectors(shared_dir: Path) -> dict:
    path = shared_dir / "reference" / "continuity" / "continuity_test_vectors.json"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def duck():
    con = connect("duckdb")
    yield con
    con.disconnect()


def appointments(rows: list[dict]) -> ibis.Table:
    """An in-memory gp_appointments table from a few fields (the rest filled in)."""
    n = len(rows)
    return ibis.memtable(
        pa.table(
            {
                "appointment_id": pa.array(range(1, n + 1), pa.int64()),
                "person_id": pa.array([r["person_id"] for r in rows], pa.int64()),
                "practice_code": pa.array([r.get("practice", "P1") for r in rows]),
                "appointment_date": pa.array([r["date"] for r in rows], pa.date32()),
                "clinician_id": pa.array([r["clinician"] for r in rows]),
                "clinician_role": pa.array([r.get("role", "gp") for r in rows]),
                "mode": pa.array(["face_to_face"] * n),
                "attended": pa.array([r.get("attended", True) for r in rows]),
                "cost": pa.array([30.0] * n),
            }
        )
    )


def visits_rows(person_id: int, visits: list[str], *, end: dt.date = AS_OF) -> list[dict]:
    """One consultation a week, in the given order, ending on `end`."""
    first = end - dt.timedelta(weeks=len(visits) - 1)
    return [
        {"person_id": person_id, "date": first + dt.timedelta(weeks=i), "clinician": v}
        for i, v in enumerate(visits)
    ]


def test_the_oracle_reproduces_every_reference_vector(vectors: dict) -> None:
    for case in vectors["patient_level"]:
        visits = case["visits_in_time_order"]
        assert oracle.upc(visits) == pytest.approx(case["UPC"]), case["name"]
        assert oracle.coc(visits) == pytest.approx(case["COC_bice_boxerman"]), case["name"]
        assert oracle.secon(visits) == pytest.approx(case["SECON"]), case["name"]


def test_the_pipeline_reproduces_every_reference_vector(vectors: dict, duck) -> None:
    rows: list[dict] = []
    for person_id, case in enumerate(vectors["patient_level"], start=1):
        rows += visits_rows(person_id, case["visits_in_time_order"])
    found = duck.to_pyarrow(
        ct.patient_continuity(appointments(rows), AS_OF, min_consultations=1)
    ).to_pylist()
    by_person = {r["person_id"]: r for r in found}
    for person_id, case in enumerate(vectors["patient_level"], start=1):
        got = by_person[person_id]
        assert got["consultations"] == case["N"], case["name"]
        assert got["upc"] == pytest.approx(case["UPC"]), case["name"]
        assert got["coc"] == pytest.approx(case["COC_bice_boxerman"]), case["name"]
        assert got["secon"] == pytest.approx(case["SECON"]), case["name"]


def test_slicc_reproduces_the_reference_example(vectors: dict, duck) -> None:
    example = vectors["slicc_example"]
    pairs = [(c["usual_gp"], c["seen_by"]) for c in example["consultations"]]
    assert oracle.slicc(pairs) == pytest.approx(example["expected_SLICC_practice"])
    for gp in ("G1", "G2"):
        listed = [p for p in pairs if p[0] == gp]
        assert oracle.slicc(listed) == pytest.approx(example[f"expected_SLICC_list_{gp}"])

    # The pipeline: each patient's usual GP is the one they saw in the year before the window.
    window_start = AS_OF - dt.timedelta(days=ct.WINDOW_DAYS)
    rows: list[dict] = []
    people = {"p1": 1, "p2": 2, "p3": 3}
    for c in example["consultations"]:
        pid = people[c["patient"]]
        rows.append(
            {
                "person_id": pid,
                "date": window_start - dt.timedelta(days=30),
                "clinician": c["usual_gp"],
            }
        )
    for i, c in enumerate(example["consultations"]):
        rows.append(
            {
                "person_id": people[c["patient"]],
                "date": AS_OF - dt.timedelta(days=10 + i),
                "clinician": c["seen_by"],
            }
        )
    table = duck.to_pyarrow(ct.practice_continuity_table(appointments(rows), AS_OF)).to_pylist()
    (practice,) = table
    assert practice["slicc_consultations"] == 5
    assert practice["slicc_with_usual_gp"] / practice["slicc_consultations"] == pytest.approx(
        example["expected_SLICC_practice"]
    )


def test_only_attended_gp_consultations_in_the_window_count(duck) -> None:
    rows = visits_rows(1, ["A", "A", "A"])
    rows += [
        {"person_id": 1, "date": AS_OF, "clinician": "N1", "role": "nurse"},
        {"person_id": 1, "date": AS_OF, "clinician": "B", "attended": False},
        {"person_id": 1, "date": AS_OF + dt.timedelta(days=1), "clinician": "B"},
        {"person_id": 1, "date": AS_OF - dt.timedelta(days=365), "clinician": "B"},
    ]
    (row,) = duck.to_pyarrow(ct.patient_continuity(appointments(rows), AS_OF)).to_pylist()
    assert (row["consultations"], row["upc"], row["coc"], row["secon"]) == (3, 1.0, 1.0, 1.0)


def test_eligibility_needs_three_consultations_and_practice_means_are_over_the_eligible(
    duck,
) -> None:
    rows = visits_rows(1, ["A", "A", "B", "B"])  # UPC .5, COC (4+4-4)/12 = 1/3, SECON 2/3
    rows += visits_rows(2, ["A", "A", "A"])  # 1, 1, 1
    rows += visits_rows(3, ["A", "B"])  # two consultations: not eligible
    (p,) = duck.to_pyarrow(ct.practice_continuity_table(appointments(rows), AS_OF)).to_pylist()
    assert p["patients"] == 2
    assert p["upc"] == pytest.approx((0.5 + 1.0) / 2)
    assert p["coc"] == pytest.approx((1 / 3 + 1.0) / 2)
    assert p["secon"] == pytest.approx((2 / 3 + 1.0) / 2)
    assert p["slicc_consultations"] == 0  # no one was seen in the year before the window


def test_a_patient_seen_at_two_practices_has_continuity_at_each(duck) -> None:
    rows = [dict(r, practice="P1") for r in visits_rows(1, ["A", "A", "A"])]
    rows += [dict(r, practice="P2") for r in visits_rows(1, ["X", "Y", "X"])]
    found = duck.to_pyarrow(ct.patient_continuity(appointments(rows), AS_OF)).to_pylist()
    by_practice = {r["practice_code"]: r["upc"] for r in found}
    assert by_practice == {"P1": 1.0, "P2": pytest.approx(2 / 3)}


def test_published_figures_suppress_counts_and_withhold_small_means() -> None:
    small = ct.PracticeContinuity("P1", 5, 0.5, 0.4, 0.8, 0.3, 5, 4).published()
    assert (small.patients, small.upc, small.coc, small.slicc) == (None, None, None, None)
    big = ct.PracticeContinuity("P1", 42, 0.5, 0.4, 0.8, 0.3, 101, 81).published()
    assert (big.patients, big.upc, big.slicc_consultations, big.slicc) == (40, 0.5, 100, 0.8)


def test_practice_continuity_on_the_small_area_leaves_objectors_out(small_store) -> None:
    as_of = dt.date.fromisoformat(str(small_store.metadata()["extract_date"])[:10])
    every = ct.practice_continuity(small_store, as_of=as_of)
    assert every and all(p.patients and 0 < p.upc <= 1 for p in every if p.upc is not None)
    assert all(p.coc is None or 0 <= p.coc <= 1 for p in every)
    assert any(p.slicc is not None for p in every)
    # Leaving everyone seen at the first practice out empties that practice.
    first = every[0].practice_code
    seen = small_store.read("gp_appointments", columns=["person_id", "practice_code"]).to_pandas()
    people = set(seen.loc[seen.practice_code == first, "person_id"].astype(int))
    fewer = ct.practice_continuity(small_store, as_of=as_of, excluding=people)
    assert first not in {p.practice_code for p in fewer}


def test_high_continuity_and_a7_match_a_plain_python_count_over_the_same_rows(
    small_store,
) -> None:
    """Issue 13: A7 read 100% in every area. Held to an independent count, person by person,
    of the small area's own GP appointments: patients with 3 or more attended GP consultations
    at a practice in the 365 days, and of them those who saw one GP for at least 3 in 4."""
    import pyarrow.parquet as pq

    from joinedup.commissioning.delivery import Area, measure
    from joinedup.commissioning.specification import load_specification
    from joinedup.population.reads import organisations

    as_of = dt.date.fromisoformat(str(small_store.metadata()["extract_date"])[:10])
    start = as_of - dt.timedelta(days=365)
    seen: dict[tuple[int, str], dict[str, int]] = {}
    for r in pq.read_table(small_store.path("gp_appointments")).to_pylist():
        if r["clinician_role"] == "gp" and r["attended"] and start < r["appointment_date"] <= as_of:
            by_gp = seen.setdefault((r["person_id"], r["practice_code"]), {})
            by_gp[r["clinician_id"]] = by_gp.get(r["clinician_id"], 0) + 1
    eligible: dict[str, int] = {}
    high: dict[str, int] = {}
    for (_, practice), by_gp in seen.items():
        n = sum(by_gp.values())
        if n >= 3:
            eligible[practice] = eligible.get(practice, 0) + 1
            high[practice] = high.get(practice, 0) + (4 * max(by_gp.values()) >= 3 * n)

    found = {p.practice_code: p for p in ct.practice_continuity(small_store, as_of=as_of)}
    assert {c: (p.patients, p.patients_high_upc) for c, p in found.items() if p.patients} == {
        c: (eligible[c], high[c]) for c in eligible
    }
    # Credible, not 100%: some eligible patients see several GPs (one-GP practices aside).
    assert sum(high.values()) < sum(eligible.values())

    orgs = organisations(small_store)
    home = {c: o.parent_code for c, o in orgs.items() if o.org_type == "practice"}

    class FromStore:
        def continuity(self, when: dt.date) -> list[ct.PracticeContinuity]:
            return list(found.values())

        def practice_neighbourhoods(self) -> dict[str, str]:
            return {c: p for c, p in home.items() if p}

    a7 = load_specification().element("A7")
    for hood in {p for p in home.values() if p}:
        mine = [c for c, p in home.items() if p == hood]
        num, den = sum(high.get(c, 0) for c in mine), sum(eligible.get(c, 0) for c in mine)
        got = measure(a7, Area(hood, hood, 1, org_code=hood), FromStore(), as_of)  # type: ignore[arg-type]
        assert got is not None
        assert (got.numerator, got.denominator) == (suppress_count(num), suppress_count(den))
        assert got.text.startswith(f"{suppress_count(num):,} / {suppress_count(den):,} patients")
