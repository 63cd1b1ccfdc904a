"""The taxonomies the directory knows by name, and the id a taxonomy named only by its name
gets.

ORUK taxonomy terms carry their taxonomy's id (``taxonomy_id``) or only its name
(``taxonomy``). A term naming only its taxonomy is given the taxonomy's id derived from the name
(a UUID 5 in joinedup's directory namespace), so every term belongs to a listed taxonomy and the
same name always gives the same id; an export then carries that id and re-imports unchanged.

Open Eligibility: the Open Eligibility Project's human-services taxonomy (Aunt Bertha, now
findhelp; CC BY-SA 3.0), named by the ORUK/HSDS documentation and published as the HL7
Terminology code system ``OpenEligibilityTaxonomy``. Its top level has eleven human-service
categories (Emergency, Food, Housing, Goods, Transit, Health, Money, Care, Education, Work,
Legal); the synthetic directory uses those (`joinedup.directory.synthetic`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

#: The namespace of ids joinedup derives for the directory (taxonomies named only by name,
#: and the synthetic directory's records).
DIRECTORY_NAMESPACE = uuid.UUID("6f1b0a52-3c1e-5d7a-9a43-0c8f2d9b7e15")


def derived_id(*parts: str) -> str:
    """A stable UUID (version 5) for a thing joinedup names, from the parts of its name."""
    return str(uuid.uuid5(DIRECTORY_NAMESPACE, "/".join(parts)))


def taxonomy_id_for_name(name: str) -> str:
    return derived_id("taxonomy", name.strip().casefold())


@dataclass(frozen=True)
class KnownTaxonomy:
    name: str
    description: str
    uri: str
    version: str | None = None

    @property
    def id(self) -> str:
        return taxonomy_id_for_name(self.name)


OPEN_ELIGIBILITY = KnownTaxonomy(
    name="Open Eligibility",
    description=(
        "The Open Eligibility Project's taxonomy of human services and human situations "
        "(CC BY-SA 3.0), the taxonomy HSDS and Open Referral UK name for classifying services."
    ),
    # The project's page, as the HL7 code system for it cites it.
    uri="https://support.findhelp.com/hc/en-us/articles/4404055283227-The-Open-Eligibility-Project",
)

KNOWN_TAXONOMIES: dict[str, KnownTaxonomy] = {
    taxonomy.name.casefold(): taxonomy for taxonomy in (OPEN_ELIGIBILITY,)
}


def known_taxonomy(name: str) -> KnownTaxonomy | None:
    return KNOWN_TAXONOMIES.get(name.strip().casefold())
