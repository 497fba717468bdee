"""Leads: captured over the whole history (more recently, as the business grows) from campaigns,
web forms, the API, imports, tender notices, referrals, partners and calls; each in the pool of
its region, assigned to a rep of that region or still waiting; with the statuses that their age
makes plausible, scores with their breakdown, campaign memberships and the reps' follow-ups.

Web forms and the API write as the system user (no owner until assigned); imports from offline
events as marketing; calls, referrals and claimed tenders as the rep. Converted leads are
created as in progress here and converted by :mod:`.sales`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tessera.records.service import UnitOfWork

from .companies import Company
from .context import DemoContext, LeadStub
from .marketing import BidStub, CampaignStub
from .names import Person, chinese_person, english_person, foreign_mobile, landline, mobile, title
from .users import SYSTEM_ACTOR, DemoUser, marketing, reps

SOURCES = {"campaign": 34, "web_form": 20, "import": 8, "api": 5, "bid": 5, "referral": 7, "partner": 5,
           "cold_call": 7, "inbound_call": 5, "other": 4}
#: who types a lead in, by source
SYSTEM_SOURCES = ("web_form", "api")
REP_SOURCES = ("referral", "cold_call", "inbound_call", "bid", "other", "partner")
STATUS_BY_AGE = (  # (max age in days, weights of unassigned, pending, in_progress, invalid, converted, voided)
    (14, (35, 35, 25, 5, 0, 0)),
    (60, (14, 18, 42, 14, 7, 5)),
    (10_000, (9, 4, 34, 24, 10, 14)),
)
STATUSES = ("unassigned", "pending", "in_progress", "invalid", "converted", "voided")
INVALID_REASONS = {"wrong_contact": "电话空号，邮件退信。", "no_need": "客户暂无需求，明年再联系。",
                   "duplicate": "与已有客户重复。", "competitor": "对方是同行，来了解产品。",
                   "spam": "测试提交 / spam submission.", "other": "预算不足，项目搁置。"}
ATTRIBUTE_POINTS = {"manufacturing": 10, "energy": 8, "healthcare": 6, "logistics": 5, "government": 6}
SIZE_POINTS = {"enterprise": 18, "large": 15, "medium": 8, "small": 3}
BEHAVIOURS = (("form_submitted", "提交官网表单 Web form submitted", 10), ("email_opened", "打开营销邮件", 2),
              ("email_clicked", "点击邮件链接", 5), ("site_visit", "访问产品页面", 3),
              ("content_download", "下载白皮书", 8), ("event_attended", "参加线下活动", 15),
              ("call_answered", "接听电话", 5), ("unsubscribed", "退订邮件", -10))
FOLLOW_UPS = (("call", "电话初访：了解需求", "客户正在评估车间温湿度监测方案，约下周演示。", "positive"),
              ("call", "First call: qualify needs", "Interested in remote monitoring for 3 plants; wants pricing.",
               "positive"),
              ("wechat", "微信沟通：发送产品资料", "已发送 TH100、EG500 规格书和案例。", "neutral"),
              ("email", "发送解决方案介绍", "Sent the energy monitoring brochure and a reference case.", "neutral"),
              ("call", "电话回访", "未接通，稍后再打。", "no_answer"),
              ("visit", "上门拜访：现场调研", "看了配电房和空压站，点位约 120 个，需要出方案。", "positive"),
              ("call", "需求确认", "对方表示今年没有预算。", "negative"))


def plan(ctx: DemoContext) -> None:
    tl, rng = ctx.timeline, ctx.rng
    claimable = [b for b in ctx.bids if b.status == "claimed"]
    span = (tl.last_day - tl.start).days
    for _ in range(ctx.volume(1000, 20)):
        created = tl.during_work(tl.start + dt.timedelta(days=int(span * rng.random() ** 0.7)), 8.5, 19)
        source = rng.choices(list(SOURCES), list(SOURCES.values()))[0]
        campaign: CampaignStub | None = None
        bid: BidStub | None = None
        if source == "campaign":
            campaign = _campaign_for(ctx)
            if campaign is None:
                source = "web_form"
            else:
                created = tl.during_work(campaign.start + dt.timedelta(
                    days=rng.randint(0, (campaign.end - campaign.start).days + 10)))
                if campaign.created is not None:  # a campaign on the first day of the history
                    created = max(created, campaign.created + dt.timedelta(minutes=30))
        if source == "bid":
            bid = claimable.pop(0) if claimable else None
            if bid is None:
                source = "cold_call"
            else:
                created = tl.after(bid.published, 1, 4)
        company, person = _company_and_person(ctx, bid)
        age = (tl.last_day - tl.local_date(created)).days
        weights = next(w for limit, w in STATUS_BY_AGE if age <= limit)
        status = rng.choices(STATUSES, weights)[0]
        if status == "unassigned" and (source in REP_SOURCES or bid is not None):
            status = "pending"
        if status == "converted" and age < 7:
            status = "in_progress"
        region = company.city.region
        owner = None if status == "unassigned" else rng.choice(reps(region) or reps())
        lead = LeadStub(person, company, company.city, status, "exhibition" if campaign and campaign.kind == "exhibition"
                        else source, created, owner, campaign=campaign, bid=bid)
        lead.pool = ctx.pools["public" if status == "unassigned" and rng.random() < 0.3 else region]
        if status == "converted":
            lead.converted_at = tl.after(created, 3, min(60, max(4, age - 2)))
        ctx.leads.append(lead)
        actor = (SYSTEM_ACTOR if source in SYSTEM_SOURCES or (campaign and not campaign.offline) else
                 marketing().actor if source == "import" or campaign else (owner or marketing()).actor)
        tl.at(created, actor, lambda work, lead=lead: _create_lead(ctx, work, lead))
        _plan_follow_ups(ctx, lead)


def _campaign_for(ctx: DemoContext) -> CampaignStub | None:
    """A campaign that ran, the busier ones (exhibitions, search ads) more often."""
    running = [c for c in ctx.campaigns if c.status in ("in_progress", "completed")
               and c.start <= ctx.timeline.last_day]
    return ctx.rng.choices(running, [c.expected_leads for c in running])[0] if running else None


def _company_and_person(ctx: DemoContext, bid: BidStub | None) -> tuple[Company, Person]:
    rng = ctx.rng
    if bid is not None:  # the claimed notice's purchaser becomes the lead's company
        return bid.company, chinese_person(rng)
    roll = rng.random()
    if roll < 0.86:
        return ctx.companies.chinese(), chinese_person(rng)
    company = ctx.companies.foreign(in_china=roll < 0.93)
    return company, (chinese_person(rng) if company.credit_code and rng.random() < 0.5 else english_person(rng))


def _create_lead(ctx: DemoContext, work: UnitOfWork, lead: LeadStub) -> None:
    rng = ctx.rng
    company, person, city = lead.company, lead.person, lead.city
    job, role, _, dept = title(rng, person.chinese)
    has_mobile = rng.random() < 0.88
    values: dict[str, Any] = {
        "name": person.name, "company": company.name, "title": job, "department": dept, "status": lead.status,
        "source": lead.source, "campaign": lead.campaign.ref if lead.campaign else None,
        "bid_notice": lead.bid.ref if lead.bid else None,
        "lead_pool": lead.pool.ref if lead.pool and (lead.owner is None or lead.source in SYSTEM_SOURCES
                                                      or lead.campaign) else None,
        "phone": (mobile(rng) if city.area_code else foreign_mobile(rng, city)) if has_mobile else None,
        "email": f"{person.login}@{company.domain}" if rng.random() < 0.7 or not has_mobile else None,
        "telephone": landline(rng, city) if rng.random() < 0.25 else None,
        "wechat": f"wxid_{person.login.replace('.', '_')}{rng.randint(10, 999)}" if person.chinese and rng.random() < 0.2
        else None,
        "industry": company.industry if company.industry != "government" or rng.random() < 0.8 else "other",
        "company_size": company.size, "website": f"https://www.{company.domain}" if rng.random() < 0.5 else None,
        "credit_code": company.credit_code if company.credit_code and rng.random() < 0.3 else None,
        "province": city.province, "city": city.city,
        "address": f"{city.district}{rng.choice(('科技园', '工业园', '开发区'))}{rng.randint(1, 88)}号" if city.area_code
        else None,
        "owner_id": lead.owner.id if lead.owner else None,
    }
    if lead.status == "invalid":
        reason = rng.choice(list(INVALID_REASONS))
        values.update(invalid_reason=reason, description=INVALID_REASONS[reason])
    elif lead.status == "voided":
        values["description"] = rng.choice(("重复录入，已作废。", "Test record from the web form, voided.",
                                             "客户要求删除其信息（个人信息保护）。"))
    elif lead.status == "converted":
        values["status"] = "in_progress"  # converted later, by sales (one into three)
    engine, entries = _score(ctx, lead, role)
    if lead.owner is not None:
        engine["assigned_at"] = lead.created + dt.timedelta(minutes=rng.randint(2, 180))
    if lead.status == "unassigned" and lead.pool is ctx.pools["public"]:
        engine["returned_count"] = 1
        values["return_reason"] = "7 天未跟进，自动回收到公共池。"
    record = ctx.writer.create(work, "lead", values, engine=engine)
    lead.id = record["id"]
    if lead.bid is not None:  # claimed from the tender notice
        ctx.writer.update(work, "bid_notice", lead.bid.ref, {"status": "claimed"})
    if entries:
        ctx.writer.create_each(work, "lead_score_entry", [{"lead": lead.id, **e} for e in entries])
    if lead.campaign is not None and lead.campaign.offline:
        attended = rng.random() < 0.8
        ctx.writer.create(work, "campaign_member", {
            "campaign": lead.campaign.ref, "lead": lead.id, "status": "attended" if attended else "no_show",
            "responded": attended, "first_responded_at": lead.created if attended else None,
            "registration_source": rng.choice(("展位扫码 Booth scan", "线上报名 Online sign-up", "邀请函 Invitation"))})


def _score(ctx: DemoContext, lead: LeadStub, role: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The score's breakdown as score entries — one for the attribute rules (each rule and its
    points in the detail), one per behaviour event, one for the predictive model — and the
    lead's scores and grade (hot ≥ 80, warm ≥ 50)."""
    rng = ctx.rng
    rules: list[tuple[str, int]] = []
    if lead.company.industry in ATTRIBUTE_POINTS:
        rules.append((f"行业 industry = {lead.company.industry}", ATTRIBUTE_POINTS[lead.company.industry]))
    rules.append((f"规模 size = {lead.company.size}", SIZE_POINTS.get(lead.company.size, 0)))
    if role in ("decision_maker", "technical_gatekeeper"):
        rules.append(("职位 = 决策层 decision level", 12))
    if lead.city.region == "east":
        rules.append(("区域 = 华东 home market", 5))
    attribute_score = sum(points for _, points in rules)
    entries = [{"kind": "attribute", "rule_name": "属性评分 Attribute rules", "points": attribute_score,
                "occurred_at": lead.created, "detail": "; ".join(f"{rule} {points:+d}" for rule, points in rules)}]
    behaviour = []
    if lead.campaign is not None and lead.campaign.offline:
        behaviour.append({"kind": "behaviour", "event": "event_attended", "rule_name": "参加线下活动 Event attended",
                          "points": 15, "occurred_at": lead.created})
    if lead.source in ("web_form", "campaign", "exhibition", "api") or rng.random() < 0.2:
        for _ in range(rng.choice((1, 1, 2, 3))):
            event, rule, points = rng.choice(BEHAVIOURS)
            behaviour.append({"kind": "behaviour", "event": event, "rule_name": rule, "points": points,
                              "occurred_at": lead.created - dt.timedelta(hours=rng.randint(0, 24 * 30))})
    if lead.status in ("in_progress", "converted"):
        behaviour.append({"kind": "behaviour", "event": "call_answered", "rule_name": "销售确认意向 Qualified by sales",
                          "points": 15 if lead.status == "converted" else 5, "occurred_at": lead.created})
    behaviour_score = sum(e["points"] for e in behaviour)
    predictive = None
    if rng.random() < 0.35:  # the model's view, learned from past conversions
        predictive = rng.randint(0, 30) + (15 if lead.status == "converted" else 0)
        behaviour.append({"kind": "predictive", "rule_name": "转化预测模型 Conversion model", "points": predictive,
                          "occurred_at": lead.created})
    score = max(0, min(100, attribute_score + behaviour_score + (predictive or 0)))
    grade = "hot" if score >= 80 else "warm" if score >= 50 else "cold"
    engine = {"score": score, "attribute_score": attribute_score, "behaviour_score": behaviour_score, "grade": grade}
    if predictive is not None:
        engine["predictive_score"] = predictive
    return engine, entries + behaviour


