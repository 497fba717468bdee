"""`tessera plugins new` gives a plugin that installs, loads and passes its own tests."""

from __future__ import annotations

import os
import subprocess
import sys

from click.testing import CliRunner

from tessera.cli import cli


def test_a_new_plugin_installs_loads_and_passes_its_own_tests(tmp_path):
    result = CliRunner().invoke(cli, ["plugins", "new", "acme_notes", "--into", str(tmp_path / "plugins")])
    assert result.exit_code == 0, result.output
    root = tmp_path / "plugins" / "tessera_acme_notes"
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(root)],
                   check=True, capture_output=True, text=True)
    env = {**os.environ, "PYTHONPATH": str(site)}
    listed = subprocess.run([sys.executable, "-c", "from tessera.cli import main; main()", "plugins", "list"],
                            env=env, capture_output=True, text=True)
    assert "acme_notes 0.1.0 (tessera_acme_notes)" in listed.stdout, listed.stderr
    assert "hook      tessera_record_before_save" in listed.stdout
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
                           env=env, capture_output=True, text=True, cwd=tmp_path)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout


def test_a_new_plugin_refuses_a_bad_name_and_an_existing_folder(tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli, ["plugins", "new", "Bad Name", "--into", str(tmp_path)]).exit_code == 1
    assert runner.invoke(cli, ["plugins", "new", "notes", "--into", str(tmp_path)]).exit_code == 0
    again = runner.invoke(cli, ["plugins", "new", "notes", "--into", str(tmp_path)])
    assert again.exit_code == 1 and "already exists" in again.output
