"""Plain-Python continuity-of-care indices: the oracle `analytics.continuity` is held to.

Formulas as in `joinedup.analytics.continuity` (sources cited there); written independently
over lists, one patient's consultations in time order. Not used in production.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise


def upc(visits: Sequence[str]) -> float:
    """Usual Provider of Care (Breslau & Reeb 1975): share of visits with the most-seen one."""
    return max(Counter(visits).values()) / len(visits)


def coc(visits: Sequence[str]) -> float | None:
    """Bice–Boxerman Continuity of Care index (1977): (Σ n_j² − N) / (N(N − 1)); None for N < 2."""
    n = len(visits)
    if n < 2:
        return None
    return (sum(k * k for k in Counter(visits).values()) - n) / (n * (n - 1))


def secon(visits: Sequence[str]) -> float | None:
    """Sequential Continuity (Steinwachs 1979): consecutive same-clinician pairs / (N − 1)."""
    if len(visits) < 2:
        return None
    same = sum(1 for a, b in pairwise(visits) if a == b)
    return same / (len(visits) - 1)


def slicc(consultations: Iterable[tuple[str, str]]) -> float | None:
    """St Leonard's Index of Continuity of Care (Sidaway-Lee 2019): share of consultations, given
    as (usual GP, GP seen) pairs, that were with the patient's own usual GP."""
    pairs = list(consultations)
    if not pairs:
        return None
    return sum(1 for usual, seen in pairs if usual == seen) / len(pairs)
