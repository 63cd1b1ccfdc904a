"""Real published practice data: every English GP practice, one tidy row each.

Reads the public files beside the repository (never copied into it):

- ``gp_practice_payments_fingertips_heec/`` (Health Equity Evidence Centre snapshot of
  NHS England "NHS Payments to General Practice, England 2022/23" and OHID Fingertips exports,
  Open Government Licence v3.0): practice, PCN, sub-ICB, list sizes and payments; IMD 2019 score
  per practice (Fingertips 93553); QOF smoking prevalence per practice (Fingertips 91547);
  the sub-ICB to ICB lookup.
- ``gp_practice_structures_qof_wylie102/`` (QOF 2023/24 geography mapping, MIT/OGL): ICB for
  sub-ICBs the lookup lacks, and practice coordinates (geocoded by that repository's author).

QOF dementia (Fingertips 247) and learning disability (200) prevalence are read the same way as
smoking, from any practice-level rows their files hold; the shared snapshot holds only England
and deprivation-decile rows for them, so those columns stay empty and the pages say so.

``load_published`` validates everything, counts every row it rejects by reason, and writes
``JOINEDUP_HOME/published/practices.parquet`` plus ``load.json`` atomically (both or neither).
``published_table`` reads the table once per process and re-reads it only when the file changes.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from threading import Lock

import numpy as np
import pandas as pd

from joinedup.analytics.funnel import Adjustment, FunnelResult, funnel, outlier_words
from joinedup.errors import UserError
from joinedup.settings import Settings

PAYMENTS_DIR = "gp_practice_payments_fingertips_heec"
STRUCTURES_DIR = "gp_practice_structures_qof_wylie102"
PAYMENTS_FILE = "nhs_payments_to_general_practice_2022_23.csv"
ICB_LOOKUP_FILE = "ccg_icb_code_lookup.csv"
IMD_FILE = "fingertips_practice_imd_score_93553.csv"
SMOKING_FILE = "fingertips_smoking_qof_prevalence_91547.csv"
DEMENTIA_FILE = "fingertips_dementia_qof_prevalence_247.csv"
LD_FILE = "fingertips_learning_disability_qof_prevalence_200.csv"
STRUCTURES_FILE = "structures_2023_2024.csv"
COORDINATES_FILE = "GP_info_and_coordinates.csv"

PRACTICE_CODE = re.compile(r"^[A-Z]\d{5}$")
IMD_YEAR = 2019

PAYMENT_COLUMNS = {
    "Practice Code": "practice_code",
    "Practice Name": "practice_name",
    "Code": "pcn_code",
    "CCG NAME": "pcn_name",  # in this NHS England file the "CCG NAME" column holds the PCN name
    "CCG Code": "sub_icb_code",
    "Sub ICB NAME": "sub_icb_name",
    "NHS England (Region) Name": "region_name",
    "Practice Close Date": "closed_on",
    "Number of Registered Patients (Last Known Figure)": "list_size",
    "Number of Weighted Patients (Last Known Figure)": "weighted_list_size",
    "Average payments per weighted patient": "payments_per_weighted_patient",
}
FINGERTIPS_COLUMNS = ["Area Code", "Area Type", "Time period", "Count", "Denominator", "Category"]

#: Columns of the tidy table, in order.
COLUMNS = [
    "practice_code", "practice_name", "pcn_code", "pcn_name", "sub_icb_code", "sub_icb_name",
    "icb_code", "icb_name", "region_name", "closed_on", "list_size", "weighted_list_size",
    "payments_per_weighted_patient",
    "smoking_numerator", "smoking_denominator",
    "dementia_numerator", "dementia_denominator",
    "learning_disability_numerator", "learning_disability_denominator",
    "imd_score", "deprivation_quintile", "latitude", "longitude",
]  # fmt: skip


@dataclass(frozen=True)
class Prevalence:
    """A QOF prevalence indicator read from a Fingertips export."""

    key: str
    file: str


PREVALENCES = [
    Prevalence("smoking", SMOKING_FILE),
    Prevalence("dementia", DEMENTIA_FILE),
    Prevalence("learning_disability", LD_FILE),
]


@dataclass
class LoadSummary:
    """What a load kept and rejected, per source file and reason."""

    practices: int
    loaded_at: str
    sources: dict[str, str]
    periods: dict[str, str | None]
    rejected: dict[str, dict[str, int]] = field(default_factory=dict)
    with_values: dict[str, int] = field(default_factory=dict)

    @property
    def rejected_total(self) -> int:
        return sum(sum(reasons.values()) for reasons in self.rejected.values())


def published_dir(settings: Settings) -> Path:
    return settings.home / "published"


def table_path(settings: Settings) -> Path:
    return published_dir(settings) / "practices.parquet"


def default_sources(repo_root: Path | None = None) -> list[Path]:
    """The two shared data folders beside the repository."""
    root = repo_root or Path(__file__).resolve().parents[3]
    return [
        root.parent / "shared" / "data" / PAYMENTS_DIR,
        root.parent / "shared" / "data" / STRUCTURES_DIR,
    ]


# --- reading ---------------------------------------------------------------------------------


def _read_csv(path: Path, required: list[str]) -> pd.DataFrame:
    if not path.is_file():
        raise UserError(f"published data file not found: {path}")
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise UserError(f"{path.name} is not a readable CSV file: {error}") from error
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise UserError(f"{path.name} lacks the column(s) {', '.join(missing)}")
    return frame


def _numbers(values: pd.Series) -> pd.Series:
    """Numbers from text; blank or unreadable text becomes NaN (the caller counts it)."""
    cleaned = values.astype(str).str.replace(",", "", regex=False).str.strip()
    return pd.to_numeric(cleaned.where(cleaned != "", None), errors="coerce")


def _reject(frame: pd.DataFrame, bad: pd.Series, reason: str, counts: Counter[str]) -> pd.DataFrame:
    if int(bad.sum()):
        counts[reason] += int(bad.sum())
    return frame.loc[~bad]


def _read_payments(folder: Path, counts: Counter[str]) -> pd.DataFrame:
    raw = _read_csv(folder / PAYMENTS_FILE, list(PAYMENT_COLUMNS))
    frame = raw[list(PAYMENT_COLUMNS)].rename(columns=PAYMENT_COLUMNS)
    frame = frame.apply(lambda s: s.str.strip())
    frame = _reject(
        frame, ~frame.practice_code.str.match(PRACTICE_CODE), "practice code not A99999", counts
    )
    frame = _reject(
        frame, frame.practice_code.duplicated(keep="first"), "duplicate practice code", counts
    )
    for column in ("list_size", "weighted_list_size", "payments_per_weighted_patient"):
        frame[column] = _numbers(frame[column])
    frame = _reject(frame, frame.list_size.isna(), "list size missing or not a number", counts)
    frame = _reject(frame, frame.list_size <= 0, "list size zero or negative", counts)
    frame = _reject(
        frame,
        frame.weighted_list_size.isna() | (frame.weighted_list_size <= 0),
        "weighted list size missing, zero or negative",
        counts,
    )
    bad_payment = ~np.isfinite(frame.payments_per_weighted_patient) | (
        frame.payments_per_weighted_patient < 0
    )
    frame = _reject(frame, bad_payment, "payments per weighted patient missing or negative", counts)
    frame["closed_on"] = frame.closed_on.replace("", None)
    return frame


def _read_icbs(payments: Path, structures: Path | None) -> pd.DataFrame:
    lookup = _read_csv(payments / ICB_LOOKUP_FILE, ["CCG Code", "ICB Code", "ICB NAME"])
    icbs = lookup.rename(
        columns={"CCG Code": "sub_icb_code", "ICB Code": "icb_code", "ICB NAME": "icb_name"}
    )[["sub_icb_code", "icb_code", "icb_name"]]
    if structures is not None:
        mapping = _read_csv(
            structures / STRUCTURES_FILE, ["SUB_ICB_ODS_CODE", "ICB_ODS_CODE", "ICB_NAME"]
        )
        extra = mapping.rename(
            columns={
                "SUB_ICB_ODS_CODE": "sub_icb_code",
                "ICB_ODS_CODE": "icb_code",
                "ICB_NAME": "icb_name",
            }
        )[["sub_icb_code", "icb_code", "icb_name"]]
        icbs = pd.concat([icbs, extra]).drop_duplicates("sub_icb_code", keep="first")
    return icbs.drop_duplicates("sub_icb_code")


def _read_imd(folder: Path, counts: Counter[str]) -> pd.DataFrame:
    raw = _read_csv(folder / IMD_FILE, ["Year", "AreaCode", "Value"])
    frame = _reject(
        raw, raw.Year.str.strip() != str(IMD_YEAR), f"IMD year other than {IMD_YEAR}", counts
    )
    frame = frame.assign(practice_code=frame.AreaCode.str.strip(), imd_score=_numbers(frame.Value))
    frame = _reject(frame, frame.imd_score.isna(), "IMD score missing or not a number", counts)
    frame = _reject(
        frame, frame.practice_code.duplicated(keep="first"), "duplicate practice", counts
    )
    return frame[["practice_code", "imd_score"]]


def _read_prevalence(
    folder: Path, indicator: Prevalence, counts: Counter[str]
) -> tuple[pd.DataFrame, str | None]:
    raw = _read_csv(folder / indicator.file, FINGERTIPS_COLUMNS)
    practice_rows = (
        (raw["Area Type"].str.strip() == "GPs")
        & raw["Area Code"].str.strip().str.match(PRACTICE_CODE)
        & (raw.Category.str.strip() == "")
    )
    frame = _reject(raw, ~practice_rows, "not a practice row (England, region or decile)", counts)
    if frame.empty:
        return pd.DataFrame(
            columns=["practice_code", f"{indicator.key}_numerator", f"{indicator.key}_denominator"]
        ), None
    period = max(frame["Time period"].str.strip())
    frame = _reject(
        frame, frame["Time period"].str.strip() != period, "earlier time period", counts
    )
    num, den = _numbers(frame["Count"]), _numbers(frame["Denominator"])
    frame = frame.assign(practice_code=frame["Area Code"].str.strip(), num=num, den=den)
    frame = _reject(
        frame,
        frame.num.isna() | frame.den.isna(),
        "count or denominator missing or not a number",
        counts,
    )
    frame = _reject(
        frame,
        (frame.den <= 0) | (frame.num < 0),
        "denominator not positive or count negative",
        counts,
    )
    frame = _reject(frame, frame.num > frame.den, "count larger than denominator", counts)
    frame = _reject(
        frame, frame.practice_code.duplicated(keep="first"), "duplicate practice", counts
    )
    tidy = frame.rename(
        columns={"num": f"{indicator.key}_numerator", "den": f"{indicator.key}_denominator"}
    )
    return tidy[
        ["practice_code", f"{indicator.key}_numerator", f"{indicator.key}_denominator"]
    ], period


def _read_coordinates(folder: Path, counts: Counter[str]) -> pd.DataFrame:
    raw = _read_csv(folder / COORDINATES_FILE, ["PRACTICE_CODE", "lat", "lon"])
    frame = raw.assign(
        practice_code=raw.PRACTICE_CODE.str.strip(),
        latitude=_numbers(raw.lat),
        longitude=_numbers(raw.lon),
    )
    outside_england = ~frame.latitude.between(49.8, 55.9) | ~frame.longitude.between(-6.5, 2.0)
    frame = _reject(frame, outside_england, "coordinates missing or outside England", counts)
    frame = _reject(
        frame, frame.practice_code.duplicated(keep="first"), "duplicate practice", counts
    )
    return frame[["practice_code", "latitude", "longitude"]]


def _folders(sources: list[Path]) -> tuple[Path, Path | None]:
    payments = next((s for s in sources if (s / PAYMENTS_FILE).is_file()), None)
    if payments is None:
        looked = ", ".join(str(s) for s in sources) or "no folder"
        raise UserError(f"no {PAYMENTS_FILE} in {looked}: give the {PAYMENTS_DIR} folder")
    structures = next((s for s in sources if (s / STRUCTURES_FILE).is_file()), None)
    return payments, structures


def _quintiles(scores: pd.Series) -> pd.Series:
    """National quintile of practice IMD score: 1 = most deprived fifth of practices."""
    ranked = scores.rank(method="first", ascending=False)
    quintile = np.ceil(ranked * 5 / scores.notna().sum())
    return quintile.astype("Int64")


def build_table(sources: list[Path]) -> tuple[pd.DataFrame, LoadSummary]:
    """The tidy per-practice table and what was rejected, from the source folders."""
    payments_dir, structures_dir = _folders(sources)
    rejected: dict[str, Counter[str]] = {}

    def counts(name: str) -> Counter[str]:
        return rejected.setdefault(name, Counter())

    table = _read_payments(payments_dir, counts(PAYMENTS_FILE))
    table = table.merge(_read_icbs(payments_dir, structures_dir), on="sub_icb_code", how="left")
    table = _join(table, _read_imd(payments_dir, counts(IMD_FILE)), counts(IMD_FILE))
    periods: dict[str, str | None] = {}
    for indicator in PREVALENCES:
        found, periods[indicator.key] = _read_prevalence(
            payments_dir, indicator, counts(indicator.file)
        )
        table = _join(table, found, counts(indicator.file))
    if structures_dir is not None and (structures_dir / COORDINATES_FILE).is_file():
        table = _join(
            table,
            _read_coordinates(structures_dir, counts(COORDINATES_FILE)),
            counts(COORDINATES_FILE),
        )
    else:
        table = table.assign(latitude=np.nan, longitude=np.nan)
    table["deprivation_quintile"] = _quintiles(table.imd_score)
    table = table[COLUMNS].sort_values("practice_code").reset_index(drop=True)
    summary = LoadSummary(
        practices=len(table),
        loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        sources={
            "payments": str(payments_dir),
            "structures": str(structures_dir) if structures_dir else "",
        },
        periods={**periods, "imd": str(IMD_YEAR), "payments": "2022/23"},
        rejected={name: dict(c) for name, c in rejected.items() if c},
        with_values={
            c: int(table[c].notna().sum())
            for c in (
                "imd_score",
                "smoking_denominator",
                "dementia_denominator",
                "learning_disability_denominator",
                "latitude",
            )
        },
    )
    return table, summary


def _join(table: pd.DataFrame, extra: pd.DataFrame, counts: Counter[str]) -> pd.DataFrame:
    unknown = ~extra.practice_code.isin(table.practice_code)
    if int(unknown.sum()):
        counts["practice not in the payments file"] += int(unknown.sum())
    return table.merge(extra.loc[~unknown], on="practice_code", how="left")


# --- storing and reading back ------------------------------------------------------------------


def load_published(settings: Settings, sources: list[Path]) -> LoadSummary:
    """Build the table from ``sources`` and store it (Parquet + load.json), all or nothing."""
    table, summary = build_table(sources)
    if summary.practices == 0:
        raise UserError("no practice passed validation; nothing was stored")
    target = published_dir(settings)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as scratch:
        staged_table = Path(scratch) / "practices.parquet"
        staged_summary = Path(scratch) / "load.json"
        table.to_parquet(staged_table, index=False)
        staged_summary.write_text(json.dumps(asdict(summary), indent=2))
        # The summary goes last: a reader that sees the new table also sees its summary soon
        # after, and a failure before the first replace leaves the old pair untouched.
        os.replace(staged_table, table_path(settings))
        os.replace(staged_summary, target / "load.json")
    _CACHE.clear()
    return summary


@dataclass(frozen=True)
class PublishedData:
    table: pd.DataFrame
    summary: LoadSummary
    by_code: dict[str, int]  # practice code -> row position
    #: Funnel results per (indicator, level, adjustment), filled on first use in this process.
    funnels: dict[tuple[str, str, str], IndicatorFunnel] = field(
        default_factory=dict, compare=False, hash=False
    )


_CACHE: dict[Path, tuple[float, PublishedData]] = {}
_LOCK = Lock()


def published_table(settings: Settings) -> PublishedData | None:
    """The stored table, cached in this process until the file's modification time changes."""
    path = table_path(settings)
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    with _LOCK:
        cached = _CACHE.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
        table = pd.read_parquet(path)
        raw = json.loads((path.parent / "load.json").read_text())
        summary = LoadSummary(**raw)
        data = PublishedData(
            table=table,
            summary=summary,
            by_code={code: i for i, code in enumerate(table.practice_code)},
        )
        _CACHE[path] = (mtime, data)
        return data


