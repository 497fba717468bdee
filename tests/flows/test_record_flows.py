"""Record-triggered flows and stage machines, run by the record service on every write path."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from types import SimpleNamespace

import pytest

from tessera.flows.model import MAX_DEPTH, FlowDefinitionError
from tessera.metadata.errors import MetadataError
from tessera.metadata.registry import build_org_registry
from tessera.records import BatchFailed, ValidationFailed
from tests.flows.crm import ACCOUNT, MANAGER, OPPORTUNITY, REP, STAGES, TASK, WON, tasks_of

# ------------------------------------------------------------------ record-triggered

def test_an_after_save_flow_sets_fields_creates_a_record_and_updates_related_ones(crm):
    service = crm(when_won=WON)
    acme = service.create("account", {"name": "Acme"})
    deal = service.create("opportunity", {"name": "Big deal", "account": acme["id"], "stage": "negotiation"})
    open_task = service.create("task", {"subject": "Call", "opportunity": deal["id"]})

    service.update("opportunity", deal["id"], {"stage": "closed_won"}, version=deal["version"], actor=REP)

    won = service.get("opportunity", deal["id"])
    assert won["probability"] == 100 and won["next_step"] == "Kick-off with Acme"
    subjects = {t["subject"]: t for t in tasks_of(service, deal["id"])}
    assert set(subjects) == {"Call", "Kick-off: Big deal"}
    assert subjects["Kick-off: Big deal"]["account"] == acme["id"]
    assert service.get("task", open_task["id"])["done"] is True
    assert [e["action"] for e in service.history("opportunity", deal["id"])][-1] == "update"


def test_the_entry_condition_sees_what_changed(crm):
    service = crm(when_won=WON)
    deal = service.create("opportunity", {"name": "Deal", "stage": "closed_won"})
    # created at closed_won (the flow listens to updates) and then changed elsewhere: no run
    service.update("opportunity", deal["id"], {"amount": 5}, version=1)
    assert service.get("opportunity", deal["id"])["probability"] is None
    assert tasks_of(service, deal["id"]) == []


def test_a_before_save_flow_sets_fields_in_the_same_write(crm):
    service = crm(defaults="""
label: {en: Defaults, zh-CN: 默认值}
object: opportunity
trigger: {type: record, events: [create, update], timing: before_save}
steps:
  - type: branch
    if: "ISBLANK(region) && NOT(ISBLANK(account))"
    then:
      - {type: set_fields, values: {region: account.region}}
    else:
      - {type: set_fields, values: {region: "UPPER(region)"}}
""")
    east = service.create("account", {"name": "Acme", "region": "East"})
    deal = service.create("opportunity", {"name": "Deal", "account": east["id"]})
    assert deal["region"] == "East" and deal["version"] == 1  # one write, one version
    again = service.update("opportunity", deal["id"], {"region": "north"}, version=1)
    assert again["region"] == "NORTH" and again["version"] == 2


def test_a_decision_runs_the_first_matching_outcome_or_the_default(crm):
    service = crm(grade="""
label: {en: Grade, zh-CN: 分级}
object: opportunity
trigger: {type: record, events: [create], timing: before_save}
steps:
  - type: decision
    outcomes:
      - {name: large, when: "amount >= 100000", steps: [{type: set_fields, values: {next_step: "'Exec sponsor'"}}]}
      - {name: medium, when: "amount >= 10000", steps: [{type: set_fields, values: {next_step: "'Manager review'"}}]}
    default: [{type: set_fields, values: {next_step: "'Self serve'"}}]
""")
    made = [service.create("opportunity", {"name": str(n), "amount": n}) for n in (500_000, 20_000, 50)]
    assert [m["next_step"] for m in made] == ["Exec sponsor", "Manager review", "Self serve"]


def test_a_loop_runs_its_steps_for_each_related_record_in_that_records_scope(crm):
    service = crm(cascade="""
label: {en: Cascade, zh-CN: 级联}
object: account
trigger: {type: record, events: [update], condition: "ISCHANGED(region)"}
steps:
  - type: loop
    object: opportunity
    field: account
    condition: "stage <> 'closed_lost'"
    steps:
      - {type: set_fields, values: {region: account.region, touches: "IF(ISBLANK(touches), 1, touches + 1)"}}
""")
    acme = service.create("account", {"name": "Acme", "region": "East"})
    open_deal = service.create("opportunity", {"name": "Open", "account": acme["id"], "stage": "proposal"})
    lost = service.create("opportunity", {"name": "Lost", "account": acme["id"], "stage": "closed_lost"})
    service.update("account", acme["id"], {"region": "West"}, version=1)
    assert service.get("opportunity", open_deal["id"])["region"] == "West"
    assert service.get("opportunity", open_deal["id"])["touches"] == 1
    assert service.get("opportunity", lost["id"])["region"] is None


def test_a_flow_that_keeps_changing_its_own_record_stops_at_the_depth_limit_and_keeps_nothing(crm):
    service = crm(counter="""
