"""Orders and fulfilment, per product type: physical goods are shipped and delivered (delivery
notes with lines), projects run through milestones accepted by the customer, subscriptions
start their service period, usage is metered month by month. Each order then goes to
:mod:`.cash` for its receivables, invoices, payments and revenue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tessera.records.service import UnitOfWork

from . import cash
from .context import DemoContext, OppStub, Stub
from .deals import DealLine, service_period
from .users import manager_of

if TYPE_CHECKING:
    from .revenue import ContractStub

SHIPPED = ("physical", "goods_service")
CARRIERS = ("顺丰速运", "京东物流", "德邦快递", "DHL Express")
MILESTONES = (("项目启动 Kick-off", "project", 30, 7), ("上线试运行 Go-live", "installation", 40, 75),
              ("终验 Final acceptance", "acceptance", 30, 140))


@dataclass(eq=False)
class OrderStub(Stub):
    contract: ContractStub
    opp: OppStub
    created: dt.datetime
    lines: list[DealLine]
    payment_mode: str
    credit_days: int
    service_start: dt.date
    approved: dt.datetime | None = None
    shipped: dt.datetime | None = None
    delivered: dt.datetime | None = None
    milestones: list[tuple[str, str, int, dt.date, dt.date | None]] = field(default_factory=list)
    line_ids: list[int] = field(default_factory=list)
    milestone_ids: list[int] = field(default_factory=list)
    delivery: Stub = field(default_factory=Stub)

    @property
    def currency(self) -> str:
        return self.opp.currency

    def lines_of(self, *types: str) -> list[tuple[int, DealLine]]:
        return [(i, line) for i, line in enumerate(self.lines) if line.sellable.product_type in types]


def plan(ctx: DemoContext, contract: ContractStub) -> None:
    """The order of a signed contract, approved by the manager, then fulfilled."""
    tl, rng, opp = ctx.timeline, ctx.rng, contract.opp
    created = tl.next_step(contract.signed, 1, 4)
    if created is None:
        return
    account = opp.account
    mode = ("prepay" if account.currency == "USD" or account.partner or account.level == "small" else
            "credit" if account.level in ("strategic", "key") else "on_delivery")
    start = max(opp.close_date + dt.timedelta(days=14), tl.local_date(created))
    order = OrderStub(contract, opp, created, contract.quote.lines, mode, rng.choice((30, 60, 90)), start)
    tl.at(created, opp.owner.actor, lambda work: _create(ctx, work, order))
    approved = tl.next_step(created, 0, 2)
    if approved is None:
        return
    order.approved = approved
    tl.at(approved, manager_of(opp.owner).actor, lambda work: ctx.writer.update(
        work, "order", order.ref, {"status": "approved"}, engine={"approved_at": approved}))
    if order.lines_of(*SHIPPED):
        order.shipped = tl.next_step(approved, 2, 12)
        order.delivered = tl.next_step(order.shipped, 1, 4) if order.shipped else None
        if order.shipped:
            tl.at(order.shipped, opp.owner.actor, lambda work: _ship(ctx, work, order))
        if order.delivered:
            tl.at(order.delivered, opp.owner.actor, lambda work: _deliver(ctx, work, order))
    if order.lines_of("project"):
        base = tl.local_date(approved)
        for name, kind, percent, days in MILESTONES:
            planned = base + dt.timedelta(days=days)
            raw = planned + dt.timedelta(days=rng.randint(-5, 20))
            accepted = tl.workday(raw) if raw <= tl.last_day else None
            order.milestones.append((name, kind, percent, planned, accepted))
        tl.at(approved + dt.timedelta(minutes=30), opp.owner.actor, lambda work: _milestones(ctx, work, order))
        for index, (*_, accepted) in enumerate(order.milestones):
            if accepted is not None:
                when = max(tl.during_work(accepted), approved + dt.timedelta(hours=1))
                tl.at(when, opp.owner.actor, lambda work, i=index: _accept(ctx, work, order, i))
    _plan_status(ctx, order)
    cash.plan(ctx, order)


def _create(ctx: DemoContext, work: UnitOfWork, o: OrderStub) -> None:
    rng, opp, account = ctx.rng, o.opp, o.opp.account
    contact = next((c for c in account.contacts if c.id is not None and c.mobile), None)
    city = account.company.city
    order = ctx.writer.create(work, "order", {
        "account": account.ref, "contract": o.contract.ref, "quote": o.contract.quote.ref, "opportunity": opp.ref,
        "contact": contact.ref if contact else None, "customer_po": f"PO{ctx.timeline.local_date(o.created):%Y%m}"
        f"{rng.randint(100, 9999)}", "status": "draft", "order_date": ctx.timeline.local_date(o.created),
        "currency": o.currency, "payment_mode": o.payment_mode, "credit_days": o.credit_days,
        "invoice_mode": "payment_first" if o.currency == "USD" else "invoice_first",
        "expected_delivery_date": ctx.timeline.local_date(o.created) + dt.timedelta(days=14),
        "receiver": contact.person.name if contact else None, "receiver_phone": contact.mobile if contact else None,
        "shipping_address": f"{city.province}{city.city}{city.district} {account.company.name}"[:300],
        "owner_id": opp.owner.id}, engine={"exchange_rate": ctx.rate(o.currency, ctx.timeline.local_date(o.created))})
    o.id = order["id"]
    for number, (line, quote_line) in enumerate(zip(o.lines, o.contract.quote.line_ids, strict=True), 1):
        kind = line.sellable.product_type
        period = service_period(o.service_start, line) if kind == "subscription" else (None, None)
        values: dict[str, Any] = {
            "order": o.id, "line_number": number, "product": line.sellable.product.ref,
            "variant": line.sellable.variant.ref if line.sellable.variant else None, "name": line.sellable.name,
            "line_type": "bundle" if line.sellable.product_code.startswith("XC-BDL") else "product",
            "unit": line.sellable.unit.ref, "quantity": line.quantity, "unit_price": line.unit_price,
            "discount": line.discount, "billing_period": line.sellable.billing, "service_start": period[0],
            "service_end": period[1]}
        if kind == "usage":
            values.update(service_start=o.service_start, usage_rate=usage_rate(line))
        if kind in ("goods_service", "project"):
            values["service_start"] = o.service_start
        row = ctx.writer.create(work, "order_line", values, engine={"list_price": line.list_price,
                                                                    "quote_line": quote_line})
        o.line_ids.append(row["id"])
    ctx.writer.update(work, "order", o.id, {"status": "in_approval"})


def usage_rate(line: DealLine) -> Decimal:
    return (line.unit_price * (1 - line.discount / 100)).quantize(Decimal("0.000001"))


def _ship(ctx: DemoContext, work: UnitOfWork, o: OrderStub) -> None:
    rng, account = ctx.rng, o.opp.account
    assert o.shipped is not None
    shipped = ctx.timeline.local_date(o.shipped)
    contact = next((c for c in account.contacts if c.id is not None), None)
    delivery = ctx.writer.create(work, "delivery", {
        "order": o.ref, "status": "planned", "planned_date": shipped, "warehouse": "苏州总仓 Suzhou DC",
        "carrier": rng.choice(CARRIERS), "tracking_number": f"SF{rng.randrange(10 ** 11, 10 ** 12)}",
        "receiver": contact.person.name if contact else account.company.short_name,
        "receiver_phone": contact.mobile if contact and contact.mobile else None,
        "address": f"{account.company.city.city} {account.company.name}"[:300],
        "lines": [{"order_line": o.line_ids[i], "quantity": line.quantity,
                   "batch_number": f"B{shipped:%y%m}{rng.randint(10, 99)}",
                   "serial_numbers": "\n".join(f"XC{shipped:%y%m}{rng.randrange(10 ** 6):06d}"
                                               for _ in range(min(int(line.quantity), 5)))
                   if line.sellable.unit_code == "set" else None}
                  for i, line in o.lines_of(*SHIPPED)]})
    o.delivery.id = delivery["id"]
    ctx.writer.update(work, "delivery", delivery["id"], {"status": "shipped", "shipped_date": shipped})
    ctx.writer.update(work, "order", o.ref, {"status": "in_fulfilment"})
    for i, _ in o.lines_of(*SHIPPED):
        ctx.writer.update(work, "order_line", o.line_ids[i], {"fulfilment_status": "in_progress"})


def _deliver(ctx: DemoContext, work: UnitOfWork, o: OrderStub) -> None:
    assert o.delivered is not None
    contact = next((c for c in o.opp.account.contacts if c.id is not None), None)
    ctx.writer.update(work, "delivery", o.delivery.ref, {
        "status": "delivered", "delivered_date": ctx.timeline.local_date(o.delivered),
        "signed_by": contact.person.name if contact else "前台代收",
        "proof_of_delivery": f"https://files.xingchen-iot.cn/pod/{o.delivery.ref}.jpg"})
    for i, _ in o.lines_of(*SHIPPED):
        ctx.writer.update(work, "order_line", o.line_ids[i], {"fulfilment_status": "delivered"})


def _milestones(ctx: DemoContext, work: UnitOfWork, o: OrderStub) -> None:
    index, _ = o.lines_of("project")[0]
    for number, (name, kind, percent, planned, _) in enumerate(o.milestones, 1):
        row = ctx.writer.create(work, "order_milestone", {
            "order": o.ref, "order_line": o.line_ids[index], "name": name, "milestone_type": kind,
            "sequence": number, "percent": percent, "planned_date": planned,
            "status": "in_progress" if number == 1 else "planned",
            "deliverables": "项目计划书、需求规格说明书" if number == 1 else "上线报告" if number == 2 else "终验报告"})
        o.milestone_ids.append(row["id"])
    ctx.writer.update(work, "order", o.ref, {"status": "in_fulfilment"})


def _accept(ctx: DemoContext, work: UnitOfWork, o: OrderStub, index: int) -> None:
    accepted = o.milestones[index][4]
    ctx.writer.update(work, "order_milestone", o.milestone_ids[index], {
        "status": "accepted", "accepted_date": accepted,
        "acceptance_document": f"https://files.xingchen-iot.cn/acceptance/{o.milestone_ids[index]}.pdf"})
    if index + 1 < len(o.milestones):
        ctx.writer.update(work, "order_milestone", o.milestone_ids[index + 1], {"status": "in_progress"})


def _plan_status(ctx: DemoContext, o: OrderStub) -> None:
    """In fulfilment once anything ships, a milestone starts or a service period runs;
    fulfilled once goods are delivered, milestones accepted and service periods over."""
    tl = ctx.timeline
    if o.approved is None:
        return
    if not o.lines_of(*SHIPPED) and not o.milestones:  # services only: they run from approval
        tl.at(o.approved + dt.timedelta(minutes=20), o.opp.owner.actor, lambda work: ctx.writer.update(
            work, "order", o.ref, {"status": "in_fulfilment"}))
    done: list[dt.datetime] = [o.approved]
    if o.lines_of(*SHIPPED):
        if o.delivered is None:
            return
        done.append(o.delivered)
    if o.milestones:
        if o.milestones[-1][4] is None:
            return
        done.append(tl.during_work(o.milestones[-1][4]))
    for _, line in o.lines_of("subscription", "usage"):
        end = service_period(o.service_start, line)[1]
        if end >= tl.last_day:
            return
        done.append(tl.moment(end + dt.timedelta(days=1), 10))
    when = max(done) + dt.timedelta(hours=1)
    if tl.local_date(when) > tl.last_day:
        return
    tl.at(when, o.opp.owner.actor, lambda work: ctx.writer.update(
        work, "order", o.ref, {"status": "fulfilled"}, engine={"fulfilled_on": tl.local_date(when)}))
