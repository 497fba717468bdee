"""The ``tessera`` command. Exit 0 on success, 1 on a user error with a message; no tracebacks."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click
from flask.cli import FlaskGroup

from .metadata.errors import MetadataError, Problem
from .plugins import PluginError


def _create_app():
    from .app import create_app

    return create_app()


class TesseraGroup(FlaskGroup):
    """Flask's group, minus what does not fit a product command.

    Commands are listed without building the app, so ``--help`` and the commands that check
    metadata work even when the metadata is broken; Flask's ``--app``, ``--env-file`` and
    ``--debug`` options are dropped (the app is always Tessera's). Commands that need the app
    ask for it with ``with_appcontext``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(create_app=_create_app, add_default_commands=False, add_version_option=False,
                         load_dotenv=False, set_debug_flag=False, **kwargs)
        self.params = [p for p in self.params if p.name not in ("env_file", "app", "debug")]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return click.Group.list_commands(self, ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return click.Group.get_command(self, ctx, name)


@click.group(cls=TesseraGroup)
@click.version_option(package_name="tessera", prog_name="tessera")
def cli() -> None:
    """Tessera: a metadata-driven application platform."""


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _refused(exc: Any) -> NoReturn:
    """A deploy the storage refused (SyncRefused): its problems, the way out, exit 1."""
    click.echo(f"deploy refused, nothing was changed ({len(exc.problems)} "
               f"problem{'s' if len(exc.problems) != 1 else ''}):", err=True)
    for problem in exc.problems:
        click.echo(f"  - {problem}", err=True)
    if exc.forceable:
        click.echo("run again with --allow-destructive to apply these changes anyway", err=True)
    sys.exit(1)


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem))
    sys.stdout.flush()  # the summary goes to stderr: keep it after the problems when both are piped
    files = len({p.location.file for p in problems})
    click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {files} "
               f"file{'s' if files != 1 else ''}", err=True)


@cli.command("serve", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=None, help="Port (default: $PORT or 5000).")
@click.option("--workers", type=int, default=2, show_default=True, help="Worker processes.")
def serve(host: str, port: int | None, workers: int) -> None:
    """Serve Tessera with gunicorn. Without a broker, each worker process also runs the
    in-process job scheduler (periodic jobs, retries), so nothing else needs to run."""
    from gunicorn.app.base import BaseApplication

    port = port or int(os.environ.get("PORT", "5000"))
    app = _app_or_exit()  # fail here, with readable problems, rather than in every worker
    jobs = app.extensions["tessera.jobs"]

    def start_scheduler(_worker: Any) -> None:  # gunicorn's post_worker_init: in each worker process
        from .jobs.scheduler import Scheduler

        Scheduler(jobs).start()

    class _Server(BaseApplication):  # gunicorn's documented embedding API
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")
            if jobs.settings.eager:
                self.cfg.set("post_worker_init", start_scheduler)

        def load(self) -> Any:
            return app

    click.echo(f"Tessera is serving http://{host}:{port}", err=True)
    if jobs.settings.eager:
        click.echo("Jobs run in this server (no TESSERA_BROKER_URL), periodic jobs and retries included", err=True)
    else:
        click.echo("Jobs go to the broker: run `tessera worker` and `tessera beat` beside this server", err=True)
    _Server().run()


def _app_or_exit() -> Any:
    """The app, or exit 1 with readable problems (metadata, database, jobs or mail settings)."""
    from .app import create_app
    from .jobs import JobsError
    from .notifications.email import EmailError
    from .storage.sync import SyncError

    try:
        return create_app()
    except MetadataError as exc:
        _print_problems(exc.problems)
        sys.exit(1)
    except (SyncError, JobsError, EmailError) as exc:
        _fail(str(exc))


def _broker_app(command: str) -> Any:
    app = _app_or_exit()
    if app.extensions["tessera.jobs"].settings.eager:
        _fail(f"`tessera {command}` needs a broker: set TESSERA_BROKER_URL (redis://host:6379/0). Without one, "
              "jobs run in-process and `tessera serve` runs the schedule, so there is nothing to start.")
    return app


@cli.command("worker", with_appcontext=False)
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="Processes running jobs at once (default: one per CPU).")
@click.option("--pool", type=click.Choice(["prefork", "threads", "solo"]), default=None,
              help="Celery's execution pool (default: prefork).")
