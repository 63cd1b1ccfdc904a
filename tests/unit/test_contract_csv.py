"""Contract CSV reader: good rows, header problems, bad types with line numbers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from joinedup.population.ingest.contract_csv import read_contract_csv
from joinedup.population.ingest.records import Rejected, SourceRow


def test_good_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "ae.csv"
    path.write_text(
        "attendance_id,person_id,provider_code,arrival_date,disposal,cost\n"
        "1,5,RXX,2024-01-02,admitted,120.5\n"
        "x,5,RXX,2024-02-30,admitted,\n"
    )
    good, bad = list(read_contract_csv("ae_attendances", path))
    assert isinstance(good, SourceRow) and good.values["arrival_date"] == dt.date(2024, 1, 2)
    assert good.values["cost"] == 120.5 and good.source_id == "ae_attendances:1"
    assert isinstance(bad, Rejected) and bad.location == "ae.csv line 3"
    assert "attendance_id" in bad.reason and "2024-02-30" in bad.reason and "cost" in bad.reason


def test_header_lists_missing_and_unknown_columns(tmp_path: Path) -> None:
    path = tmp_path / "costs.csv"
    path.write_text("person_id,year,setting,cost\n1,2024,gp,3\n")
    (only,) = list(read_contract_csv("costs", path))
    assert isinstance(only, Rejected)
    assert "missing columns financial_year" in only.reason and "unknown columns year" in only.reason


def test_optional_columns_may_be_left_out(tmp_path: Path) -> None:
    """A patients extract without names, addresses or telephone numbers still loads."""
    path = tmp_path / "patients.csv"
    path.write_text(
        "person_id,nhs_number,date_of_birth,sex,ethnicity,lsoa_code,imd_decile,care_home,"
        "housebound,carer,date_of_death\n"
        "1,,1950-01-02,F,White,,,false,false,false,\n",
        encoding="utf-8",
    )
    (row,) = list(read_contract_csv("patients", path))
    assert isinstance(row, SourceRow), row
    assert row.values["date_of_birth"].isoformat() == "1950-01-02"
    assert "given_name" not in row.values


def test_gp_appointments_carry_their_booking_date_when_the_extract_has_it(tmp_path: Path) -> None:
    path = tmp_path / "gp.csv"
    path.write_text(
        "appointment_id,person_id,practice_code,appointment_date,clinician_id,clinician_role,"
        "mode,attended,cost,booked_date\n"
        "1,5,P1,2024-03-04,c1,gp,telephone,true,30,2024-03-04\n"
        "2,5,P1,2024-03-05,c1,nurse,face_to_face,true,12,\n"
        "3,5,P1,2024-03-06,c1,gp,telephone,true,30,2024-13-01\n"
    )
    same_day, unknown, bad = list(read_contract_csv("gp_appointments", path))
    assert isinstance(same_day, SourceRow) and same_day.values["booked_date"] == dt.date(2024, 3, 4)
    assert isinstance(unknown, SourceRow) and unknown.values["booked_date"] is None
    assert isinstance(bad, Rejected) and "booked_date" in bad.reason and "2024-13-01" in bad.reason
