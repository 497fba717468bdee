"""Opportunities as they happened: created with an estimate, moved stage by stage (each move a
real update with its stage history record, probability, forecast category and C139 score),
priced at proposal, won, lost or dropped when their sales cycle ends — or still open today with
a close date ahead. Meetings, visits and demos lead up to each move; the decision chain
(contact roles) is mapped once needs are analysed. Accounts become customers when they first
win, lost when they never did, dormant (some back in the account pool) when they went quiet.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from tessera.records.service import UnitOfWork

from .context import AccountStub, DemoContext, LeadStub, OppStub
from .deals import book_for, choose_kind, currency_of, cycle_days, deal_lines, total
from .users import DemoUser

OPEN = ("qualify", "needs", "proposal", "negotiation")
PROBABILITY = {"qualify": 10, "needs": 30, "proposal": 50, "negotiation": 70, "won": 100, "lost": 0, "invalid": 0}
NAMES = {"XC-TH100": ("车间环境监测", "Plant environment monitoring"), "XC-PT300": ("管网压力监测", "Pipeline pressure"),
         "XC-VS200": ("设备振动监测", "Vibration monitoring"), "XC-EM3": ("配电能耗采集", "Power metering"),
         "XC-PLC1200": ("产线自动化改造", "Line automation retrofit"), "XC-GD20": ("气体泄漏预警", "Gas leak alarms"),
         "XC-CAM5": ("视觉检测工位", "Vision inspection"), "XC-RF10": ("仓储 RFID 管理", "Warehouse RFID"),
         "XC-BDL-STARTER": ("智慧工厂试点", "Smart factory pilot"), "XC-KIT-ENERGY": ("能耗监测项目", "Energy monitoring"),
         "XC-KIT-COLD": ("冷链温度监测", "Cold-chain monitoring"), "XC-KIT-PDM": ("预测性维护项目", "Predictive maintenance"),
         "XC-SVC-REPAIR": ("维保服务", "Service & maintenance"), "XC-CLOUD-PRO": ("云平台专业版", "Cloud platform Pro"),
         "XC-CLOUD-ENT": ("工业互联网平台", "IIoT platform"), "XC-CLOUD-STD": ("云平台订阅", "Cloud subscription"),
         "XC-SAAS-MON": ("远程监控 SaaS", "Remote monitoring SaaS"), "XC-PRJ-MES": ("MES 系统项目", "MES project"),
         "XC-PRJ-EMS": ("能源管理系统", "Energy management system"), "XC-PRJ-TWIN": ("数字孪生工厂", "Digital twin"),
         "XC-PRJ-DEV": ("系统集成开发", "Integration project")}
LOST = {"price": "价格高于竞品约 15%。", "competitor": "客户选择了本地集成商。", "no_budget": "预算被砍，项目延期到明年。",
        "no_decision": "Customer could not decide; project on hold.", "product_fit": "需要防爆认证，我方产品暂不满足。",
        "relationship": "关键人调岗，新负责人倾向原供应商。"}
COMPETITORS = ("华远物联", "Northstar Automation", "本地系统集成商", "鼎新工控", "Meridian IIoT")
MEETINGS = {  # (activity type, subject, summary) leading up to a stage
    "needs": (("visit", "现场调研", "走访车间，梳理监测点位和网络条件。"), ("call", "Needs call", "Walked through pain points.")),
    "proposal": (("demo", "产品演示", "演示云平台看板和告警，客户认可。"), ("meeting", "方案交流会", "技术部提出接口要求。")),
    "negotiation": (("online_meeting", "报价澄清", "逐项解释报价，客户要求再降 5%。"),
                    ("meeting", "Commercial review", "Procurement asked for payment terms 30/60/10.")),
    "won": (("visit", "合同签署拜访", "拜访总经理，确认合同条款，准备签约。"),),
    "lost": (("call", "结果确认", "客户告知未中选。"),),
    "invalid": (("call", "需求核实", "确认并无实际项目。"),),
}


def plan(ctx: DemoContext) -> None:
    """The opportunities not born from a conversion, then the accounts' status over time."""
    tl, rng = ctx.timeline, ctx.rng
    weights = [{"strategic": 5, "key": 4, "normal": 2, "small": 1}[a.level] * (0.4 if a.parent is None and any(
        c.parent is a for c in ctx.accounts) else 1) for a in ctx.accounts]
    for _ in range(max(0, ctx.volume(200, 8) - len(ctx.opportunities))):
        account = rng.choices(ctx.accounts, weights)[0]
        room = max(1, (tl.last_day - tl.local_date(account.created)).days - 1)
        days = max(1, int(room * rng.random() ** 0.6))  # the business grows: more deals lately
        opp = design(ctx, account, account.owner, tl.after(account.created, days, days))
        schedule(ctx, opp, create=True)
    _plan_account_status(ctx)


