"""What the generators share: the random source, the timeline, the writer, and the records
planned so far (stubs whose ``id`` is filled in when the timeline creates them).

Every choice comes from one ``random.Random(seed)``: the stories while planning, in a fixed
order, and the details of each record (phone numbers, serial numbers, ...) while the timeline
replays the events, in their fixed time order. No clock, no hash order, no ``id()`` decides
anything, so the same seed and ``today`` give the same data, ids and numbers included.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .companies import Company, CompanyFactory
from .names import Person
from .places import City
from .timeline import Timeline
from .users import DemoUser
from .writes import Writer


@dataclass(eq=False)
class Stub:
    """A record to be created; ``id`` is known once its event has run."""

    id: int | None = field(default=None, kw_only=True)

    @property
    def ref(self) -> int:
        if self.id is None:
            raise RuntimeError(f"{type(self).__name__} used before it was created")
        return self.id


@dataclass(eq=False)
class Sellable(Stub):
    """One priceable item: a product, or one variant of it, in one unit."""

    product_code: str
    product_name: str
    product_type: str
    category: str
    unit_code: str
    tax: int
    billing: str | None
    prices: dict[str, Decimal]  # price book code -> list price
    product: Stub = field(default_factory=Stub)
    variant: Stub | None = None
    unit: Stub = field(default_factory=Stub)
    variant_name: str = ""

    @property
    def name(self) -> str:
        return f"{self.product_name} / {self.variant_name}" if self.variant_name else self.product_name


@dataclass(eq=False)
class AccountStub(Stub):
    company: Company
    owner: DemoUser
    created: dt.datetime
    level: str
    status: str = "prospect"
    parent: AccountStub | None = None
    source: str = "self_developed"
    lead: LeadStub | None = None
    contacts: list[ContactStub] = field(default_factory=list)
    partner: bool = False

    @property
    def currency(self) -> str:
        return "USD" if self.company.english and self.company.credit_code is None else "CNY"


@dataclass(eq=False)
class ContactStub(Stub):
    account: AccountStub
    person: Person
    title: str
    role: str
    influence: str
    attitude: str
    created: dt.datetime
    department: str
    mobile: str | None = None
    email: str | None = None


@dataclass(eq=False)
class LeadStub(Stub):
    person: Person
    company: Company
    city: City
    status: str
    source: str
    created: dt.datetime
    owner: DemoUser | None
    campaign: Any = None  # CampaignStub
    pool: Stub | None = None
    bid: Any = None
    converted_at: dt.datetime | None = None
    contact: ContactStub | None = None


@dataclass(eq=False)
class OppStub(Stub):
    account: AccountStub
    owner: DemoUser
    name: str
    created: dt.datetime
    path: list[tuple[str, dt.datetime]]  # (stage, entered at), the last one is current
    amount: Decimal
    currency: str
    close_date: dt.date
    mix: tuple[str, ...]
    kind: str  # hardware | solution | platform | project
    contacts: list[ContactStub] = field(default_factory=list)
    source: str = "existing_customer"
    campaign: Any = None
    lead: LeadStub | None = None
    opportunity_type: str = "new_business"
    book: str = "STD-CNY"
    lines: list[Any] = field(default_factory=list)  # deals.DealLine
    closed: dt.datetime | None = None
    lost_reason: str | None = None
    quote: Any = None  # revenue.QuoteStub of the accepted (or latest) quote
    final_amount: Decimal | None = None  # the revised quote's total, once negotiated
    state: dict[str, Any] = field(default_factory=dict)  # the record as last written (while loading)

    @property
    def stage(self) -> str:
        return self.path[-1][0]


class DemoContext:
    """The shared state of one demo load."""

    def __init__(self, *, seed: int, today: dt.date, scale: float, history_days: int = 420) -> None:
        self.seed = seed
        self.scale = scale
        self.rng = random.Random(seed)
        self.today = today
        self.timeline = Timeline(today, history_days, self.rng)
        self.writer = Writer()
        self.companies = CompanyFactory(self.rng)
        self.units: dict[str, Stub] = {}
        self.products: dict[str, Stub] = {}
        self.sellables: dict[str, list[Sellable]] = {}  # product code -> its sellables (base unit)
        self.price_books: dict[str, Stub] = {}
        self.currencies: dict[str, Stub] = {}
        self.rates: dict[tuple[str, str], Decimal] = {}  # (currency, YYYY-MM) -> monthly rate
        self.pools: dict[str, Stub] = {}
        self.account_pool: Stub | None = None
        self.campaigns: list[Any] = []
        self.bids: list[Any] = []
        self.subscriptions: dict[int, Stub] = {}
        self.leads: list[LeadStub] = []
        self.accounts: list[AccountStub] = []
        self.contacts: list[ContactStub] = []
        self.opportunities: list[OppStub] = []
        self.closes: dict[dt.date, list[Any]] = {}  # month-end close -> revenue schedules it recognises
        self._counters: dict[str, int] = {}

    def next_number(self, kind: str) -> int:
        """1, 2, 3, ... per kind: deterministic references (bank references, external ids)."""
        self._counters[kind] = self._counters.get(kind, 0) + 1
        return self._counters[kind]

    def volume(self, base: int, minimum: int = 1) -> int:
        """``base`` records at scale 1, multiplied by the scale, never below ``minimum``."""
        return max(minimum, round(base * self.scale))

    def rate(self, currency: str, day: dt.date) -> Decimal:
        """The monthly rate of ``currency`` to CNY for ``day``'s month (1 for CNY)."""
        if currency == "CNY":
            return Decimal(1)
        key = (currency, f"{day:%Y-%m}")
        if key in self.rates:
            return self.rates[key]
        return self.rates[min(self.rates, key=lambda k: (k[0] != currency, abs(_months(k[1]) - _months(key[1]))))]


def _months(period: str) -> int:
    year, month = period.split("-")
    return int(year) * 12 + int(month)
