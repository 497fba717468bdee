"""Revenue management — order to cash: receivable plans per fulfilment type (on order, on
delivery, per subscription period, per accepted milestone, per metered month), invoices
(invoice first in China, payment first for export), payments allocated to receivables (some
late, some partial, a few over-paid, a few never: overdue), and revenue schedules recognised at
each month-end close. Finance does the work; allocations never exceed payment or receivable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tessera.records.service import UnitOfWork

from .catalog_data import money
from .context import DemoContext, Stub
from .deals import DealLine, service_period
from .users import SYSTEM_ACTOR, finance

if TYPE_CHECKING:
    from .orders import OrderStub

BANKS = ("招商银行苏州分行", "中国银行苏州工业园区支行", "工商银行上海浦东支行", "DBS Bank Singapore")
OUR_ACCOUNT = "招商银行苏州分行 512908888810001"
BEHAVIOUR = {"on_time": 60, "late": 22, "partial": 9, "unpaid": 9}


@dataclass(eq=False)
class ReceivableStub(Stub):
    order: OrderStub
    name: str
    amount: Decimal  # with tax
    due: dt.date
    trigger: str
    created: dt.datetime
    shares: list[tuple[int, Decimal]]  # (order line index, share of the line's net amount)
    period: tuple[dt.date, dt.date] | None = None
    milestone: int | None = None
    usage: Stub | None = None
    usage_net: Decimal | None = None
    usage_quantity: Decimal | None = None
    invoice: Stub = field(default_factory=Stub)
    received: Decimal = Decimal(0)


@dataclass(eq=False)
class ScheduleStub(Stub):
    recognised_on: dt.date | None = None


def with_tax(line: DealLine) -> Decimal:
    return line.net + money(line.net * line.sellable.tax / 100)


def plan(ctx: DemoContext, o: OrderStub) -> None:
    """Receivables, their collection, and the revenue schedule of an approved order."""
    if o.approved is None:
        return
    for installment, r in enumerate(_receivables(ctx, o), 1):
        ctx.timeline.at(r.created, finance().actor, lambda work, r=r, n=installment: _create_receivable(ctx, work, r, n))
        _plan_collection(ctx, r)
    _plan_revenue(ctx, o)


def _receivables(ctx: DemoContext, o: OrderStub) -> list[ReceivableStub]:
    from .orders import SHIPPED, usage_rate

    tl, rng = ctx.timeline, ctx.rng
    assert o.approved is not None
    approved = tl.local_date(o.approved)
    at = o.approved + dt.timedelta(hours=2)
    result: list[ReceivableStub] = []
    shipped = o.lines_of(*SHIPPED)
    if shipped:
        total = sum((with_tax(line) for _, line in shipped), Decimal(0))
        delivered = tl.local_date(o.delivered) if o.delivered else approved + dt.timedelta(days=20)
        parts = {"prepay": [(Decimal(1), "on_order", approved + dt.timedelta(days=7))],
                 "on_delivery": [(Decimal("0.3"), "on_order", approved + dt.timedelta(days=10)),
                                 (Decimal("0.7"), "on_delivery", delivered + dt.timedelta(days=30))],
                 "credit": [(Decimal(1), "on_delivery", delivered + dt.timedelta(days=o.credit_days))]}[o.payment_mode]
        rest = total
        for number, (share, trigger, due) in enumerate(parts, 1):
            amount = rest if number == len(parts) else money(total * share)
            rest -= amount
            label = {"on_order": "预付款 Advance", "on_delivery": "到货款 On delivery"}[trigger]
            result.append(ReceivableStub(o, label, amount, due, trigger, at, [(i, share) for i, _ in shipped]))
    for index, line in o.lines_of("project"):
        total, rest = with_tax(line), with_tax(line)
        for number, (name, _, percent, planned, accepted) in enumerate(o.milestones):
            amount = rest if number == len(o.milestones) - 1 else money(total * percent / 100)
            rest -= amount
            result.append(ReceivableStub(o, f"里程碑款：{name}", amount, (accepted or planned) + dt.timedelta(days=15),
                                         "milestone", at, [(index, Decimal(percent) / 100)], milestone=number))
    for index, line in o.lines_of("subscription"):
        start, end = service_period(o.service_start, line)
        periods = {"yearly": 1, "quarterly": 4, "monthly": 12}[line.sellable.billing or "yearly"]
        total, rest = with_tax(line), with_tax(line)
        for number, (p_start, p_end) in enumerate(_split(start, end, periods)):
            created = max(at, tl.moment(p_start - dt.timedelta(days=20), 10))
            if tl.local_date(created) > tl.last_day:
                break
            amount = rest if number == periods - 1 else money(total / periods)
            rest -= amount
            result.append(ReceivableStub(o, f"服务费 {p_start:%Y-%m}", amount, p_start + dt.timedelta(days=15), "period",
                                         created, [(index, Decimal(1) / periods)], period=(p_start, p_end)))
    for index, line in o.lines_of("usage"):
        month = o.service_start
        for _ in range(6):
            end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
            created = tl.moment(end + dt.timedelta(days=3), 10.5)
            if tl.local_date(created) > tl.last_day or created <= at:
                break
            quantity = Decimal(round(float(line.quantity) * rng.uniform(0.5, 1.5)))
            net = money(quantity * usage_rate(line))
            if net > 0:
                amount = net + money(net * line.sellable.tax / 100)
                result.append(ReceivableStub(o, f"用量 {month:%Y-%m}", amount, end + dt.timedelta(days=25), "usage",
                                             created, [(index, Decimal(0))], period=(month, end), usage=Stub(),
                                             usage_net=net, usage_quantity=quantity))
            month = end + dt.timedelta(days=1)
    return result


def _split(start: dt.date, end: dt.date, parts: int) -> list[tuple[dt.date, dt.date]]:
    days = (end - start).days + 1
    bounds = [start + dt.timedelta(days=days * i // parts) for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1] - dt.timedelta(days=1)) for i in range(parts)]


def _create_receivable(ctx: DemoContext, work: UnitOfWork, r: ReceivableStub, installment: int) -> None:
    o = r.order
    line_id = o.line_ids[r.shares[0][0]] if r.trigger in ("period", "usage") else None
    if r.usage is not None and r.period is not None:
        row = ctx.writer.create(work, "usage_record", {
            "order_line": line_id, "period_start": r.period[0], "period_end": r.period[1],
            "quantity": r.usage_quantity, "status": "confirmed", "source": "平台计量 Platform metering",
            "external_id": f"USG-{ctx.next_number('usage'):06d}"})
        r.usage.id = row["id"]
    record = ctx.writer.create(work, "receivable_plan", {
        "name": r.name, "account": o.opp.account.ref, "order": o.ref, "contract": o.contract.ref,
        "order_line": line_id, "milestone": o.milestone_ids[r.milestone] if r.milestone is not None else None,
        "delivery": o.delivery.id if r.trigger == "on_delivery" else None, "installment": installment,
        "trigger": r.trigger, "period_start": r.period[0] if r.period else None,
        "period_end": r.period[1] if r.period else None, "due_date": r.due, "currency": o.currency,
        "amount": r.amount, "owner_id": o.opp.owner.id})
    r.id = record["id"]
    if r.usage is not None:
        ctx.writer.update(work, "usage_record", r.usage.ref, {"status": "billed"})
        _usage_revenue(ctx, work, r)


def _plan_collection(ctx: DemoContext, r: ReceivableStub) -> None:
    """Invoice and payment of a receivable: invoice first (China) or payment first (export);
    on time, late, in part or not at all; overdue the day after its due date if unpaid."""
    tl, rng = ctx.timeline, ctx.rng
    behaviour = rng.choices(list(BEHAVIOUR), list(BEHAVIOUR.values()))[0]
    invoice_first = r.order.currency != "USD"
    created = tl.local_date(r.created)
    pay_day = {"on_time": r.due + dt.timedelta(days=rng.randint(-10, 2)),
               "late": r.due + dt.timedelta(days=rng.randint(5, 50)),
               "partial": r.due + dt.timedelta(days=rng.randint(-3, 20)), "unpaid": None}[behaviour]
    # a day moved to the nearest workday may fall before the step it follows: keep each step after
    previous = r.created
    if invoice_first:
        invoice_day = max(created, r.due - dt.timedelta(days=rng.randint(5, 14)))
        previous = _plan_invoice(ctx, r, invoice_day, previous)
        pay_day = max(pay_day, invoice_day + dt.timedelta(days=2)) if pay_day else None
    elif pay_day is not None:
        pay_day = max(pay_day, created + dt.timedelta(days=2))
    paid_by = None
    if pay_day is not None and pay_day <= tl.last_day:
        amount = money(r.amount / 2) if behaviour == "partial" else r.amount
        extra = Decimal(1000) if behaviour == "on_time" and rng.random() < 0.04 else Decimal(0)
        when = max(tl.during_work(pay_day), previous + dt.timedelta(hours=1))
        tl.at(when, finance().actor, lambda work: _pay(ctx, work, r, amount, extra, when))
        paid_by = tl.local_date(when)
        if not invoice_first:
            _plan_invoice(ctx, r, paid_by + dt.timedelta(days=rng.randint(1, 3)), when)
        if behaviour == "partial" and rng.random() < 0.4:
            second = paid_by + dt.timedelta(days=rng.randint(15, 40))
            if second <= tl.last_day:
                later = max(tl.during_work(second), when + dt.timedelta(days=1))
                tl.at(later, finance().actor, lambda work: _pay(ctx, work, r, r.amount - amount, Decimal(0), later))
    overdue = r.due + dt.timedelta(days=1)
    if overdue <= tl.last_day and (paid_by is None or paid_by > r.due or behaviour == "partial"):
        tl.at(max(tl.moment(overdue, 1.0), r.created + dt.timedelta(minutes=5)), SYSTEM_ACTOR,
              lambda work: _mark_overdue(ctx, work, r))


def _plan_invoice(ctx: DemoContext, r: ReceivableStub, day: dt.date, after: dt.datetime) -> dt.datetime:
    """Schedule the invoice on ``day`` (if it has come), after ``after``; returns when it is issued."""
    tl = ctx.timeline
    if day > tl.last_day:
        return after
    issued = max(tl.during_work(day), after + dt.timedelta(minutes=30))
    if tl.local_date(issued) > tl.last_day:
        return after
    tl.at(issued, finance().actor, lambda work: _invoice(ctx, work, r, tl.local_date(issued)))
    return issued


def _invoice(ctx: DemoContext, work: UnitOfWork, r: ReceivableStub, day: dt.date) -> None:
    rng, o = ctx.rng, r.order
    account = o.opp.account
    company = account.company
    special = company.credit_code is not None and o.currency == "CNY"
    contact = next((c for c in account.contacts if c.id is not None and c.email), None)
    lines: list[dict[str, Any]] = []
    for index, share in r.shares:
        line = o.lines[index]
        amount = r.usage_net if r.usage_net is not None else money(line.net * share)
        row: dict[str, Any] = {"order_line": o.line_ids[index], "name": line.sellable.name[:200], "amount": amount,
                               "specification": (line.sellable.variant_name or None) and line.sellable.variant_name[:100]}
        if share == 1 and line.quantity == line.quantity.to_integral_value():
            row.update(quantity=line.quantity, unit_price=(amount / line.quantity).quantize(Decimal("0.000001")))
        if amount:
            lines.append(row)
    if not lines:
        return
    invoice = ctx.writer.create(work, "invoice", {
        "account": account.ref, "order": o.ref, "receivable_plan": r.ref, "contract": o.contract.ref,
        "invoice_type": "e_special" if special else "e_normal", "status": "draft", "buyer_name": company.name,
        "buyer_tax_id": company.credit_code if special else None,
        "buyer_address_phone": f"{company.city.city}{company.city.district} 0{rng.randint(100, 999)}-{rng.randint(10 ** 7, 10 ** 8 - 1)}",
        "buyer_bank_account": f"{rng.choice(BANKS[:3])} {rng.randrange(10 ** 15, 10 ** 16)}",
        "currency": o.currency, "requested_on": day - dt.timedelta(days=1), "delivery_method": "email",
        "recipient_email": contact.email if contact else f"finance@{company.domain}",
        "remarks": f"订单 {o.ref} / 应收 {r.name}"[:230], "lines": lines, "owner_id": finance().id})
    r.invoice.id = invoice["id"]
    ctx.writer.update(work, "invoice", invoice["id"], {
        "status": "issued", "issue_date": day, "tax_invoice_number": f"{day:%y}32{rng.randrange(10 ** 15, 10 ** 16)}"})


def _pay(ctx: DemoContext, work: UnitOfWork, r: ReceivableStub, amount: Decimal, extra: Decimal,
         when: dt.datetime) -> None:
    rng, o = ctx.rng, r.order
    account = o.opp.account
    day = ctx.timeline.local_date(when)
    by_parent = account.parent is not None and rng.random() < 0.3
    method = rng.choices(("bank_transfer", "acceptance_bill", "online"), (80, 12, 8))[0] if o.currency == "CNY" \
        else "bank_transfer"
    payment = ctx.writer.create(work, "payment", {
        "account": account.ref, "order": o.ref, "contract": o.contract.ref, "payment_date": day, "method": method,
        "bill_due_date": day + dt.timedelta(days=180) if method == "acceptance_bill" else None,
        "currency": o.currency, "amount": amount + extra, "bank_charges": 25 if o.currency == "USD" else 0,
        "status": "confirmed", "payer_name": account.parent.company.name if by_parent and account.parent
        else account.company.name, "payer_account": f"{rng.choice(BANKS)} {rng.randrange(10 ** 11, 10 ** 12)}",
        "receiving_account": OUR_ACCOUNT if o.currency == "CNY" else "DBS Bank Singapore 003-912345-6 (USD)",
        "bank_reference": f"{'CMB' if o.currency == 'CNY' else 'DBS'}{day:%Y%m%d}{ctx.next_number('bank'):06d}",
        "notes": "集团统一付款 / paid by the group parent" if by_parent else
        "多付款项挂账，待下期核销 / over-payment kept on account" if extra else None, "owner_id": finance().id})
    ctx.writer.create(work, "payment_allocation", {
        "payment": payment["id"], "receivable_plan": r.ref, "invoice": r.invoice.id, "amount": amount,
        "method": "by_invoice" if r.invoice.id else "by_order", "allocated_on": day})
    r.received += amount
    status = "paid" if r.received >= r.amount else "partly_paid"
    ctx.writer.update(work, "receivable_plan", r.ref, {}, engine={"status": status})


def _mark_overdue(ctx: DemoContext, work: UnitOfWork, r: ReceivableStub) -> None:
    """The reminder job: a receivable past its due date with a balance is overdue."""
    if r.received < r.amount:
        ctx.writer.update(work, "receivable_plan", r.ref, {}, engine={"status": "overdue"})


# ------------------------------------------------------------------------------ revenue

def _plan_revenue(ctx: DemoContext, o: OrderStub) -> None:
    """The schedule of each order line, made by finance when the order is approved."""
    from .orders import SHIPPED

    tl = ctx.timeline
    assert o.approved is not None
    approved = tl.local_date(o.approved)
    rows: list[tuple[int, dict[str, Any], ScheduleStub]] = []
    for index, line in enumerate(o.lines):
        kind = line.sellable.product_type
        if kind in SHIPPED:
            day = tl.local_date(o.delivered) if o.delivered else approved + dt.timedelta(days=20)
            rows.append((index, {"planned_date": day, "amount": line.net, "delivery_done": o.delivered is not None},
                         ScheduleStub(recognised_on=day if o.delivered else None)))
        elif kind == "subscription":
            start, end = service_period(o.service_start, line)
            months = _split(start, end, 12)
            rest = line.net
            for number, (p_start, p_end) in enumerate(months):
                amount = rest if number == len(months) - 1 else money(line.net / len(months))
                rest -= amount
                rows.append((index, {"planned_date": p_end, "period_start": p_start, "period_end": p_end,
                                     "amount": amount}, ScheduleStub(recognised_on=p_end)))
        elif kind == "project":
            rest = line.net
            for number, (_, _, percent, planned, accepted) in enumerate(o.milestones):
                amount = rest if number == len(o.milestones) - 1 else money(line.net * percent / 100)
                rest -= amount
                rows.append((index, {"planned_date": planned, "amount": amount, "milestone": number},
                             ScheduleStub(recognised_on=accepted)))
    for _, _, stub in rows:  # recognised at the first month-end close on or after it is earned
        if stub.recognised_on is not None:
            close = _month_end(tl, stub.recognised_on, approved)
            stub.recognised_on = close
            if close is not None:
                ctx.closes.setdefault(close, []).append(stub)
    if rows:
        tl.at(o.approved + dt.timedelta(hours=3), finance().actor, lambda work: _schedules(ctx, work, o, rows))


def _month_end(tl: Any, day: dt.date, created: dt.date) -> dt.date | None:
    day = max(day, created)
    end = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return end if end <= tl.last_day else None


def _schedules(ctx: DemoContext, work: UnitOfWork, o: OrderStub, rows: list[tuple[int, dict[str, Any], ScheduleStub]]) -> None:
    batch = []
    for index, values, _ in rows:
        values = dict(values)
        milestone = values.pop("milestone", None)
        done = values.pop("delivery_done", False)
        batch.append({"order_line": o.line_ids[index], "order": o.ref, **values,
                      "milestone": o.milestone_ids[milestone] if milestone is not None else None,
                      "delivery": o.delivery.id if done else None,
                      "accounting_period": f"{values['planned_date']:%Y-%m}"})
    for (_, _, stub), record in zip(rows, ctx.writer.create_each(work, "revenue_schedule", batch), strict=True):
        stub.id = record["id"]


def _usage_revenue(ctx: DemoContext, work: UnitOfWork, r: ReceivableStub) -> None:
    assert r.period is not None and r.usage is not None and r.usage_net is not None
    o = r.order
    ctx.writer.create(work, "revenue_schedule", {
        "order_line": o.line_ids[r.shares[0][0]], "order": o.ref, "planned_date": r.period[1],
        "period_start": r.period[0], "period_end": r.period[1], "usage_record": r.usage.ref, "amount": r.usage_net,
        "status": "recognised", "recognised_on": r.period[1], "accounting_period": f"{r.period[1]:%Y-%m}"})


def finish(ctx: DemoContext) -> None:
    """Each month-end close recognises the revenue earned by then (late in the evening, after
    the day's orders have their schedules)."""
    tl = ctx.timeline
    for close, stubs in sorted(ctx.closes.items()):
        tl.at(tl.moment(close, 23.5), finance().actor, lambda work, close=close, stubs=stubs: _close(ctx, work, close, stubs))


def _close(ctx: DemoContext, work: UnitOfWork, close: dt.date, stubs: list[ScheduleStub]) -> None:
    for stub in stubs:
        ctx.writer.update(work, "revenue_schedule", stub.ref, {"status": "recognised", "recognised_on": close})
