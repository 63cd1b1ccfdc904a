"""The ledger's money as the commissioner pages may show it: the small-number rule applied to
money worked out from a count.

At a unit price, spend ÷ price is the count of admissions, attendances or contacts, so a
month's £2,000 of emergency admissions at £1,000 each says "2 people were admitted" as plainly
as the count would. The project's rule (`joinedup.governance.suppression`: a figure about a
group is withheld when the group's count is 1 to 7) therefore applies to such money:

* a service's spend priced per unit is withheld when its count of units is 1 to 7; spend at
  recorded cost is not a count times a price and is shown;
* so that a withheld figure cannot be worked back by subtraction from the total, one more
  figure is withheld beside it (complementary suppression, as in the statistical disclosure
  control of published tables): the smallest other non-zero spend in the same month or year;
* where there is no such figure, the total spend and the variance are withheld instead.

The command line (`joinedup contract`), run by the data controller for the finance lead, keeps
every figure exact; only what leaves on the pages passes through here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from joinedup.commissioning.contracts.definition import Tariff
from joinedup.commissioning.contracts.ledger import LedgerMonth, YearStatement
from joinedup.governance.suppression import withheld_unless


@dataclass(frozen=True)
class PublishedSpend:
    spend: dict[str, float | None]  # service → £, None: withheld
    total: float | None  # None: withheld (no complementary figure to withhold instead)

    @property
    def withheld(self) -> frozenset[str]:
        return frozenset(service for service, amount in self.spend.items() if amount is None)


@dataclass(frozen=True)
class PublishedMonth:
    month: LedgerMonth
    spend: PublishedSpend

    @property
    def variance(self) -> float | None:
        return None if self.spend.total is None else self.month.variance


def published_spend(
    tariffs: tuple[Tariff, ...], spend: Mapping[str, float], units: Mapping[str, float]
) -> PublishedSpend:
    """Spend by service with money from a small count withheld, and its complement."""
    shown: dict[str, float | None] = {
        t.service: spend[t.service] if t.price is None else _unless_small(units, spend, t.service)
        for t in tariffs
    }
    if all(amount is not None for amount in shown.values()):
        return PublishedSpend(shown, round(sum(spend.values()), 2))
    complements = [(amount, s) for s, amount in shown.items() if amount]  # non-zero, shown
    if not complements:
        return PublishedSpend(shown, None)
    shown[min(complements)[1]] = None
    return PublishedSpend(shown, round(sum(spend.values()), 2))


def published_month(tariffs: tuple[Tariff, ...], month: LedgerMonth) -> PublishedMonth:
    return PublishedMonth(month, published_spend(tariffs, month.spend, month.units))


def published_year(tariffs: tuple[Tariff, ...], year: YearStatement) -> PublishedSpend:
    return published_spend(tariffs, year.spend, year.units)


def _unless_small(
    units: Mapping[str, float], spend: Mapping[str, float], service: str
) -> float | None:
    # Part-units (package-weeks split over months) count up: any activity is at least one.
    return withheld_unless(math.ceil(units[service]), spend[service])


def withheld_lines(year: YearStatement, published: PublishedSpend) -> frozenset[str]:
    """The refs of the year's statement lines (`report.statement_lines`) the pages withhold:
    each withheld service's line 2.x, and every line from 2 on when the total is withheld."""
    refs = {f"2.{i}" for i, s in enumerate(year.spend, start=1) if s in published.withheld}
    if published.total is None:
        refs |= {"2", "3", "4", "5", "6", "9"} | {f"3.{i}" for i in range(1, 10)}
    return frozenset(refs)
