"""The workforce baseline: FTE by role per practice and PCN (imported from CSV by
`joinedup.commissioning.workforce_store`), compared with peers.

* **FTE by role**: GPs, nurses, direct patient care, admin and non-clinical.
* **Patients per FTE GP**: registered patients ÷ GP FTE. Registered patients come from the file
  when it carries them, otherwise from the population store: people registered at the store's
  extract date, objectors to secondary use left out (as every aggregate leaves them out),
  rounded by the small-number rule (`joinedup.governance.suppression`).
* **Skill mix**: the share of clinical FTE that is not GP (nurses and direct patient care over
  GPs, nurses and direct patient care) — the definition used in analyses of the general
  practice workforce, e.g. The Health Foundation / Nuffield Trust "skill mix" (nurses and
  other direct patient care staff relative to GPs).
* **Peers** (as in practice variation, `joinedup.analytics.variation.matrix`): practices of the
  same PCN (or neighbourhood), of the same deprivation quintile, and of a similar list size
  (within 25% either way); the peer median excludes the practice itself, and the practice's
  position is its rank among itself and its peers (1 = highest) and whether it is above or
  below the median. PCNs are compared with PCNs of the same deprivation quintile and size.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from joinedup.commissioning.workforce_file import CLINICAL_ROLES, ROLES
from joinedup.commissioning.workforce_store import FigureRecord
from joinedup.errors import UserError
from joinedup.governance.suppression import suppress_count
from joinedup.population.reads import list_sizes, organisations
from joinedup.population.store import PopulationStore, StoreError

LIST_SIZE_BAND = 0.25


class UnknownOrganisation(UserError, LookupError):
    """No workforce figures for the organisation asked for."""


@dataclass(frozen=True)
class AreaPractice:
    code: str
    name: str
    parent_code: str  # neighbourhood or PCN
    parent_name: str
    imd_quintile: int | None
    list_size: int  # registered at the extract date, objectors left out (not published as is)


def area_practices(
    store: PopulationStore | None, objectors: frozenset[int]
) -> dict[str, AreaPractice]:
    """The population store's practices by code ({} when there is no store)."""
    if store is None:
        return {}
    try:
        orgs = list(organisations(store).values())
        sizes = list_sizes(store, excluding=objectors)
    except (StoreError, KeyError, FileNotFoundError):
        return {}
    names = {o.code: o.name for o in orgs}
    found = {}
    for o in orgs:
        if o.org_type != "practice":
            continue
        parent = o.parent_code or ""
        found[o.code] = AreaPractice(
            code=o.code,
            name=o.name,
            parent_code=parent,
            parent_name=names.get(parent, parent),
            imd_quintile=None if o.imd_decile is None else (o.imd_decile + 1) // 2,
            list_size=sizes.get(o.code, 0),
        )
    return found


@dataclass(frozen=True)
class OrgWorkforce:
    """One practice's (or one PCN's) workforce in one period, and the measures from it."""

    code: str
    name: str
    level: str  # practice | pcn
    pcn_code: str
    pcn_name: str
    period: str
    fte: Mapping[str, float]  # by role, every role present (0.0 when none)
    list_size: int | None  # published: from the file, or the store's (rounded)
    list_size_source: str  # "file", "population store" or "" (not known)
    imd_quintile: int | None
    pcn_own_fte: Mapping[str, float] = field(default_factory=dict)  # PCNs: staff it employs
    practices: tuple[str, ...] = ()  # PCNs: the practices rolled up

    @property
    def total_fte(self) -> float:
        return sum(self.fte.values())

    @property
    def clinical_fte(self) -> float:
        return sum(self.fte[r] for r in CLINICAL_ROLES)

    @property
    def skill_mix(self) -> float | None:
        """Share of clinical FTE that is not GP (None when there is no clinical FTE)."""
        clinical = self.clinical_fte
        return (clinical - self.fte["gp"]) / clinical if clinical > 0 else None

    @property
    def patients_per_gp_fte(self) -> float | None:
        gp = self.fte["gp"]
        return self.list_size / gp if self.list_size and gp > 0 else None

    def per_1000(self, role: str | None = None) -> float | None:
        """FTE per 1,000 registered patients, of one role or (None) of all clinical roles."""
        fte = self.clinical_fte if role is None else self.fte[role]
        return fte / self.list_size * 1000 if self.list_size else None

    def measure(self, measure_id: str) -> float | None:
        return MEASURES[measure_id].value(self)


