"""`tessera metadata export --org O --out DIR` and `tessera metadata diff|deploy --overlay DIR`:
the org overlay as a package kept in git, deployed to another org and exported back, byte for
byte the same."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from tessera.cli import cli
from tests.helpers import LEAD

OVERLAY = {
    "objects/ticket.yaml": """
        # written by hand: key order, comments and layout are the author's
        plural_label: {en: Tickets, zh-CN: 工单}
        label: {en: Ticket, zh-CN: 工单}
        description: |
          Support requests.
          One per problem.
        name_field: subject
        fields:
          subject: {label: {en: Subject, zh-CN: 主题}, type: text, required: true}
          lead: {type: lookup, target: lead, label: {en: Lead, zh-CN: 线索}}
          hours: {type: decimal, scale: 1, min: 0.5, label: {en: Hours, zh-CN: 工时}}
          status:
            type: picklist
            label: {en: Status, zh-CN: 状态}
            default: open
            options:
              - {value: open, label: {en: Open, zh-CN: 待处理}}
              - {value: closed, label: {en: Closed, zh-CN: 已关闭}, closed: true}
        validations:
          - name: hours_when_closed
            condition: AND(status = "closed", ISBLANK(hours))
            message: {en: Log the hours, zh-CN: 请填写工时}
        """,
    "objects/lead.yaml": """
        fields:
          phone: {label: {en: Mobile, zh-CN: 手机}}
          source: {type: text, label: {en: Source, zh-CN: 来源}}
        """,
    "roles/support.yaml": """
        label: {en: Support, zh-CN: 客服}
        objects: {ticket: [create, read, edit], "*": [read]}
        """,
}


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        shop = root / "packages" / "shop"
        (shop / "objects").mkdir(parents=True)
        (shop / "package.yaml").write_text("name: shop\nversion: 1.0.0\nlabel: {en: Shop, zh-CN: 商店}\n",
                                           encoding="utf-8")
        (shop / "objects" / "lead.yaml").write_text(LEAD.lstrip(), encoding="utf-8")
        self.env = {"TESSERA_DATABASE_URL": f"sqlite:///{root / 'instance' / 'tessera.db'}",
                    "TESSERA_METADATA_PATH": str(root / "packages"), "TESSERA_PACKAGES": "shop",
                    "TESSERA_PLUGINS": "", "TESSERA_OVERLAY_DIR": None, "TESSERA_PASSWORD_PROFILE": "CHEAPEST"}

    def run(self, *args: str):
        return CliRunner().invoke(cli, list(args), env=self.env, catch_exceptions=False)

    def folder(self, name: str, files: dict[str, str]) -> Path:
        folder = self.root / name
        for relative, text in files.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return folder

    def tree(self, folder: Path) -> dict[str, bytes]:
        return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = Project(tmp_path)
    assert project.run("metadata", "deploy").exit_code == 0
    return project


def test_export_then_deploy_into_a_fresh_org_then_export_again_is_byte_identical(project):
    source = project.folder("by_hand", OVERLAY)
    deployed = project.run("metadata", "deploy", "--overlay", str(source))
    assert deployed.exit_code == 0, deployed.output
    assert "add object ticket" in deployed.output and "create table ticket" in deployed.output
    assert "in one transaction (change 1; deployment 2)" in deployed.output

    first = project.root / "export_default"
    assert project.run("metadata", "export", "--org", "default", "--out", str(first)).exit_code == 0
    assert project.run("orgs", "create", "fresh").exit_code == 0
    into_fresh = project.run("metadata", "deploy", "--org", "fresh", "--overlay", str(first))
    assert into_fresh.exit_code == 0, into_fresh.output
    second = project.root / "export_fresh"
    assert project.run("metadata", "export", "--org", "fresh", "--out", str(second)).exit_code == 0

    assert project.tree(first) == project.tree(second)
    assert set(project.tree(first)) == {"package.yaml", "objects/ticket.yaml", "objects/lead.yaml",
                                        "roles/support.yaml"}
    ticket = (first / "objects" / "ticket.yaml").read_text(encoding="utf-8")
    assert ticket.startswith("name: ticket\nlabel: {en: Ticket, zh-CN: 工单}\nplural_label:")  # schema order
    assert "\nname_field: subject\nfields:\n" in ticket
    assert "  subject: {type: text, label: {en: Subject, zh-CN: 主题}, required: true}\n" in ticket
    assert "description: |\n  Support requests.\n  One per problem.\n" in ticket
    assert "min: 0.5" in ticket and "#" not in ticket
    manifest = (first / "package.yaml").read_text(encoding="utf-8")
    assert "depends: [shop]" in manifest and "fresh" not in manifest and "default" not in manifest


def test_a_second_export_with_no_change_writes_the_same_bytes_and_touches_no_file(project):
    project.run("metadata", "deploy", "--overlay", str(project.folder("by_hand", OVERLAY)))
    out = project.root / "export"
    project.run("metadata", "export", "--out", str(out))
    before = project.tree(out)
    times = {p: p.stat().st_mtime_ns for p in out.rglob("*.yaml")}
    again = project.run("metadata", "export", "--out", str(out))
    assert again.exit_code == 0 and "0 files changed" in again.output
    assert project.tree(out) == before
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.yaml")} == times


def test_deploying_an_unchanged_package_changes_nothing_and_a_removed_document_is_removed(project):
    source = project.folder("by_hand", OVERLAY)
    project.run("metadata", "deploy", "--overlay", str(source))
    again = project.run("metadata", "deploy", "--overlay", str(source))
    assert again.exit_code == 0 and "nothing to change" in again.output

    (source / "roles" / "support.yaml").unlink()
    removed = project.run("metadata", "deploy", "--overlay", str(source))
    assert removed.exit_code == 0, removed.output
    assert "remove role support" in removed.output
    out = project.root / "export"
    project.run("metadata", "export", "--out", str(out))
    assert not (out / "roles").exists() or not list((out / "roles").iterdir())


def test_diff_with_an_overlay_shows_the_plan_and_changes_nothing(project):
    source = project.folder("by_hand", OVERLAY)
    shown = project.run("metadata", "diff", "--overlay", str(source))
    assert shown.exit_code == 0, shown.output
    assert "add object ticket" in shown.output and "CREATE TABLE ticket" in shown.output
    out = project.root / "export"
    exported = project.run("metadata", "export", "--out", str(out))
    assert "is empty" in exported.output and project.tree(out).keys() == {"package.yaml"}


def test_a_broken_overlay_package_is_reported_at_its_files_lines_and_nothing_is_changed(project):
    broken = dict(OVERLAY)
    broken["objects/lead.yaml"] = """
        fields:
          total: {type: formula, result: text, expression: nmae & "!", label: {en: T, zh-CN: T}}
          owner: {type: lookup, target: nowhere, label: {en: O, zh-CN: O}}
        """
    source = project.folder("broken", broken)
    result = project.run("metadata", "deploy", "--overlay", str(source))
    assert result.exit_code == 1
    assert "objects/lead.yaml:2:52: unknown field 'nmae'" in result.output
    assert "objects/lead.yaml:3:33: 'nowhere' is not an object" in result.output
    assert "nothing was changed" in result.output
    assert "Traceback" not in result.output
    out = project.root / "export"
    assert "is empty" in project.run("metadata", "export", "--out", str(out)).output


def test_user_errors_exit_1_with_a_message(project, tmp_path):
    missing = project.run("metadata", "deploy", "--overlay", str(tmp_path / "nowhere"))
    assert missing.exit_code == 1 and "no such folder" in missing.output

    bad_yaml = project.folder("bad_yaml", {"objects/ticket.yaml": "label: [unclosed\n"})
    result = project.run("metadata", "deploy", "--overlay", str(bad_yaml))
    assert result.exit_code == 1 and "objects/ticket.yaml:2:1: invalid YAML" in result.output

    needs = project.folder("needs", {"package.yaml": "name: overlay\nversion: '0'\nlabel: {en: O, zh-CN: O}\n"
                                                     "depends: [shop, saas]\n"})
    result = project.run("metadata", "deploy", "--overlay", str(needs))
    assert result.exit_code == 1 and "needs package saas, which org 'default' does not install" in result.output
    assert "--template saas" in result.output

    clutter = project.folder("clutter", {"notes.txt": "mine"})
    result = project.run("metadata", "export", "--out", str(clutter))
    assert result.exit_code == 1 and "holds no package.yaml" in result.output

    unknown = project.run("metadata", "export", "--org", "nobody", "--out", str(tmp_path / "x"))
    assert unknown.exit_code == 1 and "unknown org 'nobody'" in unknown.output


def test_a_stored_overlay_the_packages_outgrew_can_still_be_exported_and_replaced(project):
    source = project.folder("by_hand", OVERLAY)
    assert project.run("metadata", "deploy", "--overlay", str(source)).exit_code == 0
    lead = project.root / "packages" / "shop" / "objects" / "lead.yaml"
    lead.write_text(LEAD.replace("  phone: {type: phone, label: {en: Phone, zh-CN: 电话}}\n", "").lstrip(),
                    encoding="utf-8")  # the package drops the field the overlay relabels

    broken = project.run("metadata", "deploy")
    assert broken.exit_code == 1
    assert "(overlay)/objects/lead.yaml:3:" in broken.output and "phone" in broken.output

    out = project.root / "export"
    assert project.run("metadata", "export", "--out", str(out)).exit_code == 0
    text = (out / "objects" / "lead.yaml").read_text(encoding="utf-8")
    (out / "objects" / "lead.yaml").write_text(
        "\n".join(line for line in text.splitlines() if "phone" not in line) + "\n", encoding="utf-8")
    fixed = project.run("metadata", "deploy", "--overlay", str(out))
    assert fixed.exit_code == 0, fixed.output
    assert project.run("metadata", "deploy").exit_code == 0
