"""Record how long each work unit of the suite took, for tests/scheduling.py.

    uv run pytest -n 2 --dist loadfile --junitxml=test-artifacts/junit.xml
    uv run python scripts/record_test_durations.py test-artifacts/junit.xml

Writes tests/durations.json: seconds per unit (a test file, or "spark" / "browser"), summed
over setup, call and teardown of its tests.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.scheduling import DURATIONS, work_unit


def nodeid(case: ElementTree.Element) -> str:
    """The pytest node id of a junit test case (file from its classname, then its name)."""
    parts = case.get("classname", "").split(".")
    module = next(i for i in range(len(parts), 0, -1) if parts[i - 1].startswith("test_"))
    path = "/".join(parts[:module]) + ".py"
    return "::".join([path, *parts[module:], case.get("name", "")])


def unit_seconds(junit: Path) -> dict[str, float]:
    seconds: dict[str, float] = defaultdict(float)
    for case in ElementTree.parse(junit).iter("testcase"):
        seconds[work_unit(nodeid(case))] += float(case.get("time", 0))
    return {unit: round(total, 1) for unit, total in sorted(seconds.items())}


if __name__ == "__main__":
    figures = unit_seconds(Path(sys.argv[1]))
    DURATIONS.write_text(json.dumps(figures, indent=1) + "\n")
    print(f"{len(figures)} units, {sum(figures.values()):.0f} s in all -> {DURATIONS}")
