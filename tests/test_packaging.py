"""The wheel carries metadata/ and ui/, and the installed command finds them from anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True, capture_output=True, text=True,
    )
    [built] = out.glob("tessera-*.whl")
    return built


def test_wheel_carries_metadata_ui_schemas_and_catalogues(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "tessera/_bundled/metadata/l2c/package.yaml",
        "tessera/_bundled/ui/templates/base.html",
        "tessera/metadata/schemas/object.json",
        "tessera/translations/zh_Hans_CN/LC_MESSAGES/messages.mo",
    }
    assert expected <= names
    assert not any(name.startswith("platform/") for name in names)


def test_installed_wheel_validates_its_bundled_metadata_from_another_directory(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, capture_output=True, text=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    script = ("import sys, tessera, tessera.paths as p; "
              "print(tessera.__file__); print(p.bundled_path('metadata')); print(p.bundled_path('ui')); "
              "from tessera.cli import main; sys.argv = ['tessera', 'metadata', 'validate']; main()")
    result = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, env=env,
                            capture_output=True, text=True)
    module, metadata, ui, *rest = result.stdout.splitlines()
    assert module.startswith(str(target))  # the installed copy, not the checkout
    assert metadata == str(target / "tessera" / "_bundled" / "metadata")
    assert ui == str(target / "tessera" / "_bundled" / "ui")
    assert result.returncode == 0, result.stdout + result.stderr
    assert rest[-1].startswith("OK: ")
