"""The demo company's people: the Actor ids the demo writes as, until identity exists.

Identity is a later issue. Every demo record is created and owned by one of these ids, so the
identity issue should create users with exactly these ids, logins and names (the table below is
the contract; ``tessera demo load`` prints it too). Names are bilingual because the UI is.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tessera.records.service import SYSTEM, Actor

#: the e-mail domain of the demo company 星辰智控 / Xingchen Smart Control
COMPANY_DOMAIN = "xingchen-iot.cn"
#: the demo company itself (quotes, contracts and invoices name it as the seller)
COMPANY_NAME_ZH = "苏州星辰智控科技有限公司"
COMPANY_NAME_EN = "Suzhou Xingchen Smart Control Technology Co., Ltd."


@dataclass(frozen=True)
class DemoUser:
    """One demo user. ``region`` is the sales region a rep or manager covers (None: all)."""

    id: int
    login: str
    name_zh: str
    name_en: str
    role: str  # admin | sales_director | sales_manager | sales_rep | marketing | finance
    region: str | None = None
    manager_id: int | None = None
    locale: str = "zh-CN"

    @property
    def email(self) -> str:
        return f"{self.login}@{COMPANY_DOMAIN}"

    @property
    def actor(self) -> Actor:
        """The user as the demo writes: their id (created_by, owner_id, history) with the
        permissions of the administrator running the load (see :data:`LOADER_ROLE`)."""
        return make_actor(self.id, self.login, self.locale)


#: every demo user; ids are stable (the identity issue creates users with these ids)
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(1, "admin", "周敏", "Zhou Min", "admin"),
    DemoUser(2, "chen.zhiqiang", "陈志强", "Chen Zhiqiang", "sales_director"),
    DemoUser(3, "liu.yang", "刘洋", "Liu Yang", "sales_manager", "east", 2),
    DemoUser(4, "huang.li", "黄丽", "Huang Li", "sales_manager", "south", 2),
    DemoUser(5, "david.miller", "米大卫", "David Miller", "sales_manager", "north", 2, "en"),
    DemoUser(6, "zhang.wei", "张伟", "Zhang Wei", "sales_rep", "east", 3),
    DemoUser(7, "wang.fang", "王芳", "Wang Fang", "sales_rep", "east", 3),
    DemoUser(8, "li.na", "李娜", "Li Na", "sales_rep", "east", 3),
    DemoUser(9, "zhao.lei", "赵磊", "Zhao Lei", "sales_rep", "south", 4),
    DemoUser(10, "sun.jing", "孙静", "Sun Jing", "sales_rep", "south", 4),
    DemoUser(11, "wu.tao", "吴涛", "Wu Tao", "sales_rep", "north", 5),
    DemoUser(12, "zheng.xue", "郑雪", "Zheng Xue", "sales_rep", "north", 5),
    DemoUser(13, "emily.zhou", "周艾米", "Emily Zhou", "sales_rep", "overseas", 5, "en"),
    DemoUser(14, "lin.xiao", "林晓", "Lin Xiao", "marketing"),
    DemoUser(15, "gao.feng", "高峰", "Gao Feng", "finance"),
)

#: The demo is loaded like a data migration: each record is written as the user it belongs to,
#: with the permissions of the administrator running the load. The role matrix is not what the
#: demo exercises, and the demo must not break when the matrix changes; the users' own roles
#: (``DemoUser.role``, matching ``metadata/l2c/roles``) are for the identity issue.
LOADER_ROLE = "admin"


def make_actor(user_id: int, login: str, locale: str) -> Actor:
    """An Actor for a demo user; ``role``/``username`` are passed when Actor has them."""
    names = {f.name for f in dataclasses.fields(Actor)}
    extra = {k: v for k, v in (("role", LOADER_ROLE), ("username", login)) if k in names}
    return Actor(id=user_id, name=login, locale=locale, **extra)


BY_ID = {user.id: user for user in DEMO_USERS}
#: web forms, APIs and imports write as the system user (no owner until a lead is assigned)
SYSTEM_ACTOR = SYSTEM


def user(user_id: int) -> DemoUser:
    return BY_ID[user_id]


def with_role(*roles: str) -> list[DemoUser]:
    return [u for u in DEMO_USERS if u.role in roles]


def admin() -> DemoUser:
    return with_role("admin")[0]


def marketing() -> DemoUser:
    return with_role("marketing")[0]


def finance() -> DemoUser:
    return with_role("finance")[0]


def reps(region: str | None = None) -> list[DemoUser]:
    """Sales reps, of one region or all."""
    return [u for u in with_role("sales_rep") if region is None or u.region == region]


def manager_of(rep: DemoUser) -> DemoUser:
    return BY_ID[rep.manager_id] if rep.manager_id else admin()


def describe() -> list[str]:
    """One line per user, for the command's summary and the identity issue."""
    return [f"{u.id:>3}  {u.login:<15} {u.name_zh} / {u.name_en:<15} {u.role}"
            + (f" ({u.region})" if u.region else "") for u in DEMO_USERS]
