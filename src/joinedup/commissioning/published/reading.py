"""Reading and checking the published files into one tidy row per practice; every rejected
row counted by reason."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from joinedup.commissioning.published.sources import (
    COLUMNS,
    COORDINATES_FILE,
    FINGERTIPS_COLUMNS,
    ICB_LOOKUP_FILE,
    IMD_FILE,
    IMD_YEAR,
    PAYMENT_COLUMNS,
    PAYMENTS_DIR,
    PAYMENTS_FILE,
    PRACTICE_CODE,
    PREVALENCES,
    STRUCTURES_FILE,
    LoadSummary,
    Prevalence,
)
from joinedup.errors import UserError


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
