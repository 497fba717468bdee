"""Accounts and contacts: group companies with subsidiaries (客户树), customers the reps found
themselves, distributors on the partner price book, and accounts born from lead conversion
("one into three": account, contact and opportunity in one transaction, the lead pointing at
what it became). Later conversions of the same company link to the existing account.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tessera.records.service import UnitOfWork

from . import pipeline
from .companies import COMPANY_TYPES, Company
from .context import AccountStub, ContactStub, DemoContext, LeadStub
from .names import Person, chinese_person, english_person, foreign_mobile, landline, mobile, title
from .places import REGION_LABELS
from .users import DemoUser, admin, manager_of, reps

LEVELS = ("strategic", "key", "normal", "small")
ATTITUDES = ("supporter", "neutral", "opponent")
HOBBIES = ("高尔夫、钓鱼", "马拉松", "喝茶，喜欢普洱", "摄影", "Football (Bayern fan)", "羽毛球", "自驾游", "Hiking")
SCOPES = {"manufacturing": "机械设备、电子产品的研发、生产与销售；自营和代理各类商品及技术的进出口业务。",
          "energy": "电力供应；新能源技术开发；合同能源管理；光伏发电设备销售。",
          "logistics": "普通货运；冷链物流；仓储服务（不含危险品）；供应链管理服务。",
          "healthcare": "第二类医疗器械生产、销售；药品研发；技术服务。"}


def plan(ctx: DemoContext) -> None:
    tl, rng = ctx.timeline, ctx.rng
    target = ctx.volume(50, 5)
    converted = sorted((lead for lead in ctx.leads if lead.status == "converted"), key=lambda l: l.converted_at)
    groups = max(1, round(target * 0.08))
    from_leads = min(len(converted), max(1, round(target * 0.45)))
    for _ in range(groups):
        parent_company, trade = ctx.companies.group_parent()
        created = tl.during_work(tl.start + dt.timedelta(days=rng.randint(0, 60)))
        parent = _account(ctx, parent_company, created, rng.choice(("strategic", "key")), source="self_developed")
        for _ in range(rng.randint(2, 3)):
            child = ctx.companies.chinese(core=trade, group=parent_company.name)
            _account(ctx, child, tl.after(created, 5, 200), rng.choice(("key", "normal")), parent=parent,
                     source=rng.choice(("referral", "self_developed")))
    direct = max(1, target - len(ctx.accounts) - from_leads)
    partners = ctx.volume(3, 1)
    span = (tl.last_day - tl.start).days
    for index in range(direct):
        partner = index < partners
        company = (ctx.companies.chinese(industry="retail") if partner else ctx.companies.foreign(in_china=False)
                   if rng.random() < 0.08 else ctx.companies.chinese())
        if partner:
            company.name = company.name.replace("商贸", "自动化设备").replace("连锁超市", "工控科技")
        created = tl.during_work(tl.start + dt.timedelta(days=int(span * 0.85 * rng.random())))
        account = _account(ctx, company, created, "normal" if partner else rng.choices(LEVELS, (1, 4, 10, 5))[0],
                           source="partner" if partner else rng.choice(("self_developed", "referral", "bid", "campaign")))
        account.partner = partner
    made = 0
    for lead in converted:
        currency = "USD" if not lead.city.area_code else "CNY"
        existing = [a for a in ctx.accounts if a.created < lead.converted_at and not a.partner
                    and a.company.city.region == lead.city.region and a.currency == currency]
        if made < from_leads or not existing:
            made += 1
            account = _account(ctx, lead.company, lead.converted_at, rng.choices(LEVELS, (1, 3, 10, 6))[0],
                               source="lead_conversion", lead=lead, owner=lead.owner)
        else:
            account = rng.choice(existing)
            lead.company = account.company  # the duplicate check found the company: link to it
        contact = _contact(ctx, account, lead.converted_at, person=lead.person)
        lead.contact = contact
        opp = None
        if rng.random() < 0.8:
            opp = pipeline.design(ctx, account, lead.owner or account.owner, lead.converted_at, lead=lead)
        _schedule_conversion(ctx, lead, account, contact, opp, new=account.lead is lead)
    _plan_contacts(ctx)


def _account(ctx: DemoContext, company: Company, created: dt.datetime, level: str, *, source: str,
             parent: AccountStub | None = None, lead: LeadStub | None = None,
             owner: DemoUser | None = None) -> AccountStub:
    region = company.city.region
    owner = owner or (manager_of(reps(region)[0]) if level == "strategic" and reps(region) else
                      ctx.rng.choice(reps(region) or reps()))
    account = AccountStub(company, owner, created, level, parent=parent, source=source, lead=lead)
    ctx.accounts.append(account)
    if lead is None:
        ctx.timeline.at(created, owner.actor, lambda work: _create_account(ctx, work, account))
        _first_contacts(ctx, account)
    return account


def _first_contacts(ctx: DemoContext, account: AccountStub) -> None:
    """A decision maker, met when the account is entered."""
    _contact(ctx, account, account.created, role="decision_maker")


def _create_account(ctx: DemoContext, work: UnitOfWork, a: AccountStub) -> None:
    rng, company, city = ctx.rng, a.company, a.company.city
    chinese = city.area_code != ""
    values: dict[str, Any] = {
        "name": company.name, "short_name": company.short_name[:60], "parent": a.parent.ref if a.parent else None,
        "status": "prospect", "level": a.level, "industry": company.industry if company.industry != "retail"
        or not a.partner else "services", "source": a.source, "region": REGION_LABELS[city.region],
        "province": city.province, "city": city.city, "phone": landline(rng, city),
        "address": f"{city.district}{rng.choice(('科技大道', '工业园路', '创新路', '新区大道'))}{rng.randint(1, 999)}号"
        if chinese else f"{rng.randint(1, 300)} {rng.choice(('Industrial Park Rd', 'Jurong West Ave', 'Hauptstraße'))}",
        "website": f"https://www.{company.domain}", "credit_code": company.credit_code,
        "employees": rng.choice((30, 80, 150, 320, 600, 1200, 3500, 12000)) * (3 if a.parent is None and
                                                                                a.level == "strategic" else 1),
        "annual_revenue": rng.randrange(20, 3000) * 1_000_000, "owner_id": a.owner.id,
        "description": "经销商：华东区工控产品代理。" if a.partner else None,
    }
    if company.credit_code:  # registry data (the business registry backfill is a later issue)
        founded = dt.date(rng.randint(1995, 2019), rng.randint(1, 12), rng.randint(1, 28))
        values.update(legal_representative=chinese_person(rng).name, founded_on=founded,
                      registered_capital=f"{rng.choice((500, 1000, 2000, 5000, 10000, 30000))} 万人民币",
                      registration_status="in_business", company_type=rng.choice(COMPANY_TYPES),
                      registered_address=f"{city.province}{city.city}{values['address']}",
                      business_scope=SCOPES.get(company.industry, "技术开发、技术咨询、技术服务；货物进出口。"))
    record = ctx.writer.create(work, "account", values, engine={"source_lead": a.lead.ref} if a.lead else None)
    a.id = record["id"]
    if a.partner:
        book = ctx.price_books["PARTNER-CNY"].ref
        ctx.writer.create(work, "price_book_account", {"price_book": book, "account": a.id, "include_children": False,
                                                       "owner_id": admin().id})


def _contact(ctx: DemoContext, account: AccountStub, created: dt.datetime, *, person: Person | None = None,
             role: str | None = None) -> ContactStub:
    rng = ctx.rng
    chinese_names = account.company.city.area_code != "" and (not account.company.english or rng.random() < 0.6)
    person = person or (chinese_person(rng) if chinese_names else english_person(rng))
    job, decision_role, influence, dept = title(rng, person.chinese, role)
    attitude = rng.choices(ATTITUDES, (4, 5, 2))[0] if decision_role != "coach" else "supporter"
    city = account.company.city
    contact = ContactStub(account, person, job, decision_role, influence, attitude, created, dept,
                          mobile=(mobile(rng) if city.area_code else foreign_mobile(rng, city))
                          if rng.random() < 0.9 else None,
                          email=f"{person.login}@{account.company.domain}" if rng.random() < 0.85 else None)
    if contact.mobile is None and contact.email is None:
        contact.email = f"{person.login}@{account.company.domain}"
    account.contacts.append(contact)
    ctx.contacts.append(contact)
    return contact


def _plan_contacts(ctx: DemoContext) -> None:
    """More contacts over time, up to ~3 per account; each entered by the account's owner."""
    tl, rng = ctx.timeline, ctx.rng
    extra = ctx.volume(150, 8) - len(ctx.contacts)
    weights = [{"strategic": 5, "key": 3, "normal": 2, "small": 1}[a.level] for a in ctx.accounts]
    for _ in range(max(0, extra)):
        account = rng.choices(ctx.accounts, weights)[0]
        latest = max(tl.local_date(account.created), tl.last_day - dt.timedelta(days=5))
        created = tl.after(account.created, 1, max(1, (latest - tl.local_date(account.created)).days))
        _contact(ctx, account, created)
    converted = {id(lead.contact) for lead in ctx.leads if lead.contact is not None}
    for contact in ctx.contacts:
        if id(contact) not in converted:  # those are created by their conversion
            tl.at(contact.created, contact.account.owner.actor, lambda work, c=contact: create_contact(ctx, work, c))


