"""The workforce baseline without a database: reading a file (header errors, every rejected
line with its reason), the measures against hand computations, peer comparison, and the
synthetic demo file."""

from __future__ import annotations

import csv
import io

import pytest

from joinedup.commissioning import workforce as wf
from joinedup.commissioning import workforce_export as wf_export
from joinedup.commissioning import workforce_file as wf_file
from joinedup.commissioning import workforce_store as wf_store
from joinedup.population.store import PopulationStore

HEADER = "practice_code,pcn_code,period,staff_group,fte,list_size\n"


def _records(text: str) -> list[wf_store.FigureRecord]:
    """Figures as `current_figures` would return them after loading `text` as batch 1."""
    _, good, rejected = wf_file.read_lines(text)
    assert rejected == []
    return [
        wf_store.FigureRecord(
            f.org_code,
            f.level,
            f.org_name,
            f.pcn_code,
            f.period,
            f.role,
            f.fte,
            f.list_size,
            f.imd_quintile,
            1,
        )
        for f in wf_store.batch_figures(1, good)
    ]


# --- the file -----------------------------------------------------------------------------------


def test_the_published_pcn_layout_is_read(shared_dir) -> None:
    path = (
        shared_dir / "data/gp_practice_payments_fingertips_heec/pcn_workforce_fte_heec_derived.csv"
    )
    text = path.read_text(encoding="utf-8-sig")
    lines, good, rejected = wf_file.read_lines(text)
    assert lines == 15_206
    assert {g.level for g in good} == {"pcn"}
    assert {g.role for g in good} == set(wf_file.ROLES)
    # The derived file repeats some PCN-year-group lines (PCN names spelt two ways) and gives
    # a few PCNs two IMD quintiles in one year: each such line is reported, none added up.
    reasons = [r.reason for r in rejected]
    assert sum("repeats line" in r for r in reasons) == 661
    assert sum("IMD quintile disagrees" in r for r in reasons) == len(reasons) - 661 == 17
    assert len(good) + len(rejected) == lines
    first = next(g for g in good if g.org_code == "U00070" and g.period == "2025")
    assert first.name == "WEST MERTON PCN" and first.imd_quintile == 1
    # The file's quintile 1 holds the lowest IMD scores (least deprived): turned round.
    _, turned, _ = wf_file.read_lines(text, least_deprived_first=True)
    merton = next(g for g in turned if g.org_code == "U00070" and g.period == "2025")
    assert merton.imd_quintile == 5


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", "the file is empty"),
        ("period,staff_group,fte\n", "practice_code or pcn_code"),
        ("practice_code,staff_group\n", "period, fte"),
        ("practice_code,Period,period,staff_group,fte\n", "names a column twice: period"),
    ],
)
def test_a_header_without_the_needed_columns_is_refused(header: str, message: str) -> None:
    with pytest.raises(wf_file.WorkforceFileError, match=message):
        wf_file.read_lines(header)


def test_every_unusable_line_is_reported_with_its_reason() -> None:
    text = HEADER + "\n".join(
        [
            "P1001,PCN1,2025-09,GPs,4.5,6000",  # 2 good
            ",,2025-09,GPs,1,",  # 3 no organisation
            "P1!,PCN1,2025-09,GPs,1,",  # 4 bad code
            "P1002,PCN1,Sept 25,GPs,1,",  # 5 bad period
            "P1002,PCN1,2025-09,Surgeons,1,",  # 6 unknown staff group
            "P1002,PCN1,2025-09,Nurses,-1,",  # 7 negative FTE
            "P1002,PCN1,2025-09,Nurses,lots,",  # 8 not a number
            "P1002,PCN1,2025-09,Nurses,900,",  # 9 implausible
            "P1002,PCN1,2025-09,Nurses,2,5.5",  # 10 list size not whole
            "P1001,PCN1,2025-09,gps,1,6000",  # 11 repeats line 2 (case and spaces ignored)
            "P1001,PCN1,2025-09,Nurses,1,6500",  # 12 list size disagrees with line 2
            "P1001,PCN2,2025-09,Admin,1,6000",  # 13 PCN disagrees
            "P1001,PCN1,2025-09,Admin,1,6000,extra",  # 14 surplus cell
            "P1001,PCN1,2025-09,Directors,1,6000",  # 15 good: Directors count as admin
        ]
    )
    lines, good, rejected = wf_file.read_lines(text)
    assert lines == 14
    assert [g.line for g in good] == [2, 15]
    reasons = {r.line: r.reason for r in rejected}
    assert sorted(reasons) == list(range(3, 15))
    assert "no organisation" in reasons[3]
    assert "not 3 to 12 letters" in reasons[4]
    assert "period must be" in reasons[5]
    assert "'surgeons' is not known" in reasons[6]
    assert "0 or more" in reasons[7] and "0 or more" in reasons[8]
    assert "more than 500" in reasons[9]
    assert "list size must be a whole number" in reasons[10]
    assert reasons[11].startswith("repeats line 2")
    assert "list size disagrees with line 2" in reasons[12]
    assert "PCN disagrees with line 2" in reasons[13]
    assert "more cells than the header" in reasons[14]


