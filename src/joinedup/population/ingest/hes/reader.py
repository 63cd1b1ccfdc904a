"""`read_hes`: the reader of one HES extract, by kind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from joinedup.population.ingest.hes.ae import read_ae
from joinedup.population.ingest.hes.apc import read_apc
from joinedup.population.ingest.hes.fields import HesKind
from joinedup.population.ingest.hes.outpatients import read_op
from joinedup.population.ingest.hes.source import Source
from joinedup.population.ingest.records import ReaderItem


def read_hes(kind: HesKind, path: Path) -> Iterator[ReaderItem]:
    """Every record of the HES extract `path` of `kind` as rows, rejects and unsupported items."""
    readers: dict[str, Callable[[Source], Iterator[ReaderItem]]] = {
        "apc": read_apc,
        "ae": read_ae,
        "op": read_op,
    }
    if kind not in readers:
        raise ValueError(f"unknown HES kind {kind!r}: choose apc, ae or op")
    source = Source(kind, Path(path))
    yield from source.guarded(readers[kind])
