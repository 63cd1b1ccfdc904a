"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from joinedup.governance import passwords
from joinedup.governance.passwords import PasswordPolicyError, check_policy, policy_problems

# These tests hold the production parameters, not the suite's cheap ones.
pytestmark = pytest.mark.usefixtures("production_password_hashes")


def test_hashes_are_argon2id_salted_and_verify_only_the_right_password() -> None:
    first = passwords.hash_password("correct horse battery 9")
    second = passwords.hash_password("correct horse battery 9")

    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert passwords.verify_password(first, "correct horse battery 9")
    assert not passwords.verify_password(first, "correct horse battery 8")
    assert not passwords.verify_password("not a hash", "correct horse battery 9")


def test_no_hash_never_verifies() -> None:
    assert not passwords.verify_password(None, "")
    assert not passwords.verify_password(None, "anything at all 1")


def test_a_hash_made_with_weaker_parameters_needs_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("a password 12345")

    assert passwords.needs_rehash(weak)
    assert passwords.verify_password(weak, "a password 12345")  # still accepted meanwhile
    assert not passwords.needs_rehash(passwords.hash_password("a password 12345"))


def test_production_hashes_use_the_rfc_9106_low_memory_profile() -> None:
    assert "$m=65536,t=3,p=4$" in passwords.hash_password("a password 12345")


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Short1!", "at least 12 characters"),
        ("alllowercaseletters", "two kinds of character"),
        ("123456789012345", "two kinds of character"),
        ("!!!!!!!!!!!!!!", "two kinds of character"),
        ("x" * 300 + "1", "256 characters or fewer"),
    ],
)
def test_the_policy_names_the_rule_broken(password: str, rule: str) -> None:
    with pytest.raises(PasswordPolicyError, match=rule):
        check_policy(password, "someone")


def test_the_password_may_not_be_the_username_in_any_case() -> None:
    assert policy_problems("Jo.Smith.2024", "jo.smith.2024") == [
        "Your password must not be your username."
    ]


def test_every_problem_is_reported_at_once() -> None:
    assert len(policy_problems("aaaa", "")) == 2


@pytest.mark.parametrize(
    "password", ["correct horse battery staple 7", "Twelve chars", "long-enough-passphrase"]
)
def test_good_passwords_pass(password: str) -> None:
    assert policy_problems(password, "jsmith") == []


def test_generated_passwords_meet_the_policy_and_differ() -> None:
    made = {passwords.generate_password("jsmith") for _ in range(50)}

    assert len(made) == 50
    assert all(policy_problems(p, "jsmith") == [] for p in made)
    assert all(len(p) == passwords.GENERATED_LENGTH for p in made)
