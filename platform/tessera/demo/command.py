"""``tessera demo load``: open the org, load the demo, print what it holds. Exit codes: 0 when
loaded or already loaded, 1 with a readable message (never a traceback) otherwise."""

from __future__ import annotations

import datetime as dt

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
    try:
        db, registry = open_org(load_settings(), org)
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
    if result.already_loaded:
        click.echo(f"The demo is already loaded in org '{org}' ({MARKER[0]} {MARKER[2]} exists); nothing was "
                   "changed. Run with --reset to empty the org and load it again.")
        return 0
    click.echo(summary(result, org))
    return 0


def summary(result: DemoResult, org: str) -> str:
    """The counts per object, the time taken, and who the records belong to."""
    headline = (f"Loaded the demo company into org '{org}': {result.total:,} records in {result.seconds:.1f} s "
                f"(seed {result.seed}, scale {result.scale:g}, current on {result.today}; "
                f"{sum(result.updates.values()):,} updates, {result.units:,} units of work).")
    lines = [headline, ""]
    width = max(len(name) for name in result.counts)
    lines += [f"  {name:<{width}}  {count:>7,}" for name, count in result.counts.items()]
    lines += ["", "Demo users — identity arrives with a later issue; records were written as these Actor ids",
              "(created_by, owner_id, history), so create the users with the same ids and logins:"]
    lines += [f"  {line}" for line in describe()]
    login = ("Demo login: not yet — once identity lands, sign in as e.g. zhang.wei (sales rep), "
             "liu.yang (sales manager) or gao.feng (finance).")
    lines += ["", login]
    return "\n".join(lines)
