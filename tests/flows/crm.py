"""A small CRM package for the flow tests, and the ``crm`` fixture that deploys it with flows."""

from __future__ import annotations

import pytest

from tessera.metadata.registry import build_org_registry
from tessera.records import RecordService
from tessera.records.service import Actor
from tessera.storage.sync import deploy

ACCOUNT = """
label: {en: Account, zh-CN: 客户}
plural_label: {en: Accounts, zh-CN: 客户}
fields:
  name: {type: text, label: {en: Name, zh-CN: 名称}, required: true}
  region: {type: text, label: {en: Region, zh-CN: 区域}}
  rating: {type: text, label: {en: Rating, zh-CN: 评级}}
"""
OPPORTUNITY = """
label: {en: Opportunity, zh-CN: 商机}
plural_label: {en: Opportunities, zh-CN: 商机}
fields:
  name: {type: text, label: {en: Name, zh-CN: 名称}, required: true}
  account: {type: lookup, target: account, label: {en: Account, zh-CN: 客户}}
  amount: {type: currency, label: {en: Amount, zh-CN: 金额}}
  probability: {type: integer, label: {en: Probability, zh-CN: 赢率}}
  next_step: {type: text, label: {en: Next step, zh-CN: 下一步}}
  region: {type: text, label: {en: Region, zh-CN: 区域}}
  touches: {type: integer, label: {en: Touches, zh-CN: 次数}}
  stage:
    type: picklist
    label: {en: Stage, zh-CN: 阶段}
    options:
      - {value: prospecting, label: {en: Prospecting, zh-CN: 挖掘}}
      - {value: proposal, label: {en: Proposal, zh-CN: 方案}}
      - {value: negotiation, label: {en: Negotiation, zh-CN: 谈判}}
      - {value: closed_won, label: {en: Closed won, zh-CN: 赢单}}
      - {value: closed_lost, label: {en: Closed lost, zh-CN: 输单}}
"""
TASK = """
label: {en: Task, zh-CN: 任务}
plural_label: {en: Tasks, zh-CN: 任务}
name_field: subject
fields:
  subject: {type: text, label: {en: Subject, zh-CN: 主题}, required: true}
  opportunity: {type: lookup, target: opportunity, label: {en: Opportunity, zh-CN: 商机}}
  account: {type: lookup, target: account, label: {en: Account, zh-CN: 客户}}
  done: {type: boolean, label: {en: Done, zh-CN: 完成}}
"""
ROLES = {
    "roles/admin.yaml": "label: {en: Admin, zh-CN: 管理员}\nadmin: true\n",
    "roles/rep.yaml": "label: {en: Rep, zh-CN: 销售}\nobjects: {'*': [create, read, edit, modify_all]}\n",
    "roles/manager.yaml": "label: {en: Manager, zh-CN: 经理}\nobjects: {'*': [create, read, edit, modify_all]}\n",
}
REP = Actor(id=3, name="ann", role="rep")
MANAGER = Actor(id=2, name="max", role="manager")

WON = """
label: {en: When won, zh-CN: 赢单时}
object: opportunity
trigger:
  type: record
  events: [update]
  condition: "ISCHANGED(stage) && stage = 'closed_won'"
steps:
  - type: set_fields
    values: {probability: 100, next_step: "'Kick-off with ' & account.name"}
  - type: create_record
    name: kickoff
    object: task
    values: {subject: "'Kick-off: ' & name", opportunity: id, account: account}
  - type: update_related
    object: task
    field: opportunity
    condition: "NOT(done) && id <> 0"
    values: {done: "TRUE"}
"""
STAGES = """
label: {en: Opportunity stages, zh-CN: 商机阶段}
object: opportunity
trigger: {type: stage_machine}
field: stage
initial: [prospecting]
transitions:
  - {from: prospecting, to: [proposal, closed_lost]}
  - {from: proposal, to: [negotiation, prospecting, closed_lost]}
  - {from: negotiation, to: closed_won, roles: [manager]}
  - {from: negotiation, to: closed_lost}
  - {from: closed_lost, to: prospecting, roles: [manager]}
  - from: [proposal, negotiation]
    to: closed_won
    condition: "amount > 0 && amount < 1000"
    message: {en: Small deals only skip negotiation, zh-CN: 只有小单可以跳过谈判}
"""


def make_service(write_package, tmp_path, database, directory=None, **flows: str) -> RecordService:
    files = {"objects/account.yaml": ACCOUNT, "objects/opportunity.yaml": OPPORTUNITY, "objects/task.yaml": TASK,
             **ROLES, **{f"flows/{name}.yaml": text for name, text in flows.items()}}
    write_package("crm", files)
    registry = build_org_registry(["crm"], search_paths=[tmp_path])
    deploy(registry, database)
    return RecordService(registry, database, directory=directory)


def tasks_of(service, opportunity_id):
    return service.query("task", filter={"opportunity": opportunity_id}, sort=["id"]).rows
