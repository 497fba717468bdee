"""The job table is one of the org's system tables: the schema sync creates it, once."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import CliRunner

from tessera.cli import cli
from tessera.metadata.registry import build_org_registry
from tessera.plugins import Plugins
from tessera.storage.sync import apply_sync, deploy, plan_sync


def _registry(plugins):
    return build_org_registry(["jobs_probe"], search_paths=plugins.metadata_packages,
                              field_types=plugins.field_types, functions=plugins.functions)


def _job_table_steps(plan):
    return [(step.kind, step.table) for step in plan.steps if step.table == "tessera_jobs" and step.kind != "note"]


def test_a_deploy_creates_the_job_table_and_a_second_deploy_changes_nothing(probe, database):
    registry = _registry(Plugins.load("jobs_probe"))

    plan = plan_sync(registry, database)
    assert _job_table_steps(plan) == [("create_table", "tessera_jobs")]
    assert "create table tessera_jobs" in plan.render()
    apply_sync(plan)

    columns = {c["name"] for c in sa.inspect(database.engine).get_columns("tessera_jobs", schema=database.schema)}
    assert {"key", "name", "payload", "status", "attempts", "max_attempts", "last_error", "run_after"} <= columns
    indexes = {i["name"]: i["unique"] for i in sa.inspect(database.engine).get_indexes("tessera_jobs",
                                                                                         schema=database.schema)}
    assert indexes == {"uq_tessera_jobs_key": True, "ix_tessera_jobs_due": False, "ix_tessera_jobs_status": False}
    assert plan_sync(registry, database).is_empty


def test_an_org_deployed_before_jobs_existed_gets_the_job_table_and_nothing_else(probe, database):
    registry = _registry(Plugins.load("jobs_probe"))
    deploy(registry, database)
    with database.begin() as conn:  # as it was before the job table existed
        conn.execute(sa.schema.DropTable(sa.Table("tessera_jobs", sa.MetaData(schema=database.schema))))

    plan = plan_sync(registry, database)

    assert [(step.kind, step.table) for step in plan.steps if step.kind != "note"] == [
        ("create_table", "tessera_jobs")]
    assert deploy(registry, database).applied
    assert plan_sync(registry, database).is_empty


def test_tessera_metadata_deploy_creates_the_job_table_once(probe, tmp_path, monkeypatch):
    monkeypatch.setenv("TESSERA_DATABASE_URL", f"sqlite:///{tmp_path / 'instance' / 'tessera.db'}")
    monkeypatch.setenv("TESSERA_PLUGINS", "jobs_probe")
    monkeypatch.setenv("TESSERA_PACKAGES", "jobs_probe")
    monkeypatch.delenv("TESSERA_OVERLAY_DIR", raising=False)

    first = CliRunner().invoke(cli, ["metadata", "deploy"])
    second = CliRunner().invoke(cli, ["metadata", "deploy"])

    assert first.exit_code == 0 and "create table tessera_jobs" in first.output
    assert second.exit_code == 0 and second.output.strip() == "nothing to change"