@dataclass(frozen=True)
class Measure:
    id: str
    title: str
    short: str  # a column heading
    unit: str

    def value(self, org: OrgWorkforce) -> float | None:
        if self.id == "patients_per_gp_fte":
            return org.patients_per_gp_fte
        if self.id == "skill_mix":
            return org.skill_mix
        if self.id == "gp_fte_per_1000":
            return org.per_1000("gp")
        return org.per_1000(None)


MEASURES: dict[str, Measure] = {
    m.id: m
    for m in (
        Measure("patients_per_gp_fte", "Patients per FTE GP", "Patients per GP", "patients"),
        Measure("skill_mix", "Skill mix (non-GP share of clinical FTE)", "Skill mix", "share"),
        Measure("gp_fte_per_1000", "GP FTE per 1,000 patients", "GP per 1,000", "FTE"),
        Measure(
            "clinical_fte_per_1000", "Clinical FTE per 1,000 patients", "Clinical per 1,000", "FTE"
        ),
    )
}


@dataclass(frozen=True)
class PeerGroup:
    id: str
    title: str
    members: tuple[str, ...]  # codes, the organisation itself excluded


@dataclass(frozen=True)
class PeerComparison:
    measure: Measure
    group: PeerGroup
    value: float | None
    median: float | None  # of the peers with a value
    peers_with_value: int
    rank: int | None  # 1 = highest among the organisation and its peers
    of: int
    position: str  # "above", "below", "at" the peer median, or "" (no comparison)


@dataclass(frozen=True)
class WorkforceBaseline:
    period: str | None
    periods: tuple[str, ...]
    practices: list[OrgWorkforce]
    pcns: list[OrgWorkforce]

    def find(self, code: str) -> OrgWorkforce | None:
        return next((o for o in [*self.practices, *self.pcns] if o.code == code), None)

    def peers_of(self, org: OrgWorkforce) -> list[OrgWorkforce]:
        return self.practices if org.level == "practice" else self.pcns


def workforce_baseline(
    figures: Sequence[FigureRecord],
    area: Mapping[str, AreaPractice],
    period: str | None = None,
) -> WorkforceBaseline:
    """Every practice's and PCN's workforce in `period` (default: the latest with figures)."""
    periods = tuple(sorted({f.period for f in figures}, reverse=True))
    if period is None:
        period = periods[0] if periods else None
    chosen = [f for f in figures if f.period == period]
    by_org: dict[str, list[FigureRecord]] = defaultdict(list)
    for f in chosen:
        by_org[f.org_code].append(f)
    practices = [
        _practice(code, rows, area) for code, rows in by_org.items() if rows[0].level == "practice"
    ]
    pcn_rows = {code: rows for code, rows in by_org.items() if rows[0].level == "pcn"}
    pcns = _pcns(practices, pcn_rows, period or "")
    practices.sort(key=lambda o: (o.pcn_name, o.name))
    pcns.sort(key=lambda o: o.name)
    return WorkforceBaseline(period, periods, practices, pcns)


def _fte(rows: Iterable[FigureRecord]) -> dict[str, float]:
    fte = dict.fromkeys(ROLES, 0.0)
    for r in rows:
        fte[r.role] += r.fte
    return fte


def _practice(
    code: str, rows: list[FigureRecord], area: Mapping[str, AreaPractice]
) -> OrgWorkforce:
    first = rows[0]
    known = area.get(code)
    pcn_code = first.pcn_code or (known.parent_code if known else "")
    list_size: int | None
    if first.list_size is not None:
        list_size, source = first.list_size, "file"
    elif known is not None:
        list_size, source = suppress_count(known.list_size), "population store"
    else:
        list_size, source = None, ""
    pcn_name = known.parent_name if known and known.parent_code == pcn_code else pcn_code
    return OrgWorkforce(
        code=code,
        name=first.org_name or (known.name if known else code),
        level="practice",
        pcn_code=pcn_code,
        pcn_name=pcn_name,
        period=first.period,
        fte=_fte(rows),
        list_size=list_size,
        list_size_source=source if list_size is not None else "",
        imd_quintile=first.imd_quintile
        if first.imd_quintile is not None
        else (known.imd_quintile if known else None),
    )


