"""Figures read from the population store, kept while the store is unchanged (its
area.json is rewritten with every whole-store write): pages would otherwise re-read it on every
request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from joinedup.population.store import METADATA_FILE

# Figures read from the population store, kept while the store is unchanged (its area.json is
# rewritten with every whole-store write): pages would otherwise re-read it on every request.
STORE_CACHE: dict[tuple[Any, ...], Any] = {}


_STORE_CACHE_SIZE = 16


def store_version(store: Any) -> tuple[str, int]:
    metadata = Path(store.root) / METADATA_FILE
    return str(store.root), metadata.stat().st_mtime_ns if metadata.is_file() else 0


def remember(key: tuple[Any, ...], value: Any) -> None:
    if len(STORE_CACHE) >= _STORE_CACHE_SIZE:
        STORE_CACHE.pop(next(iter(STORE_CACHE)))
    STORE_CACHE[key] = value