label: {en: Counter, zh-CN: 计数}
object: opportunity
trigger: {type: record, events: [update]}
steps:
  - {type: set_fields, values: {touches: "IF(ISBLANK(touches), 1, touches + 1)"}}
""")
    deal = service.create("opportunity", {"name": "Deal"})
    with pytest.raises(ValidationFailed) as raised:
        service.update("opportunity", deal["id"], {"next_step": "Call"}, version=1)
    [message] = raised.value.messages()["_record"]
    assert f"{MAX_DEPTH} levels deep" in message and "counter → counter" in message
    after = service.get("opportunity", deal["id"])
    assert after["next_step"] is None and after["touches"] is None and after["version"] == 1


def test_a_failing_formula_in_a_step_refuses_the_write_and_names_the_flow_and_step(crm):
    service = crm(divide="""
label: {en: Divide, zh-CN: 除法}
object: opportunity
trigger: {type: record, events: [create]}
steps:
  - {type: set_fields, values: {probability: "VALUE(next_step)"}}
""")
    with pytest.raises(ValidationFailed) as raised:
        service.create("opportunity", {"name": "Free", "next_step": "soon"})
    [message] = raised.value.messages()["_record"]
    assert "'divide'" in message and "steps[0]" in message
    assert service.query("opportunity").rows == []


def test_inactive_flows_do_not_run(crm):
    service = crm(when_won=WON.replace("object: opportunity", "object: opportunity\nactive: false"))
    deal = service.create("opportunity", {"name": "Deal", "stage": "negotiation"})
    service.update("opportunity", deal["id"], {"stage": "closed_won"}, version=1)
    assert service.get("opportunity", deal["id"])["probability"] is None


@pytest.mark.parametrize(("steps", "expected"), [
    ("[{type: set_fields, values: {nope: 1}}]", "steps[0]: values: opportunity has no field 'nope'"),
    ("[{type: set_fields, values: {probability: \"'text'\"}}]", "steps[0]: values.probability"),
    ("[{type: teleport}]", "steps[0]: unknown step type 'teleport'"),
    ("[{type: create_record, object: ghost, values: {a: 1}}]", "unknown object 'ghost'"),
    ("[{type: update_related, object: task, field: subject, values: {done: TRUE}}]",
     "task.subject is not a lookup to opportunity"),
    ("[{type: branch, if: \"amount\"}]", "steps[0]: if:"),
    ("[{type: set_fields}]", "steps[0]: set_fields: 'values' is a required property"),
])
def test_a_flow_that_cannot_run_as_written_is_a_metadata_problem_at_its_place(crm, steps, expected):
    flow = f"label: {{en: Bad, zh-CN: 坏}}\nobject: opportunity\ntrigger: {{type: record, events: [create]}}\nsteps: {steps}\n"
    with pytest.raises(MetadataError) as raised:
        crm(bad=flow)
    [problem] = raised.value.problems
    assert problem.location.file.endswith("flows/bad.yaml") and problem.location.line == 4
    assert expected.split(": ", 1)[-1] in problem.message


def test_the_engine_names_the_flow_and_step_of_a_definition_problem(crm):
    from tessera.flows.builtin import BUILTIN_STEPS
    from tessera.flows.model import compile_flows

    service = crm(when_won=WON)
    without_create = {s.name: s for s in BUILTIN_STEPS if s.name != "create_record"}
    with pytest.raises(FlowDefinitionError) as raised:
        compile_flows(service.registry, without_create)
    assert str(raised.value).startswith("flow 'when_won' steps[1]: unknown step type 'create_record'")


def test_the_engine_uses_the_flows_its_registry_build_compiled_when_the_step_types_match(crm):
    from tessera.flows.engine import FlowEngine

    service = crm(when_won=WON)
    built = service.registry.compiled_flows
    assert service.flows.flows["when_won"] is built.flows["when_won"]
    assert service.flows.flows is not built.flows  # the engine's own dict
    service.registry = dataclasses.replace(service.registry, revision=7)  # as org_registry returns it
    assert FlowEngine(service, service.flows.step_types).flows["when_won"] is built.flows["when_won"]


def test_the_engine_compiles_the_flows_again_when_its_step_types_differ_from_the_registry_build(
        write_package, tmp_path):
    from tessera.flows.builtin import BUILTIN_STEPS
    from tessera.flows.engine import FlowEngine
    from tessera.flows.steps import FlowStepType

    ping = FlowStepType("ping", {"en": "Ping", "zh-CN": "探测"}, run=lambda run, props: None)
    pong = FlowStepType("pong", {"en": "Pong", "zh-CN": "回应"}, run=lambda run, props: None)
    pinging = WON.replace("  - type: set_fields\n", "  - type: ping\n  - type: set_fields\n", 1)
    write_package("crm", {"objects/account.yaml": ACCOUNT, "objects/opportunity.yaml": OPPORTUNITY,
                          "objects/task.yaml": TASK, "flows/when_won.yaml": pinging})
    registry = build_org_registry(["crm"], search_paths=[tmp_path], flow_steps={"ping": ping})
    service = SimpleNamespace(registry=registry)
    builtin = {step.name: step for step in BUILTIN_STEPS}
    built = registry.compiled_flows.flows["when_won"]

    assert FlowEngine(service, {**builtin, "ping": ping}).flows["when_won"] is built
    recompiled = FlowEngine(service, {**builtin, "ping": ping, "pong": pong}).flows["when_won"]
    assert recompiled is not built and recompiled.steps[0].type is ping
    with pytest.raises(FlowDefinitionError, match="unknown step type 'ping'"):
        FlowEngine(service, builtin)


def test_flows_write_as_the_system_in_the_users_transaction_and_count_depth_together(crm):
    service = crm()
    with service.unit_of_work(REP) as work:
        system = service.flows._system_work(work)
        assert system.actor.is_system and system.conn is work.conn
        assert system.now is work.now and system.committed is work.committed
        assert system.flow_chain is work.flow_chain
        assert service.flows._system_work(work) is system and service.flows._system_work(system) is system


# ------------------------------------------------------------------ stage machines

def test_a_stage_machine_allows_listed_changes_and_refuses_others_on_every_path(crm):
    service = crm(stages=STAGES)
    deal = service.create("opportunity", {"name": "Deal", "stage": "prospecting"}, actor=REP)
    deal = service.update("opportunity", deal["id"], {"stage": "proposal"}, version=1, actor=REP)
    with pytest.raises(ValidationFailed) as raised:
        service.update("opportunity", deal["id"], {"stage": "closed_won"}, version=2, actor=REP)
    assert raised.value.messages() == {"stage": ["Small deals only skip negotiation"]}
    with pytest.raises(BatchFailed):
        with service.unit_of_work(REP) as work:  # the bulk path: any write through the service
            work.update_many("opportunity", [{"id": deal["id"], "version": 2, "stage": "prospecting"},
                                             {"id": deal["id"], "version": 3, "stage": "closed_won"}])
    assert service.get("opportunity", deal["id"])["stage"] == "proposal"  # all or none


def test_a_stage_machine_refuses_a_change_it_does_not_list(crm):
    service = crm(stages=STAGES)
    deal = service.create("opportunity", {"name": "Deal", "stage": "prospecting"})
    with pytest.raises(ValidationFailed) as raised:
        service.update("opportunity", deal["id"], {"stage": "negotiation"}, version=1, actor=REP)
    assert raised.value.messages() == {"stage": ["Cannot change from 'Prospecting' to 'Negotiation'."]}
    with pytest.raises(ValidationFailed) as raised:
        service.create("opportunity", {"name": "Late", "stage": "negotiation"})
    assert raised.value.messages() == {"stage": ["A new record cannot start at 'Negotiation'."]}


def test_a_transition_limited_to_roles_and_one_with_a_condition(crm):
    service = crm(stages=STAGES)
    deal = service.create("opportunity", {"name": "Deal", "stage": "prospecting", "amount": 50_000})
    for stage, version in (("proposal", 1), ("negotiation", 2)):
        service.update("opportunity", deal["id"], {"stage": stage}, version=version)
    with pytest.raises(ValidationFailed) as raised:  # a manager's move, or a small deal's
        service.update("opportunity", deal["id"], {"stage": "closed_won"}, version=3, actor=REP)
    assert raised.value.messages() == {"stage": ["Small deals only skip negotiation"]}
    lost = service.create("opportunity", {"name": "Lost", "stage": "prospecting"})
    service.update("opportunity", lost["id"], {"stage": "closed_lost"}, version=1, actor=REP)
    with pytest.raises(ValidationFailed) as raised:
        service.update("opportunity", lost["id"], {"stage": "prospecting"}, version=2, actor=REP)
    assert raised.value.messages() == {"stage": ["Only manager may change from 'Closed lost' to 'Prospecting'."]}
    assert service.update("opportunity", deal["id"], {"stage": "closed_won"}, version=3,
                          actor=MANAGER)["stage"] == "closed_won"
    small = service.create("opportunity", {"name": "Small", "stage": "prospecting", "amount": Decimal("500")})
    service.update("opportunity", small["id"], {"stage": "proposal"}, version=1, actor=REP)
    assert service.update("opportunity", small["id"], {"stage": "closed_won"}, version=2,
                          actor=REP)["stage"] == "closed_won"


def test_a_stage_machine_speaks_the_readers_language(crm):
    service = crm(stages=STAGES)
    deal = service.create("opportunity", {"name": "Deal", "stage": "prospecting", "amount": 50_000})
    service.update("opportunity", deal["id"], {"stage": "proposal"}, version=1)
    with pytest.raises(ValidationFailed) as raised:
        service.update("opportunity", deal["id"], {"stage": "closed_won"}, version=2, actor=REP)
    assert raised.value.messages("zh-CN") == {"stage": ["只有小单可以跳过谈判"]}
