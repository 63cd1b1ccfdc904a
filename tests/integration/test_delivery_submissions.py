"""Delivery-plan submissions in the care store (SQLite and PostgreSQL): versioned, audited,
imported with every reject reported, exported and read back."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.models import AuditEvent
from joinedup.commissioning import delivery
from joinedup.commissioning.models import DeliveryArea, DeliverySubmission
from joinedup.commissioning.specification import AreaSpec, Quarter, load_specification
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.store import PopulationStore

CCGS = (AreaSpec("07L", "Barking CCG", 200_000), AreaSpec("08F", "Havering CCG", 250_000))
SPEC = dataclasses.replace(load_specification(), areas=CCGS)


def submit(sessions: sessionmaker[Session], **fields: str) -> int:
    raw = {"area_code": "07L", "element_id": "A4", "quarter": "2026-27 Q3"} | fields
    areas = delivery.delivery_areas(sessions, SPEC)
    return delivery.record_quarter(sessions, "user:1", "commissioner", SPEC, areas, raw)


def audit_actions(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_every_submission_is_a_new_version_and_the_latest_stands(
    sessions: sessionmaker[Session],
) -> None:
    assert submit(sessions, planned_percent="40", actual_percent="30") == 1
    assert submit(sessions, planned_percent="40", actual_percent="35", notes="corrected") == 2
    assert submit(sessions, element_id="A5", planned_percent="20") == 1

    every = delivery.submissions(sessions, latest_only=False)
    assert [(r.element_id, r.version, r.actual_percent) for r in every] == [
        ("A4", 1, 30.0),
        ("A4", 2, 35.0),
        ("A5", 1, None),
    ]
    standing = delivery.submissions(sessions)
    assert [(r.element_id, r.version, r.notes) for r in standing] == [
        ("A4", 2, "corrected"),
        ("A5", 1, ""),
    ]
    assert audit_actions(sessions) == ["delivery.submit"] * 3
    with sessions() as session:
        area = session.get(DeliveryArea, "07L")
        assert area is not None and (area.population, area.org_code) == (200_000, None)


def test_a_refused_submission_writes_nothing(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(delivery.SubmissionError, match="not between 0 and 100"):
        submit(sessions, planned_percent="140")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(DeliverySubmission)) == 0
    assert audit_actions(sessions) == []


CSV = """area_code,element_id,quarter,planned_percent,actual_percent,notes
07L,A1,2026-27 Q2,30,25,first
07L,A1,2026-27 Q3,50,,
08F,Z9,2026-27 Q3,50,40,unknown element
08F,A1,2026-27 Q3,150,40,too high
08F,A1,Q3,50,40,bad quarter
08F,A2,2026-27 Q3,60,55,
"""


def test_an_import_records_the_good_lines_and_reports_every_rejected_one(
    sessions: sessionmaker[Session],
) -> None:
    areas = delivery.delivery_areas(sessions, SPEC)
    report = delivery.import_submissions(
        sessions, "cli:test", "cli", SPEC, areas, delivery.read_csv(CSV)
    )
    assert (report.rows, report.recorded, report.committed) == (6, 3, True)
    assert [(r.line, r.reason) for r in report.rejected] == [
        (4, "element 'Z9' is not in the specification"),
        (5, "planned % 150 is not between 0 and 100"),
        (6, "quarter 'Q3' is not written like 2026-27 Q3"),
    ]
    assert len(delivery.submissions(sessions)) == 3
    assert audit_actions(sessions) == ["delivery.import"]


def test_a_strict_import_loads_nothing_when_a_line_is_rejected(
    sessions: sessionmaker[Session],
) -> None:
    areas = delivery.delivery_areas(sessions, SPEC)
    report = delivery.import_submissions(
        sessions, "cli:test", "cli", SPEC, areas, delivery.read_csv(CSV), strict=True
    )
    assert (report.recorded, report.committed, len(report.rejected)) == (0, False, 3)
    assert delivery.submissions(sessions) == []
    assert audit_actions(sessions) == []


def test_a_csv_without_its_columns_is_refused() -> None:
    with pytest.raises(delivery.SubmissionError, match="missing: element_id, quarter"):
        delivery.read_csv("area_code,planned_percent\n07L,4\n")


def test_an_export_reads_back_as_new_versions(sessions: sessionmaker[Session]) -> None:
    submit(sessions, planned_percent="40", actual_percent="30", notes='a, quoted "note"')
    exported = delivery.export_csv(delivery.submissions(sessions))
    areas = delivery.delivery_areas(sessions, SPEC)
    report = delivery.import_submissions(
        sessions, "cli:test", "cli", SPEC, areas, delivery.read_csv(exported), strict=True
    )
    assert (report.recorded, report.rejected) == (1, [])
    (again,) = delivery.submissions(sessions)
    assert (again.version, again.planned_percent, again.notes) == (2, 40.0, 'a, quoted "note"')


def test_neighbourhoods_are_the_default_areas_and_their_measured_actuals_are_kept(
    sessions: sessionmaker[Session], area_store: PopulationStore
) -> None:
    sync_organisations(area_store, sessions)
    spec = load_specification()
    areas = delivery.delivery_areas(sessions, spec, {"NBH01": 4_000, "NBH02": 6_000})
    assert [(a.code, a.population, a.measurable) for a in areas] == [
        ("NBH01", 4_000, True),
        ("NBH02", 6_000, True),
    ]

    class OneMeasure:
        def coordinated_care(self, as_of: dt.date) -> list[object]:
            from tests.unit.test_delivery_rules import care

            return [care("NBH01", 100, 80, 60, 40, 4)]

        def continuity(self, as_of: dt.date) -> None:
            return None

        def practice_neighbourhoods(self) -> dict[str, str]:
            return {}

        def extended_access(self, as_of: dt.date) -> None:
            return None

        def keeping_well(self, as_of: dt.date) -> None:
            return None

        def same_day(self, as_of: dt.date) -> None:
            return None

    as_of = Quarter.parse("2026-27 Q3").last_day
    tracker = delivery.Tracker(spec, areas, [], OneMeasure(), as_of)
    recorded = delivery.record_measured_snapshot(sessions, "cli:test", "cli", tracker)
    assert recorded == 4  # C1, C2, C3, C5 for NBH01
    (c1,) = delivery.submissions(sessions, area_code="NBH01", element_id="C1")
    assert (c1.actual_percent, c1.source) == (80.0, "measured")
    assert c1.notes.startswith("80 / 100 people in the top 5%")
    # a new plan for the quarter keeps the measured actual
    raw = {
        "area_code": "NBH01",
        "element_id": "C1",
        "quarter": "2026-27 Q3",
        "planned_percent": "85",
    }
    delivery.record_quarter(sessions, "user:1", "manager", spec, areas, raw)
    (c1,) = delivery.submissions(sessions, area_code="NBH01", element_id="C1")
    assert (c1.version, c1.planned_percent, c1.actual_percent) == (2, 85.0, 80.0)
    assert audit_actions(sessions)[-2:] == ["delivery.snapshot", "delivery.submit"]
