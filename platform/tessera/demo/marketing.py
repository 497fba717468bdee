"""Market to lead, the marketing side: lead pools with members, campaigns over the year (online
and offline, with budgets, costs and statuses that follow their dates), tender notices found by
the crawler, and the sales team's notice subscriptions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tessera.records.service import UnitOfWork

from .companies import Company
from .context import DemoContext, Stub
from .places import CITIES, City
from .users import SYSTEM_ACTOR, admin, marketing, reps, user, with_role

#: lead pools: key -> (name, claim mode, assignment rule, regions it serves)
POOLS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "east": ("华东线索池 East China leads", "both", "round_robin", ("east",)),
    "south": ("华南及西南线索池 South & Southwest leads", "both", "load", ("south",)),
    "north": ("华北及东北线索池 North & Northeast leads", "admin_assign", "criteria", ("north",)),
    "overseas": ("海外线索池 Overseas leads", "admin_assign", "ratio", ("overseas",)),
    "public": ("公共线索池（回收）Public pool", "self_claim", "none", ()),
}

#: campaign templates: (name pattern, channel, type, budget range in CNY, days, offline location)
CAMPAIGNS: tuple[tuple[str, str, str, tuple[int, int], int, str | None], ...] = (
    ("{year} 中国国际工业博览会（上海）", "offline", "exhibition", (260_000, 420_000), 5, "国家会展中心（上海）"),
    ("SPS {year} 广州国际智能制造展", "offline", "exhibition", (150_000, 260_000), 3, "中国进出口商品交易会展馆"),
    ("Hannover Messe {year} 汉诺威工博会", "offline", "exhibition", (380_000, 520_000), 5, "Hannover, Germany"),
    ("工业物联网技术沙龙·{city}站", "offline", "seminar", (18_000, 45_000), 1, "{city}希尔顿酒店"),
    ("能耗双控与碳管理研讨会·{city}", "offline", "seminar", (25_000, 60_000), 1, "{city}国际会议中心"),
    ("渠道合作伙伴大会 Partner Summit {year}", "offline", "partner", (80_000, 150_000), 2, "苏州金鸡湖国际会议中心"),
    ("预测性维护线上研讨会 Webinar: predictive maintenance", "online", "webinar", (8_000, 20_000), 1, None),
    ("百度 SEM 推广 {year}Q{quarter}", "online", "sem", (60_000, 120_000), 90, None),
    ("微信公众号内容营销 {year}Q{quarter}", "online", "content", (20_000, 50_000), 90, None),
    ("冷链监测方案 EDM 邮件营销", "online", "email", (5_000, 12_000), 30, None),
    ("LinkedIn Ads – Southeast Asia {year}", "online", "social", (40_000, 90_000), 60, None),
    ("《智能制造白皮书》下载推广", "online", "content", (15_000, 30_000), 45, None),
    ("抖音/视频号 工业短视频投放", "online", "advertising", (50_000, 100_000), 60, None),
    ("老客户转介绍计划 Referral programme", "offline", "other", (10_000, 30_000), 120, None),
)


@dataclass(eq=False)
class CampaignStub(Stub):
    name: str
    channel: str
    kind: str
    start: dt.date
    end: dt.date
    budget: int
    expected_leads: int
    city: City | None
    status: str = "planned"
    created: dt.datetime | None = None

    @property
    def offline(self) -> bool:
        return self.channel == "offline"


@dataclass(eq=False)
class BidStub(Stub):
    title: str
    company: Company
    city: City
    industry: str
    budget: int
    published: dt.datetime
    notice_type: str
    status: str = "new"


def plan(ctx: DemoContext) -> None:
    _plan_pools(ctx)
    _plan_campaigns(ctx)
    _plan_bids(ctx)


# ------------------------------------------------------------------------------ pools

def _plan_pools(ctx: DemoContext) -> None:
    tl = ctx.timeline
    day = tl.setup_day
    for key, (name, mode, rule, regions) in POOLS.items():
        ctx.pools[key] = Stub()
        tl.at(tl.moment(day, 13.5), admin().actor,
              lambda work, key=key, name=name, mode=mode, rule=rule, regions=regions:
              _pool(ctx, work, key, name, mode, rule, regions))
    ctx.account_pool = Stub()
    tl.at(tl.moment(day, 13.6), admin().actor, lambda work: _account_pool(ctx, work))


def _pool(ctx: DemoContext, work: UnitOfWork, key: str, name: str, mode: str, rule: str,
          regions: tuple[str, ...]) -> None:
    public = key == "public"
    pool = ctx.writer.create(work, "lead_pool", {
        "name": name, "pool_type": "lead", "claim_mode": mode, "assignment_rule": rule,
        "daily_claim_limit": 30 if public else 20, "claim_limit": 300 if public else 150,
        "follow_up_days": 7, "convert_days": 30 if not public else 45, "warning_days": 2,
        "protection_days": 10, "activity_extension_days": 3, "max_protection_days": 20,
        "reclaim_lockout_days": 7, "description": "线索 7 天未跟进、30 天未转化自动回收。"})
    ctx.pools[key].id = pool["id"]
    members = reps() if public else [u for u in reps() if u.region in regions]
    managers = [u for u in with_role("sales_manager") if public or u.region in regions]
    rows: list[dict[str, Any]] = [
        {"pool": pool["id"], "owner_id": u.id, "role": "member", "holding_limit": 120, "daily_claim_limit": 15,
         "assignment_weight": 2 if u.id % 3 == 0 else 1, "regions": ",".join(c.province for c in CITIES
                                                                             if c.region == u.region)[:1000] or None,
         "joined_on": ctx.timeline.start} for u in members]
    rows += [{"pool": pool["id"], "owner_id": m.id, "role": "admin", "joined_on": ctx.timeline.start} for m in managers]
    if public:
        rows.append({"pool": pool["id"], "owner_id": marketing().id, "role": "admin", "joined_on": ctx.timeline.start})
    ctx.writer.create_many(work, "lead_pool_member", rows)


def _account_pool(ctx: DemoContext, work: UnitOfWork) -> None:
    pool = ctx.writer.create(work, "lead_pool", {
        "name": "客户公海 Account pool", "pool_type": "account", "claim_mode": "both", "assignment_rule": "none",
        "include_won_accounts": False, "follow_up_days": 30, "convert_days": 90, "warning_days": 5,
        "protection_days": 15, "max_protection_days": 20, "reclaim_lockout_days": 30,
        "description": "90 天无成交的客户退回公海。"})
    assert ctx.account_pool is not None
    ctx.account_pool.id = pool["id"]
    ctx.writer.create_many(work, "lead_pool_member", [
        {"pool": pool["id"], "owner_id": u.id, "role": "member", "holding_limit": 60} for u in reps()])


# ------------------------------------------------------------------------------ campaigns

def _plan_campaigns(ctx: DemoContext) -> None:
    tl, rng = ctx.timeline, ctx.rng
    count = ctx.volume(len(CAMPAIGNS), 3)
    span = (tl.last_day - tl.start).days
    for index in range(count):
        name, channel, kind, budget, days, location = CAMPAIGNS[index % len(CAMPAIGNS)]
        start = tl.workday(tl.start + dt.timedelta(days=int(span * (index + rng.random()) / count)))
        end = start + dt.timedelta(days=days - 1)
        city = rng.choice(CITIES) if "{city}" in name else None
        label = name.format(year=start.year, quarter=(start.month - 1) // 3 + 1,
                            city=city.city.removesuffix("市") if city else "")
        if index >= len(CAMPAIGNS):
            label = f"{label}（第 {index // len(CAMPAIGNS) + 1} 期）"
        status = "completed" if end < tl.last_day else "in_progress" if start <= tl.last_day else "planned"
        if kind == "advertising" and index % 3 == 0:
            status = "cancelled"
        expected = {"exhibition": (150, 320), "sem": (100, 200), "social": (40, 90), "advertising": (60, 120),
                    "seminar": (20, 45), "webinar": (40, 80), "partner": (20, 40)}.get(kind, (25, 60))
        campaign = CampaignStub(label, channel, kind, start, end, rng.randrange(*budget) // 1000 * 1000,
                                rng.randint(*expected), city, status)
        ctx.campaigns.append(campaign)
        where = location.format(city=city.city.removesuffix("市")) if location and city else location
        created = tl.during_work(start - dt.timedelta(days=rng.randint(20, 45)))
        campaign.created = created
        tl.at(created, marketing().actor, lambda work, c=campaign, where=where: _campaign(ctx, work, c, where))
        if status in ("in_progress", "completed"):
            tl.at(max(tl.moment(start, 8.5), created + dt.timedelta(minutes=10)), marketing().actor,
                  lambda work, c=campaign: ctx.writer.update(work, "campaign", c.ref, {"status": "in_progress"}))
        if status == "completed":
            finished = tl.during_work(min(end + dt.timedelta(days=rng.randint(3, 10)), tl.last_day))
            cost = round(campaign.budget * rng.uniform(0.78, 1.08))
            tl.at(max(finished, created + dt.timedelta(days=1)), marketing().actor,
                  lambda work, c=campaign, cost=cost: ctx.writer.update(
                      work, "campaign", c.ref, {"status": "completed", "actual_cost": cost}))
        if status == "cancelled":
            campaign.status = "cancelled"
            tl.at(tl.after(created, 3, 10), marketing().actor, lambda work, c=campaign: ctx.writer.update(
                work, "campaign", c.ref, {"status": "cancelled", "description": "预算调整，活动取消。Cancelled: budget cut."}))


def _campaign(ctx: DemoContext, work: UnitOfWork, c: CampaignStub, where: str | None) -> None:
    record = ctx.writer.create(work, "campaign", {
        "name": c.name, "channel": c.channel, "campaign_type": c.kind, "status": "planned", "start_date": c.start,
        "end_date": c.end, "currency": "CNY", "budget": c.budget, "expected_leads": c.expected_leads,
        "expected_revenue": c.budget * ctx.rng.randint(6, 15), "location": where,
        "landing_page": f"https://www.xingchen-iot.cn/events/{c.start:%Y%m}-{c.kind}" if not c.offline else None,
        "description": f"{'线下' if c.offline else '线上'}活动：{c.name}"})
    c.id = record["id"]


# ------------------------------------------------------------------------------ tender notices

NOTICE_WORDS = {"tender": "公开招标公告", "invitation": "邀请招标公告", "inquiry": "询价公告",
                "competitive_negotiation": "竞争性磋商公告", "single_source": "单一来源采购公示",
                "change": "更正公告", "award": "中标（成交）结果公告", "termination": "终止公告",
                "failure": "废标公告", "contract": "合同公告"}
PROJECTS = ("智慧水务在线监测设备采购项目", "能耗监测管理平台建设项目", "冷链仓储温湿度监测系统采购",
            "设备预测性维护系统采购项目", "智能工厂 MES 系统建设项目", "环境在线监测站点运维服务",
            "配电房智能监控系统改造", "工业互联网平台建设项目", "危化品气体泄漏监测预警系统")
AGENCIES = ("{city}公共资源交易中心", "{province}政府采购中心", "中诚国际招标有限公司", "华采招标代理有限公司")
SITES = (("中国政府采购网", "https://www.ccgp.gov.cn/cggg/dfgg/gkzb/{y}{m}/t{y}{m}{d}_{n}.htm"),
         ("全国公共资源交易平台", "https://www.ggzy.gov.cn/information/html/a/{n}.html"),
         ("中国招标投标公共服务平台", "https://www.cebpubservice.com/ctpsp_iiss/{n}.html"))


def _plan_bids(ctx: DemoContext) -> None:
    tl, rng = ctx.timeline, ctx.rng
    count = ctx.volume(80, 4)
    buyers = [ctx.companies.chinese(industry=rng.choice(("government", "government", "energy", "education",
                                                         "healthcare", "manufacturing")))
              for _ in range(ctx.volume(40, 3))]  # public buyers tender again and again
    for n in range(count):
        published = tl.during_work(tl.start + dt.timedelta(days=rng.randint(0, (tl.last_day - tl.start).days)), 8, 18)
        company = rng.choice(buyers)
        industry = company.industry
        project = rng.choice(PROJECTS)
        age = (tl.last_day - tl.local_date(published)).days
        notice_type = rng.choices(list(NOTICE_WORDS), (30, 6, 10, 8, 3, 4, 14 if age > 30 else 0,
                                                       2, 3 if age > 30 else 0, 2 if age > 60 else 0))[0]
        bid = BidStub(f"{company.name}{project}{NOTICE_WORDS[notice_type]}", company, company.city, industry,
                      rng.randrange(200_000, 8_000_000, 10_000), published, notice_type)
        bid.status = rng.choices(("new", "following", "claimed", "ignored"),
                                 (5 if age < 30 else 1, 3, 3 if notice_type in ("tender", "inquiry") else 0, 3))[0]
        ctx.bids.append(bid)
        tl.at(published, SYSTEM_ACTOR, lambda work, b=bid, n=n, project=project: _bid(ctx, work, b, n, project))
    _plan_subscriptions(ctx)


def _bid(ctx: DemoContext, work: UnitOfWork, b: BidStub, n: int, project: str) -> None:
    rng = ctx.rng
    local = b.published.astimezone(dt.timezone(dt.timedelta(hours=8)))
    result = b.notice_type in ("award", "termination", "failure", "contract")
    site, url = SITES[n % len(SITES)]
    deadline = None if result else b.published + dt.timedelta(days=rng.randint(15, 25), hours=2)
    winner = ctx.companies.chinese(city=b.city).name if b.notice_type in ("award", "contract") else None
    short = b.city.city.removesuffix("市")
    record = ctx.writer.create(work, "bid_notice", {
        "title": b.title[:500], "project_name": project, "project_number": f"{b.city.city_en[:2].upper()}CG-"
        f"{local:%Y}-{n + 1:04d}", "notice_type": b.notice_type, "stage": "result" if result else "pre_award",
        "industry": b.industry, "province": b.city.province, "city": b.city.city, "purchaser": b.company.name,
        "purchaser_contact": rng.choice(("王工", "李老师", "张科长", "陈主任", "刘经理")),
        "purchaser_phone": f"{b.city.area_code}-{rng.randrange(10 ** 7, 10 ** 8)}",
        "agency": rng.choice(AGENCIES).format(city=short, province=b.city.province), "budget": b.budget,
        "publish_at": b.published, "response_deadline": deadline, "bid_opening_at": deadline,
        "winner": winner, "winning_amount": round(b.budget * rng.uniform(0.82, 0.97)) if winner else None,
        "source_site": site, "source_url": url.format(y=local.year, m=f"{local.month:02d}", d=f"{local.day:02d}",
                                                      n=19_000_000 + n * 37),
        "external_id": f"BID-{local:%Y%m}-{n + 1:05d}", "status": "new" if b.status == "claimed" else b.status,
        "content": f"{b.company.name}就{project}进行{NOTICE_WORDS[b.notice_type].removesuffix('公告')}，"
                   f"预算金额 {b.budget:,} 元。欢迎符合条件的供应商参加。"})
    b.id = record["id"]


SUBSCRIPTIONS = (
    (3, "华东 智慧水务 / 能耗监测", "智慧水务 水质在线监测\n能耗监测 能源管理平台", "施工 监理 造价", "上海市,江苏省,浙江省,安徽省"),
    (4, "华南 冷链与仓储监测", "冷链 温湿度监测\n仓储 物联网", "物业 保洁", "广东省,福建省,湖北省,四川省,重庆市"),
    (5, "华北 工业互联网平台", "工业互联网 平台\nMES 智能工厂", "服务器 机房装修", "北京市,天津市,河北省,山东省,辽宁省"),
    (6, "预测性维护 全国", "预测性维护 振动监测\n设备健康管理", "医疗设备", ""),
    (14, "市场部：全部监测类标讯", "在线监测 监测系统 传感器", "", ""),
    (9, "危化品气体监测 华南", "气体泄漏 监测预警 可燃气体", "", "广东省,福建省"),
)


def _plan_subscriptions(ctx: DemoContext) -> None:
    tl = ctx.timeline
    for index, (owner, name, keywords, exclude, regions) in enumerate(SUBSCRIPTIONS[:ctx.volume(len(SUBSCRIPTIONS), 2)]):
        when = tl.during_work(tl.start + dt.timedelta(days=3 + index * 9))
        matching = [b for b in ctx.bids if b.published > when and
                    (not regions or b.city.province in regions.split(","))]
        tl.at(when, user(owner).actor,
              lambda work, i=index, name=name, keywords=keywords, exclude=exclude, regions=regions:
              _subscription(ctx, work, i, name, keywords, exclude, regions))
        if matching:  # what the matcher has pushed since (the matcher is a later issue)
            engine = {"pushed_count": len(matching), "last_pushed_at": max(b.published for b in matching)}
            tl.at(tl.moment(tl.last_day, 7.0), user(owner).actor, lambda work, i=index, engine=engine:
                  ctx.writer.update(work, "bid_subscription", ctx.subscriptions[i].ref, {}, engine=engine))


def _subscription(ctx: DemoContext, work: UnitOfWork, i: int, name: str, keywords: str, exclude: str,
                  regions: str) -> None:
    record = ctx.writer.create(work, "bid_subscription", {
        "name": name, "active": i != 5, "keywords": keywords, "exclude_words": exclude or None,
        "match_in": "title_content" if i % 2 else "title",
        "notice_types": ["tender", "inquiry", "competitive_negotiation"] + (["award"] if i == 4 else []),
        "regions": regions or None, "industries": ["government", "energy", "manufacturing"] if i < 3 else None,
        "budget_min": 100_000 if i < 3 else None, "budget_max": 20_000_000 if i < 3 else None,
        "channels": ["in_app", "wecom"] if i % 2 else ["in_app", "email"]})
    ctx.subscriptions[i] = Stub(id=record["id"])