def design(ctx: DemoContext, account: AccountStub, owner: DemoUser, created: dt.datetime,
           lead: LeadStub | None = None) -> OppStub:
    """Decide an opportunity's whole story."""
    tl, rng = ctx.timeline, ctx.rng
    kind = choose_kind(ctx, account)
    mix, lines = deal_lines(ctx, account, kind)
    book = book_for(account)
    end = created + dt.timedelta(days=cycle_days(ctx, kind), minutes=rng.randint(-120, 120))
    last = tl.moment(tl.last_day, 17.5)
    if end < last:
        outcome = rng.choices(("won", "lost", "invalid"), (46, 40, 14))[0]
        if outcome == "won":
            stages = [*OPEN, "won"]
        elif outcome == "lost":
            stages = [*OPEN[:rng.randint(2, 4)], "lost"]
        else:
            end = tl.after(created, 7, 30)
            stages = [*OPEN[:rng.randint(1, 2)], "invalid"]
        finish = min(end, last)
    else:
        progress = (last - created) / (end - created)
        stages = list(OPEN[:min(4, int(progress * 4) + 1)])
        finish = last
    times = [created]
    for i in range(1, len(stages)):
        share = (i + rng.uniform(-0.3, 0.3)) / (len(stages) - (0 if stages[-1] in OPEN else 1))
        moment = created + (finish - created) * max(0.05, min(share, 1.0))
        moment = tl.during_work(tl.local_date(moment))
        times.append(max(moment, times[-1] + dt.timedelta(minutes=30)))
    if stages[-1] not in OPEN:
        times[-1] = max(times[-2] + dt.timedelta(hours=1), min(finish, times[-1]))
    earlier = [o for o in ctx.opportunities if o.account is account and o.stage == "won" and o.closed
               and o.closed < created]
    short = account.company.short_name
    label = NAMES.get(mix[0], ("设备联网改造", "Connected equipment"))
    opp = OppStub(account, owner, f"{short} {label[1] if account.company.english else label[0]}", created,
                  list(zip(stages, times, strict=True)), total(lines), currency_of(book), tl.local_date(end), mix, kind,
                  source="lead" if lead else rng.choice(("existing_customer", "referral", "partner", "bid", "other")),
                  campaign=lead.campaign if lead else None, lead=lead,
                  opportunity_type=("renewal" if kind == "platform" else "upsell") if earlier else "new_business",
                  book=book, lines=lines)
    if stages[-1] not in OPEN:
        opp.closed = times[-1]
        opp.close_date = tl.local_date(times[-1])
        opp.lost_reason = rng.choice(list(LOST)) if stages[-1] == "lost" else None
    else:
        opp.close_date = max(opp.close_date, ctx.today + dt.timedelta(days=rng.randint(5, 60)))
    ctx.opportunities.append(opp)
    return opp


