"""How each score is distributed across the area, its neighbourhoods and its practices.

Read from the latest stratification run's person results (`joinedup.analytics.stratify`), with
everyone who objects to secondary use left out (`joinedup.governance.objections`). Every count
passes through the small-number rule (`joinedup.governance.suppression`) before it leaves this
module: counts of 1–7 are withheld, others rounded to the nearest 5; shares are worked out from
the published counts; a group's mean score is withheld when its own count would be.

The scores and their categories:

* **eFI** (Clegg 2016): fit / mild / moderate / severe, from the deficit count. The eFI was
  developed and validated in people aged 65 and over, so only they are counted here.
* **HFRS** (Gilbert 2018): low (< 5) / intermediate (5–15) / high (> 15).
* **Charlson** (Charlson 1987 weights, Quan 2005 ICD-10 mapping): 0 / 1–2 / 3–4 / 5 or more,
  the bands most often reported.
* **Cambridge Multimorbidity Score** (Payne 2020, general outcome): a continuous score, shown
  in bands chosen here: 0 (none of the 20 conditions), under 1, 1 to under 2, 2 or more.
* **Long-term conditions** (the 18 of `scores.conditions`): 0 / 1 / 2–3 / 4 or more.

Groups are compared on the share of their people in the worst categories (`worst`), so
practices whose people are frailer or more multimorbid stand out at the top.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from joinedup.analytics.stratify import latest_run
from joinedup.errors import UserError
from joinedup.governance.suppression import (
    suppress_count,
    suppressed_share,
    withheld_unless,
)
from joinedup.population.reads import organisations
from joinedup.population.store import PopulationStore, StoreError
from joinedup.settings import Settings

LEVELS = ("neighbourhood", "practice")
NO_NEIGHBOURHOOD = "No neighbourhood"


class UnknownChoice(UserError, ValueError):
    """A score or level this page does not offer."""


@dataclass(frozen=True)
class Category:
    id: str
    label: str


@dataclass(frozen=True)
class ScoreDefinition:
    """One score as the page shows it: its categories and how a person falls in one."""

    id: str
    title: str
    column: str  # the person-results column the categories (and mean) come from
    mean_column: str
    categories: tuple[Category, ...]
    categorise: Callable[[pd.Series], pd.Series]
    worst: tuple[str, ...]  # the categories whose share ranks the groups
    worst_label: str
    source: str
    min_age: int | None = None
    note: str = ""

    @property
    def worst_labels(self) -> str:
        return " or ".join(c.label for c in self.categories if c.id in self.worst)


def _bands(edges: tuple[float, ...], ids: tuple[str, ...]) -> Callable[[pd.Series], pd.Series]:
    """Values into bands: ids[i] for edges[i-1] <= value < edges[i] (ids[0] below edges[0])."""

    def categorise(values: pd.Series) -> pd.Series:
        out = pd.Series(ids[-1], index=values.index, dtype=object)
        for edge, band in reversed(list(zip(edges, ids, strict=False))):
            out = out.where(values >= edge, band)
        return out

    return categorise


def _as_is(values: pd.Series) -> pd.Series:
    return values.astype(object)


SCORES: dict[str, ScoreDefinition] = {
    s.id: s
    for s in (
        ScoreDefinition(
            id="efi",
            title="Electronic Frailty Index (eFI)",
            column="efi_category",
            mean_column="efi_score",
            categories=(
                Category("fit", "Fit"),
                Category("mild", "Mild frailty"),
                Category("moderate", "Moderate frailty"),
                Category("severe", "Severe frailty"),
            ),
            categorise=_as_is,
            worst=("moderate", "severe"),
            worst_label="Moderate or severe frailty",
            source="Clegg A, et al. Age Ageing 2016;45(3):353-360",
            min_age=65,
            note=(
                "The eFI was developed and validated in people aged 65 and over, so only people "
                "aged 65 and over are counted. The mean is the eFI score (deficits out of 36)."
            ),
        ),
        ScoreDefinition(
            id="hfrs",
            title="Hospital Frailty Risk Score (HFRS)",
            column="hfrs_category",
            mean_column="hfrs_score",
            categories=(
                Category("low", "Low (under 5)"),
                Category("intermediate", "Intermediate (5 to 15)"),
                Category("high", "High (over 15)"),
            ),
            categorise=_as_is,
            worst=("intermediate", "high"),
            worst_label="Intermediate or high risk",
            source="Gilbert T, et al. Lancet 2018;391:1775-82",
            note="From hospital diagnoses of the two years up to the index date.",
        ),
        ScoreDefinition(
            id="charlson",
            title="Charlson Comorbidity Index",
            column="charlson_score",
            mean_column="charlson_score",
            categories=(
                Category("0", "0"),
                Category("1-2", "1 to 2"),
                Category("3-4", "3 to 4"),
                Category("5+", "5 or more"),
            ),
            categorise=_bands((1, 3, 5), ("0", "1-2", "3-4", "5+")),
            worst=("3-4", "5+"),
            worst_label="3 or more",
            source="Charlson ME, et al. J Chronic Dis 1987;40:373-83; Quan H, et al. 2005",
            note="From every hospital diagnosis up to the index date.",
        ),
        ScoreDefinition(
            id="cms",
            title="Cambridge Multimorbidity Score",
            column="cms_score",
            mean_column="cms_score",
            categories=(
                Category("0", "0 (none of the 20 conditions)"),
                Category("under-1", "Above 0, under 1"),
                Category("1-2", "1 to under 2"),
                Category("2+", "2 or more"),
            ),
            categorise=_bands((1e-9, 1, 2), ("0", "under-1", "1-2", "2+")),
            worst=("1-2", "2+"),
            worst_label="1 or more",
            source="Payne RA, et al. CMAJ 2020;192(5):E107-E114",
            note=(
                "The score is continuous (general-outcome weights, 0 to 16.33); the bands 0, "
                "above 0 and under 1, 1 to under 2, and 2 or more are joinedup's choice."
            ),
        ),
        ScoreDefinition(
            id="ltc",
            title="Number of long-term conditions",
            column="ltc_count",
            mean_column="ltc_count",
            categories=(
                Category("0", "None"),
                Category("1", "1"),
                Category("2-3", "2 to 3"),
                Category("4+", "4 or more"),
            ),
            categorise=_bands((1, 2, 4), ("0", "1", "2-3", "4+")),
            worst=("2-3", "4+"),
            worst_label="2 or more (multimorbidity)",
            source="18 long-term conditions from the GP record (joinedup codelists)",
        ),
    )
}


@dataclass(frozen=True)
class CategoryFigure:
    category: Category
    people: int | None  # published: 0, None (withheld) or a multiple of 5
    share: float | None  # of the group's published people


@dataclass(frozen=True)
class GroupDistribution:
    level: str  # "area", "neighbourhood" or "practice"
    code: str
    name: str
    parent: str  # a practice's neighbourhood; empty otherwise
    people: int | None
    categories: tuple[CategoryFigure, ...]
    mean: float | None
    worst_share: float | None


@dataclass(frozen=True)
class ScoreDistributions:
    score: ScoreDefinition
    level: str
    run_id: str
    index_date: str
    area_name: str
    synthetic: bool
    area: GroupDistribution
    groups: list[GroupDistribution]  # the chosen level, worst share first
    objectors_left_out: int | None  # published (suppressed) count


def choose(score_id: str | None, level: str | None) -> tuple[ScoreDefinition, str]:
    """The score and level asked for (defaults: eFI by practice); UnknownChoice otherwise."""
    score_id = score_id or "efi"
    level = level or "practice"
    if score_id not in SCORES:
        raise UnknownChoice(f"there is no score called {score_id!r}")
    if level not in LEVELS:
        raise UnknownChoice(f"scores can be shown by neighbourhood or by practice, not {level!r}")
    return SCORES[score_id], level


def score_distributions(
    settings: Settings,
    objectors: frozenset[int],
    score_id: str | None = None,
    level: str | None = None,
) -> ScoreDistributions | None:
    """The distribution of one score for the area and each group of `level` (None: no run)."""
    score, level = choose(score_id, level)
    run = latest_run(settings)
    if run is None:
        return None
    columns = ["person_id", "practice_code", "neighbourhood_code", "age", score.column]
    columns += [score.mean_column] if score.mean_column != score.column else []
    people = run.person_results(columns).to_pandas()
    objecting = people["person_id"].isin(list(objectors))
    left_out = int(objecting.sum())
    people = people[~objecting]
    if score.min_age is not None:
        people = people[people["age"] >= score.min_age]
    people = people.assign(_category=score.categorise(people[score.column]))

    names, parents = _organisation_names(settings)
    area = _distribution(score, people, "area", "area", "Whole area", "")
    groups = []
    key = "neighbourhood_code" if level == "neighbourhood" else "practice_code"
    for code, members in people.groupby(people[key].fillna(""), sort=True):
        code = str(code)
        if level == "neighbourhood":
            name = names.get(code, code) if code else NO_NEIGHBOURHOOD
            parent = ""
        else:
            name = names.get(code, code)
            hood = parents.get(code, "")
            parent = names.get(hood, hood) if hood else NO_NEIGHBOURHOOD
        groups.append(_distribution(score, members, level, code, name, parent))
    groups.sort(key=lambda g: (-(g.worst_share if g.worst_share is not None else -1.0), g.name))
    metadata = run.metadata.get("population_store", {})
    return ScoreDistributions(
        score=score,
        level=level,
        run_id=run.run_id,
        index_date=run.index_date.isoformat(),
        area_name=str(metadata.get("area_name") or "Unnamed area"),
        synthetic=bool(metadata.get("synthetic", False)),
        area=area,
        groups=groups,
        objectors_left_out=suppress_count(left_out),
    )


def _distribution(
    score: ScoreDefinition, members: pd.DataFrame, level: str, code: str, name: str, parent: str
) -> GroupDistribution:
    """One group's published figures: every count suppressed, shares from published counts."""
    total = len(members)
    counts = members["_category"].value_counts()
    figures = tuple(
        CategoryFigure(
            category=c,
            people=suppress_count(int(counts.get(c.id, 0))),
            share=suppressed_share(int(counts.get(c.id, 0)), total),
        )
        for c in score.categories
    )
    worst = int(sum(int(counts.get(c, 0)) for c in score.worst))
    mean = float(members[score.mean_column].mean()) if total else None
    return GroupDistribution(
        level=level,
        code=code,
        name=name,
        parent=parent,
        people=suppress_count(total),
        categories=figures,
        mean=withheld_unless(total, mean if mean is None or not math.isnan(mean) else None),
        worst_share=suppressed_share(worst, total),
    )


