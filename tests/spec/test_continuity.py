"""Continuity of care: the same pipeline on every engine, held to the plain-Python oracle."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from joinedup.analytics import continuity as ct
from joinedup.analytics.engine import put_table
from joinedup.analytics.oracles import continuity as oracle
from tests.spec.conftest import run
from tests.unit.test_continuity import AS_OF, appointments

PEOPLE = 12


def _visits() -> dict[int, list[str]]:
    rng = random.Random(11)
    return {
        p: [rng.choice("ABC"[: rng.randint(1, 3)]) for _ in range(rng.randint(1, 7))]
        for p in range(1, PEOPLE + 1)
    }


def test_patient_continuity_matches_the_oracle_on_every_engine(con) -> None:
    visits = _visits()
    rows = []
    for person_id, seen in visits.items():
        # Two consultations on each day, so same-day ordering (by appointment id) is exercised.
        for i, clinician in enumerate(seen):
            day = AS_OF - dt.timedelta(days=100 - i // 2)
            rows.append({"person_id": person_id, "date": day, "clinician": clinician})
    table = put_table(con, "continuity_appointments", appointments(rows).to_pyarrow())
    found = run(con, ct.patient_continuity(table, AS_OF, min_consultations=1)).to_pylist()
    assert len(found) == PEOPLE
    for row in found:
        seen = visits[row["person_id"]]
        assert row["consultations"] == len(seen)
        assert row["upc"] == pytest.approx(oracle.upc(seen))
        assert row["coc"] == pytest.approx(oracle.coc(seen))
        assert row["secon"] == pytest.approx(oracle.secon(seen))
