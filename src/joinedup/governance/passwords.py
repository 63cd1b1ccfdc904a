"""Password hashing (argon2id) and the password policy for local accounts.

Hashes are argon2id through argon2-cffi's `PasswordHasher`, whose defaults are the "second
recommended" low-memory profile of RFC 9106 §4 (t=3, 64 MiB, p=4). When those parameters
change, `needs_rehash` says so and the next successful sign-in stores a fresh hash.

The policy follows NIST SP 800-63B §5.1.1.2 and the NCSC's password guidance on length (at
least 12 characters here; long passphrases welcome), adds the one composition rule joinedup's
governance asks for (not all of one kind of character), and refuses the username itself.
"""

from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from joinedup.errors import UserError

MIN_LENGTH = 12
# Long enough for any passphrase; bounded so a huge form field cannot make hashing expensive.
MAX_LENGTH = 256
GENERATED_LENGTH = 20

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong username takes as long as a wrong
# password and the answer's timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash and verify with `hasher` from now on; the one used until now.

    For the test suite, which hashes hundreds of passwords and swaps in argon2id at its lowest
    cost (the production parameters keep their own tests). Hashes made with other parameters
    still verify, and `needs_rehash` flags them, as after any change of parameters.
    """
    global _hasher, _DUMMY_HASH
    previous, _hasher = _hasher, hasher
    _DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))
    return previous


class PasswordPolicyError(UserError, ValueError):
    """A new password breaks the policy; the message says which rule."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash`; with no hash, spend the same time and say no."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with older parameters than the hasher's current ones."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def character_classes(password: str) -> set[str]:
    """Which kinds of character the password uses: lower, upper, digit, other."""
    kinds = set()
    for char in password:
        if char.islower():
            kinds.add("lower")
        elif char.isupper():
            kinds.add("upper")
        elif char.isdigit():
            kinds.add("digit")
        else:
            kinds.add("other")
    return kinds


def policy_problems(password: str, username: str = "") -> list[str]:
    """Every rule the password breaks, in words a user can act on (empty when it is fine)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Your password must be at least {MIN_LENGTH} characters long.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Your password must be {MAX_LENGTH} characters or fewer.")
    if password and len(character_classes(password)) < 2:
        problems.append(
            "Your password must mix at least two kinds of character: lower-case letters, "
            "capital letters, numbers or symbols."
        )
    if username and password.strip().casefold() == username.strip().casefold():
        problems.append("Your password must not be your username.")
    return problems


def check_policy(password: str, username: str = "") -> None:
    """Raise `PasswordPolicyError` naming every rule the password breaks."""
    problems = policy_problems(password, username)
    if problems:
        raise PasswordPolicyError(" ".join(problems))


def generate_password(username: str = "") -> str:
    """A random password that meets the policy: 20 characters from letters, digits, - and _."""
    alphabet = string.ascii_letters + string.digits + "-_"
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(GENERATED_LENGTH))
        if not policy_problems(password, username) and len(character_classes(password)) >= 3:
            return password
