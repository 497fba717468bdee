"""Flow tests shipped beside the flows (``flows/<flow>.test.yaml``): the L2C package's pass, a
wrong expectation is reported, and checking writes nothing."""

from __future__ import annotations

import pytest

from tessera.flows.testing import FlowTestError, find_test_files, read_test_file, run_test_file
from tessera.metadata.registry import build_org_registry
from tessera.records import RecordService
from tessera.storage.sync import deploy
from tests.flows.crm import WON

WON_TESTS = """
cases:
  - name: winning sets the probability and makes a kick-off task
    given: {acme: {object: account, values: {name: Acme}}}
    record: {name: Deal, account: $acme, stage: negotiation}
    change: {stage: closed_won}
    expect:
      values: {probability: 100, next_step: Kick-off with Acme}
  - name: a wrong expectation
    record: {name: Deal, stage: negotiation}
    change: {stage: closed_won}
    expect:
      values: {probability: 50, nonsense: 1}
  - name: an expected refusal that does not come
    record: {name: Deal}
    expect:
      error: {name: required}
"""


def test_the_l2c_flow_tests_pass_and_leave_nothing_behind(database):
    registry = build_org_registry(["l2c"])
    deploy(registry, database)
    service = RecordService(registry, database)
    files = find_test_files(registry)
    assert {f.flow for f in files} >= {"opportunity_stages", "opportunity_stage_changed", "receivable_overdue",
                                       "contract_expiry_reminder"}
    results = [result for test in files for result in run_test_file(service, test)]
    assert [(r.flow, r.name, r.failures) for r in results if not r.passed] == []
    assert len(results) >= 12
    for name in ("account", "opportunity", "contract", "receivable_plan"):
        assert service.count(name).value == 0  # every case was rolled back


def test_failed_expectations_are_reported_case_by_case(crm, tmp_path):
    service = crm(won=WON)
    path = tmp_path / "crm" / "flows" / "won.test.yaml"
    path.write_text(WON_TESTS, encoding="utf-8")
    first, wrong, not_refused = run_test_file(service, read_test_file(path))
    assert first.passed, first.failures
    assert wrong.failures == ["probability: expected 50, got 100", "the record has no field 'nonsense'"]
    assert not_refused.failures == ["expected the write to be refused ({'name': 'required'}), but it was saved"]
    assert service.count("opportunity").value == 0


def test_a_test_file_is_not_read_as_a_flow_and_must_name_a_flow(crm, tmp_path):
    service = crm(won=WON)
    stray = tmp_path / "crm" / "flows" / "lost.test.yaml"
    stray.write_text("cases: [{name: x, record: {name: y}}]\n", encoding="utf-8")
    rebuilt = build_org_registry(["crm"], search_paths=[tmp_path])  # the test file is no flow document
    assert set(rebuilt.flows) == {"won"}
    with pytest.raises(FlowTestError, match="there is no flow 'lost'"):
        run_test_file(service, read_test_file(stray))
    stray.write_text("cases: nothing\n", encoding="utf-8")
    with pytest.raises(FlowTestError, match="'cases' must be a list"):
        read_test_file(stray)
