"""What the commissioner pages call: the shipped contracts, each one's ledger and evaluation
report (kept per store state, contract and left-out people, as both take seconds on a whole
area), and the what-if terms read from a form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from threading import Lock
from typing import TYPE_CHECKING

from joinedup.commissioning.contracts.definition import (
    Band,
    Contract,
    ContractError,
    RiskShare,
    check_bands,
    contract_files,
    find_contract,
    load_contract,
)
from joinedup.commissioning.contracts.ledger import Ledger, build_ledger
from joinedup.commissioning.contracts.report import EvaluationReport, evaluation_report
from joinedup.governance.objections import active_objectors
from joinedup.population.store import METADATA_FILE, PopulationStore

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

_CACHE: dict[tuple[object, ...], object] = {}
_LOCK = Lock()
_KEEP = 8


def contracts() -> list[Contract]:
    return [load_contract(path) for path in contract_files()]


def _stamp(store: PopulationStore) -> tuple[str, float]:
    meta = store.root / METADATA_FILE
    return str(store.root), meta.stat().st_mtime if meta.is_file() else 0.0


def _cached(key: tuple[object, ...], make):  # type: ignore[no-untyped-def]
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    value = make()
    with _LOCK:
        if len(_CACHE) >= _KEEP:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = value
    return value


def contract_ledger(store: PopulationStore, name: str, leave_out: Iterable[int] = ()) -> Ledger:
    contract = find_contract(name)
    excluded = frozenset(leave_out)
    key = ("ledger", *_stamp(store), name, hash(excluded))
    ledger: Ledger = _cached(key, lambda: build_ledger(store, contract, excluded))
    return ledger


def secondary_use_ledger(
    store: PopulationStore, sessions: sessionmaker[Session], name: str
) -> Ledger:
    """The ledger as it may be used for commissioning, by the pages and `joinedup contract`
    alike: a shadow budget is planning, a secondary use, so everyone with an objection in force
    (type 1 or the national data opt-out) is left out of both budget and spend."""
    return contract_ledger(store, name, active_objectors(sessions))


def contract_evaluation(store: PopulationStore, name: str, today: dt.date) -> EvaluationReport:
    contract = find_contract(name)
    key = ("evaluation", *_stamp(store), name, today)
    report: EvaluationReport = _cached(key, lambda: evaluation_report(store, contract, today))
    return report


def terms_from_form(form: Mapping[str, str], terms: RiskShare) -> RiskShare:
    """Risk-share terms from the what-if form (percentages), the contract's where left blank;
    a `ContractError` says which field is wrong."""
    return RiskShare(
        gain=_bands(form, "gain", terms.gain),
        loss=_bands(form, "loss", terms.loss),
        gain_cap=_percent(form, "gain_cap", terms.gain_cap, "the cap on gains"),
        loss_cap=_percent(form, "loss_cap", terms.loss_cap, "the cap on losses"),
    )


def _bands(form: Mapping[str, str], kind: str, bands: tuple[Band, ...]) -> tuple[Band, ...]:
    read = []
    for i, band in enumerate(bands, start=1):
        edge = _percent(form, f"{kind}_{i}_up_to", band.up_to, f"{kind} band {i}'s upper edge")
        share = _percent(
            form,
            f"{kind}_{i}_share",
            band.provider_share,
            f"the provider's share of {kind} band {i}",
        )
        read.append(Band(edge or 0.0, share or 0.0))
    return check_bands(tuple(read), f"the {kind} bands")


def _percent(form: Mapping[str, str], field: str, default: float | None, what: str) -> float | None:
    raw = (form.get(field) or "").strip().rstrip("%")
    if field not in form:
        return default
    if not raw:
        return None if field.endswith("_cap") else default
    try:
        value = float(raw) / 100
    except ValueError:
        raise ContractError(f"Enter {what} as a percentage, like 2.5") from None
    if not 0 <= value <= 1:
        raise ContractError(f"Enter {what} as a percentage from 0 to 100")
    return value