def _pcns(
    practices: list[OrgWorkforce], pcn_rows: Mapping[str, list[FigureRecord]], period: str
) -> list[OrgWorkforce]:
    """PCN roll-ups: the PCN's practices added up, plus the staff the PCN employs itself."""
    members: dict[str, list[OrgWorkforce]] = defaultdict(list)
    for p in practices:
        if p.pcn_code:
            members[p.pcn_code].append(p)
    found = []
    for code in sorted(set(members) | set(pcn_rows)):
        own_rows = pcn_rows.get(code, [])
        own = _fte(own_rows)
        mine = members.get(code, [])
        fte = {role: own[role] + sum(p.fte[role] for p in mine) for role in ROLES}
        sizes = [p.list_size for p in mine]
        first = own_rows[0] if own_rows else None
        if mine and all(s is not None for s in sizes):
            list_size: int | None = sum(s for s in sizes if s is not None)
            source = "practices"
        elif first is not None and first.list_size is not None:
            list_size, source = first.list_size, "file"
        else:
            list_size, source = None, ""
        name = (first.org_name if first and first.org_name else "") or (
            mine[0].pcn_name if mine else code
        )
        found.append(
            OrgWorkforce(
                code=code,
                name=name,
                level="pcn",
                pcn_code=code,
                pcn_name=name,
                period=period,
                fte=fte,
                list_size=list_size,
                list_size_source=source,
                imd_quintile=first.imd_quintile if first else _common_quintile(mine),
                pcn_own_fte=own,
                practices=tuple(p.code for p in mine),
            )
        )
    return found


def _common_quintile(practices: Sequence[OrgWorkforce]) -> int | None:
    """The PCN's deprivation quintile when all its practices share one; None otherwise."""
    quintiles = {p.imd_quintile for p in practices}
    return quintiles.pop() if len(quintiles) == 1 else None


def peer_groups(units: Sequence[OrgWorkforce], org: OrgWorkforce) -> list[PeerGroup]:
    """Same PCN (practices only), same deprivation quintile, list size within 25%."""
    others = [u for u in units if u.code != org.code]
    groups = []
    if org.level == "practice":
        groups.append(
            PeerGroup(
                "pcn",
                f"Same PCN or neighbourhood ({org.pcn_name or 'none'})",
                tuple(u.code for u in others if org.pcn_code and u.pcn_code == org.pcn_code),
            )
        )
    groups.append(
        PeerGroup(
            "deprivation",
            f"Same deprivation quintile ({org.imd_quintile or 'not known'})",
            tuple(
                u.code
                for u in others
                if org.imd_quintile is not None and u.imd_quintile == org.imd_quintile
            ),
        )
    )
    size = org.list_size
    groups.append(
        PeerGroup(
            "list_size",
            "Similar list size (within 25%)",
            tuple(
                u.code
                for u in others
                if size
                and u.list_size is not None
                and size * (1 - LIST_SIZE_BAND) <= u.list_size <= size * (1 + LIST_SIZE_BAND)
            ),
        )
    )
    return groups


def compare_with_peers(
    units: Sequence[OrgWorkforce], org: OrgWorkforce, measure_id: str
) -> list[PeerComparison]:
    """The organisation's value of a measure against each of its peer groups."""
    measure = MEASURES[measure_id]
    by_code = {u.code: u for u in units}
    mine = measure.value(org)
    found = []
    for group in peer_groups(units, org):
        values = [v for c in group.members if (v := measure.value(by_code[c])) is not None]
        median = statistics.median(values) if values else None
        rank = 1 + sum(1 for v in values if v > mine) if mine is not None else None
        position = ""
        if mine is not None and median is not None:
            position = "above" if mine > median else "below" if mine < median else "at"
        found.append(
            PeerComparison(
                measure=measure,
                group=group,
                value=mine,
                median=median,
                peers_with_value=len(values),
                rank=rank,
                of=len(values) + (1 if mine is not None else 0),
                position=position,
            )
        )
    return found