def _plan_follow_ups(ctx: DemoContext, lead: LeadStub) -> None:
    """The owner's calls and visits; pending leads get a call planned after today."""
    tl, rng = ctx.timeline, ctx.rng
    owner: DemoUser | None = lead.owner
    if owner is None or lead.status == "voided":
        return
    if lead.status == "pending":
        if rng.random() < 0.5:
            start = tl.moment(ctx.today + dt.timedelta(days=rng.randint(0, 5)), rng.choice((10, 14.5, 16)))
            logged = max(tl.moment(tl.last_day, 18.5), lead.created + dt.timedelta(minutes=10))
            tl.at(logged, owner.actor, lambda work: ctx.writer.create(work, "activity", {
                "subject": "首次电话联系 First call", "activity_type": "call", "status": "planned", "start_at": start,
                "end_at": start + dt.timedelta(minutes=15), "lead": lead.ref, "owner_id": owner.id}))
        return
    last = lead.converted_at or tl.moment(tl.last_day, 17)
    when = tl.after(lead.created, 0, 3)
    for _ in range(rng.randint(1, 3)):
        if when >= last:
            break
        kind, subject, summary, outcome = rng.choice(FOLLOW_UPS)
        minutes = rng.randint(5, 25) if kind in ("call", "wechat", "email") else rng.randint(60, 150)
        tl.at(when + dt.timedelta(minutes=minutes), owner.actor,
              lambda work, when=when, kind=kind, subject=subject, summary=summary, outcome=outcome, minutes=minutes:
              _follow_up(ctx, work, lead, when, kind, subject, summary, outcome, minutes))
        when = tl.after(when, 2, 9)


def _follow_up(ctx: DemoContext, work: UnitOfWork, lead: LeadStub, when: dt.datetime, kind: str, subject: str,
               summary: str, outcome: str, minutes: int) -> None:
    follow = ctx.timeline.local_date(when) + dt.timedelta(days=ctx.rng.randint(2, 7))
    values = {"subject": subject, "activity_type": kind, "status": "completed", "start_at": when,
              "end_at": when + dt.timedelta(minutes=minutes), "lead": lead.ref, "summary": summary, "outcome": outcome,
              "next_step": "发送报价 / send a quote" if outcome == "positive" else None,
              "next_follow_up_on": follow if outcome in ("positive", "no_answer") else None}
    if kind == "visit":
        values["location"] = f"{lead.city.city}{lead.city.district}"
    ctx.writer.create(work, "activity", values)