@click.option("--hostname", default=None, help="The worker's node name (default: tessera@<host>).")
@click.option("--loglevel", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
def worker(concurrency: int | None, pool: str | None, hostname: str | None, loglevel: str) -> None:
    """Run background jobs from the broker: a Celery worker on the TESSERA_JOBS_QUEUE queue."""
    from .jobs.tasks import run_worker

    run_worker(_broker_app("worker"), concurrency=concurrency, pool=pool, hostname=hostname, loglevel=loglevel)


@cli.command("beat", with_appcontext=False)
@click.option("--loglevel", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
def beat(loglevel: str) -> None:
    """Send periodic jobs to the broker when their cron schedules say (Celery beat; run one)."""
    from .jobs.tasks import run_beat

    run_beat(_broker_app("beat"), loglevel=loglevel)


@cli.group("metadata", cls=click.Group)
def metadata_group() -> None:
    """Check and manage metadata packages."""


@metadata_group.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check metadata files and packages: schemas, merges, references and formulas.

    PATH may be a package folder, a folder holding packages, or single files. With no PATH,
    the bundled packages are checked. Every problem is printed as file:line:col: message.
    """
    from .metadata.validate import validate_paths

    for path in paths:
        if not path.exists():
            _fail(f"{path}: no such file or folder")
    started = time.perf_counter()
    report = validate_paths(list(paths))
    elapsed = time.perf_counter() - started
    if report.problems:
        _print_problems(report.problems)
        sys.exit(1)
    click.echo(f"OK: {report.summary()} checked in {elapsed:.2f} s")


@metadata_group.command("schema")
@click.argument("kind", type=click.Choice(["package", "object", "flow", "report", "dashboard", "app", "role", "common"]))
def schema(kind: str) -> None:
    """Print the JSON Schema of a document KIND, for editors (YAML language server, IDEs)."""
    import json

    from .fieldtypes import default_field_types
    from .metadata.schema import SchemaSet

    click.echo(json.dumps(SchemaSet(default_field_types()).schema(kind), indent=2, ensure_ascii=False))



def _open_org(org: str, templates: tuple[str, ...]):
    """The org's database and registry for the metadata commands, or exit 1 with a message."""
    from .config import load_settings
    from .storage.sync import SyncError, open_org

    try:
        return open_org(load_settings(), org, templates=templates)
    except SyncError as exc:
        _fail(str(exc))
    except MetadataError as exc:
        _print_problems(exc.problems)
        sys.exit(1)


def _actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli"


_ORG_OPTION = click.option("--org", default="default", show_default=True, help="The org whose database is used.")
_TEMPLATE_OPTION = click.option("--template", "templates", multiple=True, metavar="NAME",
                                help="Also install this template package (repeatable); once deployed it stays installed.")


_OVERLAY_OPTION = click.option("--overlay", type=click.Path(path_type=Path), default=None, metavar="FOLDER",
                               help="An overlay package (e.g. from `tessera metadata export`) to make the org's "
                                    "overlay: its documents replace the stored ones (docs/overlay.md).")


@metadata_group.command("diff")
@_ORG_OPTION
@_TEMPLATE_OPTION
@_OVERLAY_OPTION
def metadata_diff(org: str, templates: tuple[str, ...], overlay: Path | None) -> None:
    """Show what `tessera metadata deploy` would change: each step in words and its SQL."""
    import sqlalchemy as sa

    from .storage.sync import SyncError, plan_sync

    if overlay is not None:
        from .storage.overlay_commands import diff_overlay

        diff_overlay(org, overlay, templates)
        return

    db, registry = _open_org(org, templates)
    try:
        plan = plan_sync(registry, db)
    except (SyncError, sa.exc.SQLAlchemyError) as exc:
        _fail(f"cannot compare with the database: {exc}")
    finally:
        db.dispose()
    click.echo(plan.render(sql=True))


@metadata_group.command("deploy")
@_ORG_OPTION
@click.option("--allow-destructive", is_flag=True,
              help="Apply type changes that truncate, round or blank existing values.")
@_TEMPLATE_OPTION
@_OVERLAY_OPTION
def metadata_deploy(org: str, allow_destructive: bool, templates: tuple[str, ...], overlay: Path | None) -> None:
    """Make the org's database match its metadata, in one transaction, losing nothing.

    Removed fields are renamed aside, never dropped; changes that would lose data are refused
    with the count of affected rows (--allow-destructive applies the type changes among them).
    With --overlay FOLDER, FOLDER becomes the org's overlay (recorded in its change history).
    """
    import sqlalchemy as sa

    from .storage.sync import SyncError, SyncRefused, deploy

    if overlay is not None:
        from .storage.overlay_commands import deploy_overlay

        deploy_overlay(org, overlay, templates, allow_destructive)
        return

    db, registry = _open_org(org, templates)
    try:
        result = deploy(registry, db, allow_destructive=allow_destructive, actor=_actor())
    except SyncRefused as exc:
        _refused(exc)
    except SyncError as exc:
        _fail(str(exc))
    except sa.exc.SQLAlchemyError as exc:
        _fail(f"deploy failed, nothing was changed: {exc}")
    finally:
        db.dispose()
    if not result.applied:
        click.echo("nothing to change")
        return
    for number, words in enumerate(result.steps, 1):
        click.echo(f"{number}. {words}")
    for refusal in result.destructive:
        click.echo(f"applied anyway (--allow-destructive): {refusal.message}")
    shown = ", ".join(f"{p['name']} {p['version']}" for p in result.packages)
    click.echo(f"deployed {len(result.steps)} step{'s' if len(result.steps) != 1 else ''} in one transaction "
               f"(deployment {result.deployment_id}; packages: {shown})")

@cli.group("plugins", cls=click.Group)
def plugins_group() -> None:
    """See and start plugins."""


@plugins_group.command("list")
def plugins_list() -> None:
    """Each loaded plugin: its version, the hooks it implements and the metadata it ships."""
    from .config import load_settings
    from .plugins import PluginError, Plugins

    try:
        loaded = Plugins.load(load_settings().get("PLUGINS"))
    except PluginError as exc:
        _fail(str(exc))
    for plugin in loaded.info():
        kind = "built-in" if plugin.builtin else plugin.module
        click.echo(f"{plugin.name} {plugin.version} ({kind})")
        for hook in plugin.hooks:
            click.echo(f"  hook      {hook}")
        for package in plugin.packages:
            click.echo(f"  metadata  {package}")


@plugins_group.command("new")
@click.argument("name")
@click.option("--into", type=click.Path(file_okay=False, path_type=Path), default=Path("plugins"),
              show_default=True, help="The folder the plugin package is created in.")
def plugins_new(name: str, into: Path) -> None:
    """Create a working plugin package NAME: entry point, a hook, a metadata package, a test."""
    from .scaffold import ScaffoldError, new_plugin

    try:
        root = new_plugin(name, into)
    except ScaffoldError as exc:
        _fail(str(exc))
    click.echo(f"created {root}")
    click.echo(f"next: pip install -e {root} && tessera plugins list && pytest {root}")


from .security.commands import register as _register_identity; _register_identity(cli)  # users, orgs
from .flows.commands import register as _register_flows; _register_flows(cli)  # flows list / test
from .storage.overlay_commands import register as _register_overlay; _register_overlay(metadata_group)  # export


@cli.group("demo", cls=click.Group)
def demo_group() -> None:
    """Demo data for trying Tessera out."""


@demo_group.command("load")
@click.option("--org", default="default", show_default=True, help="The org to load the demo into.")
@click.option("--scale", type=float, default=1.0, show_default=True,
              help="Multiply the volumes (1: ~1,000 leads, 200 opportunities; 10 for benchmarks).")
@click.option("--seed", type=int, default=42, show_default=True, help="The same seed gives the same data.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The date the demo is current on (default: today in China).")
@click.option("--reset", is_flag=True, help="Empty the org first: deletes every record, not only the demo's.")
def demo_load(org: str, scale: float, seed: int, today: Any, reset: bool) -> None:
    """Load a believable L2C company through the record service (deploys the schema if needed)."""
    from .demo.command import load

    sys.exit(load(org=org, scale=scale, seed=seed, today=today.date() if today else None, reset=reset))


def main() -> None:
    """Entry point of the console script."""
    try:
        cli.main(prog_name="tessera")
    except MetadataError as exc:  # e.g. an app-level command found broken metadata
        _print_problems(exc.problems)
        sys.exit(1)
    except PluginError as exc:
        _fail(str(exc))
