"""`tessera demo load` end to end against a SQLite file named by TESSERA_DATABASE_URL."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from tessera.cli import cli
from tessera.config import load_settings
from tessera.demo import catalog
from tessera.records.service import RecordService
from tessera.storage.sync import open_org

from .conftest import SEED, TODAY

ARGS = ["demo", "load", "--scale", "0.02", "--seed", str(SEED), "--today", TODAY.isoformat()]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    return {"TESSERA_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "TESSERA_PACKAGES": "l2c",
            "TESSERA_METADATA_PATH": None, "TESSERA_OVERLAY_DIR": None}


def run(env: dict[str, str | None], *extra: str):
    return CliRunner().invoke(cli, [*ARGS, *extra], env=env, catch_exceptions=False)


def lead_count(env: dict[str, str | None]) -> int:
    settings = load_settings({k.removeprefix("TESSERA_"): v for k, v in env.items() if v})
    db, registry = open_org(settings, "default")
    try:
        return RecordService(registry, db).count("lead", cap=100_000).value
    finally:
        db.dispose()


def test_demo_load_deploys_loads_and_prints_counts_time_and_the_demo_users(env):
    result = run(env)

    assert result.exit_code == 0, result.output
    assert "Loaded the demo company into org 'default'" in result.output
    assert "  lead " in result.output and "  payment_allocation " in result.output
    assert " 6  zhang.wei " in result.output
    assert "Created 15 demo users in org 'default'." in result.output
    assert "user admin, password tessera-demo" in result.output
    assert lead_count(env) == 20
    from tessera.security.store import PlatformStore

    settings = load_settings({k.removeprefix("TESSERA_"): v for k, v in env.items() if v})
    store = PlatformStore.from_settings(settings)
    try:
        admin = store.authenticate("default", "admin", "tessera-demo")
        assert admin is not None and admin.id == 1 and admin.role == "admin"
        assert store.user("default", "zhang.wei").id == 6
    finally:
        store.db.dispose()


def test_a_second_demo_load_says_the_demo_is_there_and_changes_nothing(env):
    assert run(env).exit_code == 0

    again = run(env)

    assert again.exit_code == 0, again.output
    assert "already loaded" in again.output and "--reset" in again.output
    assert lead_count(env) == 20
    reset = run(env, "--reset")
    assert reset.exit_code == 0 and "Loaded the demo company" in reset.output
    assert lead_count(env) == 20


def test_a_refused_demo_row_exits_1_with_object_row_and_messages_not_a_traceback(env, monkeypatch):
    monkeypatch.setattr(catalog, "_book_price", lambda book, standard: Decimal(-1))

    result = CliRunner().invoke(cli, ARGS, env=env)

    assert result.exit_code == 1
    assert "refused a demo price_book_entry" in result.output
    assert "list_price: Must be at least 0." in result.output and "Traceback" not in result.output
    assert "the org is empty again" in result.output
    assert lead_count(env) == 0


def test_a_scale_of_zero_is_refused_with_a_message(env):
    result = CliRunner().invoke(cli, ["demo", "load", "--scale", "0"], env=env)
    assert result.exit_code == 1 and "--scale must be above 0" in result.output
