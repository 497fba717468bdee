"""`tessera users ...` and `tessera orgs ...` on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from tessera.cli import cli
from tessera.security.passwords import make_hasher
from tessera.security.store import PlatformStore

PASSWORD = "correct horse battery"


@pytest.fixture
def tessera(cli_env):
    def run(*args: str, input: str | None = None):
        result = CliRunner().invoke(cli, list(args), env=cli_env, input=input)
        assert "Traceback" not in result.output, result.output
        return result

    return run


@pytest.fixture
def org(platform_settings, platform, tessera) -> str:
    name = f"acme_{platform_settings['SUFFIX']}"
    result = tessera("orgs", "create", name, "--label", "Acme Ltd")
    assert result.exit_code == 0, result.output
    return name


@pytest.fixture
def platform(platform_settings):
    store = PlatformStore.from_settings(platform_settings, hasher=make_hasher("CHEAPEST"))
    yield store
    store.dispose()


def test_orgs_create_adds_the_org_and_deploys_its_tables(platform_settings, platform, tessera):
    name = f"acme_{platform_settings['SUFFIX']}"

    result = tessera("orgs", "create", name, "--label", "Acme Ltd")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"created org {name} (Acme Ltd)"
    assert lines[1] in (f"records: PostgreSQL schema org_{name}",
                        f"records: SQLite file {platform_settings['DATABASE_URL'][10:].rsplit('/', 1)[0]}/orgs/{name}.db")
    assert "packages: shop 1.0.0" in lines[2]
    assert platform.org(name).label == "Acme Ltd"
    listing = tessera("orgs", "list")
    assert name in listing.output and "Acme Ltd" in listing.output


def test_orgs_create_refuses_a_taken_or_malformed_name(platform_settings, platform, tessera, org):
    again = tessera("orgs", "create", org)
    assert again.exit_code == 1 and f"An org called {org} already exists." in again.output
    bad = tessera("orgs", "create", "Bad-Name")
    assert bad.exit_code == 1 and "An org name has 1 to 40 characters" in bad.output


def test_orgs_create_with_an_unknown_template_changes_nothing(platform_settings, platform, tessera):
    name = f"beta_{platform_settings['SUFFIX']}"
    result = tessera("orgs", "create", name, "--template", "no_such_template")
    assert result.exit_code == 1
    assert platform.org(name) is None


def test_users_create_then_token_prints_the_token_alone_on_the_last_line(platform_settings, platform, tessera, org):
    created = tessera("users", "create", "alice", "--org", org, "--role", "sales_rep", "--password", PASSWORD,
                      "--name", "Alice Wang", "--email", "alice@acme.cn", "--locale", "zh-CN",
                      "--time-zone", "Asia/Shanghai")
    assert created.exit_code == 0, created.output
    assert created.output.startswith("created user alice (id ") and PASSWORD not in created.output

    result = tessera("users", "token", "alice", "--org", org, "--name", "sync job")

    assert result.exit_code == 0, result.output
    token = result.output.splitlines()[-1]
    assert token.startswith("tsr_") and len(token) == 47
    store = platform
    alice = store.user(org, "alice")
    assert store.user_for_token(token) == alice
    assert [t.name for t in store.tokens(alice)] == ["sync job"]
    assert (alice.name, alice.email, alice.locale, alice.time_zone) == ("Alice Wang", "alice@acme.cn", "zh-CN",
                                                                       "Asia/Shanghai")


def test_users_create_asks_for_the_password_twice_when_it_is_not_given(platform_settings, platform, tessera, org):
    mismatch = tessera("users", "create", "bob", "--org", org, "--role", "sales_rep",
                       input=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n")
    assert mismatch.exit_code == 0, mismatch.output
    assert "do not match" in mismatch.output and PASSWORD not in mismatch.output
    assert platform.authenticate(org, "bob", PASSWORD) is not None


def test_users_create_refuses_what_it_cannot_do_with_a_message(platform_settings, platform, tessera, org):
    tessera("users", "create", "boss", "--org", org, "--role", "sales_manager", "--password", PASSWORD)
    cases = {
        ("--org", "nowhere"): "there is no org called 'nowhere'",
        ("--password", "short"): "A password needs at least 10 characters.",
        ("--time-zone", "Mars/Base"): "'Mars/Base' is not a time zone",
        ("--manager", "nobody"): "has no user 'nobody' to be the manager",
        ("--email", "nope"): "Enter an email address.",
    }
    for option, message in cases.items():
        arguments = {"--org": org, "--role": "sales_rep", "--password": PASSWORD, option[0]: option[1]}
        result = tessera("users", "create", "carol", *[x for pair in arguments.items() for x in pair])
        assert result.exit_code == 1 and message in result.output, (option, result.output)
        assert "short" not in result.output or option[1] != "short" or "needs at least" in result.output
    taken = tessera("users", "create", "boss", "--org", org, "--role", "sales_rep", "--password", PASSWORD)
    assert taken.exit_code == 1 and "already has a user called 'boss'" in taken.output
    assert [u.username for u in platform.users(org)] == ["boss"]


def test_users_token_for_an_unknown_user_exits_1(platform_settings, platform, tessera, org):
    result = tessera("users", "token", "ghost", "--org", org)
    assert result.exit_code == 1 and f"the org '{org}' has no user 'ghost'" in result.output
    assert "tsr_" not in result.output


def test_users_list_shows_roles_and_managers(platform_settings, platform, tessera, org):
    tessera("users", "create", "boss", "--org", org, "--role", "sales_manager", "--password", PASSWORD)
    tessera("users", "create", "rep", "--org", org, "--role", "sales_rep", "--password", PASSWORD, "--manager", "boss")
    lines = tessera("users", "list", "--org", org).output.splitlines()
    assert lines[0].split() == ["username", "role", "name", "email", "manager", "status"]
    assert lines[2].split() == ["rep", "sales_rep", "rep", "boss", "active"]


def test_users_password_sets_a_new_password(platform_settings, platform, tessera, org):
    tessera("users", "create", "alice", "--org", org, "--role", "sales_rep", "--password", PASSWORD)
    result = tessera("users", "password", "alice", "--org", org, input="a brand new passphrase\n" * 2)
    assert result.exit_code == 0 and "changed the password of alice" in result.output
    store = platform
    assert store.authenticate(org, "alice", PASSWORD) is None
    assert store.authenticate(org, "alice", "a brand new passphrase") is not None


def test_users_create_refuses_a_role_the_org_does_not_define(tmp_path, monkeypatch):
    """With the L2C package, whose roles are admin, sales_rep, ... (SQLite only: reads metadata)."""
    monkeypatch.setenv("TESSERA_DATABASE_URL", f"sqlite:///{tmp_path / 'tessera.db'}")
    monkeypatch.setenv("TESSERA_PASSWORD_PROFILE", "CHEAPEST")
    monkeypatch.delenv("TESSERA_OVERLAY_DIR", raising=False)
    store = PlatformStore.from_settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'tessera.db'}"})
    store.ensure_org("default")
    store.dispose()

    result = CliRunner().invoke(cli, ["users", "create", "eve", "--role", "slaes_rep", "--password", PASSWORD])

    assert result.exit_code == 1
    assert "the org 'default' has no role 'slaes_rep' (its roles: admin," in result.output