def summary_lines(summary: LoadSummary) -> list[str]:
    """The load summary as lines of text, for the CLI."""
    lines = [f"Loaded {summary.practices:,} practices."]
    for column, count in summary.with_values.items():
        lines.append(f"  {column.replace('_', ' ')}: {count:,} practices with a value")
    for name, period in summary.periods.items():
        lines.append(f"  period {name}: {period or 'no practice-level rows in the source'}")
    if summary.rejected:
        lines.append(f"Rejected or skipped {summary.rejected_total:,} rows:")
        for file, reasons in summary.rejected.items():
            for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
                lines.append(f"  {file}: {count:,} {reason}")
    return lines


# --- indicators --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    key: str
    title: str
    kind: str  # "proportion" (count out of people: funnel plot) or "amount" (money per patient)
    source: str
    numerator: str = ""
    denominator: str = ""
    value_column: str = ""
    unit: str = "%"

    @property
    def has_funnel(self) -> bool:
        return self.kind == "proportion"


INDICATORS: dict[str, Indicator] = {
    i.key: i
    for i in [
        Indicator(
            "smoking",
            "Smoking prevalence (QOF, people aged 15 and over)",
            "proportion",
            "OHID Fingertips 91547",
            "smoking_numerator",
            "smoking_denominator",
        ),
        Indicator(
            "dementia",
            "Dementia prevalence (QOF, all ages)",
            "proportion",
            "OHID Fingertips 247",
            "dementia_numerator",
            "dementia_denominator",
        ),
        Indicator(
            "learning_disability",
            "Learning disability prevalence (QOF, all ages)",
            "proportion",
            "OHID Fingertips 200",
            "learning_disability_numerator",
            "learning_disability_denominator",
        ),
        Indicator(
            "payments",
            "NHS payments per weighted patient, 2022/23",
            "amount",
            "NHS England, NHS Payments to General Practice 2022/23",
            value_column="payments_per_weighted_patient",
            unit="£",
        ),
    ]
}
LEVELS = {"practice": "Practice", "pcn": "Primary care network", "icb": "Integrated care board"}
ADJUSTMENTS: tuple[Adjustment, ...] = ("none", "multiplicative", "additive")


