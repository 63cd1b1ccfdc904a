"""One module per rule builder; `PIPELINES` maps each available list id (in
`case_finding_lists.yaml`) to its builder: (tables, index date, parameters) -> the people found,
with person_id, evidence and evidence_date."""

from __future__ import annotations

from joinedup.analytics.case_finding.rules.blood_pressure import raised_bp
from joinedup.analytics.case_finding.rules.common import (
    REGISTER,
    REGISTER_LEFT_OUT_LAST,
    RUN_SCORES,
    Pipeline,
)
from joinedup.analytics.case_finding.rules.frailty import frailty
from joinedup.analytics.case_finding.rules.gp_use import high_gp_users
from joinedup.analytics.case_finding.rules.hba1c import raised_hba1c
from joinedup.analytics.case_finding.rules.pulse import irregular_pulse
from joinedup.analytics.case_finding.rules.top_risk import top_risk

PIPELINES: dict[str, Pipeline] = {
    "raised-bp-no-hypertension": raised_bp,
    "raised-hba1c-no-diabetes": raised_hba1c,
    "irregular-pulse-no-af": irregular_pulse,
    "frailty-no-review": frailty,
    "high-gp-users": high_gp_users,
    "top-risk-not-on-register": top_risk,
}


__all__ = ["PIPELINES", "REGISTER", "REGISTER_LEFT_OUT_LAST", "RUN_SCORES", "Pipeline"]
