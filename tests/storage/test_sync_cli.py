"""`tessera metadata diff` and `tessera metadata deploy` against a SQLite file named by
TESSERA_DATABASE_URL, with packages found through TESSERA_METADATA_PATH."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from tessera.cli import cli
from tests import helpers

#: the shared one-object package with an email field as well
LEAD = helpers.LEAD + "  email: {type: email, label: {en: Email, zh-CN: 邮箱}}\n"

REFUSED_LEAD = """
label: {en: Lead, zh-CN: 线索}
plural_label: {en: Leads, zh-CN: 线索}
fields:
  name: {type: text, required: true, label: {en: Name, zh-CN: 姓名}}
  phone: {type: phone, max_length: 8, label: {en: Phone, zh-CN: 电话}}
  email: {type: email, unique: true, label: {en: Email, zh-CN: 邮箱}}
"""

TEMPLATE_OBJECT = """
label: {en: Plan, zh-CN: 套餐}
plural_label: {en: Plans, zh-CN: 套餐}
fields:
  name: {type: text, label: {en: Name, zh-CN: 名称}}
  lead: {type: lookup, target: lead, label: {en: Lead, zh-CN: 线索}}
"""


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.packages = root / "packages"
        # the folder does not exist yet; the default org's records live in orgs/default.db next to it
        self.database = root / "instance" / "orgs" / "default.db"
        self.env = {"TESSERA_DATABASE_URL": f"sqlite:///{root / 'instance' / 'tessera.db'}",
                    "TESSERA_METADATA_PATH": str(self.packages), "TESSERA_PACKAGES": "shop",
                    "TESSERA_OVERLAY_DIR": None}

    def package(self, name: str, version: str, objects: dict[str, str], extends: str | None = None) -> None:
        folder = self.packages / name
        (folder / "objects").mkdir(parents=True, exist_ok=True)
        for old in (folder / "objects").glob("*.yaml"):
            old.unlink()
        manifest = f"name: {name}\nversion: {version}\nlabel: {{en: {name}, zh-CN: {name}}}\n"
        if extends:
            manifest += f"extends: {extends}\n"
        (folder / "package.yaml").write_text(manifest, encoding="utf-8")
        for object_name, text in objects.items():
            (folder / "objects" / f"{object_name}.yaml").write_text(text.lstrip(), encoding="utf-8")

    def run(self, *args: str):
        return CliRunner().invoke(cli, ["metadata", *args], env=self.env, catch_exceptions=False)

    def query(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.database) as conn:
            return conn.execute(sql).fetchall()

    def execute(self, sql: str) -> None:
        with sqlite3.connect(self.database) as conn:
            conn.execute(sql)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def test_metadata_diff_prints_each_step_in_words_and_sql(project):
    project.package("shop", "1.0.0", {"lead": LEAD})

    result = project.run("diff")

    assert result.exit_code == 0, result.output
    assert "create table lead (" in result.output
    assert "     CREATE TABLE lead (" in result.output
    assert "record the first deployment (packages: shop 1.0.0)" in result.output
    assert project.query("select name from sqlite_master where name = 'lead'") == []  # diff changes nothing


def test_metadata_deploy_applies_once_and_records_the_package_versions(project):
    project.package("shop", "1.0.0", {"lead": LEAD})

    first = project.run("deploy")

    assert first.exit_code == 0, first.output
    assert "deployed " in first.output and "packages: shop 1.0.0" in first.output
    assert project.query("select packages from tessera_deployments") == [('[{"name": "shop", "version": "1.0.0"}]',)]
    again = project.run("deploy")
    assert again.exit_code == 0 and again.output.strip() == "nothing to change"
    assert project.run("diff").output.strip() == "nothing to change"
    assert len(project.query("select id from tessera_deployments")) == 1

    project.package("shop", "1.1.0", {"lead": LEAD})
    bumped = project.run("deploy")
    assert "packages: shop 1.0.0 → 1.1.0" in bumped.output
    assert project.query("select packages from tessera_deployments order by id")[-1] == (
        '[{"name": "shop", "version": "1.1.0"}]',)


def test_metadata_deploy_with_refusals_exits_1_listing_every_problem_without_a_traceback(project):
    project.package("shop", "1.0.0", {"lead": LEAD})
    project.run("deploy")
    now = "2026-01-01 00:00:00"
    for name, phone, email in [(None, "+86 21 5555 0101", "a@x.cn"), ("Bo", "1234", "a@x.cn")]:
        project.execute("insert into lead (created_at, updated_at, name, phone, email) values "
                        f"('{now}', '{now}', {repr(name) if name else 'NULL'}, '{phone}', '{email}')")
    project.package("shop", "2.0.0", {"lead": REFUSED_LEAD})

    result = project.run("deploy")

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "deploy refused, nothing was changed (3 problems):" in result.stderr
    assert "lead.phone: 1 row has values longer than 8 characters" in result.stderr
    assert "lead.name: cannot be made required: 1 row is blank" in result.stderr
    assert "lead.email: cannot be made unique: 1 value appears more than once (2 rows)" in result.stderr
    assert len(project.query("select id from tessera_deployments")) == 1
    assert project.query("select phone from lead order by id") == [("+86 21 5555 0101",), ("1234",)]


def test_metadata_deploy_allow_destructive_applies_a_truncating_change(project):
    project.package("shop", "1.0.0", {"lead": LEAD})
    project.run("deploy")
    project.execute("insert into lead (created_at, updated_at, phone) values ('2026-01-01', '2026-01-01', '+86 21 5555 0101')")
    project.package("shop", "1.0.0", {"lead": LEAD.replace("type: phone,", "type: phone, max_length: 8,")})

    refused = project.run("deploy")
    assert refused.exit_code == 1
    assert "run again with --allow-destructive to apply these changes anyway" in refused.stderr

    forced = project.run("deploy", "--allow-destructive")
    assert forced.exit_code == 0, forced.output
    assert "applied anyway (--allow-destructive): lead.phone: 1 row has values longer than 8 characters" in forced.output
    assert project.query("select phone from lead") == [("+86 21 5",)]


def test_a_deployed_template_stays_installed(project):
    project.package("shop", "1.0.0", {"lead": LEAD})
    project.package("shop_subscriptions", "0.3.0", {"plan": TEMPLATE_OBJECT}, extends="shop")

    result = project.run("deploy", "--template", "shop_subscriptions")

    assert result.exit_code == 0, result.output
    assert "packages: shop 1.0.0, shop_subscriptions 0.3.0" in result.output
    assert project.query("select name from sqlite_master where type = 'table' and name = 'plan'") == [("plan",)]
    later = project.run("diff")  # no --template: the last deployment keeps it installed
    assert later.output.strip() == "nothing to change"


def test_an_unknown_org_or_template_is_an_error_with_a_message(project):
    project.package("shop", "1.0.0", {"lead": LEAD})

    org = project.run("deploy", "--org", "acme")
    assert org.exit_code == 1
    assert "unknown org 'acme'" in org.output and "Traceback" not in org.output

    template = project.run("diff", "--template", "nope")
    assert template.exit_code == 1
    assert "package 'nope' is not installed" in template.output
