"""What a worker reads before it serves, so that no user's request waits for it (issue 14).

The first person page of a process used to read the whole population's identities and eight
record tables, the first worklist to compare the last two stratification runs, and the first
view of each case-finding list to work the list out over the whole area: seconds of CPU each,
paid by whoever came first (14 s for the first person page on a loaded machine). `joinedup
serve --workers N` warms these in each worker's start-up, before the worker takes connections
(uvicorn runs the app's lifespan first), so /health answers only from a warm worker; a single
process (`joinedup serve`, the demo) serves at once and warms in a background thread, so the
demo's address answers as soon as it is printed. Tests and embedded apps do not ask for it.

Each step is independent: one that fails (no store yet, no run) is left for the page to report
in its own words, and the worker still starts.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable

from joinedup.analytics import case_finding as cf
from joinedup.analytics.stratify import latest_run, list_runs
from joinedup.care.person_record import warm_person_reads
from joinedup.care.worklist import risers_between
from joinedup.population.reads import organisations, registered_person_ids
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.templating import templates

log = logging.getLogger(__name__)


def warm_caches(settings: Settings, stop: threading.Event | None = None) -> float:
    """Read what the busiest pages read first, in this process; returns the seconds taken and
    says so on standard error (which `bench/load/run_load.py` waits for, one line a worker).
    With `stop`, no further step starts once it is set (the process is stopping)."""
    started = time.perf_counter()
    store = PopulationStore(settings.population_dir)
    for name, step in _steps(settings, store):
        if stop is not None and stop.is_set():
            return time.perf_counter() - started
        try:
            step()
        except Exception:  # a page reports its own trouble; the worker must still start
            log.warning("warming %s failed; the first page to need it will read it", name)
    took = time.perf_counter() - started
    print(f"joinedup worker {os.getpid()}: caches warm in {took:.1f} s", file=sys.stderr)
    return took


def _steps(settings: Settings, store: PopulationStore) -> list[tuple[str, Callable[[], object]]]:
    run = latest_run(settings)
    return [
        ("identities", lambda: registered_person_ids(store)),
        ("organisations", lambda: organisations(store)),
        ("person records", lambda: warm_person_reads(store, cf.extract_date(store), run)),
        ("case-finding lists", lambda: cf.list_counts(store, run=run)),
        ("risers", lambda: _risers(settings)),
        ("templates", _templates),
    ]


def _risers(settings: Settings) -> None:
    runs = list_runs(settings)
    if len(runs) >= 2:
        risers_between(settings, runs[-2].run_id, runs[-1].run_id)


def _templates() -> None:
    """Compile every page template now (Jinja compiles each on first use)."""
    for name in templates.env.list_templates(extensions=["html"]):
        templates.env.get_template(name)


class BackgroundWarm:
    """`warm_caches` in a thread of its own, for a process that serves while it warms, stopped
    cleanly with the server: `stop()` lets the step under way finish and starts no other.

    Why not a daemon thread left to die with the process: a thread still inside DuckDB when
    Python exits is cut off mid-statement, and the process aborts ("terminate called … FATAL:
    exception not rethrown") instead of stopping, as the demo did on Ctrl+C soon after start."""

    def __init__(self, settings: Settings) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=warm_caches, args=(settings, self._stop), name="joinedup-warm"
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