def _organisation_names(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    try:
        orgs = organisations(PopulationStore(settings.population_dir))
    except StoreError:
        return {}, {}
    return (
        {code: o.name for code, o in orgs.items()},
        {code: o.parent_code or "" for code, o in orgs.items()},
    )


CSV_COLUMNS = (
    "score",
    "level",
    "code",
    "name",
    "neighbourhood",
    "category",
    "people",
    "share",
    "group_people",
    "group_mean",
)


def distributions_csv(result: ScoreDistributions) -> str:
    """The published figures as CSV: one row per group and category, withheld cells empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for group in [result.area, *result.groups]:
        for figure in group.categories:
            writer.writerow(
                (
                    result.score.id,
                    group.level,
                    group.code,
                    group.name,
                    group.parent,
                    figure.category.id,
                    _cell(figure.people),
                    _cell(None if figure.share is None else round(figure.share, 4)),
                    _cell(group.people),
                    _cell(None if group.mean is None else round(group.mean, 3)),
                )
            )
    return out.getvalue()


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def summary_counts(result: ScoreDistributions) -> Mapping[str, int | None]:
    """Every published count of a result by a readable key (for tests and the API)."""
    found: dict[str, int | None] = {"objectors_left_out": result.objectors_left_out}
    for group in [result.area, *result.groups]:
        found[f"{group.level}:{group.code}"] = group.people
        for figure in group.categories:
            found[f"{group.level}:{group.code}:{figure.category.id}"] = figure.people
    return found
