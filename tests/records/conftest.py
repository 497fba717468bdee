"""A small CRM package exercising every rule of the record service, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest

from tessera.metadata.registry import build_org_registry
from tessera.records.service import Actor, RecordService
from tessera.storage.tables import StorageSchema

ACCOUNT = """
label: {en: Account, zh-CN: 客户}
plural_label: {en: Accounts, zh-CN: 客户}
fields:
  name: {type: text, label: {en: Name, zh-CN: 名称}, required: true, max_length: 40, unique: true}
  tier:
    type: picklist
    label: {en: Tier, zh-CN: 等级}
    default: silver
    options:
      - {value: gold, label: {en: Gold, zh-CN: 金}}
      - {value: silver, label: {en: Silver, zh-CN: 银}}
      - {value: tin, label: {en: Tin, zh-CN: 锡}, active: false}
  region: {type: text, label: {en: Region, zh-CN: 区域}}
  credit_limit: {type: currency, label: {en: Credit limit, zh-CN: 信用额度}, min: 0}
  email: {type: email, label: {en: Email, zh-CN: 邮箱}}
  website: {type: url, label: {en: Website, zh-CN: 网站}}
  quote_total:
    type: rollup
    label: {en: Quoted, zh-CN: 报价合计}
    object: quote
    aggregate: sum
    field: total
  accepted_quotes:
    type: rollup
    label: {en: Accepted quotes, zh-CN: 已接受报价}
    object: quote
    aggregate: count
    filter: {status: accepted}
"""

CONTACT = """
label: {en: Contact, zh-CN: 联系人}
plural_label: {en: Contacts, zh-CN: 联系人}
fields:
  name: {type: text, label: {en: Name, zh-CN: 姓名}, required: true}
  account: {type: lookup, target: account, on_delete: restrict, related_name: contacts, label: {en: Account, zh-CN: 客户}}
  phone: {type: phone, label: {en: Phone, zh-CN: 电话}}
  email: {type: email, label: {en: Email, zh-CN: 邮箱}}
  account_region: {type: formula, result: text, expression: account.region, label: {en: Region, zh-CN: 区域}}
validations:
  - name: phone_or_email
    condition: AND(ISBLANK(phone), ISBLANK(email))
    message: {en: Give a phone or an email., zh-CN: 请填写电话或邮箱。}
"""

QUOTE = """
label: {en: Quote, zh-CN: 报价单}
plural_label: {en: Quotes, zh-CN: 报价单}
name_field: number
fields:
  number: {type: auto_number, pattern: "Q-{YYYY}-{0000}", label: {en: Number, zh-CN: 编号}}
  account: {type: lookup, target: account, on_delete: cascade, required: true, related_name: quotes, label: {en: Account, zh-CN: 客户}}
  status:
    type: picklist
    label: {en: Status, zh-CN: 状态}
    default: draft
    options:
      - {value: draft, label: {en: Draft, zh-CN: 草稿}}
      - {value: sent, label: {en: Sent, zh-CN: 已发送}}
      - {value: accepted, label: {en: Accepted, zh-CN: 已接受}}
  valid_until: {type: date, label: {en: Valid until, zh-CN: 有效期至}, default: {formula: "TODAY() + 30"}, required_when: "status = 'sent'"}
  discount: {type: percent, label: {en: Discount, zh-CN: 折扣}, read_only_when: "status = 'accepted'"}
  subtotal: {type: rollup, object: quote_line, aggregate: sum, field: amount, label: {en: Subtotal, zh-CN: 小计}}
  line_count: {type: rollup, object: quote_line, aggregate: count, label: {en: Lines, zh-CN: 行数}}
  total:
    type: formula
    result: currency
    expression: BLANKVALUE(subtotal, 0) * (1 - BLANKVALUE(discount, 0) / 100)
    label: {en: Total, zh-CN: 合计}
validations:
  - name: discount_range
    condition: OR(discount < 0, discount > 100)
    message: {en: Discount is between 0 and 100 %., zh-CN: 折扣应在 0 到 100% 之间。}
    error_field: discount
"""

QUOTE_LINE = """
label: {en: Quote line, zh-CN: 报价行}
plural_label: {en: Quote lines, zh-CN: 报价行}
fields:
  name: {type: text, label: {en: Product, zh-CN: 产品}, required: true}
  quote: {type: master_detail, target: quote, related_name: lines, label: {en: Quote, zh-CN: 报价单}}
  quantity: {type: decimal, scale: 2, label: {en: Quantity, zh-CN: 数量}, required: true}
  unit_price: {type: currency, label: {en: Unit price, zh-CN: 单价}, required: true}
  amount: {type: formula, result: currency, expression: quantity * unit_price, label: {en: Amount, zh-CN: 金额}}
validations:
  - name: positive_quantity
    condition: quantity <= 0
    message: {en: Quantity must be above zero., zh-CN: 数量必须大于零。}
    error_field: quantity
"""


@pytest.fixture
def crm_registry(write_package, tmp_path):
    write_package("crm", {
        "objects/account.yaml": ACCOUNT, "objects/contact.yaml": CONTACT,
        "objects/quote.yaml": QUOTE, "objects/quote_line.yaml": QUOTE_LINE,
        "roles/admin.yaml": "label: {en: Administrator, zh-CN: 管理员}\nadmin: true\n",
    })
    return build_org_registry(["crm"], search_paths=[tmp_path])


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(crm_registry, database, clock) -> RecordService:
    schema = StorageSchema(crm_registry, database)
    schema.metadata.create_all(database.engine)
    return RecordService(crm_registry, database, schema=schema, clock=clock)


# these tests are about record rules, not permissions (tests/security has those): admins act
ALICE = Actor(id=7, name="alice", role="admin")
BOB = Actor(id=8, name="bob", role="admin")
