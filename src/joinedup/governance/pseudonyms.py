"""Keyed-hash pseudonyms for commissioning views, and re-identification for direct care.

A pseudonym is ``PX-`` followed by 12 base32 characters: the first 60 bits of
HMAC-SHA256(key, person_id), the key being the area's ``pseudonym`` secret
(`joinedup.governance.secrets.secret_key`). The same person has the same pseudonym everywhere
in one area (so lists and exports can be linked by whoever holds them), and an unrelated one in
an area with another key; without the key a pseudonym cannot be reversed or recomputed.
This is *pseudonymisation* in the sense of UK GDPR Article 4(5) and the ICO's guidance on
pseudonymisation (2022): the key is the "additional information" kept separately.

60 bits make collisions negligible at any realistic population: the chance that some two of
one million people share a pseudonym is about n²/2⁶¹ ≈ 4 × 10⁻⁷ (the birthday bound).

`reidentify` turns a pseudonym back into a person_id for someone's direct care: only with the
``pseudonym.reidentify`` permission, with a stated reason, and always audited. Nothing can be
decoded: it recomputes the pseudonyms of the registered population and looks the one asked for
up. That index (the pseudonyms as 60-bit numbers, sorted, beside
their person_ids) is built once per (store, key) — about 2 s for 300,000 people on a busy
2-core machine — kept in memory and saved beside the key (``<home>/secrets``, owner-only, as
secret as the key itself), so every later answer, in this process or the next, is a binary
search: under a millisecond warm, a few milliseconds from the file.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.errors import UserError
from joinedup.governance.roles import Principal
from joinedup.governance.secrets import secret_key
from joinedup.population.reads import registered_person_ids
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

PREFIX = "PX-"
LENGTH = 12  # base32 characters: 60 bits
KEY_NAME = "pseudonym"
INDEX_FILE = "pseudonym-index.npz"
MIN_REASON = 15
PURPOSE = "direct care: re-identify a pseudonym"
_ALPHABET = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", dtype=np.uint8)
_ALPHABET_INDEX = {chr(c): i for i, c in enumerate(_ALPHABET.tolist())}
_SHAPE = re.compile(rf"^{re.escape(PREFIX)}[A-Z2-7]{{{LENGTH}}}$")


class PseudonymError(UserError, ValueError):
    """A pseudonym cannot be re-identified as asked (its message says why)."""


class ReasonTooShortError(PseudonymError):
    """Re-identification needs a stated reason of at least MIN_REASON characters."""


class UnknownPseudonymError(PseudonymError, LookupError):
    """No registered person of the area has this pseudonym."""


class ReidentifyNotAllowed(UserError, PermissionError):
    """The user's role may not re-identify pseudonyms."""


def area_key(settings: Settings) -> bytes:
    """The area's pseudonym key (made on first use; see `joinedup.governance.secrets`)."""
    return secret_key(settings, KEY_NAME)


def pseudonym(key: bytes, person_id: int) -> str:
    """The pseudonym of `person_id` under `key`, e.g. ``PX-K5QZ2M7A4BCD``."""
    return pseudonyms(key, [person_id])[0]


def pseudonyms(key: bytes, person_ids: Iterable[int]) -> list[str]:
    """The pseudonyms of many people at once (the same as `pseudonym` for each)."""
    values = _values(key, [int(p) for p in person_ids])
    if not len(values):
        return []
    # Base32 (RFC 4648) of the 60 bits, five bits to a character, vectorised.
    shifts = np.arange(5 * (LENGTH - 1), -1, -5, dtype=np.uint64)
    groups = (values[:, None] >> shifts[None, :]) & np.uint64(31)
    text = _ALPHABET[groups.astype(np.intp)].tobytes()
    return [PREFIX + text[i : i + LENGTH].decode("ascii") for i in range(0, len(text), LENGTH)]


def _values(key: bytes, ids: Sequence[int]) -> np.ndarray:
    """The leading 60 bits of HMAC-SHA256(key, str(person_id)) of each id, as uint64."""
    if not ids:
        return np.zeros(0, dtype=np.uint64)
    # HMAC (RFC 2104) with its two keyed SHA-256 states made once and copied per person:
    # the same digests as hmac.digest(key, ...) at about a third of the cost.
    block = (key if len(key) <= 64 else hashlib.sha256(key).digest()).ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def first_8_bytes(person_id: int) -> bytes:
        h = inner.copy()
        h.update(str(person_id).encode("ascii"))
        o = outer.copy()
        o.update(h.digest())
        return o.digest()[:8]

    heads = np.frombuffer(b"".join(map(first_8_bytes, ids)), dtype=">u8").astype(np.uint64)
    return heads >> np.uint64(64 - 5 * LENGTH)


def _decode(value: str) -> int:
    """The 60-bit number a well-formed pseudonym writes in base32."""
    number = 0
    for char in value[len(PREFIX) :]:
        number = (number << 5) | _ALPHABET_INDEX[char]
    return number


