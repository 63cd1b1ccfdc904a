"""Benchmark the community-services directory: ORUK import, re-import and export, and the
public /api/oruk/ reads (in-process, warm).

    uv run python bench/bench_directory.py [--services 5000] [--requests 200] [--database-url URL]

Builds N fictional services (fully nested ORUK records: organisation, location with address and
accessibility, schedule, cost, language, contact with phone, an Open Eligibility term) spread
over a 15 km disc, in a fresh care store (a temporary SQLite file unless --database-url names an
empty database). Then it times the first import, the same file again ("no changes"), the export,
and `--requests` requests of each API read: a page of services, a text search, a taxonomy
filter, a 2 km proximity search and one full service. Prints timings only.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.migrate import upgrade
from joinedup.directory.importer import SourceFile, import_directory
from joinedup.directory.services import export_page
from joinedup.directory.synthetic import AREA_CENTRE, OPEN_ELIGIBILITY_CATEGORIES
from joinedup.directory.taxonomies import OPEN_ELIGIBILITY, derived_id
from joinedup.settings import Settings
from joinedup.web.app import create_app

WORDS = ("Larder", "Walks", "Advice", "Club", "Circle", "Café", "Drop-in", "Transport", "Clinic")


def build(count: int, seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)
    services = []
    for n in range(count):

        def sid(kind: str, n: int = n) -> str:
            return derived_id("bench", str(n), kind)

        category = OPEN_ELIGIBILITY_CATEGORIES[n % len(OPEN_ELIGIBILITY_CATEGORIES)]
        km, angle = 15 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        lat = AREA_CENTRE[0] + km * math.cos(angle) / 111.32
        lon = AREA_CENTRE[1] + km * math.sin(angle) / (111.32 * math.cos(math.radians(lat)))
        services.append(
            {
                "id": sid("service"),
                "name": f"Bench {rng.choice(WORDS)} {n}",
                "description": f"Fictional {category.lower()} service number {n}.",
                "status": "active",
                "assured_date": "2026-01-01",
                "organization": {
                    "id": derived_id("bench-org", str(n % 200)),
                    "name": f"Bench Trust {n % 200}",
                    "description": "Fictional.",
                },
                "schedules": [{"id": sid("schedule"), "freq": "WEEKLY", "byday": "MO,TH"}],
                "cost_options": [{"id": sid("cost"), "amount": 0.0}],
                "languages": [{"id": sid("language"), "name": "English", "code": "en"}],
                "contacts": [
                    {
                        "id": sid("contact"),
                        "phones": [{"id": sid("phone"), "number": "01632 960000"}],
                    }
                ],
                "attributes": [
                    {
                        "id": sid("attribute"),
                        "taxonomy_term": {
                            "id": derived_id("term", OPEN_ELIGIBILITY.name, category),
                            "name": category,
                            "description": category,
                            "taxonomy": OPEN_ELIGIBILITY.name,
                            "taxonomy_id": OPEN_ELIGIBILITY.id,
                        },
                    }
                ],
                "service_at_locations": [
                    {
                        "id": sid("at"),
                        "location": {
                            "id": sid("location"),
                            "location_type": "physical",
                            "latitude": round(lat, 6),
                            "longitude": round(lon, 6),
                            "addresses": [
                                {
                                    "id": sid("address"),
                                    "address_1": f"{n} High Street",
                                    "city": "Benchford",
                                    "state_province": "England",
                                    "postal_code": "ZZ1 1AA",
                                    "country": "GB",
                                    "address_type": "physical",
                                }
                            ],
                            "accessibility": [{"id": sid("access"), "description": "Step-free."}],
                        },
                    }
                ],
            }
        )
    return {"contents": services}


def timed(label: str, action: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = action()
    print(f"{label:<40} {time.perf_counter() - start:8.2f} s")
    return result


def percentiles(client: TestClient, label: str, path: str, params: dict[str, Any], n: int) -> None:
    client.get(path, params=params)  # warm
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path, params=params)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text
    times.sort()
    p95 = times[max(0, math.ceil(0.95 * n) - 1)]
    print(f"{label:<40} median {statistics.median(times):6.1f} ms   p95 {p95:6.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, {args.services:,} services")
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'care.db'}"
        upgrade(url)
        sessions = session_factory(make_engine(url))
        data = json.dumps(build(args.services)).encode()
        print(f"file size {len(data) / 1e6:.1f} MB")
        source = [SourceFile("bench.json", data)]

        def load() -> Any:
            return import_directory(sessions, "bench", source, source_name="bench.json")

        first = timed("import (all new)", load)
        assert first.created == args.services, first.rejected[:3]
        again = timed("import again (no changes)", load)
        assert again.no_changes
        exported = timed("export (one page, fully nested)", lambda: export_page(sessions))
        assert exported["total_items"] == args.services
        client = TestClient(create_app(Settings(home=Path(folder), database_url=url)))
        term = derived_id("term", OPEN_ELIGIBILITY.name, "Food")
        lat, lon = AREA_CENTRE
        reads = [
            ("/services page 1 of 50", "/api/oruk/services", {}),
            ("/services page 40 of 50", "/api/oruk/services", {"page": 40}),
            ("/services?search=larder", "/api/oruk/services", {"search": "larder"}),
            ("/services?taxonomy_term_id (Food)", "/api/oruk/services", {"taxonomy_term_id": term}),
            (
                "/services lat/lon proximity 2 km",
                "/api/oruk/services",
                {"lat": lat, "lon": lon, "proximity": 2000},
            ),
            ("/services lat/lon, all by distance", "/api/oruk/services", {"lat": lat, "lon": lon}),
            (
                "/services/{id} (full)",
                f"/api/oruk/services/{exported['contents'][0]['id']}",
                {},
            ),
        ]
        for label, path, params in reads:
            percentiles(client, label, path, params, args.requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
