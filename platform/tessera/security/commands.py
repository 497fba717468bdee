"""``tessera users ...`` and ``tessera orgs ...``. Exit 0 on success, 1 with a message on a user
error; never a traceback, never a password. The only secret ever printed is the new token of
``users token``, alone on the last line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

_ORG = click.option("--org", default="default", show_default=True, help="The org the user belongs to.")


def register(group: click.Group) -> None:
    """Add the ``users`` and ``orgs`` groups to the ``tessera`` command."""
    group.add_command(users_group)
    group.add_command(orgs_group)


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _who() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli"


@contextmanager
def _platform() -> Iterator[tuple[dict[str, Any], Any]]:
    """The settings and the platform store; database problems become a message and exit 1."""
    import sqlalchemy as sa

    from tessera.config import load_settings
    from tessera.security.errors import IdentityError
    from tessera.security.store import PlatformStore
    from tessera.storage.sync import SyncError, _safe, database_url

    settings = load_settings()
    try:
        store = PlatformStore.from_settings(settings)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:
        _fail(f"cannot use the database URL {_safe(database_url(settings))}: {exc}")
    try:
        yield settings, store
    except IdentityError as exc:
        _fail(exc.message())
    except SyncError as exc:
        _fail(str(exc))
    except sa.exc.SQLAlchemyError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if isinstance(exc, sa.exc.DBAPIError) and exc.orig else type(exc).__name__
        _fail(f"cannot use the platform database {_safe(database_url(settings))}: {reason}")
    finally:
        store.dispose()


def _require_org(store: Any, org: str) -> Any:
    found = store.org(org)
    if found is None:
        hint = " (deploy it with `tessera metadata deploy`)" if org == "default" else ""
        _fail(f"there is no org called '{org}'{hint}; `tessera orgs create {org}` creates it")
    if not found.active:
        _fail(f"the org '{org}' is deactivated")
    return found


def _check_role(settings: dict[str, Any], org: str, role: str) -> None:
    """Refuse a role the org's metadata does not define (when it defines roles at all)."""
    from tessera.cli import _print_problems
    from tessera.metadata.errors import MetadataError
    from tessera.plugins import PluginError
    from tessera.storage.sync import SyncError, open_org_storage

    try:
        db, registry = open_org_storage(settings, org)
    except MetadataError as exc:
        _print_problems(exc.problems)
        sys.exit(1)
    except (SyncError, PluginError) as exc:
        _fail(str(exc))
    db.dispose()
    roles = getattr(registry, "roles", None) or {}
    if roles and role not in roles:
        _fail(f"the org '{org}' has no role '{role}' (its roles: {', '.join(sorted(roles))})")


# ------------------------------------------------------------------------------ users

@click.group("users")
def users_group() -> None:
    """Create users, list them, set passwords and issue API tokens."""


@users_group.command("create")
@click.argument("username")
@_ORG
@click.option("--role", required=True, help="The user's role, one the org's metadata defines (e.g. sales_rep).")
@click.option("--password", default=None,
              help="The password; asked for (hidden, twice) when omitted. A password given here may "
                   "stay in the shell history: prefer the prompt.")
@click.option("--name", default=None, help="The full name shown to others (default: USERNAME).")
@click.option("--email", default=None, help="E-mail address.")
@click.option("--locale", type=click.Choice(["en", "zh-CN"]), default="en", show_default=True, help="Language.")
@click.option("--time-zone", default="UTC", show_default=True, help="IANA time zone, e.g. Asia/Shanghai.")
@click.option("--manager", default=None, metavar="USERNAME", help="The user's manager, a user of the same org.")
def users_create(username: str, org: str, role: str, password: str | None, name: str | None, email: str | None,
                 locale: str, time_zone: str, manager: str | None) -> None:
    """Create the user USERNAME in an org."""
    from tessera.security.store import check_time_zone

    with _platform() as (settings, store):
        _require_org(store, org)
        check_time_zone(time_zone)
        if manager and store.user(org, manager) is None:
            _fail(f"the org '{org}' has no user '{manager}' to be the manager")
        if store.user(org, username) is not None:
            _fail(f"the org '{org}' already has a user called '{username.strip().lower()}'")
        _check_role(settings, org, role)
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
        user = store.create_user(org, username, password, role, name=name, email=email, locale=locale,
                                 time_zone=time_zone, manager=manager)
        click.echo(f"created user {user.username} (id {user.id}) in org {user.org} with role {user.role}")


