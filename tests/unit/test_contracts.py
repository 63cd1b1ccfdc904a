"""Table contracts, validation and the population store."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from joinedup.population.contracts import (
    CONTRACTS,
    GP_APPOINTMENTS,
    PATIENTS,
    REGISTRATIONS,
    Column,
    contract,
)
from joinedup.population.store import PopulationStore, StoreError
from joinedup.population.validation import (
    ContractError,
    conform,
    reference_violations,
    validate_table,
)


def patients(**overrides: list) -> pa.Table:
    rows = {
        "person_id": [1, 2, 3],
        "nhs_number": ["9990000018", "9990000026", "9990000034"],
        "date_of_birth": [dt.date(1940, 5, 1), dt.date(1985, 1, 2), dt.date(2010, 7, 3)],
        "sex": ["F", "M", "F"],
        "ethnicity": ["White", "Asian", "Not stated"],
        "lsoa_code": ["E01000001", "E01000002", "E01000003"],
        "imd_decile": [1, 5, 10],
        "care_home": [False, False, False],
        "housebound": [True, False, False],
        "carer": [False, True, False],
        "date_of_death": [None, None, None],
    }
    rows.update(overrides)
    return pa.table(rows)


def reasons(table: pa.Table) -> list[str]:
    return [str(v) for v in validate_table(PATIENTS, table)]


def test_every_contract_declares_a_key_grain_and_described_columns():
    for table in CONTRACTS.values():
        assert table.primary_key and table.grain and table.description
        assert all(c.description.strip() for c in table.columns), table.name
        assert table.arrow_schema().names == table.column_names


def test_references_name_real_columns():
    for table in CONTRACTS.values():
        for column in table.columns:
            if column.references:
                target, target_column = column.references.split(".")
                assert target_column in CONTRACTS[target].column_names


def test_valid_rows_pass():
    assert reasons(patients()) == []


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"sex": ["F", "X", "F"]}, "patients row 2: sex is not one of F, M"),
        ({"sex": ["F", None, "F"]}, "patients row 2: sex is empty but required"),
        ({"imd_decile": [0, 5, 10]}, "patients row 1: imd_decile is below the minimum 1"),
        ({"imd_decile": [1, 5, 11]}, "patients row 3: imd_decile is above the maximum 10"),
        (
            {"nhs_number": ["9990000018", "9990000027", "9990000034"]},
            "patients row 2: nhs_number is not a valid NHS number (mod-11 check digit)",
        ),
        (
            {"lsoa_code": ["E01000001", "W01000002", "E01000003"]},
            "patients row 2: lsoa_code does not match ^E0[0-9]{7}$",
        ),
        ({"person_id": [1, 2, 1]}, "patients row 3: person_id repeats the key of an earlier row"),
    ],
)
def test_each_broken_rule_is_reported_with_its_row_and_reason(override, expected):
    assert reasons(patients(**override)) == [expected]


def test_a_null_is_reported_once_not_as_every_rule():
    found = reasons(patients(sex=["F", "M", None]))
    assert found == ["patients row 3: sex is empty but required"]


def test_an_appointment_booked_after_it_took_place_is_refused():
    day = dt.date(2024, 3, 4)
    appointments = pa.table(
        {
            "appointment_id": [1, 2, 3, 4],
            "person_id": [1, 1, 2, 3],
            "practice_code": ["P1"] * 4,
            "appointment_date": [day] * 4,
            "clinician_id": ["c1"] * 4,
            "clinician_role": ["gp"] * 4,
            "mode": ["telephone"] * 4,
            "attended": [True] * 4,
            "cost": [30.0] * 4,
            "booked_date": [day, day - dt.timedelta(days=9), day + dt.timedelta(days=1), None],
        }
    )  # site_code left out: optional columns may be
    found = [str(v) for v in validate_table(GP_APPOINTMENTS, appointments)]
    assert found == ["gp_appointments row 3: booked_date is after appointment_date"]
    assert "not after appointment_date" in GP_APPOINTMENTS.column("booked_date").rules()


def test_a_comparison_with_an_unknown_column_is_refused():
    with pytest.raises(ValueError, match="compare with an unknown column"):
        type(PATIENTS)(
            "t", "d", (Column("a", "date", "a", not_after="b"),), primary_key=("a",), grain="g"
        )


def test_missing_and_unknown_columns_are_structural_errors():
    with pytest.raises(ContractError, match="missing columns carer; unknown columns colour"):
        conform(
            PATIENTS,
            patients().drop_columns(["carer"]).append_column("colour", pa.array(["r"] * 3)),
        )


def test_a_column_that_cannot_take_its_type_is_a_structural_error():
    with pytest.raises(ContractError, match="column imd_decile is string, expected int"):
        conform(PATIENTS, patients(imd_decile=["one", "two", "three"]))


def test_conform_orders_columns_as_the_contract_declares():
    shuffled = patients().select(list(reversed(patients().column_names)))
    assert conform(PATIENTS, shuffled).column_names == PATIENTS.column_names


def test_dangling_references_are_reported():
    registrations = pa.table(
        {
            "person_id": [1, 99],
            "practice_code": ["P1", "P1"],
            "start_date": [dt.date(2020, 1, 1)] * 2,
            "end_date": [None, None],
        }
    )
    found = reference_violations(
        {"patients": patients(), "registrations": conform(REGISTRATIONS, registrations)}
    )
    assert [str(v) for v in found] == [
        "registrations row 2: person_id refers to no row of patients.person_id"
    ]


def test_unknown_table_names_list_the_known_ones():
    with pytest.raises(KeyError, match=r"unknown table 'people'.*patients"):
        contract("people")


def test_unknown_column_types_are_refused():
    with pytest.raises(ValueError, match="unknown type"):
        Column("x", "decimal", "a column")


def test_store_round_trips_a_conformed_table(tmp_path):
    store = PopulationStore(tmp_path / "population")
    store.write("patients", patients())
    assert store.read("patients").schema == PATIENTS.arrow_schema()
    assert store.tables() == ["patients"]


def test_store_reports_a_missing_table_clearly(tmp_path):
    with pytest.raises(StoreError, match="no hospital_spells table"):
        PopulationStore(tmp_path).read("hospital_spells")


def test_staging_replaces_the_store_only_on_success(tmp_path):
    store = PopulationStore(tmp_path / "population")
    with store.staging() as staged:
        staged.write("patients", patients())
        staged.write_metadata({"seed": 1})
    assert store.metadata() == {"seed": 1}

    with pytest.raises(RuntimeError), store.staging() as staged:
        staged.write_metadata({"seed": 2})
        raise RuntimeError("generation failed half way")
    assert store.metadata() == {"seed": 1}
    assert store.read("patients").num_rows == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["population"]


def test_an_optional_column_left_out_is_added_empty():
    conformed = conform(PATIENTS, patients().drop_columns(["date_of_death"]))
    assert conformed.column_names == PATIENTS.column_names
    assert conformed["date_of_death"].null_count == conformed.num_rows
