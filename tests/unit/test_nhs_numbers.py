"""NHS number checks held to the nhs-number package's published vectors."""

from __future__ import annotations

import json

import nhs_number
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from joinedup.population.nhs_numbers import (
    check_digits,
    is_valid,
    synthetic_nhs_numbers,
    valid_nhs_numbers,
)


@pytest.fixture(scope="module")
def vectors(shared_dir):
    return json.loads((shared_dir / "reference/nhs_number/nhs_number_cases.json").read_text())


def test_check_digits_match_published_vectors(vectors):
    cases = [c for c in vectors["calculate_checksum"] if c["checksum"] is not None]
    bodies = np.array([int(c["identifier"]) for c in cases], dtype=np.int64)
    assert check_digits(bodies).tolist() == [c["checksum"] for c in cases]


def test_validity_matches_published_vectors(vectors):
    for case in vectors["is_valid"]:
        if isinstance(case["input"], str):
            assert is_valid(case["input"]) is case["valid"], case


def test_vectorised_check_agrees_on_plain_ten_digit_vectors(vectors):
    plain = [
        c
        for c in vectors["is_valid"]
        if isinstance(c["input"], str) and len(c["input"]) == 10 and c["input"].isdigit()
    ]
    result = valid_nhs_numbers(pa.array([c["input"] for c in plain]))
    assert result.to_pylist() == [c["valid"] for c in plain]


def test_nine_published_test_numbers_are_valid(shared_dir):
    text = (shared_dir / "reference/nhs_number/testdata-9-valid-nhs-numbers.csv").read_text(
        encoding="utf-8-sig"
    )
    numbers = [line.strip() for line in text.splitlines() if line.strip()]
    assert len(numbers) == 9
    assert valid_nhs_numbers(pa.array(numbers)).to_pylist() == [True] * 9


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_vectorised_check_agrees_with_the_package(number):
    assert valid_nhs_numbers(pa.array([number])).to_pylist() == [nhs_number.is_valid(number)]


def test_malformed_values_are_invalid_and_nulls_stay_null():
    result = valid_nhs_numbers(pa.array(["943476591", "94347659190", "abcdefghij", None]))
    assert result.to_pylist() == [False, False, False, None]


def test_synthetic_numbers_are_valid_distinct_and_never_real():
    numbers = synthetic_nhs_numbers(50_000, np.random.default_rng(3))
    assert len(set(numbers.tolist())) == 50_000
    assert valid_nhs_numbers(pa.array(numbers)).false_count == 0
    # The 9xx range is never allocated to a real person.
    assert all(n.startswith("9") for n in numbers.tolist())
    assert not any(
        nhs_number.is_valid(n, for_region=nhs_number.REGION_ENGLAND) for n in numbers[:1000]
    )


def test_synthetic_numbers_are_deterministic_for_a_seed():
    first = synthetic_nhs_numbers(1000, np.random.default_rng(11))
    again = synthetic_nhs_numbers(1000, np.random.default_rng(11))
    assert first.tolist() == again.tolist()