def _estimate(amount: Decimal) -> Decimal:
    return (amount * Decimal("1.15") / 1000).quantize(Decimal(1)) * 1000 or Decimal(1000)


def create_opportunity(ctx: DemoContext, work: UnitOfWork, opp: OppStub) -> None:
    """Create the opportunity in its first stage, with its first stage history record."""
    contact = next((c for c in opp.account.contacts if c.id is not None and c.role == "decision_maker"),
                   next((c for c in opp.account.contacts if c.id is not None), None))
    rate = ctx.rate(opp.currency, ctx.timeline.local_date(opp.created))
    record = ctx.writer.create(work, "opportunity", {
        "name": opp.name, "account": opp.account.ref, "primary_contact": contact.ref if contact else None,
        "opportunity_type": opp.opportunity_type, "source": opp.source,
        "campaign": opp.campaign.ref if opp.campaign else None, "stage": "qualify", "probability": 10,
        "forecast_category": "pipeline", "currency": opp.currency, "amount": _estimate(opp.amount),
        "close_date": opp.close_date if opp.closed is None else ctx.timeline.local_date(opp.created) + dt.timedelta(
            days=90), "next_step": "需求调研 / discovery visit", "competitors": ctx.rng.choice(COMPETITORS),
        "nine_c": 1, "owner_id": opp.owner.id,
    }, engine={"exchange_rate": rate, "stage_changed_at": opp.created,
               **({"source_lead": opp.lead.ref} if opp.lead else {})})
    opp.id = record["id"]
    opp.state = record
    if len(opp.path) == 1:  # still qualifying: its stage history starts now
        _history(ctx, work, opp, 0, None)
    if opp.lead is not None:
        _contact_roles(ctx, work, opp, opp.created)


def _history(ctx: DemoContext, work: UnitOfWork, opp: OppStub, index: int, exited: dt.datetime | None) -> None:
    """The stage history record of stage ``index`` of the path, with the opportunity's values
    while it was in that stage. A stage left is recorded when it is left (entered and exited
    at once); the current stage when it is entered."""
    stage, entered = opp.path[index]
    state = opp.state
    ctx.writer.create(work, "opportunity_stage_history", {
        "opportunity": opp.ref, "stage": stage, "previous_stage": opp.path[index - 1][0] if index else None,
        "entered_at": entered, "exited_at": exited, "amount": state["amount"], "currency": opp.currency,
        "probability": state["probability"], "forecast_category": state["forecast_category"],
        "close_date": state["close_date"]})


def schedule(ctx: DemoContext, opp: OppStub, *, create: bool) -> None:
    tl = ctx.timeline
    actor = opp.owner.actor
    if create:
        tl.at(opp.created, actor, lambda work: create_opportunity(ctx, work, opp))
    for i in range(1, len(opp.path)):
        stage, when = opp.path[i]
        since = opp.path[i - 1][1]
        for kind, subject, summary in ctx.rng.sample(MEETINGS[stage], k=min(len(MEETINGS[stage]),
                                                                              ctx.rng.randint(1, 2))):
            start = since + (when - since) * ctx.rng.uniform(0.3, 0.9)
            working = tl.during_work(tl.local_date(start))
            start = working if since < working < when else start
            tl.at(start + dt.timedelta(minutes=75), actor, lambda work, k=kind, s=subject, m=summary, t=start:
                  _activity(ctx, work, opp, k, s, m, t))
        tl.at(when, actor, lambda work, i=i: _move(ctx, work, opp, i), fresh=stage == "won")
    if opp.closed is None:
        start = tl.moment(ctx.today + dt.timedelta(days=ctx.rng.randint(1, 12)), ctx.rng.choice((10, 14, 15.5)))
        logged = max(tl.moment(tl.last_day, 18.2), opp.path[-1][1] + dt.timedelta(minutes=10))
        tl.at(logged, actor, lambda work: ctx.writer.create(work, "activity", {
            "subject": "下一步：" + {"qualify": "需求调研", "needs": "方案演示", "proposal": "报价沟通",
                                  "negotiation": "商务谈判"}[opp.stage], "activity_type": "meeting", "status": "planned",
            "start_at": start, "end_at": start + dt.timedelta(hours=1), "account": opp.account.ref,
            "opportunity": opp.ref, "owner_id": opp.owner.id}))


