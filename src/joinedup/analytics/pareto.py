"""Cost concentration (Pareto) and segment totals over a person summary. Engine-neutral Ibis.

Rules
-----
* Cost is ``cost_12m`` (see ``person_summary``), counted in whole pence so sums are exact.
* For each group — the whole area, each neighbourhood, each practice — people are ranked by
  cost within the group, highest first. The **top p%** is the ⌈p × n / 100⌉ highest-cost people
  of the group's n (at least one person when the group has anyone). People tied at the
  boundary all cost the same, so which of them is counted does not change the sum.
* ``share`` is the top p%'s cost over the group's total cost (null when the group cost nothing).
* Practices with no neighbourhood are grouped under the code ``NO_NEIGHBOURHOOD``.

`figures_without` recomputes both from a stored run's person results with some people (the
objectors to secondary use) left out, on an embedded DuckDB: the pipelines are the same
Ibis expressions the run used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from joinedup.analytics.engine import connection
from joinedup.analytics.segmentation import Scheme

TOP_PERCENTS: tuple[int, ...] = (1, 2, 5, 10)
AREA = "AREA"
NO_NEIGHBOURHOOD = "NO_NEIGHBOURHOOD"


def _pence(people: ir.Table) -> ir.IntegerValue:
    return (people.cost_12m * 100).round().cast("int64")


def cost_concentration(people: ir.Table, top_percents: Sequence[int] = TOP_PERCENTS) -> ir.Table:
    """Columns: level (area|neighbourhood|practice), group_code, people, total_cost,
    top_percent, top_people, top_cost, share — one row per group and top percent.
    """
    base = people.select(
        "person_id",
        neighbourhood_code=people.neighbourhood_code.fill_null(NO_NEIGHBOURHOOD),
        practice_code=people.practice_code,
        pence=_pence(people),
    )
    levels = (
        ("area", ibis.literal(AREA)),
        ("neighbourhood", base.neighbourhood_code),
        ("practice", base.practice_code),
    )
    parts = []
    for level, code in levels:
        grouped = base.select("person_id", "pence", group_code=code)
        window = ibis.window(
            group_by="group_code", order_by=[ibis.desc(grouped.pence), grouped.person_id]
        )
        ranked = grouped.mutate(
            _position=ibis.row_number().over(window),  # 0 for the highest cost
        )
        ranked = ranked.mutate(
            _people=ranked.count().over(ibis.window(group_by="group_code")).cast("int64")
        )
        # One pass per level: every top percent is a column of the same aggregate.
        tops: dict[str, ir.Value] = {}
        for pct in top_percents:
            inside = ranked._position < (ranked._people * pct + 99) // 100
            tops[f"_n{pct}"] = inside.cast("int64").sum().cast("int64")
            tops[f"_c{pct}"] = ibis.cases((inside, ranked.pence), else_=0).sum().cast("int64")
        rows = ranked.group_by("group_code").aggregate(
            people=ranked.count().cast("int64"), total=ranked.pence.sum().cast("int64"), **tops
        )
        for pct in top_percents:
            top = rows[f"_c{pct}"]
            parts.append(
                rows.select(
                    level=ibis.literal(level),
                    group_code=rows.group_code,
                    people=rows.people,
                    total_cost=rows.total.cast("float64") / 100.0,
                    top_percent=ibis.literal(pct, "int64"),
                    top_people=rows[f"_n{pct}"],
                    top_cost=top.cast("float64") / 100.0,
                    share=ibis.cases(
                        (rows.total > 0, top.cast("float64") / rows.total.cast("float64")),
                        else_=ibis.null("float64"),
                    ),
                )
            )
    result = parts[0]
    for part in parts[1:]:
        result = result.union(part, distinct=False)
    return result


def segment_summary(people: ir.Table, schemes: Sequence[Scheme]) -> ir.Table:
    """People and cost per segment of each scheme (the scheme's column holds segment ids).

    Columns: scheme, segment, people, people_share, total_cost, cost_share. Segments with no
    one in them are absent (the caller knows every segment from the scheme).
    """
    return segment_summary_of(people, [scheme.id for scheme in schemes])


def segment_summary_of(people: ir.Table, scheme_ids: Sequence[str]) -> ir.Table:
    """`segment_summary` for schemes named by their ids (their columns in `people`)."""
    base = people.mutate(_pence=_pence(people))
    everyone = base.aggregate(
        _all_people=base.count().cast("int64"), _all_pence=base._pence.sum().cast("int64")
    )
    parts = []
    for scheme_id in scheme_ids:
        grouped = base.group_by(segment=base[scheme_id]).aggregate(
            people=base.count().cast("int64"), pence=base._pence.sum().cast("int64")
        )
        joined = grouped.cross_join(everyone)
        parts.append(
            joined.select(
                scheme=ibis.literal(scheme_id),
                segment=joined.segment,
                people=joined.people,
                people_share=joined.people.cast("float64") / joined._all_people.cast("float64"),
                total_cost=joined.pence.cast("float64") / 100.0,
                cost_share=ibis.cases(
                    (
                        joined._all_pence > 0,
                        joined.pence.cast("float64") / joined._all_pence.cast("float64"),
                    ),
                    else_=ibis.null("float64"),
                ),
            )
        )
    result = parts[0]
    for part in parts[1:]:
        result = result.union(part, distinct=False)
    return result


@dataclass(frozen=True)
class RunFigures:
    """Cost concentration and segment totals of a run's people, some left out."""

    pareto: pa.Table  # as `cost_concentration`
    segments: pa.Table  # as `segment_summary`
    people: int  # people counted
    left_out: int  # people of the run left out


def figures_without(
    person_results: Path, scheme_ids: Sequence[str], exclude: frozenset[int]
) -> RunFigures:
    """`cost_concentration` and `segment_summary` over a run's person_results.parquet, leaving
    out the people whose person_id is in `exclude` (an anti-join against an in-memory table).
    """
    columns = ["person_id", "neighbourhood_code", "practice_code", "cost_12m", *scheme_ids]
    with connection("duckdb") as con:
        everyone = con.read_parquet(person_results).select(*columns)
        people = everyone
        if exclude:
            excluded = ibis.memtable(pa.table({"person_id": pa.array(sorted(exclude), pa.int64())}))
            people = everyone.anti_join(excluded, "person_id")
        pareto = con.to_pyarrow(cost_concentration(people)).sort_by(
            [("level", "ascending"), ("group_code", "ascending"), ("top_percent", "ascending")]
        )
        segments = (
            con.to_pyarrow(segment_summary_of(people, scheme_ids))
            if scheme_ids
            else pa.table({"scheme": pa.array([], pa.string())})
        )
        counted = int(con.to_pyarrow(people.count()).as_py())
        total = int(con.to_pyarrow(everyone.count()).as_py())
    return RunFigures(pareto=pareto, segments=segments, people=counted, left_out=total - counted)
