"""The ``tessera`` command. Exit 0 on success, 1 on a user error with a message; no tracebacks."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import click
from flask.cli import FlaskGroup

from .metadata.errors import MetadataError, Problem


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


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem))
    files = len({p.location.file for p in problems})
    click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {files} "
               f"file{'s' if files != 1 else ''}", err=True)


@cli.command("serve", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=None, help="Port (default: $PORT or 5000).")
@click.option("--workers", type=int, default=2, show_default=True, help="Worker processes.")
def serve(host: str, port: int | None, workers: int) -> None:
    """Serve Tessera with gunicorn."""
    from gunicorn.app.base import BaseApplication

    from .app import create_app

    port = port or int(os.environ.get("PORT", "5000"))
    try:
        app = create_app()  # fail here, with readable problems, rather than in every worker
    except MetadataError as exc:
        _print_problems(exc.problems)
        sys.exit(1)

    class _Server(BaseApplication):  # gunicorn's documented embedding API
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")

        def load(self) -> Any:
            return app

    click.echo(f"Tessera is serving http://{host}:{port}", err=True)
    _Server().run()


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
@click.argument("kind", type=click.Choice(["package", "object", "flow", "report", "dashboard", "app", "common"]))
def schema(kind: str) -> None:
    """Print the JSON Schema of a document KIND, for editors (YAML language server, IDEs)."""
    import json

    from .fieldtypes import default_field_types
    from .metadata.schema import SchemaSet

    click.echo(json.dumps(SchemaSet(default_field_types()).schema(kind), indent=2, ensure_ascii=False))


def main() -> None:
    """Entry point of the console script."""
    try:
        cli.main(prog_name="tessera")
    except MetadataError as exc:  # e.g. an app-level command found broken metadata
        _print_problems(exc.problems)
        sys.exit(1)