def normalise(value: str) -> str:
    """A pseudonym as typed (any case, spaces, no prefix) in its one written form."""
    compact = re.sub(r"\s+", "", value or "").upper()
    if len(compact) == LENGTH:
        return PREFIX + compact
    if len(compact) == LENGTH + 2 and compact.startswith("PX"):
        return PREFIX + compact[2:]
    return compact


# --- re-identification ---------------------------------------------------------------------


def registered_people(store: PopulationStore) -> np.ndarray:
    """person_id of everyone registered at the store's extract date (the one registration
    rule: `joinedup.population.reads`)."""
    return registered_person_ids(store)


def _stamp(store: PopulationStore) -> int:
    """Changes when the store is regenerated (its metadata file is rewritten)."""
    return (store.root / "area.json").stat().st_mtime_ns if store.exists() else 0


@dataclass(frozen=True)
class _Index:
    """Every registered person's pseudonym (as its 60-bit number, sorted) and person_id."""

    values: np.ndarray  # uint64, sorted
    person_ids: np.ndarray  # int64, in the same order

    def find(self, value: int) -> int | None:
        at = int(np.searchsorted(self.values, np.uint64(value)))
        if at < len(self.values) and int(self.values[at]) == value:
            return int(self.person_ids[at])
        return None


def _build(store: PopulationStore, key: bytes) -> _Index:
    ids = registered_people(store)
    values = _values(key, ids.tolist())
    order = np.argsort(values, kind="stable")
    return _Index(values[order], ids[order])


@functools.lru_cache(maxsize=4)
def _index(root: str, stamp: int, key: bytes, cache_dir: str | None) -> _Index:
    """The index of the store at `root` under `key`: from memory, else from the file kept
    beside the key in `cache_dir` (if it was made from this store and key), else built."""
    store = PopulationStore(Path(root))
    fingerprint = f"{stamp}:{root}:{hashlib.sha256(b'index' + key).hexdigest()}"
    path = Path(cache_dir) / INDEX_FILE if cache_dir else None
    if path is not None and path.is_file():
        with np.load(path, allow_pickle=False) as saved:
            if str(saved["fingerprint"]) == fingerprint:
                return _Index(saved["values"], saved["person_ids"])
    index = _build(store, key)
    if path is not None:
        _save(path, index, fingerprint)
    return index


def _save(path: Path, index: _Index, fingerprint: str) -> None:
    """Write the index atomically, readable by its owner only (it is as secret as the key)."""
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        np.savez(
            handle,
            values=index.values,
            person_ids=index.person_ids,
            fingerprint=np.array(fingerprint),
        )
    os.replace(partial, path)


def lookup(
    store: PopulationStore, key: bytes, value: str, *, cache_dir: Path | None = None
) -> int | None:
    """The registered person whose pseudonym is `value` under `key`, or None."""
    wanted = normalise(value)
    if not _SHAPE.match(wanted):
        return None
    index = _index(str(store.root), _stamp(store), key, str(cache_dir) if cache_dir else None)
    return index.find(_decode(wanted))


def reidentify(
    sessions: sessionmaker[Session],
    store: PopulationStore,
    settings: Settings,
    principal: Principal,
    pseudonym: str,
    reason: str,
) -> int:
    """The person_id behind `pseudonym`, for `principal`'s direct care; audited.

    Raises ReidentifyNotAllowed without ``pseudonym.reidentify``, PseudonymError for a reason
    shorter than 15 characters or a malformed pseudonym, and UnknownPseudonymError when no
    registered person of the area has it. Only a successful re-identification is recorded:
    the audit event names the person and keeps the pseudonym and the reason in its detail.
    """
    if not principal.can("pseudonym.reidentify"):
        raise ReidentifyNotAllowed(f"the {principal.role_name} role may not re-identify pseudonyms")
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ReasonTooShortError(
            f"say why you need to know who this is, in at least {MIN_REASON} characters"
        )
    wanted = normalise(pseudonym)
    if not _SHAPE.match(wanted):
        raise PseudonymError(
            f"a pseudonym is {PREFIX} followed by {LENGTH} letters and digits 2 to 7, "
            f"like {PREFIX}ABCDEFGH2345"
        )
    key = area_key(settings)
    person_id = lookup(store, key, wanted, cache_dir=settings.home / "secrets")
    if person_id is None:
        raise UnknownPseudonymError(
            f"no one registered in this area has the pseudonym {wanted}: check it was copied "
            "from a list or export of this area"
        )
    with unit_of_work(
        sessions,
        actor=principal.actor,
        actor_role=principal.role,
        action="pseudonym.reidentify",
        entity_type="person",
        entity_id=str(person_id),
        person_id=person_id,
        purpose=PURPOSE,
        detail={"pseudonym": wanted, "reason": reason},
    ):
        pass
    return person_id
