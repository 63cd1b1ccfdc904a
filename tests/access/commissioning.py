"""Access decisions for commissioning: the area home and the delivery-plan tracker (practice
variation and published data are decided in their own fragments)."""

from __future__ import annotations

from tests.access.sets import AGGREGATES, EXPORT

#: Who may record a quarter of the delivery plan (permission delivery.submit).
DELIVERY_SUBMIT = frozenset({"commissioner", "manager"})

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/commissioning"): AGGREGATES,
    ("GET", "/commissioning/delivery"): AGGREGATES,
    ("GET", "/commissioning/delivery/report"): AGGREGATES,
    ("GET", "/commissioning/delivery.csv"): EXPORT,
    ("GET", "/commissioning/delivery/submit"): DELIVERY_SUBMIT,
    ("POST", "/commissioning/delivery/submit"): DELIVERY_SUBMIT,
    ("GET", "/commissioning/delivery/{area_code}/{element_id}"): AGGREGATES,
    ("GET", "/commissioning/delivery/{area_code}/{element_id}/data.csv"): EXPORT,
}
