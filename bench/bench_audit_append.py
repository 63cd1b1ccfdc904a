"""Audit appends under concurrency: T threads each recording views (`record_view`, what every
person page does) for S seconds against one care store; prints appends per second and the
append's p50/p95/p99 latency, then verifies the chain (issue 14, ADR 0028).

    JOINEDUP_DATABASE_URL=postgresql://... uv run python bench/bench_audit_append.py 16 20

The database should be a fresh one (`joinedup db upgrade` is run here). Run it on an older
checkout to compare the one-lock append with the sealed-in-batches one.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time

from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.migrate import upgrade
from joinedup.governance.audit import record_view, verify_audit_chain
from joinedup.governance.roles import Principal


def main() -> None:
    threads, seconds = int(sys.argv[1]), float(sys.argv[2])
    url = os.environ["JOINEDUP_DATABASE_URL"]
    upgrade(url)
    sessions = session_factory(make_engine(url))
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(threads + 1)
    stop_at: list[float] = []

    def viewer(n: int) -> None:
        who = Principal(n, f"bench-{n}", f"Bench {n}", "gp", ("X",), "t")
        mine = []
        start.wait()
        while time.perf_counter() < stop_at[0]:
            began = time.perf_counter()
            record_view(sessions, who, person_id=n, what="person.page")
            mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=viewer, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    stop_at.append(time.perf_counter() + seconds)
    start.wait()
    for w in workers:
        w.join()
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    print(f"{threads} threads, {seconds:.0f} s: {len(latencies):,} appends, "
          f"{len(latencies) / seconds:,.0f}/s; latency p50 {q[49] * 1000:.1f} ms, "
          f"p95 {q[94] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms")  # fmt: skip
    began = time.perf_counter()
    report = verify_audit_chain(sessions)
    print(f"verify (sealing included): ok={report.ok}, {report.rows_checked:,} entries, "
          f"{time.perf_counter() - began:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
