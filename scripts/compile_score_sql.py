"""Compile the ICD-10 score pipelines to the DuckDB SQL that `joinedup score` runs.

    uv run python scripts/compile_score_sql.py [--check]

Writes `src/joinedup/analytics/scores/data/extract_sql/<score>.sql` for each score compiled
ahead (`SCORERS[...].compiled_ahead`): the score's Ibis pipeline with its default options, over
the tables `extract_rows` (person_id, code), `extract_people` (person_id[, age]) and
`extract_lexicon` (code: the distinct codes), its lookup tables written in as VALUES
(`joinedup.analytics.score_sql`). Run it after changing a score pipeline or its tables;
`--check` compiles in memory and fails if a stored file differs (the unit tests do the same).
"""

from __future__ import annotations

import argparse
import sys

from joinedup.analytics.extract_scoring import SCORERS
from joinedup.analytics.score_sql import STORED, pipeline_sql


def compiled() -> dict[str, str]:
    """Each score compiled ahead: its SQL, fresh from its pipeline."""
    return {
        name: pipeline_sql(
            spec.load_pipeline(), spec.input_schema(spec.columns), spec.side_inputs()
        )
        for name, spec in SCORERS.items()
        if spec.compiled_ahead
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a stored file differs")
    args = parser.parse_args(argv)
    stale = []
    for name, sql in compiled().items():
        path = STORED / f"{name}.sql"
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != sql:
                stale.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql, encoding="utf-8")
        print(f"wrote {path} ({len(sql):,} characters)")
    if stale:
        print(f"stale: {', '.join(stale)} (run scripts/compile_score_sql.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