@users_group.command("password")
@click.argument("username")
@_ORG
def users_password(username: str, org: str) -> None:
    """Set a new password for USERNAME (asked for, hidden, twice). Their sessions end."""
    with _platform() as (_settings, store):
        _require_org(store, org)
        user = store.user(org, username)
        if user is None:
            _fail(f"the org '{org}' has no user '{username}'")
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
        store.set_password(user, password)
        click.echo(f"changed the password of {user.username} in org {user.org}")


@users_group.command("token")
@click.argument("username")
@_ORG
@click.option("--name", default="cli", show_default=True, help="What the token is for (shown in token lists).")
def users_token(username: str, org: str, name: str) -> None:
    """Create an API token for USERNAME and print it, alone, on the last line (it is shown
    only this once: only its hash is kept)."""
    with _platform() as (_settings, store):
        _require_org(store, org)
        user = store.user(org, username)
        if user is None:
            _fail(f"the org '{org}' has no user '{username}'")
        if not user.active:
            _fail(f"the user '{user.username}' of org '{org}' is deactivated")
        plain, info = store.create_token(user, name)
        click.echo(f"created API token '{info.name}' (id {info.id}) for {user.username} in org {user.org}; "
                   "it is shown once, on the next line:")
        click.echo(plain)


@users_group.command("list")
@_ORG
def users_list(org: str) -> None:
    """The users of an org: user name, role, name, e-mail, manager, and whether active."""
    with _platform() as (_settings, store):
        _require_org(store, org)
        users = store.users(org)
        by_id = {u.id: u.username for u in users}
        rows = [(u.username, u.role, u.name, u.email or "", by_id.get(u.manager_id, "") if u.manager_id else "",
                 "active" if u.active else "inactive") for u in users]
        _table(("username", "role", "name", "email", "manager", "status"), rows)
        if not users:
            click.echo(f"no users in org {org} yet: tessera users create USERNAME --org {org} --role ROLE")


# ------------------------------------------------------------------------------ orgs

@click.group("orgs")
def orgs_group() -> None:
    """Create and list orgs (tenants)."""


@orgs_group.command("create")
@click.argument("name")
@click.option("--label", default=None, help="A display name (default: NAME).")
@click.option("--template", "templates", multiple=True, metavar="NAME",
              help="Also install this template package (repeatable), e.g. saas.")
def orgs_create(name: str, label: str | None, templates: tuple[str, ...]) -> None:
    """Create the org NAME (lowercase letters, digits and _) and deploy its records' tables."""
    from tessera.cli import _print_problems
    from tessera.metadata.errors import MetadataError
    from tessera.orgs import create_org
    from tessera.plugins import PluginError

    with _platform() as (settings, store):
        try:
            created = create_org(settings, name, label=label, templates=templates, actor=_who(), store=store)
        except MetadataError as exc:
            _print_problems(exc.problems)
            sys.exit(1)
        except PluginError as exc:
            _fail(str(exc))
        org, result = created.org, created.deploy
        click.echo(f"created org {org.name} ({org.label})")
        click.echo(f"records: {created.location}")
        shown = ", ".join(f"{p['name']} {p['version']}" for p in result.packages)
        click.echo(f"deployed {len(result.steps)} step{'s' if len(result.steps) != 1 else ''} in one transaction "
                   f"(deployment {result.deployment_id}; packages: {shown})")
        click.echo(f"next: tessera users create USERNAME --org {org.name} --role ROLE")


@orgs_group.command("list")
def orgs_list() -> None:
    """Every org: name, label, users, created, and whether active."""
    with _platform() as (_settings, store):
        orgs = store.orgs()
        rows = [(o.name, o.label, str(len(store.users(o))), o.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                 "active" if o.active else "inactive") for o in orgs]
        _table(("name", "label", "users", "created", "status"), rows)
        if not orgs:
            click.echo("no orgs yet: tessera orgs create NAME (or tessera metadata deploy for 'default')")


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    if not rows:
        return
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
