"""What a deal contains: its lines, priced from the account's price book the way CPQ documents
it (list price → tier → manual discount → net), so an opportunity's amount, its quotes and its
order agree to the cent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from .catalog import PRICE_BOOKS, TIERS, _in_book
from .catalog_data import MIXES, money
from .context import AccountStub, DemoContext, Sellable

#: quantity ranges per unit of sale
QUANTITIES = {"pcs": (10, 160), "set": (1, 12), "kit": (1, 4), "card": (50, 1200), "m": (200, 2400),
              "year": (1, 1), "month": (12, 12), "device_year": (80, 2600), "user_year": (10, 120),
              "person_day": (5, 60), "visit": (2, 12), "project": (1, 1), "day": (2, 6),
              "sms_1k": (20, 200), "api_10k": (50, 500), "gb_month": (100, 2000), "gb": (50, 600)}
#: a deal's shape by kind: weight, sales cycle in days
KINDS = {"hardware": (40, (25, 90)), "solution": (25, (40, 120)), "platform": (20, (30, 100)),
         "project": (15, (90, 220))}


@dataclass(frozen=True)
class DealLine:
    sellable: Sellable
    quantity: Decimal
    list_price: Decimal  # the price book entry's list price
    unit_price: Decimal  # after tiers
    discount: Decimal  # manual discount, percent

    @property
    def net(self) -> Decimal:
        return money(self.quantity * self.unit_price * (1 - self.discount / 100))


def book_for(account: AccountStub) -> str:
    """The applicable price book: the highest-priority effective book that applies."""
    if account.currency == "USD":
        return "EXPORT-USD"
    if account.partner:
        return "PARTNER-CNY"
    if account.level in ("strategic", "key"):
        return "KEY-CNY"
    return "STD-CNY"


def choose_kind(ctx: DemoContext, account: AccountStub) -> str:
    kinds = [k for k in KINDS if not (k == "project" and (account.currency == "USD" or account.level == "small"))]
    return ctx.rng.choices(kinds, [KINDS[k][0] for k in kinds])[0]


def cycle_days(ctx: DemoContext, kind: str) -> int:
    low, high = KINDS[kind][1]
    return ctx.rng.randint(low, high)


def deal_lines(ctx: DemoContext, account: AccountStub, kind: str) -> tuple[tuple[str, ...], list[DealLine]]:
    """The product mix of a deal and its priced lines."""
    rng = ctx.rng
    book = book_for(account)
    mix = rng.choice(MIXES[kind])
    lines: list[DealLine] = []
    big = account.level in ("strategic", "key")
    for code in mix:
        candidates = [s for s in ctx.sellables.get(code, []) if _in_book(book, s)]
        if not candidates:
            continue
        sellable = rng.choice(candidates)
        low, high = QUANTITIES[sellable.unit_code]
        quantity = Decimal(rng.randint(low, high) * (2 if big and high > 1 else 1))
        list_price = sellable.prices[book]
        unit_price = tier_price(code, list_price, quantity)
        discount = Decimal(rng.choice((0, 0, 0, 3, 5, 5, 8, 10, 12, 15, 18, 22)))
        lines.append(DealLine(sellable, quantity, list_price, unit_price, discount))
    if not lines:  # nothing of the mix is in this book: a gateway always is
        return deal_lines(ctx, account, "hardware") if kind != "hardware" else (mix, [])
    return mix, lines


def tier_price(code: str, list_price: Decimal, quantity: Decimal) -> Decimal:
    """The unit price after tiers: *range* prices all units at the tier the quantity falls in,
    *slab* prices each unit in its own tier (the unit price is the average)."""
    method, tiers = TIERS.get(code, ("fixed", ()))
    if method == "fixed":
        return list_price
    priced = [(Decimal(low), Decimal(high) if high is not None else None, money(list_price * Decimal(f)))
              for low, high, f in tiers]
    if method == "range":
        for low, high, price in priced:
            if quantity >= low and (high is None or quantity < high):
                return price
        return list_price
    total = Decimal(0)
    for low, high, price in priced:
        if quantity > low:
            total += (min(quantity, high) - low if high is not None else quantity - low) * price
    return (total / quantity).quantize(Decimal("0.01"))


def total(lines: list[DealLine]) -> Decimal:
    return sum((line.net for line in lines), Decimal(0))


def service_period(start: dt.date, line: DealLine) -> tuple[dt.date, dt.date]:
    """A subscription's service period: from ``start`` for a year (or the months sold)."""
    months = int(line.quantity) if line.sellable.unit_code == "month" else 12
    end_month = start.month - 1 + months
    try:
        end = start.replace(year=start.year + end_month // 12, month=end_month % 12 + 1)
    except ValueError:  # 29–31 of a short month
        end = start.replace(day=28).replace(year=start.year + end_month // 12, month=end_month % 12 + 1)
    return start, end - dt.timedelta(days=1)


def currency_of(book: str) -> str:
    return PRICE_BOOKS[book][1]
