"""The synthetic area's directory: fictional community services for each neighbourhood, in Open
Referral UK, placed near the neighbourhood's practices.

What it makes (deterministic for a population store and seed):

* one fictional voluntary organisation per neighbourhood, and services from `TEMPLATES` — a
  food larder, a walking group, debt advice, a carers' group … — each classified by a real
  taxonomy term (the Open Eligibility human-service categories, `joinedup.directory.
  taxonomies`); about one template in five is left out of each neighbourhood, so that some
  needs have no service near some neighbourhoods, as in real directories;
* eligibility (age limits where the service has them), costs (most free), weekly schedules
  (RFC 5545 BYDAY), languages, accessibility, a contact with a phone, and review dates spread
  over the two years before `reviewed_by` (default the area's extract date), so some entries
  are stale. Staleness is measured from today (`services.is_stale`), as a real directory's
  must be, so the demo passes the day it is generated (`seed_directory`): an area extracted
  long before would otherwise show almost every entry as needing checking.

Everything is clearly fictional: names carry the area's fictional place names, descriptions say
"Fictional service", web and email addresses use the reserved example.org domain (RFC 2606),
phone numbers come from Ofcom's range reserved for drama (01632 960000–960999), and postcodes
use the ZZ area, which Royal Mail does not assign.

Geography: services sit 0.2–1.2 km from one of their neighbourhood's practices, and a practice
stands where the population store places it (`joinedup.population.places`: the synthetic area
gives each practice the premises of the real practice it is modelled on), so distances from a
person's home, a postcode or a neighbourhood mean something. Only a store that places no
practice falls back to a nominal layout around `AREA_CENTRE` (neighbourhoods on a ring 5 km
out, their practices 1.5 km around them). `practice_points` gives the practice positions used.

`synthetic_directory` returns the directory as an ORUK page, the same document `joinedup
directory export` writes; `seed_directory` loads it through the ordinary import (so the demo
dog-foods the import), and `joinedup directory synthetic -o FILE` writes it for `joinedup
directory import`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from joinedup.directory.importer import ImportReport, SourceFile, import_directory
from joinedup.directory.services import page_object
from joinedup.directory.taxonomies import OPEN_ELIGIBILITY, derived_id
from joinedup.population.places import PracticePlace, practice_locations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

AREA_CENTRE = (53.0, -1.5)  # nominal: the synthetic area has no real geography
NEIGHBOURHOOD_RING_KM = 5.0
PRACTICE_RING_KM = 1.5
KM_PER_DEGREE_LATITUDE = 111.32
DROP_SHARE = 0.2  # share of templates left out of each neighbourhood (the gaps)
REVIEW_SPREAD_DAYS = 730  # reviews spread over the two years before the extract date


@dataclass(frozen=True)
class Template:
    key: str
    name: str  # "{place}" becomes the neighbourhood's place name
    category: str  # an Open Eligibility top-level human-service category
    description: str
    byday: str
    opens_at: str
    closes_at: str
    minimum_age: float | None = None
    maximum_age: float | None = None
    cost: float | None = None  # £ per session; None is free
    cost_unit: str = "per session"
    virtual: bool = False


TEMPLATES: tuple[Template, ...] = (
    Template("larder", "{place} Community Larder", "Food",
             "Low-cost food larder with fresh and store-cupboard food; no referral needed.",
             "TH", "10:00:00", "13:00:00", cost=3.5, cost_unit="per visit"),
    Template("walking", "{place} Health Walks", "Health",
             "Led walks of 30–60 minutes at an easy pace, for people getting active again.",
             "TU,SA", "10:00:00", "11:30:00"),
    Template("chair-yoga", "{place} Chair Yoga for Over-60s", "Health",
             "Gentle seated exercise for strength and balance, for people aged 60 and over.",
             "WE", "14:00:00", "15:00:00", minimum_age=60, cost=3.0),
    Template("memory-cafe", "{place} Memory Café", "Health",
             "A friendly café for people living with dementia and the people who care for them.",
             "FR", "13:30:00", "15:30:00", minimum_age=18),
    Template("debt-advice", "{place} Money and Debt Advice", "Money",
             "Free, confidential advice on debt, budgeting and benefit entitlement.",
             "MO,WE", "09:30:00", "16:00:00", minimum_age=18),
    Template("carers", "{place} Carers' Circle", "Care",
             "Peer support, information and short breaks for unpaid carers.",
             "TU", "18:00:00", "20:00:00"),
    Template("warm-welcome", "{place} Warm Welcome Lunch Club", "Care",
             "Hot lunch and company for people who are lonely or isolated.",
             "TH", "12:00:00", "14:00:00", cost=2.0, cost_unit="per lunch"),
    Template("digital", "{place} Digital Skills Drop-in", "Education",
             "Help with phones, tablets, the NHS App and getting online safely.",
             "MO", "13:00:00", "15:00:00"),
    Template("job-club", "{place} Job Club", "Work",
             "Help with CVs, applications and interviews, and volunteering to build confidence.",
             "WE", "10:00:00", "12:00:00", minimum_age=16),
    Template("transport", "{place} Community Transport", "Transit",
             "Door-to-door minibus for people who cannot use buses, to appointments and shops.",
             "MO,TU,WE,TH,FR", "08:30:00", "17:00:00", cost=2.5, cost_unit="per journey"),
    Template("housing", "{place} Housing Advice Surgery", "Housing",
             "Advice on renting, repairs, damp and mould, and homelessness prevention.",
             "FR", "09:30:00", "12:30:00", minimum_age=16),
    Template("law-clinic", "{place} Benefits Law Clinic", "Legal",
             "Volunteer advisers help with benefit appeals and tribunal paperwork.",
             "TH", "17:30:00", "19:30:00", minimum_age=18),
    Template("baby-bank", "{place} Baby Bank", "Goods",
             "Clothes, cots, prams and other essentials for families with young children.",
             "SA", "10:00:00", "12:00:00"),
    Template("listening-line", "{place} Listening Line", "Emergency",
             "A telephone listening service for anyone struggling to cope; not a crisis team.",
             "MO,TU,WE,TH,FR,SA,SU", "18:00:00", "23:00:00", minimum_age=16, virtual=True),
)  # fmt: skip

LANGUAGES = (("Urdu", "ur"), ("Polish", "pl"), ("Bengali", "bn"), ("Punjabi", "pa"))
ACCESSIBILITY = (
    ("Step-free access and an accessible toilet.", "Ring the bell at the side door for the ramp."),
    ("Hearing loop in the main hall.", "Switch hearing aids to the T setting."),
    ("Ground floor room; chairs with arms available.", None),
)
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters a postcode's inward code may use
STREETS = ("Mill Lane", "Church Street", "Station Road", "Park Avenue", "High Street", "Canal Walk")
OPEN_ELIGIBILITY_CATEGORIES = (
    "Emergency", "Food", "Housing", "Goods", "Transit", "Health",
    "Money", "Care", "Education", "Work", "Legal",
)  # fmt: skip


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    lat: float
    lon: float


def _offset(lat: float, lon: float, km: float, angle: float) -> tuple[float, float]:
    """The point `km` from (lat, lon) at `angle` radians from north (flat Earth: a few km)."""
    dlat = km * math.cos(angle) / KM_PER_DEGREE_LATITUDE
    dlon = km * math.sin(angle) / (KM_PER_DEGREE_LATITUDE * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


def _ring(count: int, index: int) -> float:
    return 2 * math.pi * index / max(count, 1)


def area_layout(store: PopulationStore) -> tuple[list[Place], dict[str, list[Place]]]:
    """Neighbourhoods and, by neighbourhood code, their practices, with their positions.

    A practice stands where the population store places it (`population.places`); a
    neighbourhood at the centroid of its practices. Only a store that places no practice of a
    neighbourhood falls back to the nominal ring around `AREA_CENTRE`."""
    orgs = store.read("organisations", columns=["org_code", "name", "org_type", "parent_code"])
    rows = sorted(orgs.to_pylist(), key=lambda o: o["org_code"])
    hoods = [o for o in rows if o["org_type"] == "neighbourhood"]
    located = practice_locations(store)
    neighbourhoods: list[Place] = []
    practices: dict[str, list[Place]] = {}
    for i, o in enumerate(hoods):
        nominal = Place(
            o["org_code"],
            o["name"],
            *_offset(*AREA_CENTRE, NEIGHBOURHOOD_RING_KM, _ring(len(hoods), i)),
        )
        own = [p for p in rows if p["org_type"] == "practice" and p["parent_code"] == nominal.code]
        places = [
            Place(
                p["org_code"],
                p["name"],
                *_practice_point(located, p["org_code"], j, len(own), nominal),
            )
            for j, p in enumerate(own)
        ]
        if places and any(p.code in located for p in places):
            lat, lon = centroid([(p.lat, p.lon) for p in places if p.code in located])
            nominal = Place(nominal.code, nominal.name, lat, lon)
        neighbourhoods.append(nominal)
        practices[nominal.code] = places
    return neighbourhoods, practices


def _practice_point(
    located: dict[str, PracticePlace], code: str, index: int, count: int, hood: Place
) -> tuple[float, float]:
    """Where the store places the practice, else on a ring around its neighbourhood."""
    if code in located:
        point = located[code].point
        return round(point.lat, 6), round(point.lon, 6)
    return _offset(hood.lat, hood.lon, PRACTICE_RING_KM, _ring(count, index) + 0.3)


def centroid(points: list[tuple[float, float]]) -> tuple[float, float]:
    """The mean latitude and longitude of a few points a few km apart."""
    return (
        round(sum(p[0] for p in points) / len(points), 6),
        round(sum(p[1] for p in points) / len(points), 6),
    )


def practice_points(store: PopulationStore) -> dict[str, tuple[float, float]]:
    """Each practice's nominal (lat, lon) in the synthetic area's layout."""
    _, practices = area_layout(store)
    return {p.code: (p.lat, p.lon) for places in practices.values() for p in places}


def _place_name(neighbourhood: Place) -> str:
    """'North Riverside Neighbourhood' → 'North Riverside'."""
    words = [w for w in neighbourhood.name.split() if w.lower() not in ("neighbourhood", "pcn")]
    return " ".join(words) or neighbourhood.name


def _terms() -> dict[str, dict[str, Any]]:
    return {
        category: {
            "id": derived_id("term", OPEN_ELIGIBILITY.name, category),
            "name": category,
            "description": f"Open Eligibility human-service category: {category}.",
            "term": category,
            "taxonomy": OPEN_ELIGIBILITY.name,
            "taxonomy_id": OPEN_ELIGIBILITY.id,
        }
        for category in OPEN_ELIGIBILITY_CATEGORIES
    }


def _service(
    template: Template,
    hood: Place,
    near: Place | None,
    org: dict[str, Any],
    index: int,
    rng: random.Random,
    as_of: dt.date,
) -> dict[str, Any]:
    def sid(kind: str) -> str:
        return derived_id("synthetic", hood.code, template.key, kind)

    place = _place_name(hood)
    slug = f"{hood.code.lower()}-{template.key}"
    phone = f"01632 960{(index % 1000):03d}"
    reviewed = as_of - dt.timedelta(days=rng.randrange(REVIEW_SPREAD_DAYS))
    languages = [{"id": sid("language-en"), "name": "English", "code": "en"}]
    if rng.random() < 0.4:
        name, code = rng.choice(LANGUAGES)
        languages.append({"id": sid(f"language-{code}"), "name": name, "code": code})
    service: dict[str, Any] = {
        "id": sid("service"),
        "organization": org,
        "name": template.name.format(place=place),
        "description": f"{template.description} Fictional service in joinedup's synthetic area.",
        "url": f"https://{slug}.example.org",
        "email": f"hello@{slug}.example.org",
        "status": "active" if rng.random() > 0.05 else "temporarily closed",
        "assured_date": reviewed.isoformat(),
        "assurer_email": "directory-team@example.org",
        "schedules": [
            {
                "id": sid("schedule"),
                "freq": "WEEKLY",
                "interval": 1,
                "byday": template.byday,
                "opens_at": template.opens_at,
                "closes_at": template.closes_at,
                "description": f"Every week, {template.opens_at[:5]}–{template.closes_at[:5]}.",
            }
        ],
        "cost_options": [
            {
                "id": sid("cost"),
                "option": "Everyone",
                "amount": template.cost or 0.0,
                "amount_description": template.cost_unit if template.cost else "Free",
            }
        ],
        "languages": languages,
        "contacts": [
            {
                "id": sid("contact"),
                "title": "Service coordinator",
                "phones": [{"id": sid("phone"), "number": phone}],
            }
        ],
        "attributes": [
            {
                "id": sid("attribute"),
                "link_type": "service_type",
                "taxonomy_term": _terms()[template.category],
            }
        ],
        "service_at_locations": [
            {
                "id": sid("service-at-location"),
                "location": _location(template, hood, near, sid, rng),
            }
        ],
    }
    for limit in ("minimum_age", "maximum_age"):
        if getattr(template, limit) is not None:
            service[limit] = getattr(template, limit)
    return service


def _location(
    template: Template, hood: Place, near: Place | None, sid: Any, rng: random.Random
) -> dict[str, Any]:
    place = _place_name(hood)
    if template.virtual or near is None:
        return {
            "id": sid("location"),
            "location_type": "virtual",
            "name": f"{place} (by telephone)",
        }
    lat, lon = _offset(near.lat, near.lon, rng.uniform(0.2, 1.2), rng.uniform(0, 2 * math.pi))
    text, details = ACCESSIBILITY[rng.randrange(len(ACCESSIBILITY))]
    district = sum(map(ord, hood.code)) % 90 + 1
    return {
        "id": sid("location"),
        "location_type": "physical",
        "name": f"{place} Community Centre" if rng.random() < 0.5 else f"{place} Library",
        "latitude": lat,
        "longitude": lon,
        "addresses": [
            {
                "id": sid("address"),
                "address_1": f"{rng.randint(1, 120)} {rng.choice(STREETS)}",
                "city": place,
                "state_province": "England",
                "postal_code": f"ZZ{district} {rng.randint(1, 9)}{rng.choice(UNIT_LETTERS)}A",
                "country": "GB",
                "address_type": "physical",
            }
        ],
        "accessibility": [
            {"id": sid("accessibility"), "description": text}
            | ({"details": details} if details else {})
        ],
    }


def synthetic_directory(
    store: PopulationStore, seed: int = 1, reviewed_by: dt.date | None = None
) -> dict[str, Any]:
    """The area's directory as one ORUK page of fully nested services, reviewed over the two
    years before `reviewed_by` (default: the area's extract date)."""
    extracted = dt.date.fromisoformat(str(store.metadata()["extract_date"])[:10])
    as_of = reviewed_by or extracted
    rng = random.Random(seed)
    neighbourhoods, practices = area_layout(store)
    services: list[dict[str, Any]] = []
    for hood in neighbourhoods:
        org = {
            "id": derived_id("synthetic", hood.code, "organization"),
            "name": f"{_place_name(hood)} Community Trust",
            "description": "Fictional voluntary organisation in joinedup's synthetic area.",
            "website": f"https://{hood.code.lower()}-trust.example.org",
        }
        for template in TEMPLATES:
            if rng.random() < DROP_SHARE:
                continue
            near = rng.choice(practices[hood.code]) if practices[hood.code] else None
            services.append(_service(template, hood, near, org, len(services), rng, as_of))
    services.sort(key=lambda s: (s["name"], s["id"]))
    return page_object(1, max(1, len(services)), len(services), services)


def seed_directory(
    sessions: sessionmaker[Session],
    settings: Settings,
    seed: int = 1,
    generated_on: dt.date | None = None,
) -> ImportReport:
    """Load the area's synthetic directory through the ordinary import (idempotent: a second
    run the same day changes nothing), its reviews dated before `generated_on` (default today)
    since staleness is measured from today."""
    store = PopulationStore(settings.population_dir)
    page = synthetic_directory(store, seed, reviewed_by=generated_on or dt.date.today())
    data = json.dumps(page).encode("utf-8")
    return import_directory(
        sessions,
        "demo",
        [SourceFile("synthetic-directory.json", data)],
        source_name="synthetic-directory.json",
        actor_role="system",
    )
