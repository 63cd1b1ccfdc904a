"""What is evaluated: a programme's units (practices or neighbourhoods), start and cohort.

A programme comes from a YAML file (see programmes/) or, for the programme named ``planted``,
from the area's metadata written by ``joinedup generate --plant-programme``. The one cohort
rule supported is the planted one, matched as closely as the store allows: registered and
aged 65+ on the start date, with 9 or more coded eFI deficits recorded before it (polypharmacy
is left out, as the generator leaves it out).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from joinedup.errors import UserError

PLANTED = "planted"
FRAIL_65 = "65+ with moderate or severe frailty"
COHORT_RULES = (FRAIL_65,)
PROGRAMME_DIR = Path(__file__).parent / "programmes"


class ProgrammeError(UserError, ValueError):
    """A programme that cannot be found or read."""


@dataclass(frozen=True)
class Programme:
    name: str
    start: dt.date
    cohort: str
    neighbourhoods: tuple[str, ...] = ()
    practices: tuple[str, ...] = ()
    planted_effect: float | None = None  # the known answer, for planted programmes only

    @property
    def unit_kind(self) -> str:
        return "neighbourhood" if self.neighbourhoods else "practice"

    @property
    def units(self) -> tuple[str, ...]:
        return self.neighbourhoods or self.practices


def from_mapping(data: Any, source: str, *, planted: bool = False) -> Programme:
    """A programme from parsed YAML or area.json, every fault named with its source; only a
    `planted` one (written by the generator) carries a known effect."""
    if not isinstance(data, dict):
        raise ProgrammeError(f"{source}: a programme must be a mapping of fields")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ProgrammeError(f"{source}: the programme needs a name")
    cohort = data.get("cohort")
    if cohort not in COHORT_RULES:
        raise ProgrammeError(
            f"{source}: unknown cohort rule {cohort!r}; supported: {', '.join(COHORT_RULES)}"
        )
    neighbourhoods = _codes(data.get("neighbourhoods"), source, "neighbourhoods")
    practices = _codes(data.get("practices"), source, "practices")
    if bool(neighbourhoods) == bool(practices):
        raise ProgrammeError(f"{source}: give either neighbourhoods or practices (one of them)")
    effect = data.get("effect") if planted else None
    return Programme(
        name=name.strip(),
        start=_date(data.get("start"), source),
        cohort=cohort,
        neighbourhoods=neighbourhoods,
        practices=practices,
        planted_effect=float(effect) if isinstance(effect, int | float) else None,
    )


def _codes(value: Any, source: str, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ProgrammeError(f"{source}: {field} must be a list of codes")
    return tuple(value)


def _date(value: Any, source: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ProgrammeError(
            f"{source}: start must be a date (YYYY-MM-DD), not {value!r}"
        ) from None


def load_file(path: Path) -> Programme:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ProgrammeError(f"cannot read programme file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ProgrammeError(f"{path.name} is not valid YAML: {error}") from None
    return from_mapping(data, path.name)


def find(name: str, metadata: dict[str, Any]) -> Programme:
    """The programme called `name`: planted ones from the area's metadata, others from the
    programme files shipped in programmes/."""
    for entry in metadata.get("programmes", []):
        if entry.get("name") == name:
            return from_mapping(entry, "area.json", planted=True)
    for path in sorted(PROGRAMME_DIR.glob("*.yaml")):
        programme = load_file(path)
        if programme.name == name:
            return programme
    if name == PLANTED:
        raise ProgrammeError(
            "this area has no planted programme: generate one with "
            "`joinedup generate --plant-programme -0.2`"
        )
    known = [p.get("name") for p in metadata.get("programmes", [])] + [
        load_file(p).name for p in sorted(PROGRAMME_DIR.glob("*.yaml"))
    ]
    raise ProgrammeError(f"unknown programme {name!r}; known: {', '.join(map(str, known))}")
