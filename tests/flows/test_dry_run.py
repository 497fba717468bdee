"""Dry runs: what a flow would do to a record, shown without writing anything."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tessera.cli import cli
from tessera.records import ValidationFailed

from tests.flows.crm import ACCOUNT, OPPORTUNITY, ROLES, TASK, WON

STAMP = """
label: {en: Stamp, zh-CN: 标记}
object: opportunity
trigger: {type: record, events: [update], timing: before_save, condition: ISCHANGED(stage)}
steps:
  - {type: set_fields, values: {next_step: "'Stage is now ' & stage"}}
"""


def test_a_dry_run_reports_each_step_and_keeps_nothing(crm):
    service = crm(when_won=WON)
    acme = service.create("account", {"name": "Acme"})
    deal = service.create("opportunity", {"name": "Deal", "account": acme["id"], "stage": "negotiation"})
    service.create("task", {"subject": "Call", "opportunity": deal["id"]})

    log = service.flows.dry_run(service.flows.flows["when_won"], deal["id"], changes={"stage": "closed_won"})

    assert log[0] == f"flow when_won on opportunity {deal['id']}"
    assert any(line.startswith(f"updated opportunity {deal['id']}: probability = 100") for line in log)
    assert any(line.startswith("created task ") and "(Kick-off: Deal)" in line for line in log)
    assert "updated 2 task record(s) linked by opportunity" in log  # the call and the new kick-off
    after = service.get("opportunity", deal["id"])
    assert after["version"] == 1 and after["probability"] is None
    assert [t["subject"] for t in service.query("task").rows] == ["Call"]


def test_a_dry_run_of_a_before_save_flow_sets_fields_as_the_write_would(crm):
    service = crm(stamp=STAMP)
    deal = service.create("opportunity", {"name": "Deal", "stage": "proposal"})
    flow = service.flows.flows["stamp"]
    assert service.flows.dry_run(flow, deal["id"]) == [
        "flow stamp: the entry condition does not hold; nothing to do"]
    log = service.flows.dry_run(flow, deal["id"], changes={"stage": "negotiation"})
    assert log[1] == f"set next_step = 'Stage is now negotiation' on opportunity {deal['id']} before saving"
    assert service.get("opportunity", deal["id"])["next_step"] is None


def test_a_dry_run_with_a_value_the_field_refuses_says_so(crm):
    service = crm(stamp=STAMP)
    deal = service.create("opportunity", {"name": "Deal", "stage": "proposal"})
    with pytest.raises(ValidationFailed) as raised:
        service.flows.dry_run(service.flows.flows["stamp"], deal["id"], changes={"stage": "bogus"})
    assert raised.value.messages() == {"stage": ["'bogus' is not one of the choices."]}


@pytest.fixture
def cli_org(tmp_path, monkeypatch, write_package):
    write_package("crm", {"objects/account.yaml": ACCOUNT, "objects/opportunity.yaml": OPPORTUNITY,
                          "objects/task.yaml": TASK, **ROLES, "flows/stamp.yaml": STAMP},
                  root=tmp_path / "packages")
    for key, value in {"DATABASE_URL": f"sqlite:///{tmp_path / 'tessera.db'}", "PACKAGES": "crm",
                       "METADATA_PATH": str(tmp_path / "packages"), "PLUGINS": "", "OVERLAY_DIR": "",
                       "SECRET_KEY": "test"}.items():
        monkeypatch.setenv(f"TESSERA_{key}", value)
    from tessera.app import RECORDS_KEY, create_app

    deployed = CliRunner().invoke(cli, ["metadata", "deploy"])
    assert deployed.exit_code == 0, deployed.output
    service = create_app().extensions[RECORDS_KEY]
    return service.create("opportunity", {"name": "Deal", "stage": "proposal"})


def test_flows_test_prints_what_would_happen_and_exits_0(cli_org):
    result = CliRunner().invoke(cli, ["flows", "test", "stamp", "--record", str(cli_org["id"]),
                                      "--set", "stage=negotiation"])
    assert result.exit_code == 0, result.output
    assert "set next_step = 'Stage is now negotiation'" in result.output
    assert result.output.rstrip().endswith("dry run: nothing was written")


@pytest.mark.parametrize(("args", "expected"), [
    (["flows", "test", "nope", "--record", "1"], "there is no flow 'nope' in org default (flows: stamp)"),
    (["flows", "test", "stamp", "--record", "999"], "There is no opportunity with id 999."),
    (["flows", "test", "stamp", "--record", "1", "--set", "stage"], "--set stage: write FIELD=VALUE"),
    (["flows", "test", "stamp", "--record", "1", "--set", "stage=bogus"], "stage: 'bogus' is not one of the choices."),
])
def test_flows_test_explains_what_it_cannot_do_and_exits_1(cli_org, args, expected):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert expected in result.output
    assert "Traceback" not in result.output


def test_flows_list_shows_each_flow_and_what_starts_it(cli_org):
    result = CliRunner().invoke(cli, ["flows", "list"])
    assert result.exit_code == 0
    assert result.output.split() == ["stamp", "record", "opportunity", "update", "before_save", "active"]
