"""How `make test` shares the suite between its xdist workers.

Like ``--dist loadfile`` (each test file runs whole on one worker, so its module fixtures are
built once), with three changes that the suite's wall time showed were needed:

* every Spark test is one unit, so one worker starts the one JVM of the run (each costs
  ~15 s of start and ~3 GB) instead of both;
* every browser test is one unit, so one worker starts Chromium and a live server;
* units are handed out longest first (LPT), by the seconds recorded in
  ``tests/durations.json``, so that the run does not end with one worker idle while the other
  finishes a long file. A unit not recorded there counts a second a test.

``tests/durations.json`` is refreshed from a run's ``--durations=0`` report by
``scripts/record_test_durations.py``; stale figures only cost balance, never correctness.
"""

from __future__ import annotations

import json
from pathlib import Path

from xdist.scheduler import LoadScopeScheduling

DURATIONS = Path(__file__).with_name("durations.json")
SECONDS_PER_UNRECORDED_TEST = 1.0


def work_unit(nodeid: str) -> str:
    """The unit a test belongs to: "spark", "browser" or its file."""
    path = nodeid.split("::", 1)[0]
    if "spark" in nodeid.rsplit("::", 1)[-1]:
        return "spark"
    if path.startswith("tests/browser/"):
        return "browser"
    return path


def recorded_seconds() -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(DURATIONS.read_text()).items()}
    except (OSError, ValueError):
        return {}


class LongestFirstScheduling(LoadScopeScheduling):
    """Units as `work_unit` says, handed out longest first."""

    def __init__(self, config, log=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(config, log)
        self._seconds = recorded_seconds()
        self._ordered = False

    def _split_scope(self, nodeid: str) -> str:
        return work_unit(nodeid)

    def _assign_work_unit(self, node) -> None:  # type: ignore[no-untyped-def]
        if not self._ordered:
            units = sorted(self.workqueue.items(), key=lambda unit: -self._cost(*unit))
            self.workqueue.clear()
            self.workqueue.update(units)
            self._ordered = True
        super()._assign_work_unit(node)

    def _cost(self, unit: str, tests: dict[str, bool]) -> float:
        return self._seconds.get(unit, SECONDS_PER_UNRECORDED_TEST * len(tests))
