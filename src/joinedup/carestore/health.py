"""Is the care store reachable and migrated? For the ``/health`` endpoint and the CLI."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from joinedup.carestore.db import backend_name, sqlite_path
from joinedup.carestore.migrate import current_revision, head_revision, is_known_revision

HEALTH_CONNECT_TIMEOUT = 3  # seconds: a health check must answer quickly


def care_store_health(url: str) -> dict[str, Any]:
    """The care store's state, safe to show: never the URL, a password or patient data.

    ``status`` is ``ok`` (reachable and at head), ``needs_upgrade`` (reachable, behind or
    never migrated: run ``joinedup db upgrade``), ``unknown_revision`` (migrated by a newer
    version of joinedup than this one) or ``unreachable`` (see ``error``).
    """
    head = head_revision()
    report: dict[str, Any] = {
        "status": "unreachable",
        "backend": backend_name(url),
        "reachable": False,
        "revision": None,
        "head": head,
        "up_to_date": False,
        "error": None,
    }
    path = sqlite_path(url)
    if path is not None and not path.is_file():  # connecting would create an empty file
        report["error"] = "the care store database file does not exist"
        return report
    try:
        revision = current_revision(url, connect_timeout=HEALTH_CONNECT_TIMEOUT)
    except SQLAlchemyError as exc:
        report["error"] = _describe(exc)
        return report
    report.update(
        reachable=True,
        revision=revision,
        up_to_date=revision == head,
        status=_status(revision, head),
    )
    return report


def _status(revision: str | None, head: str) -> str:
    if revision == head:
        return "ok"
    if revision is None or is_known_revision(revision):
        return "needs_upgrade"
    return "unknown_revision"


def _describe(exc: SQLAlchemyError) -> str:
    cause = getattr(exc, "orig", None) or exc
    first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {first_line}".rstrip(": ")