def create_contact(ctx: DemoContext, work: UnitOfWork, c: ContactStub, lead: LeadStub | None = None) -> None:
    rng = ctx.rng
    boss = next((o for o in c.account.contacts if o.role == "decision_maker" and o is not c and o.id is not None), None)
    city = c.account.company.city
    values = {
        "name": c.person.name, "account": c.account.ref, "title": c.title,
        "department": c.department, "reports_to": boss.ref if boss and c.role != "decision_maker"
        else None, "mobile": c.mobile, "email": c.email, "phone": landline(rng, city) if rng.random() < 0.3 else None,
        "wechat": c.mobile.replace("+86 ", "").replace(" ", "") if c.mobile and c.person.chinese and rng.random() < 0.4
        else None, "gender": c.person.gender, "decision_role": c.role, "attitude": c.attitude,
        "influence": c.influence, "is_primary": c is c.account.contacts[0], "province": city.province, "city": city.city,
        "birthday": dt.date(rng.randint(1965, 1995), rng.randint(1, 12), rng.randint(1, 28)) if rng.random() < 0.25
        else None, "hobbies": rng.choice(HOBBIES) if rng.random() < 0.2 else None,
        "status": "left" if rng.random() < 0.04 else "active", "owner_id": c.account.owner.id}
    record = ctx.writer.create(work, "contact", values, engine={"source_lead": lead.ref} if lead else None)
    c.id = record["id"]


def _schedule_conversion(ctx: DemoContext, lead: LeadStub, account: AccountStub, contact: ContactStub,
                         opp: Any, new: bool) -> None:
    assert lead.converted_at is not None and lead.owner is not None

    def convert(work: UnitOfWork) -> None:
        if new:
            _create_account(ctx, work, account)
        create_contact(ctx, work, contact, lead)
        if opp is not None:
            pipeline.create_opportunity(ctx, work, opp)
        engine = {"converted_account": account.ref, "converted_contact": contact.ref,
                  "converted_opportunity": opp.ref if opp is not None else None, "converted_at": lead.converted_at}
        ctx.writer.update(work, "lead", lead.ref, {"status": "converted", "company": lead.company.name},
                          engine={k: v for k, v in engine.items() if v is not None})

    ctx.timeline.at(lead.converted_at, lead.owner.actor, convert)
    if opp is not None:
        pipeline.schedule(ctx, opp, create=False)