def test_groups_of_one_role_are_added_up_into_one_figure() -> None:
    text = (
        "pcn_code,year,staff_group,fte\nU0001,2024,Directors,0.5\n"
        "U0001,2024,Other Admin/Non-clinical staff,2.25\n"
    )
    [figure] = _records(text)
    assert (figure.role, figure.fte, figure.level) == ("admin", 2.75, "pcn")


# --- the measures -------------------------------------------------------------------------------

FILE = HEADER + "\n".join(
    [
        # practice A: 3 GP, 1 nurse, 2 DPC, 5 admin; 6,000 patients (from the file)
        "PA001,PCNX,2025-09,GPs,3,6000",
        "PA001,PCNX,2025-09,Nurses,1,6000",
        "PA001,PCNX,2025-09,Direct Patient Care,2,6000",
        "PA001,PCNX,2025-09,Admin/Non-Clinical,5,6000",
        # practice B: 2 GP, 2 nurse; 5,000 patients
        "PB001,PCNX,2025-09,GPs,2,5000",
        "PB001,PCNX,2025-09,Nurses,2,5000",
        # practice C, another PCN: 4 GP, 0 others; 9,000 patients
        "PC001,PCNY,2025-09,GPs,4,9000",
        # PCN X employs 1.5 direct patient care itself
        ",PCNX,2025-09,Direct Patient Care,1.5,",
        # an older period is ignored by default
        "PA001,PCNX,2024-09,GPs,9,6000",
    ]
)


@pytest.fixture
def baseline() -> wf.WorkforceBaseline:
    return wf.workforce_baseline(_records(FILE), {})


def test_the_latest_period_is_shown_by_default(baseline: wf.WorkforceBaseline) -> None:
    assert baseline.period == "2025-09"
    assert baseline.periods == ("2025-09", "2024-09")
    assert wf.workforce_baseline(_records(FILE), {}, "2024-09").find("PA001").fte["gp"] == 9


def test_measures_match_hand_computations(baseline: wf.WorkforceBaseline) -> None:
    a = baseline.find("PA001")
    assert a is not None and a.list_size_source == "file"
    assert a.fte == {"gp": 3, "nurse": 1, "direct_patient_care": 2, "admin": 5}
    assert a.total_fte == 11 and a.clinical_fte == 6
    assert a.patients_per_gp_fte == pytest.approx(6000 / 3)
    assert a.skill_mix == pytest.approx(3 / 6)
    assert a.per_1000("gp") == pytest.approx(0.5)
    assert a.per_1000() == pytest.approx(1.0)
    c = baseline.find("PC001")
    assert c is not None and c.skill_mix == 0 and c.patients_per_gp_fte == 2250


