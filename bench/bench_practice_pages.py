"""Benchmark the practice-variation pages through the web app (in-process).

    uv run python bench/bench_practice_pages.py --home DIR [--warm 20] [--first 1]

DIR is a JOINEDUP home with a population store and a migrated care store (ideally the
300,000-person demo area, with the demo's objections loaded). Four pages are timed:

* the matrix ``/commissioning/practices``;
* a practice page ``/commissioning/practices/{code}`` (with its five-year trend);
* a funnel plot ``/commissioning/practices/funnel/emergency_admissions``;
* the drill-down ``/commissioning/practices/{code}/hypertension/people``, as a commissioner
  (pseudonyms) and as a GP of the practice (named).

**First view**: each page is requested once in a new Python process (nothing in memory), after
the app is built, so the time is what the first user after a restart waits. With ``--fresh``
the variation results kept on disk for the store are deleted first, so the time includes
working them out from the population store (what the first view after a new store costs).
``--first N`` repeats that N times per page for percentiles. **Warm**: the page requested
``--warm`` more times in the same process. Prints timings only, never patient data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from joinedup.carestore.db import make_engine, session_factory
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.roles import Principal
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from joinedup.web.security import current_principal

PAGES = ("matrix", "practice", "funnel", "people_pseudonymised", "people_named")
INDICATOR = "emergency_admissions"
DRILL_INDICATOR = "hypertension"


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share from 0 to 1) of `values`."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _first_practice(store: PopulationStore) -> str:
    orgs = store.read("organisations", columns=["org_code", "org_type"]).to_pylist()
    return sorted(o["org_code"] for o in orgs if o["org_type"] == "practice")[0]


def _gp_of(settings: Settings, practice: str) -> Principal:
    """A GP user working in `practice` (made once in the care store)."""
    sessions = session_factory(make_engine(settings.database_url))
    name = f"bench-gp-{practice.lower()}"
    with sessions() as session, session.begin():
        user = session.query(User).filter_by(username=name).one_or_none()
        if user is None:
            user = User(
                username=name,
                display_name="Bench GP",
                role="gp",
                created_at=dt.datetime.now(dt.UTC),
            )
            session.add(user)
            session.flush()
            session.add(UserOrganisation(user_id=user.id, org_code=practice))
        uid = user.id
    return Principal(uid, name, "Bench GP", "gp", (practice,), csrf_token="bench")


def _request(settings: Settings, page: str) -> tuple[str, Principal]:
    store = PopulationStore(settings.population_dir)
    code = _first_practice(store)
    commissioner = Principal(9_999_001, "bench-c", "Bench", "commissioner", (), csrf_token="b")
    urls = {
        "matrix": "/commissioning/practices",
        "practice": f"/commissioning/practices/{code}",
        "funnel": f"/commissioning/practices/funnel/{INDICATOR}",
        "people_pseudonymised": f"/commissioning/practices/{code}/{DRILL_INDICATOR}/people",
        "people_named": f"/commissioning/practices/{code}/{DRILL_INDICATOR}/people",
    }
    who = _gp_of(settings, code) if page == "people_named" else commissioner
    return urls[page], who


def time_page(settings: Settings, page: str, warm: int) -> dict[str, Any]:
    """One page in this process: the first request, then `warm` more."""
    url, who = _request(settings, page)
    app = create_app(settings)
    app.dependency_overrides[current_principal] = lambda: who
    client = TestClient(app)
    times = []
    for _ in range(1 + warm):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise SystemExit(f"{page}: {url} answered {response.status_code}")
    return {"first": times[0], "warm": times[1:]}


def _in_new_process(home: Path, page: str, warm: int, fresh: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--home", str(home), "--page", page, "--warm", str(warm)]
    if fresh:
        command.append("--fresh")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr or done.stdout)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _forget_kept_results(settings: Settings) -> None:
    """Delete the variation inputs kept on disk for this store (`variation.kept`)."""
    from joinedup.analytics.variation.kept import forget

    forget(PopulationStore(settings.population_dir))


def _ms(seconds: float) -> str:
    return f"{1000 * seconds:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--warm", type=int, default=20, help="warm requests per page")
    parser.add_argument("--first", type=int, default=1, help="first views per page")
    parser.add_argument("--fresh", action="store_true", help="delete kept results first")
    parser.add_argument("--page", choices=PAGES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings = Settings.from_env(args.home)
    if args.page:  # the child process: one page
        if args.fresh:
            _forget_kept_results(settings)
        print(json.dumps(time_page(settings, args.page, args.warm)))
        return
    people = PopulationStore(settings.population_dir).metadata().get("patients")
    first = "worked out from the store" if args.fresh else "from the inputs kept on disk"
    print(
        f"practice variation pages, {people:,} people, {platform.machine()}, "
        f"{os.cpu_count()} CPUs; first views (new process) {first}"
    )
    print(f"{'page':<22}{'first p50':>11}{'first p95':>11}{'warm p50':>10}{'warm p95':>10}  (ms)")
    for page in PAGES:
        firsts, warms = [], []
        for _ in range(args.first):
            found = _in_new_process(args.home, page, args.warm, args.fresh)
            firsts.append(found["first"])
            warms += found["warm"]
        print(
            f"{page:<22}{_ms(percentile(firsts, 0.5)):>11}{_ms(percentile(firsts, 0.95)):>11}"
            f"{_ms(statistics.median(warms)):>10}{_ms(percentile(warms, 0.95)):>10}"
        )


if __name__ == "__main__":
    main()
