"""Continuity of GP care per patient and per practice: UPC, COC, SECON and SLICC.

Sources (formulas as in ``../shared/reference/ALGORITHMS.md`` §7, checked against
``../shared/reference/continuity/continuity_test_vectors.json``):

* **UPC**, Usual Provider of Care: Breslau N, Reeb KG. *Continuity of care in a university-based
  practice.* J Med Educ 1975;50:965–9. ``n_max / N``: the share of a patient's consultations
  with the clinician they saw most. The primary measure of Parry et al., BMJ Open
  2023;13:e075152 (Health Foundation, CPRD Aurum).
* **COC**, Bice–Boxerman Continuity of Care index: Bice TW, Boxerman SB. *A quantitative
  measure of continuity of care.* Med Care 1977;15:347–9. ``(Σ n_j² − N) / (N(N − 1))``,
  0 (every visit a different clinician) to 1 (one clinician); undefined for N < 2. As coded by
  HFAnalyticsLab/continuity_of_care_by_ethnicity (R): ``BiceBox = (sum(n^2) - N)/(N*(N-1))``.
* **SECON**, Sequential Continuity: Steinwachs DM. *Measuring provider continuity in ambulatory
  care.* Med Care 1979;17:551–65. Consecutive pairs of consultations with the same clinician
  ÷ (N − 1); order-sensitive, undefined for N < 2.
* **SLICC**, St Leonard's Index of Continuity of Care: Sidaway-Lee K, Pereira Gray D, Evans P.
  *A method for measuring continuity of care in day-to-day general practice: a quantitative
  analysis of appointment data.* BJGP 2019;69:e356–62, doi:10.3399/bjgp19X701813. Practice
  level: consultations with the patient's own (personal-list) GP ÷ all GP consultations.

Rules used here
---------------
* **Consultations**: *attended* GP appointments (``clinician_role == "gp"``) of every mode
  (face to face, telephone, video, home visit: SLICC's authors later counted telephone too), at
  the practice the appointment was with, in the 365 days ending on ``as_of``
  (``as_of − 365 days < date ≤ as_of``, the window of ``person_summary``). A patient seen at two
  practices has a separate continuity at each. Same-day consultations are ordered by
  appointment id (the order they were booked), which only SECON depends on.
* **Eligible patients** for UPC, COC and SECON: at least ``MIN_CONSULTATIONS`` (3)
  consultations in the window — the HFAnalyticsLab code keeps patients with ``totcons > 2``,
  and with fewer the indices are undefined or trivially 1. Practice figures are means over
  eligible patients; ``patients`` is their number.
* **High continuity** (what a commissioner can judge against a plan, and a share with funnel
  limits): an eligible patient whose UPC is at least ``HIGH_UPC`` (0.75), who saw one GP for
  at least three of every four GP consultations in the year. The cut-point is the "high" band
  of personal-provider continuity in primary-care research: more than 74% of visits with one
  provider (bands 0–29, 30–74, over 74), as operationalised in Annals of Family Medicine
  (table "Operationalization of measures in the analysis", cut-points adapted from Menec VH et
  al., J Health Serv Res Policy 2006;11:196–201; McCusker J et al.; Ionescu-Ittu R et al.,
  CMAJ 2007;177:1362–8). The 3-consultation floor is the HFAnalyticsLab code's ``totcons >
  2`` above; the BJGP comparison of UPC, SLICC, COC and OPR (Sidaway-Lee K et al., BJGP
  2023;73:279–82, doi:10.3399/bjgp23X733161, Table 1) warns that shorter windows leave only
  frequent attenders, hence the whole year. A mean UPC cannot be judged this way: with three
  or more consultations and small GP teams it is at least 0.5 almost everywhere (a patient of
  a two-GP practice cannot score below it), so "patients at practices whose mean UPC is at
  least 0.5" counted every patient in every area (issue 13). ``patients_high_upc /
  patients`` is a proportion of people: it has binomial funnel limits, and its numerator and
  denominator can be shown.
* **The usual GP for SLICC**: the population store does not hold a patient's named or
  personal-list GP, so joinedup takes the GP the patient saw most at the practice in the
  **365 days before the window** (ties: the lowest clinician key). Fixing the GP beforehand
  keeps SLICC a prospective measure ("did people keep seeing their own GP?") rather than a
  restatement of UPC. Patients with no GP consultation in that earlier year have no usual GP
  and are not in SLICC. SLICC is consultation-weighted: ``slicc_with_usual_gp /
  slicc_consultations`` (a proportion, so it has proportion funnel limits).

`practice_continuity` returns the figures as computed; pages pass counts through
`joinedup.governance.suppression` (see `PracticeContinuity.published`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import ibis
import pyarrow as pa

from joinedup.analytics.engine import connection, read_store
from joinedup.governance.suppression import suppress_count, withheld_unless
from joinedup.population.store import PopulationStore

WINDOW_DAYS = 365
MIN_CONSULTATIONS = 3
HIGH_UPC = 0.75
KEYS = ("person_id", "practice_code")


@dataclass(frozen=True)
class PracticeContinuity:
    """Continuity of GP care at one practice over the 365 days ending `as_of`."""

    practice_code: str
    patients: int | None  # eligible patients (≥ 3 consultations): the UPC/COC/SECON denominator
    upc: float | None  # means over eligible patients
    coc: float | None
    slicc: float | None  # consultations with the usual GP / consultations of people with one
    secon: float | None = None
    slicc_consultations: int | None = 0
    slicc_with_usual_gp: int | None = 0
    patients_high_upc: int | None = 0  # eligible patients with UPC ≥ HIGH_UPC

    @property
    def high_upc_share(self) -> float | None:
        """The share of eligible patients with high continuity (unsuppressed counts)."""
        if not self.patients or self.patients_high_upc is None:
            return None
        return self.patients_high_upc / self.patients

    def published(self) -> PracticeContinuity:
        """The figures as they may leave: counts suppressed, a mean withheld with its count."""
        return replace(
            self,
            patients=suppress_count(self.patients),
            upc=withheld_unless(self.patients, self.upc),
            coc=withheld_unless(self.patients, self.coc),
            secon=withheld_unless(self.patients, self.secon),
            slicc=withheld_unless(self.slicc_consultations, self.slicc),
            slicc_consultations=suppress_count(self.slicc_consultations),
            slicc_with_usual_gp=suppress_count(self.slicc_with_usual_gp),
            patients_high_upc=suppress_count(self.patients_high_upc),
        )


def _window(end: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """(exclusive start, inclusive end) of the `days` ending on `end`."""
    return end - dt.timedelta(days=days), end


def gp_consultations(appointments: ibis.Table, start: dt.date, end: dt.date) -> ibis.Table:
    """Attended GP appointments with start < date ≤ end: person, practice, clinician, order."""
    a = appointments
    kept = a.filter(
        (a.clinician_role == "gp")
        & a.attended
        & (a.appointment_date > ibis.literal(start, type="date"))
        & (a.appointment_date <= ibis.literal(end, type="date"))
    )
    return kept.select(
        person_id=kept.person_id.cast("int64"),
        practice_code=kept.practice_code,
        clinician_id=kept.clinician_id,
        appointment_date=kept.appointment_date,
        appointment_id=kept.appointment_id.cast("int64"),
    )


def patient_continuity(
    appointments: ibis.Table,
    as_of: dt.date,
    *,
    window_days: int = WINDOW_DAYS,
    min_consultations: int = MIN_CONSULTATIONS,
) -> ibis.Table:
    """One row per patient and practice with ≥ `min_consultations` GP consultations in the
    window: person_id, practice_code, consultations, upc, coc, secon (null when N < 2)."""
    c = gp_consultations(appointments, *_window(as_of, window_days))
    keys = list(KEYS)
    per_clinician = c.group_by([*keys, "clinician_id"]).aggregate(n=c.count())
    per_patient = per_clinician.group_by(keys).aggregate(
        consultations=per_clinician.n.sum().cast("int64"),
        n_max=per_clinician.n.max().cast("int64"),
        sum_sq=(per_clinician.n * per_clinician.n).sum().cast("int64"),
    )
    in_order = ibis.window(group_by=keys, order_by=[c.appointment_date, c.appointment_id])
    previous = c.clinician_id.lag().over(in_order)
    same = c.mutate(
        _same=ibis.ifelse(previous.notnull() & (previous == c.clinician_id), 1, 0).cast("int64")
    )
    pairs = same.group_by(keys).aggregate(same_pairs=same._same.sum().cast("int64"))
    t = per_patient.join(pairs, keys)
    n = t.consultations.cast("float64")
    several = t.consultations >= 2
    null = ibis.null("float64")
    t = t.filter(t.consultations >= min_consultations)
    return t.select(
        "person_id",
        "practice_code",
        "consultations",
        upc=t.n_max.cast("float64") / n,
        coc=ibis.ifelse(several, (t.sum_sq.cast("float64") - n) / (n * (n - 1.0)), null),
        secon=ibis.ifelse(several, t.same_pairs.cast("float64") / (n - 1.0), null),
    )


def usual_gp(appointments: ibis.Table, as_of: dt.date, *, window_days: int = WINDOW_DAYS):  # type: ignore[no-untyped-def]
    """Each patient's usual GP at each practice: the GP seen most in the year before the
    window (ties: lowest clinician key). Columns: person_id, practice_code, usual_gp."""
    window_start, _ = _window(as_of, window_days)
    before = gp_consultations(appointments, *_window(window_start, window_days))
    counted = before.group_by([*KEYS, "clinician_id"]).aggregate(n=before.count())
    rank = ibis.row_number().over(
        group_by=list(KEYS), order_by=[ibis.desc(counted.n), counted.clinician_id]
    )
    ranked = counted.mutate(_rank=rank)
    return ranked.filter(ranked._rank == 0).select(*KEYS, usual_gp=ranked.clinician_id)


def slicc_consultations(
    appointments: ibis.Table, as_of: dt.date, *, window_days: int = WINDOW_DAYS
) -> ibis.Table:
    """Window consultations of patients with a usual GP: person_id, practice_code,
    with_usual_gp (1 when the GP seen was their usual GP, else 0)."""
    c = gp_consultations(appointments, *_window(as_of, window_days))
    usual = usual_gp(appointments, as_of, window_days=window_days)
    joined = c.join(usual, list(KEYS))
    return joined.select(
        *KEYS,
        with_usual_gp=ibis.ifelse(joined.clinician_id == joined.usual_gp, 1, 0).cast("int64"),
    )


def patient_practice_continuity(
    appointments: ibis.Table,
    as_of: dt.date,
    *,
    window_days: int = WINDOW_DAYS,
    min_consultations: int = MIN_CONSULTATIONS,
) -> ibis.Table:
    """One row per patient and practice with any GP consultation in the window: person_id,
    practice_code, eligible (≥ `min_consultations` consultations), upc, coc, secon (null unless
    eligible), slicc_consultations, slicc_with_usual_gp. What `practice_figures` sums; kept
    per patient so that objectors can be left out later without reading appointments again."""
    c = gp_consultations(appointments, *_window(as_of, window_days))
    keys = list(KEYS)
    seen = c.group_by(keys).aggregate(_n=c.count())
    indices = patient_continuity(
        appointments, as_of, window_days=window_days, min_consultations=min_consultations
    )
    s = slicc_consultations(appointments, as_of, window_days=window_days)
    slicc = s.group_by(keys).aggregate(
        slicc_consultations=s.count().cast("int64"),
        slicc_with_usual_gp=s.with_usual_gp.sum().cast("int64"),
    )
    t = seen.left_join(indices.drop("consultations"), keys)
    t = t.drop(*[c for c in t.columns if c.endswith("_right")])
    t = t.left_join(slicc, keys)
    t = t.drop(*[c for c in t.columns if c.endswith("_right")])
    zero = ibis.literal(0, "int64")
    return t.select(
        *keys,
        eligible=t.upc.notnull(),
        upc=t.upc,
        coc=t.coc,
        secon=t.secon,
        slicc_consultations=t.slicc_consultations.fill_null(zero),
        slicc_with_usual_gp=t.slicc_with_usual_gp.fill_null(zero),
    )


def practice_figures(patients: ibis.Table) -> ibis.Table:
    """`patient_practice_continuity` rows → one row per practice with any of them:
    practice_code, patients (eligible), patients_high_upc (eligible with UPC ≥ `HIGH_UPC`),
    upc, coc, secon (means over eligible patients), slicc_consultations, slicc_with_usual_gp."""
    eligible = patients.filter(patients.eligible)
    means = eligible.group_by("practice_code").aggregate(
        patients=eligible.count().cast("int64"),
        patients_high_upc=(eligible.upc >= HIGH_UPC).cast("int64").sum(),
        upc=eligible.upc.mean(),
        coc=eligible.coc.mean(),
        secon=eligible.secon.mean(),
    )
    slicc = patients.group_by("practice_code").aggregate(
        slicc_consultations=patients.slicc_consultations.sum().cast("int64"),
        slicc_with_usual_gp=patients.slicc_with_usual_gp.sum().cast("int64"),
    )
    t = means.right_join(slicc, "practice_code")
    zero = ibis.literal(0, "int64")
    return t.select(
        practice_code=t.practice_code_right,
        patients=t.patients.fill_null(zero),
        patients_high_upc=t.patients_high_upc.fill_null(zero),
        upc=t.upc,
        coc=t.coc,
        secon=t.secon,
        slicc_consultations=t.slicc_consultations,
        slicc_with_usual_gp=t.slicc_with_usual_gp,
    )


def practice_continuity_table(
    appointments: ibis.Table,
    as_of: dt.date,
    *,
    window_days: int = WINDOW_DAYS,
    min_consultations: int = MIN_CONSULTATIONS,
) -> ibis.Table:
    """One row per practice with any GP consultation in the window: practice_code, patients,
    patients_high_upc, upc, coc, secon, slicc_consultations, slicc_with_usual_gp."""
    return practice_figures(
        patient_practice_continuity(
            appointments, as_of, window_days=window_days, min_consultations=min_consultations
        )
    )


def without(table: ibis.Table, people: Iterable[int]) -> ibis.Table:
    """`table` less the rows of `people` (objectors): an anti-join, fine for large sets."""
    ids = sorted(set(people))
    if not ids:
        return table
    left_out = ibis.memtable(pa.table({"person_id": pa.array(ids, pa.int64())}))
    return table.anti_join(left_out, table.person_id.cast("int64") == left_out.person_id)


def patient_rows(
    store: PopulationStore, *, as_of: dt.date, window_days: int = WINDOW_DAYS
) -> pa.Table:
    """`patient_practice_continuity` over the store's GP appointments (DuckDB), everyone in.

    Each patient's row depends only on their own appointments, so leaving objectors out of
    these rows (`practice_continuity_from_rows`) gives what leaving them out of the
    appointments would."""
    with connection("duckdb") as con:
        appointments = read_store(con, store, ["gp_appointments"])["gp_appointments"]
        # The two years the indices read, kept once in memory: the pipeline reads them thrice.
        first = as_of - dt.timedelta(days=2 * window_days)
        kept = appointments.filter(
            (appointments.appointment_date > ibis.literal(first, type="date"))
            & (appointments.appointment_date <= ibis.literal(as_of, type="date"))
            & (appointments.clinician_role == "gp")
        )
        recent = con.create_table("recent_gp_appointments", kept, temp=True)
        return con.to_pyarrow(patient_practice_continuity(recent, as_of, window_days=window_days))


def practice_continuity_from_rows(
    rows: pa.Table, *, excluding: Iterable[int] = ()
) -> list[PracticeContinuity]:
    """Practice figures from `patient_rows`, leaving out `excluding` (objectors)."""
    with connection("duckdb") as con:
        patients = without(ibis.memtable(rows), excluding)
        found = con.to_pyarrow(practice_figures(patients)).to_pylist()
    return sorted((_record(r) for r in found), key=lambda p: p.practice_code)


def practice_continuity(
    store: PopulationStore,
    *,
    as_of: dt.date,
    excluding: Iterable[int] = (),
    window_days: int = WINDOW_DAYS,
) -> list[PracticeContinuity]:
    """Continuity of GP care at each practice over the 365 days ending `as_of` (DuckDB),
    leaving out `excluding` (objectors). Figures are not yet suppressed: see `published`."""
    rows = patient_rows(store, as_of=as_of, window_days=window_days)
    return practice_continuity_from_rows(rows, excluding=excluding)


def _record(row: Mapping[str, object]) -> PracticeContinuity:
    consultations = int(row["slicc_consultations"] or 0)  # type: ignore[call-overload]
    with_usual = int(row["slicc_with_usual_gp"] or 0)  # type: ignore[call-overload]
    return PracticeContinuity(
        practice_code=str(row["practice_code"]),
        patients=int(row["patients"] or 0),  # type: ignore[call-overload]
        upc=_float(row["upc"]),
        coc=_float(row["coc"]),
        secon=_float(row["secon"]),
        slicc=with_usual / consultations if consultations else None,
        slicc_consultations=consultations,
        slicc_with_usual_gp=with_usual,
        patients_high_upc=int(row["patients_high_upc"] or 0),  # type: ignore[call-overload]
    )


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
