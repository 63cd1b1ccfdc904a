"""Independent, named random streams derived from one seed.

Each stage draws from its own stream, so changing how one stage uses randomness does not
reshuffle every later stage, and the same seed always gives the same area.
"""

from __future__ import annotations

import zlib

import numpy as np


class Streams:
    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, name: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])


def choose_rows(rng: np.random.Generator, cumulative_rows: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (rows × categories) cumulative matrix."""
    u = rng.random(int(cumulative_rows.shape[0]))[:, None]
    return np.minimum((cumulative_rows <= u).sum(axis=1), cumulative_rows.shape[1] - 1)


def cumulative(weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    c = np.cumsum(w, axis=-1)
    return c / c[..., -1:]


def fixed_size_sample(rng: np.random.Generator, p: np.ndarray, size: int) -> np.ndarray:
    """Indices of a fixed-size sample whose inclusion probabilities are close to `p`.

    Pareto sampling (Rosén 1997): rank by (U/(1-U)) / (p/(1-p)) and keep the `size` smallest.
    Used where the area total must hit a published figure exactly (prevalence) while who gets
    it still follows each person's own probability.
    """
    if size <= 0:
        return np.empty(0, dtype=np.int64)
    p = np.clip(p, 1e-12, 1 - 1e-9)
    u = rng.random(p.shape[0])
    rank = (u / (1 - u)) / (p / (1 - p))
    size = min(size, p.shape[0])
    return np.argpartition(rank, size - 1)[:size]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def calibrate_intercept(linear: np.ndarray, target_total: float) -> float:
    """The intercept a for which sum(sigmoid(a + linear)) equals target_total.

    Newton's method on a monotone function (a handful of passes even for millions of people);
    `linear` may hold -inf for people who cannot have the outcome.
    """
    finite = linear[np.isfinite(linear)]
    if finite.size == 0 or target_total <= 0:
        return -50.0
    target_total = min(target_total, finite.size - 1e-6)
    a = float(
        np.log(target_total / finite.size)
        - np.log1p(-target_total / finite.size)
        - np.median(finite)
    )
    for _ in range(100):
        p = sigmoid(a + finite)
        gap = p.sum() - target_total
        slope = float((p * (1 - p)).sum())
        if abs(gap) < 1e-6 * max(target_total, 1.0) or slope <= 0:
            break
        a -= float(np.clip(gap / slope, -5.0, 5.0))
    return a


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of `counts` members: the group index and position within it of each member."""
    counts = np.asarray(counts, dtype=np.int64)
    group = np.repeat(np.arange(counts.shape[0]), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    return group, np.arange(group.shape[0], dtype=np.int64) - first
