"""The steps the ICD-10 scores share.

The normalisation rule is `joinedup.terminology.icd10` (``I50.0`` -> ``I500``, ``I50X`` -> ``I50``).

**Shared steps of the ICD-10 scores** (HFRS, Charlson, Elixhauser): which diagnoses count
(dated on or before the index date and within the look-back), matching codes to groups by
prefix (each distinct recorded code normalised once; every published prefix is 3 or 4
characters: one equality join per prefix length), dropping a milder group when its severe form
is present, and totalling per person.
The published tables are loaded from ``data/<score>/`` (derived by
``scripts/derive_icd10_score_tables.py``) with a cached loader.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from joinedup.dates import years_before
from joinedup.terminology.icd10 import normalised_icd10

DATA = Path(__file__).with_name("data")

# The groups of a person as text for people (and CSV cells): "F00, R54, W19".
SEPARATOR = ", "
# A person's groups fit one BIGINT as bits (`group_totals`) when a score has at most this many.
MASK_BITS = 63


@functools.cache
def reference_rows(score: str, name: str) -> tuple[dict[str, str], ...]:
    """The rows of a derived published table, `data/<score>/<name>`, as text (cached)."""
    with (DATA / score / name).open(newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def persons_of(diagnoses: ir.Table, people: ir.Table | None = None) -> ir.Table:
    """Everyone in the input: each gets a row in a score's result, even with nothing counted.

    With an ``age`` column, each person's (greatest) age comes along from the same pass over
    the input, so an age-adjusted score needs no second aggregation of every row. A caller
    that has already grouped the rows by person passes `people` (person_id[, age: the
    person's greatest]), used as it is: the same people without a pass over every row again.
    """
    if people is not None:
        return people
    if "age" in diagnoses.columns:
        return diagnoses.group_by("person_id").aggregate(age=diagnoses.age.max().cast("int64"))
    return diagnoses.select("person_id").distinct()


def counted_codes(
    diagnoses: ir.Table, *, index_date: dt.date | None, lookback_years: int | None
) -> ir.Table:
    """person_id, code (as recorded) of the diagnoses dated inside the window.

    Without an index date every diagnosis counts. With one, a diagnosis counts when its date
    is on or before the index date and, with a look-back of N years, on or after the same day
    N years earlier (both ends included); an undated diagnosis then does not count.
    """
    # A null code needs no filter: it normalises to null and matches no group.
    if index_date is None:
        return diagnoses.select("person_id", "code")
    if "date" not in diagnoses.columns:
        raise ValueError("an index date needs a `date` column on the diagnoses")
    keep = diagnoses.date <= index_date
    if lookback_years is not None:
        keep &= diagnoses.date >= years_before(index_date, lookback_years)
    return diagnoses.filter(keep).select("person_id", "code")


def match_groups(
    codes: ir.Table, mapping: Sequence[tuple[str, str]], lexicon: ir.Table | None = None
) -> ir.Table:
    """person_id, group, code (normalised) for each code starting with one of a group's prefixes.

    `mapping` is (group, code_prefix) pairs. Each distinct recorded code is normalised and
    matched once (a population repeats a few thousand codes millions of times), with one
    equality join per prefix length: a hash join on every engine, where a `startswith` join
    would be a nested loop. The matches are then joined back to the people. A caller that has
    the distinct codes already passes them as `lexicon` (one column, code: every code of
    `codes`, as recorded; others are matched to no one).
    """
    if lexicon is None:
        lexicon = codes.select("code").distinct()
    lexicon = lexicon.mutate(normal=normalised_icd10(lexicon.code))
    by_length: dict[int, list[tuple[str, str]]] = {}
    for group, prefix in mapping:
        by_length.setdefault(len(prefix), []).append((group, prefix))
    parts = []
    for length, pairs in sorted(by_length.items()):
        lookup = ibis.memtable(
            pa.table({"group": [g for g, _ in pairs], "prefix": [p for _, p in pairs]})
        )
        # No `length(normal) >= length` filter: a shorter code's key is shorter than every
        # prefix so it cannot match, and the filter would be pushed below the DISTINCT,
        # running the normalisation on every row instead of once per code (3x slower).
        keyed = lexicon.mutate(key=lexicon.normal.substr(0, length))
        joined = keyed.join(lookup, keyed.key == lookup.prefix)
        parts.append(joined.select("code", "group", "normal"))
    matched = parts[0] if len(parts) == 1 else ibis.union(*parts)
    return codes.join(matched, "code").select("person_id", "group", code="normal")


def superseded(present: ir.Table, hierarchy: Sequence[tuple[str, str]]) -> ir.Table:
    """person_id, group: each person's milder groups whose severe form they also have.

    `present` holds each person's groups (person_id, group), once each."""
    pairs = ibis.memtable(
        pa.table({"severe": [s for s, _ in hierarchy], "mild": [m for _, m in hierarchy]})
    )
    return present.join(pairs, present["group"] == pairs.severe).select("person_id", group="mild")


def drop_superseded(matched: ir.Table, hierarchy: Sequence[tuple[str, str]]) -> ir.Table:
    """`matched` less each (severe, mild) pair's milder group where the severe one is present."""
    if not hierarchy:
        return matched
    present = matched.select("person_id", "group").distinct()
    return matched.anti_join(superseded(present, hierarchy), ["person_id", "group"])


def matched_groups(
    diagnoses: ir.Table,
    *,
    mapping: Sequence[tuple[str, str]],
    hierarchy: Sequence[tuple[str, str]] = (),
    index_date: dt.date | None,
    lookback_years: int | None,
    lexicon: ir.Table | None = None,
) -> ir.Table:
    """person_id, group, code: every counted code in its groups, the hierarchy applied."""
    codes = counted_codes(diagnoses, index_date=index_date, lookback_years=lookback_years)
    return drop_superseded(match_groups(codes, mapping, lexicon), hierarchy)


def group_contributions(matched: ir.Table, groups: pa.Table) -> ir.Table:
    """One row per person and group: person_id, group, description, weight, codes.

    `groups` holds group, description, weight; `codes` lists the person's normalised codes that
    put them in the group, sorted, joined by ", ".
    """
    per_group = matched.group_by(["person_id", "group"]).aggregate(
        codes=matched.code.collect(distinct=True).sort().join(SEPARATOR)
    )
    lookup = ibis.memtable(groups)
    joined = per_group.join(lookup, "group")
    return joined.select("person_id", "group", "description", "weight", "codes")


def group_totals(matched: ir.Table, groups: pa.Table, *, with_groups: bool = True) -> ir.Table:
    """person_id, total (sum of the groups' weights) and, `with_groups`, groups (the group names
    sorted and joined: the costliest step of a score, so callers that only need the total
    leave it out)."""
    present = matched.select("person_id", "group").distinct()
    return present_totals(present, groups, with_groups=with_groups)


def present_totals(present: ir.Table, groups: pa.Table, *, with_groups: bool = True) -> ir.Table:
    """`group_totals` of `present`: each person's groups (person_id, group), once each."""
    names = sorted(groups.column("group").to_pylist())
    if not with_groups or len(names) > MASK_BITS:
        weighted = present.join(ibis.memtable(groups.select(["group", "weight"])), "group")
        if not with_groups:
            return weighted.group_by("person_id").aggregate(total=weighted.weight.sum())
        return weighted.group_by("person_id").aggregate(
            total=weighted.weight.sum(),
            groups=weighted["group"].collect().sort().join(SEPARATOR),
        )
    # Few groups (Charlson 17, Elixhauser 31): each person's groups as a set of bits, one per
    # group in name order, summed (a person has each group once, so the sum sets each bit
    # once), then written as the names of the bits set, in that order: the same text as the
    # sorted list, without collecting and sorting a list per person. Written once per set
    # (people share a few thousand sets), then joined to the people who have it.
    bit = {name: 1 << i for i, name in enumerate(names)}
    lookup = ibis.memtable(
        groups.select(["group", "weight"]).append_column(
            "bit", pa.array([bit[g] for g in groups.column("group").to_pylist()], pa.int64())
        )
    )
    weighted = present.join(lookup, "group")
    totals = weighted.group_by("person_id").aggregate(
        total=weighted.weight.sum(), bits=weighted.bit.sum()
    )
    sets = totals.select("bits").distinct()
    sets = sets.mutate(groups=group_names(sets.bits, names))
    return totals.join(sets, "bits").select("person_id", "total", "groups")


def group_names(bits: ir.IntegerValue, names: Sequence[str]) -> ir.StringValue:
    """The names whose bit is set in `bits` (bit i: names[i]), joined by `SEPARATOR` in order
    (a null name is left out of the join)."""
    return ibis.literal(SEPARATOR).join(
        [
            ibis.ifelse((bits & (1 << i)) != 0, name, ibis.null("string"))
            for i, name in enumerate(names)
        ]
    )


@functools.cache
def prefix_mapping(score: str, name: str) -> tuple[tuple[str, str], ...]:
    """(group, code_prefix) pairs of a derived mapping table."""
    return tuple((r["group"], r["code_prefix"]) for r in reference_rows(score, name))


@functools.cache
def weighted_groups(score: str, name: str, weight_column: str) -> pa.Table:
    """group, description, weight (int64) from a derived weights table and one weight set."""
    rows = reference_rows(score, name)
    if weight_column not in rows[0]:
        choices = ", ".join(k for k in rows[0] if k not in ("group", "description"))
        raise ValueError(f"unknown weights {weight_column!r} for {score}; choose one of {choices}")
    return pa.table(
        {
            "group": [r["group"] for r in rows],
            "description": [r["description"] for r in rows],
            "weight": pa.array([int(r[weight_column]) for r in rows], pa.int64()),
        }
    )


def diagnoses_from_store(tables: dict[str, ir.Table]) -> ir.Table:
    """person_id, code, date from `spell_diagnoses` + `hospital_spells` (date = admission)."""
    spells = tables["hospital_spells"].select("spell_id", "admission_date")
    dx = tables["spell_diagnoses"]
    joined = dx.join(spells, "spell_id")
    return joined.select(person_id="person_id", code="icd10_code", date="admission_date")


@dataclass(frozen=True)
class WeightedIndex:
    """A comorbidity index of weighted ICD-10 groups (Charlson, Elixhauser): its published
    tables, weight sets and severe-over-mild hierarchy, and the steps every such index shares."""

    name: str  # folder of its tables under data/, e.g. "charlson"
    title: str
    mapping_file: str
    weights_file: str
    weight_sets: tuple[str, ...]
    hierarchy: tuple[tuple[str, str], ...]  # (severe, mild): mild dropped when severe present

    def groups(self, weights: str) -> pa.Table:
        if weights not in self.weight_sets:
            raise ValueError(
                f"unknown {self.title} weights {weights!r}; choose one of {self.weight_sets}"
            )
        return weighted_groups(self.name, self.weights_file, weights)

    def matched(
        self, diagnoses: ir.Table, index_date: dt.date | None, lookback_years: int | None
    ) -> ir.Table:
        return matched_groups(
            diagnoses,
            mapping=prefix_mapping(self.name, self.mapping_file),
            hierarchy=self.hierarchy,
            index_date=index_date,
            lookback_years=lookback_years,
        )

    def contributions(
        self,
        diagnoses: ir.Table,
        *,
        index_date: dt.date | None,
        weights: str,
        lookback_years: int | None,
    ) -> ir.Table:
        """person_id, group, description, weight, codes: the groups behind each score."""
        matched = self.matched(diagnoses, index_date, lookback_years)
        return group_contributions(matched, self.groups(weights))

    def totals(
        self,
        diagnoses: ir.Table,
        *,
        index_date: dt.date | None,
        weights: str,
        lookback_years: int | None,
        with_groups: bool = True,
        people: ir.Table | None = None,
        lexicon: ir.Table | None = None,
    ) -> ir.Table:
        """Every person in `diagnoses` (with their age when given) or, when given, in `people`
        (`persons_of`), and their total and groups (null when none counted); `lexicon`: the
        distinct codes, when the caller has them (`match_groups`)."""
        codes = counted_codes(diagnoses, index_date=index_date, lookback_years=lookback_years)
        matched = match_groups(codes, prefix_mapping(self.name, self.mapping_file), lexicon)
        # The hierarchy applied to each person's groups rather than to every matched row: the
        # same groups remain. Named, so the SQL computes the groups once (a CTE) and joins the
        # diagnoses to the codes once, where an unnamed table is written out at each use.
        present = matched.select("person_id", "group").distinct().alias("present")
        if self.hierarchy:
            present = present.anti_join(superseded(present, self.hierarchy), ["person_id", "group"])
        totals = present_totals(present, self.groups(weights), with_groups=with_groups)
        joined = persons_of(diagnoses, people).left_join(totals, "person_id")
        return joined.drop("person_id_right") if "person_id_right" in joined.columns else joined
