"""Which of a FHIR Patient's names, addresses and phones reach the patients table."""

from __future__ import annotations

import datetime as dt

from joinedup.population.ingest.fhir.contact import contact_fields

TODAY = dt.date(2026, 12, 6)


def test_current_official_name_home_address_and_phone_are_kept():
    patient = {
        "name": [
            {"use": "old", "family": "Jones", "given": ["Mary"]},
            {"use": "usual", "family": "Smith", "given": ["Molly"]},
            {"use": "official", "family": "Smith", "given": ["Mary", "Ann"], "prefix": ["Mrs."]},
        ],
        "address": [
            {"use": "work", "line": ["1 Office Park"], "postalCode": "LS1 1AA"},
            {"use": "home", "line": ["2 Old Road"], "period": {"end": "2020-01-01"}},
            {"use": "home", "line": ["12 Mill Lane"], "city": "Bolton", "postalCode": "bl14qt"},
        ],
        "telecom": [
            {"system": "email", "value": "m@example.org"},
            {"system": "phone", "use": "work", "value": "0113 496 0000"},
            {"system": "phone", "use": "mobile", "value": "07700 900123"},
        ],
    }
    assert contact_fields(patient, TODAY) == {
        "given_name": "Mary Ann",
        "family_name": "Smith",
        "address_line": "12 Mill Lane, Bolton",
        "postcode": "BL1 4QT",
        "phone": "07700 900123",
    }


def test_a_foreign_postal_code_stays_on_the_address_line_and_absent_parts_are_none():
    patient = {
        "name": [{"use": "maiden", "family": "Brown"}],
        "address": [{"line": ["616 Daugherty Arcade"], "city": "Worcester",
                     "state": "Massachusetts", "postalCode": "01545"}],
    }  # fmt: skip
    assert contact_fields(patient, TODAY) == {
        "given_name": None,
        "family_name": None,
        "address_line": "616 Daugherty Arcade, Worcester, Massachusetts 01545",
        "postcode": None,
        "phone": None,
    }