def _move(ctx: DemoContext, work: UnitOfWork, opp: OppStub, i: int) -> None:
    """Move to stage ``i`` of the path: the opportunity, its stage history, its decision chain."""
    rng = ctx.rng
    stage, when = opp.path[i]
    rank = OPEN.index(stage) if stage in OPEN else 4
    probability = PROBABILITY[stage] + (rng.choice((-5, 0, 0, 5, 10)) if stage in ("needs", "proposal") else 0)
    forecast = {"qualify": "pipeline", "needs": "pipeline", "proposal": rng.choice(("pipeline", "best_case")),
                "negotiation": rng.choice(("best_case", "commit", "commit")), "won": "won"}.get(stage, "pipeline")
    values: dict[str, Any] = {"stage": stage, "probability": probability, "forecast_category": forecast}
    if stage in (*OPEN, "won"):  # the C139 assessment grows as the deal advances; a lost deal keeps its last
        values.update(three_f=min(3, rank), nine_c=min(9, 1 + rank * 2 + rng.randint(0, 1)),
                      one_w=stage == "won" or (rank >= 2 and rng.random() < 0.5))
    engine: dict[str, Any] = {"stage_changed_at": when}
    if stage in ("proposal", "negotiation", "won"):
        values["amount"] = opp.final_amount if opp.final_amount and stage != "proposal" else opp.amount
    if stage not in OPEN:
        values["close_date"] = ctx.timeline.local_date(when)
        engine["closed_on"] = ctx.timeline.local_date(when)
        values["next_step"] = None
    else:
        values["next_step"] = {"needs": "安排方案演示", "proposal": "提交正式报价", "negotiation": "商务谈判，确认付款条件"}[stage]
    if stage == "lost":
        values.update(lost_reason=opp.lost_reason, lost_detail=LOST[opp.lost_reason or "price"])
    if stage == "invalid":
        values["lost_detail"] = "经核实无真实项目 / no real project behind it."
    _history(ctx, work, opp, i - 1, when)  # the stage it leaves, as it was
    opp.state = ctx.writer.update(work, "opportunity", opp.ref, values, engine=engine)
    if i == len(opp.path) - 1:
        _history(ctx, work, opp, i, None)  # where it is now
    if stage == "needs" and opp.lead is None:
        _contact_roles(ctx, work, opp, when)


def _contact_roles(ctx: DemoContext, work: UnitOfWork, opp: OppStub, when: dt.datetime) -> None:
    """The decision chain: the decision maker first, the others reporting to them."""
    known = [c for c in opp.account.contacts if c.id is not None and c.created <= when]
    if not known:
        return
    rng = ctx.rng
    chosen = rng.sample(known, k=min(len(known), rng.randint(1, 4)))
    chosen.sort(key=lambda c: c.role != "decision_maker")
    top = None
    for contact in chosen:
        role = "procurement" if contact.role == "influencer" and "采购" in contact.title else contact.role
        row = ctx.writer.create(work, "opportunity_contact_role", {
            "opportunity": opp.ref, "contact": contact.ref, "role": role, "attitude": contact.attitude,
            "influence": contact.influence, "is_primary": contact is chosen[0],
            "reports_to": top if top and contact.role != "decision_maker" else None,
            "relationship_notes": "关系良好，可安排高层拜访。" if contact.attitude == "supporter" else None})
        if contact.role == "decision_maker" and top is None:
            top = row["id"]


