"""``tessera demo load``: open the org, load the demo, print what it holds. Exit codes: 0 when
loaded or already loaded, 1 with a readable message (never a traceback) otherwise."""

from __future__ import annotations

import datetime as dt
import os

import click

from .loader import DEFAULT_SEED, MARKER, DemoRefused, DemoResult, load_demo
from .users import describe
from .writes import DemoDataError


def load(*, org: str = "default", scale: float = 1.0, seed: int = DEFAULT_SEED, today: dt.date | None = None,
         reset: bool = False) -> int:
    """Run the command; returns the exit code."""
    import sqlalchemy as sa

    from tessera.config import load_settings
    from tessera.metadata.errors import MetadataError
    from tessera.storage.sync import SyncError, open_org

    if scale <= 0:
        click.echo("--scale must be above 0 (e.g. 0.1 for a quick demo, 10 for benchmarks)", err=True)
        return 1
    settings = load_settings()
    try:
        db, registry = open_org(settings, org)
    except SyncError as exc:
        click.echo(str(exc), err=True)
        return 1
    except MetadataError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        return 1
    try:
        result = load_demo(registry, db, scale=scale, seed=seed, today=today, reset=reset)
    except DemoDataError as exc:
        click.echo(exc.render(), err=True)
        click.echo("nothing was kept: the org is empty again", err=True)
        return 1
    except (DemoRefused, SyncError) as exc:
        click.echo(str(exc), err=True)
        return 1
    except sa.exc.SQLAlchemyError as exc:
        click.echo(f"the demo could not be loaded, nothing was kept: {exc}", err=True)
        return 1
    finally:
        db.dispose()
    created = ensure_demo_users(settings, org)
    if result.already_loaded:
        click.echo(f"The demo is already loaded in org '{org}' ({MARKER[0]} {MARKER[2]} exists); nothing was "
                   "changed. Run with --reset to empty the org and load it again.")
    else:
        click.echo(summary(result, org))
    if created:
        click.echo(f"Created {created} demo users in org '{org}'.")
    click.echo(login_hint(settings, org))
    return 0


def demo_password(settings: dict) -> str:
    """The demo users' password: TESSERA_DEMO_PASSWORD, or a documented default for a local demo."""
    return str(settings.get("DEMO_PASSWORD") or "tessera-demo")


def ensure_demo_users(settings: dict, org: str) -> int:
    """Create the demo's users (same ids as the records they own) where they are missing."""
    from tessera.security.store import PlatformStore

    from .users import DEMO_USERS

    store = PlatformStore.from_settings(settings)
    created = 0
    try:
        for demo_user in DEMO_USERS:  # managers come before their reports
            if store.user(org, demo_user.login) is not None:
                continue
            name = demo_user.name_zh if demo_user.locale == "zh-CN" else demo_user.name_en
            store.create_user(org, demo_user.login, demo_password(settings), demo_user.role, name=name,
                              email=demo_user.email, locale=demo_user.locale, time_zone="Asia/Shanghai",
                              manager=demo_user.manager_id, id=demo_user.id)
            created += 1
    finally:
        store.db.dispose()
    return created


def login_hint(settings: dict, org: str) -> str:
    port = os.environ.get("PORT", "5000")
    return (f"Demo login: http://127.0.0.1:{port}/login  org {org}, user admin, password {demo_password(settings)}\n"
            "  (also zhang.wei - sales rep, liu.yang - sales manager, gao.feng - finance; same password)")


def summary(result: DemoResult, org: str) -> str:
    """The counts per object, the time taken, and who the records belong to."""
    headline = (f"Loaded the demo company into org '{org}': {result.total:,} records in {result.seconds:.1f} s "
                f"(seed {result.seed}, scale {result.scale:g}, current on {result.today}; "
                f"{sum(result.updates.values()):,} updates, {result.units:,} units of work).")
    lines = [headline, ""]
    width = max(len(name) for name in result.counts)
    lines += [f"  {name:<{width}}  {count:>7,}" for name, count in result.counts.items()]
    lines += ["", "Demo users (their records carry these ids as owner and author):"]
    lines += [f"  {line}" for line in describe()]
    return "\n".join(lines)