@dataclass(frozen=True)
class IndicatorFunnel:
    """One indicator across units (practices, PCNs or ICBs), with their funnel statistics."""

    indicator: Indicator
    level: str
    units: pd.DataFrame  # code, name, numerator, denominator, value, z, flags, limits
    result: FunnelResult | None  # None for an amount (no funnel)

    @property
    def count(self) -> int:
        return len(self.units)


def _units(data: PublishedData, indicator: Indicator, level: str) -> pd.DataFrame:
    table = data.table
    if indicator.has_funnel:
        have = table[table[indicator.denominator].notna()]
        frame = pd.DataFrame(
            {
                "code": have.practice_code,
                "name": have.practice_name,
                "numerator": have[indicator.numerator],
                "denominator": have[indicator.denominator],
                "imd_score": have.imd_score,
                "pcn_code": have.pcn_code,
                "icb_code": have.icb_code,
            }
        )
        if level != "practice":
            key = "pcn" if level == "pcn" else "icb"
            frame = (
                have.groupby(f"{key}_code", dropna=True)
                .agg(
                    name=(f"{key}_name", "first"),
                    numerator=(indicator.numerator, "sum"),
                    denominator=(indicator.denominator, "sum"),
                    practices=("practice_code", "count"),
                )
                .reset_index()
                .rename(columns={f"{key}_code": "code"})
            )
        return frame.reset_index(drop=True)
    have = table[table[indicator.value_column].notna()]
    if level == "practice":
        return pd.DataFrame(
            {
                "code": have.practice_code,
                "name": have.practice_name,
                "value": have[indicator.value_column],
                "denominator": have.weighted_list_size,
                "imd_score": have.imd_score,
            }
        ).reset_index(drop=True)
    key = "pcn" if level == "pcn" else "icb"
    # A group's payments per weighted patient is its total payments over its weighted list.
    totals = have.assign(total=have[indicator.value_column] * have.weighted_list_size)
    grouped = (
        totals.groupby(f"{key}_code")
        .agg(
            name=(f"{key}_name", "first"),
            total=("total", "sum"),
            denominator=("weighted_list_size", "sum"),
            practices=("practice_code", "count"),
        )
        .reset_index()
        .rename(columns={f"{key}_code": "code"})
    )
    grouped["value"] = grouped.total / grouped.denominator
    return grouped.drop(columns="total")


