"""Broken inputs: each gives its clear reason, nothing good is lost, nothing partial is
committed; NDJSON streams in flat memory; random mutations of valid bundles never crash."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from joinedup.population.ingest.batch import read_rejects, run_batch, store_checksums
from joinedup.population.ingest.fhir import read_fhir
from joinedup.population.ingest.records import Rejected, SourceRow
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.ingest_support import (
    bundle,
    condition,
    good_resources,
    observation,
    organisation,
    patient,
    write_bundle,
)


def reasons_for(tmp_path: Path, name: str, data: bytes) -> list[str]:
    path = tmp_path / name
    path.write_bytes(data)
    return [i.reason for i in read_fhir([path]) if isinstance(i, Rejected)]


def test_each_broken_file_gives_its_reason(tmp_path):
    whole = json.dumps(bundle(*good_resources())).encode()
    assert "is it cut short?" in reasons_for(tmp_path, "cut.json", whole[:-7])[0]
    assert reasons_for(tmp_path, "empty.json", b"") == ["file is empty: no bundle or resource"]
    assert reasons_for(tmp_path, "empty.ndjson", b"\n\n") == ["file is empty: no resources"]
    assert reasons_for(tmp_path, "latin1.json", '{"name": "Zoë"}'.encode("latin-1"))[0].startswith(
        "file is not UTF-8 text"
    )
    assert reasons_for(tmp_path, "x.json", b"[1, 2]") == [
        "file is not a FHIR resource (no resourceType)"
    ]
    lines = b'{"resourceType":"Observation"\n\xff\xfe\n'
    assert [r.split(":")[0] for r in reasons_for(tmp_path, "o.ndjson", lines)] == [
        "line is not valid JSON",
        "line is not UTF-8 text (byte 1)",
    ]


def test_wrong_types_and_impossible_dates_name_the_field(tmp_path):
    wrong = [
        observation("o1", when=20210203),
        observation("o2", when="2021-13-01"),
        observation("o3", value=True),
        observation("o4", subject="Patient/p1"),
        {"resourceType": "Patient", "id": "p9", "gender": "female", "birthDate": "1980"},
    ]
    path = write_bundle(tmp_path / "w.json", *wrong)
    reasons = sorted(i.reason for i in read_fhir([path]) if isinstance(i, Rejected))
    assert reasons == [
        "Observation/o1: effectiveDateTime 20210203 is not a date",
        "Observation/o2: effectiveDateTime '2021-13-01' is not a valid FHIR dateTime",
        "Observation/o3: valueQuantity.value True is not a valid FHIR decimal",
        "Observation/o4: subject 'Patient/p1' is not a JSON object (a FHIR complex type)",
        "Patient/p9: birthDate '1980' is a partial date; a full date is needed",
    ]


def test_each_resource_is_validated_against_the_r4b_model(tmp_path):
    """Fields joinedup does not map are checked too: one reason, naming the field path."""
    broken = [
        observation("o1", when="2021-02-30"),
        observation("o2", interpretation={"coding": "H"}),
        observation("o3", colour="red"),
        observation("o4", status=None, code=None),
        condition("c1", note=[{"text": 5}]),
    ]
    path = write_bundle(tmp_path / "v.ndjson", *broken)
    path.write_text("\n".join(json.dumps(r) for r in broken))
    reasons = sorted(i.reason for i in read_fhir([path]) if isinstance(i, Rejected))
    assert reasons == [
        "Condition/c1: note[0].text 5 is not text",
        "Observation/o1: effectiveDateTime '2021-02-30' is not a date "
        "(day value is outside expected range)",
        "Observation/o2: interpretation is not a list",
        "Observation/o3: colour is not an element of Observation in FHIR R4B",
        "Observation/o4: status is required but missing",
    ]


def _warm_up(tmp_path) -> None:
    """Read one small file first, so the FHIR model classes are imported before measuring."""
    path = tmp_path / "warm-up.ndjson"
    path.write_text(json.dumps(observation("w", value=48.0)) + "\n")
    list(read_fhir([path]))


def test_large_bundle_streams_entry_by_entry(tmp_path):
    """A ~6.5 MB bundle, Organization last: read in a fraction of its size, definitions first.
    (The benchmark shows the same at 10^6 resources.)"""
    path = tmp_path / "big.json"
    entry = json.dumps({"fullUrl": "urn:uuid:o", "resource": observation("o", value=48.0)})
    with path.open("w") as handle:
        handle.write('{"resourceType":"Bundle","type":"collection","entry":[')
        handle.write(json.dumps({"fullUrl": "urn:uuid:p1", "resource": patient()}))
        for n in range(20_000):
            handle.write("," + entry.replace('"id": "o"', f'"id": "o{n}"'))
        handle.write("," + json.dumps({"resource": organisation()}) + "]}")
    _warm_up(tmp_path)
    tracemalloc.start()
    items = read_fhir([path])
    first = next(i for i in items if isinstance(i, SourceRow))
    rows = 1 + sum(isinstance(i, SourceRow) for i in items)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert first.table == "patients"
    assert rows == 1 + 20_000 + 2  # patient, observations, registration and practice
    size = path.stat().st_size
    assert size > 6_000_000 and peak < size / 3


def test_ndjson_streams_in_flat_memory(tmp_path):
    """~3.5 MB of Observations: the reader's peak Python allocation stays far below the file."""
    path = tmp_path / "Observation.ndjson"
    line = json.dumps(observation("o", value=48.0)).encode()
    with path.open("wb") as handle:
        for n in range(12_000):
            handle.write(line.replace(b'"id": "o"', f'"id": "o{n}"'.encode()) + b"\n")
    size = path.stat().st_size
    _warm_up(tmp_path)
    tracemalloc.start()
    rows = sum(isinstance(i, SourceRow) for i in read_fhir([path]))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert rows == 12_000
    assert size > 3_000_000 and peak < size / 10  # one line at a time, not the file


MUTATIONS = st.sampled_from(["drop", "null", "number", "string", "list", "date"])


def mutate(resource: dict, key: str, how: str) -> None:
    if how == "drop":
        resource.pop(key, None)
    else:
        resource[key] = {
            "null": None,
            "number": 7,
            "string": "2021-02-30",
            "list": [1, {"a": None}],
            "date": "1900-01-01T00:00:00Z",
        }[how]


@hsettings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    picks=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 10), MUTATIONS), min_size=1, max_size=4
    ),
    strict=st.booleans(),
)
def test_mutated_bundles_never_crash_or_half_load(tmp_path_factory, picks, strict):
    home = tmp_path_factory.mktemp("home")
    settings = Settings.from_env(home)
    resources = good_resources()
    for index, key_index, how in picks:
        keys = sorted(resources[index])
        mutate(resources[index], keys[key_index % len(keys)], how)
    path = write_bundle(home / "m.json", *resources)
    try:
        result = run_batch(settings, read_fhir([path]), source="fuzz", strict=strict)
    except Exception as exc:  # only the strict abort is allowed out
        assert strict and type(exc).__name__ == "IngestAborted", exc
        assert not PopulationStore(settings.population_dir).exists()
        return
    store = PopulationStore(settings.population_dir)
    loaded = sum(c.loaded for c in result.tables.values())
    assert store.exists() == (loaded > 0)
    if store.exists():
        assert store_checksums(store)  # a whole store: every table file present
        assert len(store.tables()) == 13
    assert result.rejects == len(read_rejects(result))
