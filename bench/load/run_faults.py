"""The fault run of issue 14: the load test on a throwaway PostgreSQL cluster started here,
with one web worker SIGKILLed and the cluster restarted while 50 users work.

    JOINEDUP_HOME=DIR JOINEDUP_DATABASE_URL=postgresql://...(the demo's care store) \\
        uv run python bench/load/run_faults.py --minutes 3 --out OUT

It never touches the server behind JOINEDUP_DATABASE_URL but to copy it: it initialises a new
cluster in a temporary folder (``initdb``, run as the ``postgres`` user when started as root),
starts it on a free port, copies the demo's care store into it (``pg_dump | psql``), then runs
`bench/load/run_load.py` against it with ``--kill-worker-at`` and ``--restart-postgres-at``,
and stops the cluster. The load runner's summary then says whether any write was lost, half
done or duplicated, what the clients saw (errors by page: 503 retry pages expected while the
database restarts, never a 500) and whether the audit chain verifies.
"""

from __future__ import annotations

import argparse
import glob
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kill-worker-at", type=float, default=60)
    parser.add_argument("--restart-postgres-at", type=float, default=110)
    parser.add_argument("--out", default="faults-out")
    args = parser.parse_args()
    source = make_url(os.environ["JOINEDUP_DATABASE_URL"])
    bindir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
    folder = Path(tempfile.mkdtemp(prefix="joinedup-faults-"))
    os.chmod(folder, 0o777)
    data, port = folder / "data", _free_port()
    _as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"])
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c max_connections=200"
    _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "start",
                  "-l", str(folder / "server.log")])  # fmt: skip
    try:
        target = f"postgresql://postgres@127.0.0.1:{port}/joinedup"
        _run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
              "joinedup"])  # fmt: skip
        dump = subprocess.Popen(
            [str(bindir / "pg_dump"), "--no-owner", _libpq(source)], stdout=subprocess.PIPE
        )
        _run([str(bindir / "psql"), "-q", "-o", "/dev/null", target], stdin=dump.stdout)
        if dump.wait() != 0:
            raise SystemExit("pg_dump of the demo's care store failed")
        env = dict(
            os.environ,
            JOINEDUP_DATABASE_URL=target,
            JOINEDUP_AUDIT_ANCHORS=str(folder / "audit-anchors.jsonl"),
        )
        command = [
            sys.executable, str(HERE / "run_load.py"), "--users", str(args.users),
            "--workers", str(args.workers), "--minutes", str(args.minutes), "--out", args.out,
            "--kill-worker-at", str(args.kill_worker_at),
            "--restart-postgres-at", str(args.restart_postgres_at), "--pg-data", str(data),
        ]  # fmt: skip
        subprocess.run(command, env=env, check=True)
    finally:
        _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])


def _libpq(url: object) -> str:
    parsed = make_url(str(url)).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def _as_postgres(command: list[str]) -> None:
    _run(["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command)


def _run(command: list[str], **kwargs: object) -> None:
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


if __name__ == "__main__":
    main()
