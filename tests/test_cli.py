"""The tessera command outside of metadata validation."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tessera.cli import cli


def test_help_lists_commands_without_building_the_app(monkeypatch):
    def explode():  # pragma: no cover - must not be called
        raise AssertionError("--help built the app")

    monkeypatch.setattr("tessera.cli._create_app", explode)
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "metadata" in result.output and "serve" in result.output
    assert "--app" not in result.output  # Flask's own options are not Tessera's


def test_schema_command_prints_the_object_schema_with_every_field_type():
    result = CliRunner().invoke(cli, ["metadata", "schema", "object"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    types = schema["$defs"]["field"]["properties"]["type"]["enum"]
    assert {"text", "lookup", "formula", "rollup", "auto_number"} <= set(types)


def test_metadata_commands_work_when_the_org_metadata_is_broken(tmp_path, monkeypatch):
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / "lead.yaml").write_text("name: lead\nicon: 5\n")
    monkeypatch.setenv("TESSERA_OVERLAY_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["metadata", "schema", "package"])
    assert result.exit_code == 0
    assert json.loads(result.output)["title"].startswith("Tessera metadata package")


def test_version_is_reported():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and "0.1.0" in result.output
