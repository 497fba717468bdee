"""Configure, price, quote — and sign: quotes (priced lines with their pricing steps, approval
when a discount is beyond the rep's threshold, revisions that supersede the first version),
accepted quotes turned into contracts (framework agreements with call-offs for repeat buyers,
versions, amendments, expiry), each contract handing over to :mod:`.orders`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tessera.records.service import UnitOfWork

from . import orders
from .context import DemoContext, OppStub, Stub
from .deals import DealLine, service_period
from .users import manager_of

#: a discount above this needs the manager's approval
APPROVAL_THRESHOLD = Decimal(15)
PAYMENT_TERMS = ("合同签订后预付 30%，发货前付 60%，验收合格后付 10%。", "货到验收后 30 天内付清。",
                 "Net 30 days from invoice date.", "按季度预付服务费。")
CONTRACT_TYPES = {"hardware": "sales", "solution": "service", "platform": "subscription", "project": "project"}


@dataclass(eq=False)
class QuoteStub(Stub):
    opp: OppStub
    version: int
    date: dt.datetime
    lines: list[DealLine]
    valid_until: dt.date
    discount_extra: Decimal = Decimal(0)
    line_ids: list[int] = field(default_factory=list)
    previous: QuoteStub | None = None
    sent: dt.datetime | None = None  # when it went to the customer (None: still waiting for approval)

    @property
    def needs_approval(self) -> bool:
        return any(line.discount + self.discount_extra > APPROVAL_THRESHOLD for line in self.lines)


@dataclass(eq=False)
class ContractStub(Stub):
    opp: OppStub
    quote: QuoteStub
    kind: str
    signed: dt.datetime
    start: dt.date
    end: dt.date | None
    amount: Decimal
    framework: ContractStub | None = None


def plan(ctx: DemoContext) -> None:
    frameworks: dict[int, ContractStub] = {}
    outcomes = []
    for opp in sorted(ctx.opportunities, key=lambda o: o.created):
        stages = dict(opp.path)
        if "proposal" not in stages:
            continue
        quote = _plan_quote(ctx, opp, 1, stages["proposal"], Decimal(0))
        if ("negotiation" in stages and quote.sent is not None and ctx.rng.random() < 0.45
                and stages["negotiation"] > quote.sent + dt.timedelta(hours=2)):
            quote = _plan_quote(ctx, opp, 2, stages["negotiation"], Decimal(3), previous=quote)
            opp.final_amount = quote_total(quote)
        opp.quote = quote
        if quote.sent is not None:
            outcomes.append((opp, quote, stages))
    for opp, quote, stages in sorted(outcomes, key=lambda item: item[0].closed or item[0].created):
        _plan_outcome(ctx, opp, quote, stages, frameworks)  # in the order they closed: frameworks first


def _plan_quote(ctx: DemoContext, opp: OppStub, version: int, when: dt.datetime, extra: Decimal,
                previous: QuoteStub | None = None) -> QuoteStub:
    tl = ctx.timeline
    at = when + dt.timedelta(minutes=ctx.rng.randint(20, 120))
    closing = opp.closed or at
    valid = max(tl.local_date(at) + dt.timedelta(days=30), tl.local_date(closing) + dt.timedelta(days=3))
    lines = [DealLine(l.sellable, l.quantity, l.list_price, l.unit_price, min(Decimal(40), l.discount + extra))
             for l in opp.lines]
    quote = QuoteStub(opp, version, at, lines, valid, extra, previous=previous)
    actor = opp.owner.actor
    tl.at(at, actor, lambda work: _create_quote(ctx, work, quote))
    if quote.needs_approval:
        approved = tl.next_step(at, 0, 1)
        if approved is None:
            return quote
        manager = manager_of(opp.owner)
        tl.at(approved, manager.actor, lambda work: ctx.writer.update(work, "quote", quote.ref, {"status": "approved"}))
        sent = approved + dt.timedelta(minutes=ctx.rng.randint(10, 60))
        if tl.local_date(sent) > tl.last_day:
            return quote
        tl.at(sent, actor, lambda work: _send(ctx, work, quote, sent))
        quote.sent = sent
    else:
        quote.sent = at
    return quote


def _create_quote(ctx: DemoContext, work: UnitOfWork, q: QuoteStub) -> None:
    rng, opp, account = ctx.rng, q.opp, q.opp.account
    contact = next((c for c in account.contacts if c.id is not None and c.role == "decision_maker"),
                   next((c for c in account.contacts if c.id is not None), None))
    english = account.company.english
    record = ctx.writer.create(work, "quote", {
        "name": f"{opp.name} {'Quotation' if english else '报价单'} v{q.version}", "account": account.ref,
        "opportunity": opp.ref, "contact": contact.ref if contact else None,
        "price_book": ctx.price_books[opp.book].ref, "currency": opp.currency, "status": "draft",
        "is_primary": True, "quote_date": ctx.timeline.local_date(q.date), "valid_until": q.valid_until,
        "payment_terms": rng.choice(PAYMENT_TERMS), "delivery_terms": "合同生效后 15 个工作日内发货，含运费。"
        if not english else "FOB Shanghai, 4 weeks after order.", "bill_to": account.company.name,
        "ship_to": f"{account.company.city.city} {account.company.name}"[:300],
        "notes": "价格含运费，不含安装（另有说明除外）。" if not english else "Prices exclude VAT.", "owner_id": opp.owner.id,
    }, engine={"version_number": q.version, "needs_approval": q.needs_approval,
               **({"previous_version": q.previous.ref} if q.previous else {})})
    q.id = record["id"]
    start = opp.close_date + dt.timedelta(days=14)
    for number, line in enumerate(q.lines, 1):
        sub = line.sellable.product_type == "subscription"
        period = service_period(start, line) if sub else (None, None)
        steps = [{"step": "list", "unit_price": str(line.list_price)}]
        if line.unit_price != line.list_price:
            steps.append({"step": "tier", "unit_price": str(line.unit_price)})
        if line.discount:
            steps.append({"step": "manual_discount", "percent": str(line.discount)})
        steps.append({"step": "net", "amount": str(line.net)})
        row = ctx.writer.create(work, "quote_line", {
            "quote": q.id, "line_number": number, "product": line.sellable.product.ref,
            "variant": line.sellable.variant.ref if line.sellable.variant else None, "name": line.sellable.name,
            "line_type": "bundle" if line.sellable.product_code.startswith("XC-BDL") else "product",
            "unit": line.sellable.unit.ref, "quantity": line.quantity, "unit_price": line.unit_price,
            "discount": line.discount, "service_start": period[0], "service_end": period[1]},
            engine={"list_price": line.list_price, "pricing_steps": steps, "below_floor": False})
        q.line_ids.append(row["id"])
    if q.previous is not None:
        ctx.writer.update(work, "quote", q.previous.ref, {"status": "superseded", "is_primary": False})
    if q.needs_approval:
        ctx.writer.update(work, "quote", q.id, {"status": "in_approval"})
    else:
        _send(ctx, work, q, q.date)


def _send(ctx: DemoContext, work: UnitOfWork, q: QuoteStub, when: dt.datetime) -> None:
    ctx.writer.update(work, "quote", q.ref, {"status": "sent"}, engine={"sent_at": when})


def _plan_outcome(ctx: DemoContext, opp: OppStub, quote: QuoteStub, stages: dict[str, dt.datetime],
                  frameworks: dict[int, ContractStub]) -> None:
    tl, rng = ctx.timeline, ctx.rng
    actor = opp.owner.actor
    if opp.stage == "lost":
        tl.at(stages["lost"] - dt.timedelta(minutes=5), actor,
              lambda work: ctx.writer.update(work, "quote", quote.ref, {"status": "declined"}))
        return
    if opp.stage != "won":
        if quote.valid_until < tl.last_day and opp.stage in ("proposal", "negotiation"):
            expired = tl.moment(quote.valid_until + dt.timedelta(days=1), 1.0)
            tl.at(expired, actor, lambda work: ctx.writer.update(work, "quote", quote.ref, {"status": "expired"}))
        return
    won = stages["won"]
    assert quote.sent is not None
    accepted = max(won - dt.timedelta(minutes=10), quote.sent + dt.timedelta(minutes=5))
    tl.at(accepted, actor, lambda work: ctx.writer.update(
        work, "quote", quote.ref, {"status": "accepted", "accepted_on": tl.local_date(accepted)}))
    drafted = tl.next_step(max(won, accepted), 1, 3)
    if drafted is None:
        return
    kind = CONTRACT_TYPES[opp.kind]
    framework = frameworks.get(id(opp.account))
    if framework is not None and drafted <= framework.signed:  # a call-off comes after its framework
        drafted = framework.signed + dt.timedelta(minutes=30)
        if tl.local_date(drafted) > tl.last_day:
            return
    if framework is None and opp.account.level in ("strategic", "key") and sum(
            1 for o in ctx.opportunities if o.account is opp.account and o.stage == "won") >= 2:
        framework = ContractStub(opp, quote, "framework", drafted, tl.local_date(drafted),
                                 tl.local_date(drafted) + dt.timedelta(days=730), Decimal(0))
        frameworks[id(opp.account)] = framework
        tl.at(drafted, actor, lambda work: _create_contract(ctx, work, framework, active=True))
        drafted += dt.timedelta(minutes=30)
    start = tl.local_date(drafted) + dt.timedelta(days=rng.randint(3, 10))
    end = (start + dt.timedelta(days=365 * (3 if kind == "project" else 1)) if kind != "sales" else None)
    contract = ContractStub(opp, quote, kind if framework is None else "sales", drafted, start, end,
                            quote_total(quote), framework=framework)
    tl.at(drafted, actor, lambda work: _create_contract(ctx, work, contract, active=False))
    signed = tl.next_step(drafted, 2, 8)
    if signed is None:
        return
    contract.signed = signed
    tl.at(signed, actor, lambda work: _sign(ctx, work, contract))
    if rng.random() < 0.15:
        amended = tl.next_step(signed, 20, 120)
        if amended is not None:
            tl.at(amended, actor, lambda work: _amend(ctx, work, contract, amended))
    if contract.end and contract.end < tl.last_day:
        tl.at(tl.moment(contract.end + dt.timedelta(days=1), 2.0), actor,
              lambda work: ctx.writer.update(work, "contract", contract.ref, {"status": "expired"}))
    orders.plan(ctx, contract)


def quote_total(quote: QuoteStub) -> Decimal:
    return sum((line.net for line in quote.lines), Decimal(0))


def _create_contract(ctx: DemoContext, work: UnitOfWork, c: ContractStub, *, active: bool) -> None:
    rng, opp, account = ctx.rng, c.opp, c.opp.account
    english = account.company.english
    signatory = next((x for x in account.contacts if x.id is not None and x.role == "decision_maker"), None)
    framework = c.kind == "framework"
    name = (f"{account.company.short_name} {'Framework agreement' if english else '年度框架协议'}" if framework
            else f"{opp.name} {'Contract' if english else '合同'}")
    signed = ctx.timeline.local_date(c.signed)
    record = ctx.writer.create(work, "contract", {
        "name": name, "customer_contract_number": f"{account.company.short_name[:6]}-HT-{signed:%Y}-"
        f"{rng.randint(1, 999):03d}", "contract_type": c.kind, "account": account.ref,
        "opportunity": None if framework else opp.ref, "quote": None if framework else c.quote.ref,
        "framework_contract": c.framework.ref if c.framework else None,
        "customer_signatory": signatory.ref if signatory else None, "our_signatory": manager_of(opp.owner).name_zh,
        "status": "active" if active else "draft", "currency": opp.currency,
        "amount": None if framework else c.amount, "signed_date": signed if active else None,
        "start_date": c.start, "end_date": c.end, "auto_renew": c.kind == "subscription",
        "renewal_notice_days": 60 if c.kind == "subscription" else 30, "payment_terms": rng.choice(PAYMENT_TERMS),
        "invoice_mode": "payment_first" if english else "invoice_first",
        "terms": "1. 质保期 24 个月。2. 违约金为合同总额的 5%。3. 争议提交苏州仲裁委员会仲裁。",
        "attachment": f"https://files.xingchen-iot.cn/contracts/{signed:%Y%m}/{rng.randrange(10 ** 8):08d}.pdf",
        "owner_id": opp.owner.id})
    c.id = record["id"]
    if active:
        _version(ctx, work, c, 1, "original", c.amount if not framework else None, signed)
    else:
        ctx.writer.update(work, "contract", c.id, {"status": "in_approval"})


def _version(ctx: DemoContext, work: UnitOfWork, c: ContractStub, number: int, change: str,
             amount: Decimal | None, effective: dt.date, **extra: Any) -> None:
    ctx.writer.create(work, "contract_version", {
        "contract": c.ref, "version_number": number, "change_type": change, "status": "approved",
        "effective_date": effective, "amount": amount, "start_date": c.start, "end_date": c.end,
        "signed_date": effective, **extra})


def _sign(ctx: DemoContext, work: UnitOfWork, c: ContractStub) -> None:
    signed = ctx.timeline.local_date(c.signed)
    ctx.writer.update(work, "contract", c.ref, {"status": "active", "signed_date": signed})
    _version(ctx, work, c, 1, "original", c.amount, signed)


def _amend(ctx: DemoContext, work: UnitOfWork, c: ContractStub, when: dt.datetime) -> None:
    """A supplement: extra spare parts, the amount grows; version 1 is superseded."""
    day = ctx.timeline.local_date(when)
    change = (c.amount * Decimal("0.08")).quantize(Decimal("0.01"))
    first = work.query("contract_version", filter={"contract": c.ref, "version_number": 1}).rows[0]
    ctx.writer.update(work, "contract_version", first["id"], {"status": "superseded"})
    _version(ctx, work, c, 2, "supplement", c.amount + change, day, amount_change=change,
             reason="客户追加备品备件 / spare parts added", changes="增加备品备件一批，金额增加 8%。")
    c.amount += change
    ctx.writer.update(work, "contract", c.ref, {"amount": c.amount})