def test_the_pcn_roll_up_adds_practices_and_its_own_staff(baseline: wf.WorkforceBaseline) -> None:
    x = baseline.find("PCNX")
    assert x is not None and x.level == "pcn"
    assert x.practices == ("PA001", "PB001")
    assert x.fte == {"gp": 5, "nurse": 3, "direct_patient_care": 3.5, "admin": 5}
    assert x.pcn_own_fte["direct_patient_care"] == 1.5
    assert x.list_size == 11_000 and x.list_size_source == "practices"
    assert x.patients_per_gp_fte == pytest.approx(2200)
    assert x.skill_mix == pytest.approx(6.5 / 11.5)


def test_a_practice_without_a_list_size_takes_the_store_figure_rounded() -> None:
    text = "practice_code,period,staff_group,fte\nPA001,2025,GPs,2\n"
    area = {"PA001": wf.AreaPractice("PA001", "A practice", "N1", "North", 2, 4_003)}
    [a] = wf.workforce_baseline(_records(text), area).practices
    assert (a.list_size, a.list_size_source) == (4_005, "population store")
    assert (a.pcn_code, a.pcn_name, a.name, a.imd_quintile) == ("N1", "North", "A practice", 2)
    assert a.patients_per_gp_fte == pytest.approx(4_005 / 2)


# --- peers --------------------------------------------------------------------------------------


def _org(code: str, pcn: str, quintile: int | None, size: int, gp: float) -> wf.OrgWorkforce:
    fte = {"gp": gp, "nurse": 1.0, "direct_patient_care": 0.0, "admin": 0.0}
    return wf.OrgWorkforce(code, code, "practice", pcn, pcn, "2025", fte, size, "file", quintile)


def test_peer_groups_and_the_position_against_the_peer_median() -> None:
    units = [
        _org("P1", "N1", 1, 10_000, 5),  # 2,000 patients per GP
        _org("P2", "N1", 2, 12_000, 4),  # 3,000
        _org("P3", "N1", 1, 7_000, 2),  # 3,500
        _org("P4", "N2", 1, 9_000, 6),  # 1,500
        _org("P5", "N2", 3, 30_000, 10),  # 3,000
    ]
    comparisons = {
        c.group.id: c for c in wf.compare_with_peers(units, units[0], "patients_per_gp_fte")
    }
    pcn, deprivation, size = (
        comparisons["pcn"],
        comparisons["deprivation"],
        comparisons["list_size"],
    )
    assert pcn.group.members == ("P2", "P3")
    assert pcn.median == pytest.approx(3_250) and pcn.position == "below"
    assert (pcn.rank, pcn.of) == (3, 3)
    assert deprivation.group.members == ("P3", "P4")
    assert deprivation.median == pytest.approx(2_500) and deprivation.rank == 2
    # within 25% of 10,000: 7,500 to 12,500
    assert size.group.members == ("P2", "P4")
    assert size.median == pytest.approx(2_250) and size.position == "below"


def test_no_peers_means_no_position() -> None:
    lonely = _org("P1", "", None, 0, 1)
    for c in wf.compare_with_peers([lonely], lonely, "skill_mix"):
        assert c.median is None and c.position == "" and c.group.members == ()


# --- the demo file ------------------------------------------------------------------------------


def test_the_demo_file_is_deterministic_plausible_and_loads(small_store: PopulationStore) -> None:
    rows = wf_export.workforce_demo_rows(small_store)
    assert rows == wf_export.workforce_demo_rows(small_store)
    text = wf_export.rows_to_csv(rows, wf_export.DEMO_COLUMNS)
    lines, _, rejected = wf_file.read_lines(text)
    assert rejected == [] and lines == len(rows)
    area = wf.area_practices(small_store, frozenset())
    baseline = wf.workforce_baseline(_records(text), area)
    assert {p.code for p in baseline.practices} == set(area)
    for practice in baseline.practices:
        for role, national in wf_export.NATIONAL_FTE_PER_1000.items():
            rate = practice.fte[role] / area[practice.code].list_size * 1000
            assert national * 0.74 <= rate <= national * 1.26
    assert all(p.pcn_own_fte["direct_patient_care"] > 0 for p in baseline.pcns)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert {r["period"] for r in parsed} == {str(small_store.metadata()["extract_date"])[:7]}