def _activity(ctx: DemoContext, work: UnitOfWork, opp: OppStub, kind: str, subject: str, summary: str,
              start: dt.datetime) -> None:
    rng = ctx.rng
    contact = next((c for c in rng.sample(opp.account.contacts, k=len(opp.account.contacts))
                    if c.id is not None and c.created <= start), None)
    minutes = 20 if kind == "call" else rng.choice((45, 60, 90))
    city = opp.account.company.city
    engine = None
    values = {"subject": f"{subject}：{opp.name}"[:200], "activity_type": kind, "status": "completed",
              "start_at": start, "end_at": start + dt.timedelta(minutes=minutes), "account": opp.account.ref,
              "opportunity": opp.ref, "contact": contact.ref if contact else None, "summary": summary,
              "outcome": rng.choice(("positive", "positive", "neutral")), "owner_id": opp.owner.id,
              "attendees": f"{opp.owner.name_zh}、{contact.person.name}" if contact else opp.owner.name_zh}
    if kind == "visit":
        values["location"] = f"{city.city}{city.district} {opp.account.company.name}"[:300]
        jitter = Decimal(rng.randint(-900, 900)) / 100000
        engine = {"latitude": city.latitude + jitter, "longitude": city.longitude - jitter, "checked_in_at": start}
    ctx.writer.create(work, "activity", values, engine=engine)


def _plan_account_status(ctx: DemoContext) -> None:
    tl, rng = ctx.timeline, ctx.rng
    for account in ctx.accounts:
        opps = [o for o in ctx.opportunities if o.account is account]
        won = sorted(o.closed for o in opps if o.stage == "won" and o.closed)
        actor = account.owner.actor
        if won:
            status = "key_customer" if account.level in ("strategic", "key") else "customer"
            tl.at(won[0] + dt.timedelta(minutes=2), actor,
                  lambda work, a=account, s=status: ctx.writer.update(work, "account", a.ref, {"status": s}))
            visit = tl.next_step(won[0], 45, 120)  # customer care: a visit after the first delivery
            if visit is not None:
                tl.at(visit + dt.timedelta(hours=2), actor, lambda work, a=account, v=visit: _care_visit(ctx, work, a, v))
        is_open = any(o.closed is None for o in opps)
        latest = max([o.closed or o.created for o in opps], default=account.created)
        quiet = (tl.last_day - tl.local_date(latest)).days
        if opps and not won and not is_open and quiet > 20:
            tl.at(tl.after(latest, 20, 20), actor, lambda work, a=account: ctx.writer.update(
                work, "account", a.ref, {"status": "lost", "description": "多次投标未果，暂停跟进。"}))
        elif won and not is_open and quiet > 200 and ctx.account_pool is not None:
            when = tl.during_work(tl.last_day - dt.timedelta(days=rng.randint(5, 30)))
            to_pool = rng.random() < 0.5
            tl.at(when, actor, lambda work, a=account, p=to_pool: ctx.writer.update(
                work, "account", a.ref, {"status": "dormant", **({"pool": ctx.account_pool.ref, "owner_id": None}
                                                                 if p else {})},
                engine={"in_pool": True} if p else None))


def _care_visit(ctx: DemoContext, work: UnitOfWork, account: AccountStub, start: dt.datetime) -> None:
    contact = next((c for c in account.contacts if c.id is not None and c.created <= start), None)
    city = account.company.city
    ctx.writer.create(work, "activity", {
        "subject": "客户回访 Customer care visit", "activity_type": "visit", "status": "completed", "start_at": start,
        "end_at": start + dt.timedelta(minutes=90), "account": account.ref, "contact": contact.ref if contact else None,
        "summary": "设备运行稳定，客户希望扩展到二期产线；已约技术交流。", "outcome": "positive",
        "next_step": "二期需求调研", "location": f"{city.city}{city.district}", "owner_id": account.owner.id},
        engine={"latitude": city.latitude, "longitude": city.longitude, "checked_in_at": start})
