"""`tessera worker` and `tessera beat` when there is nothing for them to do, or a bad setting."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tessera.cli import cli


@pytest.fixture
def environment(tmp_path, monkeypatch, probe):
    monkeypatch.setenv("TESSERA_DATABASE_URL", f"sqlite:///{tmp_path / 'instance' / 'tessera.db'}")
    monkeypatch.setenv("TESSERA_PLUGINS", "jobs_probe")
    monkeypatch.setenv("TESSERA_PACKAGES", "jobs_probe")
    monkeypatch.delenv("TESSERA_BROKER_URL", raising=False)
    monkeypatch.delenv("TESSERA_OVERLAY_DIR", raising=False)
    return monkeypatch


@pytest.mark.parametrize("command", ["worker", "beat"])
def test_worker_and_beat_without_a_broker_exit_1_saying_what_to_set(environment, command):
    result = CliRunner().invoke(cli, [command])

    assert result.exit_code == 1
    assert f"`tessera {command}` needs a broker: set TESSERA_BROKER_URL" in result.output
    assert "Traceback" not in result.output


def test_a_bad_jobs_setting_stops_the_command_with_the_variable_named(environment):
    environment.setenv("TESSERA_BROKER_URL", "redis://127.0.0.1:6379/0")
    environment.setenv("TESSERA_JOBS_VISIBILITY_TIMEOUT", "an hour")

    result = CliRunner().invoke(cli, ["worker"])

    assert result.exit_code == 1
    assert "TESSERA_JOBS_VISIBILITY_TIMEOUT must be a whole number of at least 1, not 'an hour'" in result.output
    assert "Traceback" not in result.output