def robust_z(values: np.ndarray) -> np.ndarray:
    """(value - median) / (1.4826 * median absolute deviation): for amounts with no funnel."""
    median = float(np.nanmedian(values))
    mad = float(np.nanmedian(np.abs(values - median))) * 1.4826
    return (values - median) / mad if mad > 0 else np.zeros_like(values)


def indicator_funnel(
    data: PublishedData, key: str, *, level: str = "practice", adjustment: Adjustment = "additive"
) -> IndicatorFunnel:
    """An indicator's units and funnel statistics (cached per process for this table)."""
    if key not in INDICATORS or level not in LEVELS or adjustment not in ADJUSTMENTS:
        raise KeyError(key)
    cache_key = (key, level, adjustment)
    if cache_key in data.funnels:
        return data.funnels[cache_key]
    indicator = INDICATORS[key]
    units = _units(data, indicator, level)
    result: FunnelResult | None = None
    if indicator.has_funnel and len(units):
        result = funnel(
            units.numerator.to_numpy(float),
            units.denominator.to_numpy(float),
            kind="proportion",
            adjustment=adjustment,
        )
        units = units.assign(
            value=result.value,
            z=result.z,
            flag95=result.flag95,
            flag998=result.flag998,
            lower95=result.limits.lower95,
            upper95=result.limits.upper95,
            lower998=result.limits.lower998,
            upper998=result.limits.upper998,
        )
    elif len(units):
        z = robust_z(units.value.to_numpy(float))
        units = units.assign(
            z=z,
            flag95=np.sign(z) * (np.abs(z) > 1.959964),
            flag998=np.sign(z) * (np.abs(z) > 3.090232),
        )
    if len(units):
        units["position"] = [
            outlier_words(int(a), int(b)) for a, b in zip(units.flag95, units.flag998, strict=True)
        ]
    built = IndicatorFunnel(indicator=indicator, level=level, units=units, result=result)
    data.funnels[cache_key] = built
    return built


