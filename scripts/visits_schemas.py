"""Write the visit planner's JSON Schemas to docs/visits/ (run after changing the models)."""

from __future__ import annotations

import json
from pathlib import Path

from joinedup.neighbourhood.visits.schema import schemas

DOCS = Path(__file__).resolve().parents[1] / "docs" / "visits"

if __name__ == "__main__":
    DOCS.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas().items():
        path = DOCS / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(DOCS.parents[1])}")
