"""Disclosure control for pseudonymised rows: k-anonymity over the quasi-identifiers.

A pseudonym hides who a row is; the columns beside it can still give the person away (a woman
of 103 at a small practice is one person). So every pseudonymised output — the case-finding
lists' pages, CSVs and `joinedup export case-finding`, and the people behind a practice-
variation count — goes through `k_anonymise` before it leaves:

1. **Generalise age**: exact age is never shown; it becomes a 5-year band (``70-74``), with
   everyone 90 and over top-coded as ``90+`` (the ONS convention for published ages, and the
   Safe Harbor top-code of HIPAA 45 CFR 164.514(b)(2)(i)(C)).
2. **Generalise place, one step at a time**: rows whose combination of quasi-identifiers
   (age band, sex, practice, neighbourhood …) is held by fewer than *k* people lose the most
   specific place column (the practice), and are grouped again at the next level (the
   neighbourhood); those still fewer than *k* lose the next (the whole area). A whole
   equivalence class moves at once, so a class already of *k* or more is never broken up.
3. **Suppress the residue**: rows still in a class of fewer than *k* at the last level are
   withheld, and the output says how many.

The result is k-anonymous (Sweeney L., "k-anonymity: a model for protecting privacy",
*Int J Uncertainty, Fuzziness and Knowledge-Based Systems* 10(5), 2002; the generalisation
and suppression follow Samarati P., "Protecting respondents' identities in microdata
release", *IEEE TKDE* 13(6), 2001, with local recoding by equivalence class): every
combination of quasi-identifier values shown is shared by at least *k* rows of the output.
What it does not cover is said where the output is shown: columns that are not declared
quasi-identifiers (event dates, evidence text, ranks) are passed through as they are.

*k* is `DEFAULT_K` (10), or ``JOINEDUP_DISCLOSURE_K`` (a whole number, 2 or more).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from joinedup.errors import UserError
from joinedup.settings import Settings

DEFAULT_K = 10
AGE_BAND_WIDTH = 5
TOP_CODED_AGE = 90

Row = dict[str, Any]


class DisclosureSettingError(UserError, ValueError):
    """``JOINEDUP_DISCLOSURE_K`` is not a whole number of 2 or more."""


def disclosure_k(settings: Settings) -> int:
    """The smallest group a pseudonymised output may show: the setting, else `DEFAULT_K`."""
    text = settings.disclosure_k
    if text is None:
        return DEFAULT_K
    try:
        k = int(text)
    except ValueError:
        k = 0
    if k < 2:
        raise DisclosureSettingError(
            f"JOINEDUP_DISCLOSURE_K must be a whole number of 2 or more, not {text!r}"
        )
    return k


def age_band(age: int | None) -> str | None:
    """A 5-year band (``0-4`` … ``85-89``), everyone 90 and over as ``90+``."""
    if age is None:
        return None
    if age < 0:
        raise ValueError(f"an age cannot be negative: {age}")
    if age >= TOP_CODED_AGE:
        return f"{TOP_CODED_AGE}+"
    low = age - age % AGE_BAND_WIDTH
    return f"{low}-{low + AGE_BAND_WIDTH - 1}"


@dataclass(frozen=True)
class Disclosed:
    """Rows fit to leave: generalised so every quasi-identifier combination holds ≥ k rows."""

    rows: list[Row]
    withheld: int
    k: int


@dataclass(frozen=True)
class QuasiIdentifiers:
    """Which columns identify in combination, and the order in which place is generalised.

    `fixed` are always shown (generalised only by the age band); `steps` are groups of
    columns blanked one group at a time, most specific first (a practice's code and name,
    then its neighbourhood's)."""

    fixed: tuple[str, ...]
    steps: tuple[tuple[str, ...], ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.fixed, *(c for step in self.steps for c in step))


def k_anonymise(
    rows: Sequence[Mapping[str, Any]], quasi: QuasiIdentifiers, k: int = DEFAULT_K
) -> Disclosed:
    """`rows` (each with an exact ``age``) as they may leave: ``age`` replaced by ``age_band``,
    place generalised class by class, the residue withheld; the order of the rows is kept."""
    if k < 2:
        raise ValueError(f"k must be 2 or more: {k}")
    banded = [_with_age_band(row) for row in rows]
    pending = list(range(len(banded)))
    blanked: tuple[str, ...] = ()
    for level in range(len(quasi.steps) + 1):
        if level:
            blanked = (*blanked, *quasi.steps[level - 1])
            for i in pending:
                banded[i].update(dict.fromkeys(quasi.steps[level - 1]))
        sizes = Counter(_key(banded[i], quasi) for i in pending)
        pending = [i for i in pending if sizes[_key(banded[i], quasi)] < k]
    withheld = set(pending)
    kept = [row for i, row in enumerate(banded) if i not in withheld]
    return Disclosed(kept, len(withheld), k)


def smallest_class(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> int | None:
    """The size of the smallest equivalence class over `columns` (None for no rows)."""
    sizes = Counter(tuple(row[c] for c in columns) for row in rows)
    return min(sizes.values()) if sizes else None


def _with_age_band(row: Mapping[str, Any]) -> Row:
    out = {c: v for c, v in row.items() if c != "age"}
    out["age_band"] = age_band(row.get("age"))
    return out


def _key(row: Row, quasi: QuasiIdentifiers) -> tuple[Any, ...]:
    return tuple(row.get(c) for c in ("age_band", *quasi.columns))
