"""Benchmark (issue 18): the shadow budget ledger of a capitated contract for a cohort of about
15,000 people over three years, on a generated area, through `build_ledger` as the CLI and the
pages call it (cohort refreshed each year, activity priced, statements).

    python3 -m uv run --frozen joinedup generate -n 300000 --home DIR
    python3 -m uv run --frozen python bench/bench_contract_ledger.py --home DIR

The cohort is the shipped contract's with mild frailty added (65+ with any frailty), which
gives about 15,000 members a year on the 300,000-person area.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import time
from pathlib import Path

from joinedup.commissioning.contracts.definition import find_contract, parse_contract
from joinedup.commissioning.contracts.ledger import build_ledger
from joinedup.population.store import PopulationStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, required=True)
    args = parser.parse_args()
    store = PopulationStore(args.home / "population")
    shipped = find_contract("frailty-alliance")
    cohort = parse_contract(
        {
            "name": "bench",
            "cohort": {
                "conditions": [
                    {"column": "age", "op": ">=", "value": 65},
                    {"column": "efi_category", "op": "in", "value": ["mild", "moderate", "severe"]},
                ]
            },
            "start": shipped.start,
            "years": shipped.years,
            "services": {"ae_attendances": {"price": 1}},
            "capitation": {
                "source": "bench",
                "base_rate": 1,
                "age_sex_weights": [{"ages": "0+", "F": 1, "M": 1}],
                "need_weights": {"column": "efi_category", "weights": {"mild": 1}},
            },
            "risk_share": {
                "gain": [{"up_to": 0.1, "provider_share": 0.5}],
                "loss": [{"up_to": 0.1, "provider_share": 0.5}],
            },
            "outcomes": {
                "value_at_risk": 0.1,
                "measures": [
                    {"measure": "emergency_admissions", "target_change": -0.05, "share": 1}
                ],
            },
        },
        "bench",
    )
    contract = dataclasses.replace(
        shipped, cohort_scheme=cohort.cohort_scheme, cohort_segment=cohort.cohort_segment
    )
    started, cpu = time.perf_counter(), time.process_time()
    ledger = build_ledger(store, contract)
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    members = [y.movement.members_at_start for y in ledger.years]
    print(f"machine: {os.cpu_count()} cores (shared with other sessions: an upper bound)")
    print(f"members at the start of each year: {', '.join(f'{m:,}' for m in members)}")
    print(f"months: {len(ledger.months)}; services priced: {len(contract.tariffs)}")
    print(f"ledger: {wall:.1f} s wall, {used:.1f} s CPU, peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
