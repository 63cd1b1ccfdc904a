"""The web app's audit sealer: seals the events requests appended into the hash chain, every
second, in a background thread of each worker process (ADR 0028).

Requests append their audit events unsealed, so no request waits for another's append; this
thread links them into the chain (`joinedup.carestore.audit_chain.seal_pending`). Several
workers each run one: the chain's lock makes their seals take turns, and a seal that finds
nothing to do costs one indexed look-up. A failed seal (the database restarting) is logged and
retried on the next tick; the events wait, unsealed but committed, and nothing is lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from joinedup.carestore.audit_chain import seal_pending
from joinedup.web.app_state import app_sessions

log = logging.getLogger(__name__)

#: Seconds between seals: the longest an event waits outside the chain while the app runs.
SEAL_INTERVAL_SECONDS = 1.0


class AuditSealer:
    """A daemon thread calling `seal_pending` every `interval` seconds until stopped."""

    def __init__(self, app: FastAPI, interval: float = SEAL_INTERVAL_SECONDS) -> None:
        self._app = app
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-sealer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after a last seal, so events written up to shutdown are in the chain."""
        self._stop.set()
        self._thread.join(timeout=30)
        self._seal_once()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._seal_once()

    def _seal_once(self) -> None:
        try:
            seal_pending(app_sessions(self._app))
        except SQLAlchemyError as exc:  # the database is away: the events wait for the next
            log.warning("audit events not sealed this time (%s); retrying", type(exc).__name__)


@asynccontextmanager
async def sealing(app: FastAPI) -> AsyncIterator[None]:
    """The app's lifespan: seal audit events in the background while it serves."""
    sealer = AuditSealer(app)
    sealer.start()
    try:
        yield
    finally:
        sealer.stop()