# --- one practice against its peers ------------------------------------------------------------


@dataclass(frozen=True)
class PeerComparison:
    group: str  # e.g. "Same primary care network"
    practices: int
    peer_value: float | None  # pooled value of the peers (the practice left out)
    z: float | None
    position: str


@dataclass(frozen=True)
class PracticeIndicator:
    indicator: Indicator
    numerator: float | None
    denominator: float | None
    value: float | None
    national: float | None
    z: float | None
    position: str
    peers: list[PeerComparison]


def _peer_masks(data: PublishedData, row: pd.Series) -> list[tuple[str, pd.Series]]:
    table = data.table
    others = table.practice_code != row.practice_code
    lower, upper = row.list_size * 0.8, row.list_size * 1.25
    masks = [
        ("Same primary care network", others & (table.pcn_code == row.pcn_code)),
        (
            "Same deprivation quintile",
            others & (table.deprivation_quintile == row.deprivation_quintile),
        ),
        ("Similar list size (within 20%)", others & table.list_size.between(lower, upper)),
    ]
    return masks


def _compare(
    data: PublishedData, indicator: Indicator, built: IndicatorFunnel, row: pd.Series
) -> list[PeerComparison]:
    comparisons = []
    for group, mask in _peer_masks(data, row):
        peers = data.table[mask]
        if indicator.has_funnel:
            peers = peers[peers[indicator.denominator].notna()]
            num, den = row[indicator.numerator], row[indicator.denominator]
            if len(peers) == 0 or pd.isna(den):
                comparisons.append(PeerComparison(group, len(peers), None, None, "No comparison"))
                continue
            target = float(peers[indicator.numerator].sum() / peers[indicator.denominator].sum())
            tau2 = built.result.tau2 if built.result and built.result.adjustment != "none" else 0.0
            # The practice against a funnel centred on its peers' pooled value, with the
            # national between-practice variance (tau²) when the national funnel is adjusted.
            s2 = 1.0 / (4.0 * den)
            z = (np.arcsin(np.sqrt(num / den)) - np.arcsin(np.sqrt(target))) / np.sqrt(s2 + tau2)
        else:
            peers = peers[peers[indicator.value_column].notna()]
            value = row[indicator.value_column]
            if len(peers) < 3 or pd.isna(value):
                comparisons.append(PeerComparison(group, len(peers), None, None, "Too few peers"))
                continue
            values = peers[indicator.value_column].to_numpy(float)
            target = float(np.median(values))
            spread = float(np.median(np.abs(values - target))) * 1.4826
            z = (value - target) / spread if spread > 0 else 0.0
        z = float(z)
        words = outlier_words(
            int(np.sign(z) * (abs(z) > 1.959964)), int(np.sign(z) * (abs(z) > 3.090232))
        )
        comparisons.append(PeerComparison(group, len(peers), target, z, words))
    return comparisons


def practice_profile(data: PublishedData, code: str) -> tuple[pd.Series, list[PracticeIndicator]]:
    """A practice's row and every indicator against England and its peers; KeyError if unknown."""
    position = data.by_code[code]
    row = data.table.iloc[position]
    out = []
    for key, indicator in INDICATORS.items():
        built = indicator_funnel(data, key)
        mine = built.units[built.units.code == code]
        unit = mine.iloc[0] if len(mine) else None
        national = built.result.target if built.result else _median(built.units)
        out.append(
            PracticeIndicator(
                indicator=indicator,
                numerator=_num(row, indicator.numerator),
                denominator=_num(row, indicator.denominator),
                value=float(unit.value) if unit is not None else None,
                national=national,
                z=float(unit.z) if unit is not None and np.isfinite(unit.z) else None,
                position=str(unit.position) if unit is not None else "No published value",
                peers=_compare(data, indicator, built, row),
            )
        )
    return row, out


def _median(units: pd.DataFrame) -> float | None:
    return float(units.value.median()) if len(units) else None


def _num(row: pd.Series, column: str) -> float | None:
    if not column or pd.isna(row[column]):
        return None
    return float(row[column])
