"""Arrow tables built straight from the people and organisations, and the area metadata."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from joinedup.population.synthetic import reference
from joinedup.population.synthetic.calendar import date_array
from joinedup.population.synthetic.costs import Ledger, pounds
from joinedup.population.synthetic.frailty import Frailty
from joinedup.population.synthetic.identities import Identities
from joinedup.population.synthetic.medications import Issues
from joinedup.population.synthetic.organisations import Area
from joinedup.population.synthetic.people import DIED, ETHNICITIES, LEFT, People

GENERATOR_VERSION = "1.2.0"  # 1.2.0: the extract date is an argument


def practice_deciles(area: Area, people: People) -> np.ndarray:
    """Each practice's deprivation decile: the rounded mean of its registered patients'."""
    current = people.current
    total = np.bincount(
        people.practice[current], weights=people.imd_decile[current], minlength=area.practices
    )
    count = np.bincount(people.practice[current], minlength=area.practices)
    return np.clip(np.rint(total / np.maximum(count, 1)), 1, 10).astype(np.int64)


def organisations_table(
    area: Area, practice_deciles: np.ndarray, rng: np.random.Generator
) -> pa.Table:
    rows: list[dict[str, Any]] = [
        {
            "org_code": area.code,
            "name": f"{area.name} Integrated Care Board",
            "org_type": "commissioning_area",
            "parent_code": None,
            "imd_decile": None,
            "opened": date(2022, 7, 1),
        }
    ]
    for code, name in zip(area.federation_codes, area.federation_names, strict=True):
        rows.append(
            {
                "org_code": code,
                "name": name,
                "org_type": "federation",
                "parent_code": area.code,
                "imd_decile": None,
                "opened": date(2019, 7, 1),
            }
        )
    for i, (code, name) in enumerate(
        zip(area.neighbourhood_codes, area.neighbourhood_names, strict=True)
    ):
        rows.append(
            {
                "org_code": code,
                "name": f"{name} Neighbourhood",
                "org_type": "neighbourhood",
                "parent_code": area.federation_codes[area.neighbourhood_federation[i]],
                "imd_decile": None,
                "opened": date(2019, 7, 1),
            }
        )
    opened = rng.integers(
        date(1948, 7, 5).toordinal(), date(2015, 4, 1).toordinal(), area.practices
    )
    for i in range(area.practices):
        rows.append(
            {
                "org_code": area.practice_codes[i],
                "name": area.practice_names[i],
                "org_type": "practice",
                "parent_code": area.neighbourhood_codes[area.practice_neighbourhood[i]],
                "imd_decile": int(practice_deciles[i]),
                "opened": date.fromordinal(int(opened[i])),
            }
        )
    for i, (code, name) in enumerate(
        zip(area.federation_codes, area.federation_names, strict=True)
    ):
        rows.append(
            {
                "org_code": f"SYNH{i + 1:02d}",
                "name": f"{name} Extended Access Hub",
                "org_type": "hub",
                "parent_code": code,
                "imd_decile": None,
                "opened": date(2019, 10, 1),
            }
        )
        rows.append(
            {
                "org_code": f"SYNCT{i + 1:02d}",
                "name": f"{name} Community Therapy Team",
                "org_type": "community_team",
                "parent_code": code,
                "imd_decile": None,
                "opened": date(2016, 4, 1),
            }
        )
    for i, (code, name) in enumerate(
        zip(area.neighbourhood_codes, area.neighbourhood_names, strict=True)
    ):
        rows.append(
            {
                "org_code": f"SYNDN{i + 1:02d}",
                "name": f"{name} District Nursing Team",
                "org_type": "community_team",
                "parent_code": code,
                "imd_decile": None,
                "opened": date(2016, 4, 1),
            }
        )
    return pa.Table.from_pylist(rows)


def patients_table(
    people: People, lsoas: reference.Lsoas, frailty: Frailty, identities: Identities
) -> pa.Table:
    died = people.status == DIED
    return pa.table(
        {
            "person_id": pa.array(np.arange(1, people.n + 1, dtype=np.int64)),
            "nhs_number": pa.array(people.nhs_number, pa.string()),
            "date_of_birth": date_array(people.dob),
            "sex": pa.array(np.where(people.female, "F", "M"), pa.string()),
            "ethnicity": pa.array(list(ETHNICITIES), pa.string()).take(pa.array(people.ethnicity)),
            "lsoa_code": pa.array(list(lsoas.code), pa.string()).take(pa.array(people.lsoa)),
            "imd_decile": pa.array(people.imd_decile.astype(np.int64)),
            "care_home": pa.array(frailty.care_home),
            "housebound": pa.array(frailty.housebound),
            "carer": pa.array(frailty.carer),
            "date_of_death": date_array(np.where(died, people.end, 0), missing=~died),
            "given_name": pa.array(identities.given_name, pa.string()),
            "family_name": pa.array(identities.family_name, pa.string()),
            "address_line": pa.array(identities.address_line, pa.string()),
            "postcode": pa.array(identities.postcode, pa.string()),
            "phone": pa.array(identities.phone, pa.string()),
            "home_latitude": pa.array(identities.latitude, pa.float64()),
            "home_longitude": pa.array(identities.longitude, pa.float64()),
        }
    )


def registrations_table(area: Area, people: People) -> pa.Table:
    open_ = people.reg_end < 0
    return pa.table(
        {
            "person_id": pa.array(people.reg_person + 1),
            "practice_code": pa.array(list(area.practice_codes), pa.string()).take(
                pa.array(people.reg_practice)
            ),
            "start_date": date_array(people.reg_start),
            "end_date": date_array(np.where(open_, 0, people.reg_end), missing=open_),
        }
    )


#: Rows per chunk when spreading a lookup over millions of rows: one string array holds at most
#: 2 GiB of text, which medicine names pass at about 3 million people.
TAKE_CHUNK_ROWS = 8_000_000


def take_chunked(values: pa.Array, index: pa.Array) -> pa.ChunkedArray:
    """`values.take(index)` as a chunked array, so no single chunk outgrows 2 GiB of strings."""
    return pa.chunked_array(
        [
            values.take(index.slice(start, TAKE_CHUNK_ROWS))
            for start in range(0, max(len(index), 1), TAKE_CHUNK_ROWS)
        ],
        type=values.type,
    )


def medications_table(issues: Issues, ledger: Ledger) -> pa.Table:
    ledger.add("prescribing", issues.person, issues.day, issues.pence)
    meds = issues.medicines
    index = pa.array(issues.medicine)
    return pa.table(
        {
            "issue_id": pa.array(np.arange(1, issues.person.shape[0] + 1, dtype=np.int64)),
            "person_id": pa.array(issues.person + 1),
            "issue_date": date_array(issues.day),
            "code_system": pa.array(
                np.full(issues.person.shape[0], "dmd", dtype=object), pa.string()
            ),
            "code": take_chunked(pa.array([m.code for m in meds], pa.string()), index),
            "name": take_chunked(pa.array([m.name for m in meds], pa.string()), index),
            "bnf_chapter": take_chunked(
                pa.array([m.bnf_chapter for m in meds], pa.string()), index
            ),
            "cost": pounds(issues.pence),
        }
    )


def area_metadata(
    area: Area,
    people: People,
    practice_deciles: np.ndarray,
    patients: int,
    seed: int,
    rows: dict[str, int],
) -> dict[str, Any]:
    registered = np.bincount(people.practice[people.current], minlength=area.practices)
    # Where each practice is: the premises of the real practice it is modelled on (homes are
    # scattered around them), so maps and distances have real geography.
    premises = reference.practice_locations()
    practices = [
        {
            "code": area.practice_codes[i],
            "name": area.practice_names[i],
            "neighbourhood": area.neighbourhood_codes[area.practice_neighbourhood[i]],
            "registered": int(registered[i]),
            "imd_decile": int(practice_deciles[i]),
            "postcode": str(premises.postcode[area.practice_profile[i]]),
            "latitude": round(float(premises.latitude[area.practice_profile[i]]), 6),
            "longitude": round(float(premises.longitude[area.practice_profile[i]]), 6),
        }
        for i in range(area.practices)
    ]
    neighbourhoods = [
        {
            "code": code,
            "name": f"{name} Neighbourhood",
            "federation": area.federation_codes[area.neighbourhood_federation[i]],
            "practices": int((area.practice_neighbourhood == i).sum()),
            "registered": int(registered[area.practice_neighbourhood == i].sum()),
        }
        for i, (code, name) in enumerate(
            zip(area.neighbourhood_codes, area.neighbourhood_names, strict=True)
        )
    ]
    federations = [
        {
            "code": code,
            "name": name,
            "neighbourhoods": [n["code"] for n in neighbourhoods if n["federation"] == code],
            "registered": sum(n["registered"] for n in neighbourhoods if n["federation"] == code),
        }
        for code, name in zip(area.federation_codes, area.federation_names, strict=True)
    ]
    return {
        "synthetic": True,
        "generator": "joinedup.population.synthetic",
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
        "patients": int(patients),
        "people": int(people.n),
        "extract_date": people.calendar.extract_date.isoformat(),
        "history_start": people.calendar.history_start.isoformat(),
        "financial_years": list(people.calendar.financial_years),
        "area_name": area.name,
        "area_code": area.code,
        "modelled_on": {
            "local_authorities": area.profile_areas,
            "note": (
                "Practice list sizes, age/sex profiles and deprivation follow real practices "
                "of these local authorities (QOF 2019/20, scaled); names, codes and every "
                "figure are synthetic."
            ),
        },
        "summary": {
            "federations": len(federations),
            "neighbourhoods": len(neighbourhoods),
            "practices": area.practices,
            "registered_at_extract": int(people.current.sum()),
            "died_in_window": int((people.status == DIED).sum()),
            "left_in_window": int((people.status == LEFT).sum()),
        },
        "federations": federations,
        "neighbourhoods": neighbourhoods,
        "practices": practices,
        "rows": rows,
    }
