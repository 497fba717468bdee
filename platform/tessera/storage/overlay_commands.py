"""The org overlay on the command line: ``tessera metadata export --org O --out DIR`` writes it
as a package; ``tessera metadata diff --overlay DIR`` shows what making DIR the org's overlay
would change and ``tessera metadata deploy --overlay DIR`` does it, through the same path as
the admin screens (:class:`~.overlay.MetadataChanges`): planned, one transaction, a history row.
Exit 0 on success, 1 with a message on a user error; never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click


def register(group: click.Group) -> None:
    group.add_command(metadata_export)


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(1)


def _print_problems(problems: Sequence[Any]) -> NoReturn:
    """Every problem as ``file:line:col: message`` (as `tessera metadata validate`), then exit 1."""
    from tessera.cli import _print_problems as print_problems

    print_problems(list(problems))
    click.echo("nothing was changed", err=True)
    sys.exit(1)


class _Org:
    """The org's settings, plugins, database and the registry of its packages, for one
    command; exit 1 when it cannot be opened. The registry leaves the stored overlay out, so a
    stored overlay that no longer fits the packages can still be exported and replaced."""

    def __init__(self, org: str, templates: Sequence[str] = ()) -> None:
        from tessera.config import load_settings
        from tessera.metadata.errors import MetadataError
        from tessera.metadata.schema import SchemaSet
        from tessera.plugins import PluginError, Plugins
        from tessera.storage.sync import SyncError, open_org

        self.name = org
        self.templates = tuple(templates)
        self.settings = load_settings()
        try:
            self.plugins = Plugins.load(self.settings.get("PLUGINS"))
            self.db, self.registry = open_org(self.settings, org, templates=templates, plugins=self.plugins,
                                              overlay=())
        except SyncError as exc:
            _fail(str(exc))
        except PluginError as exc:
            _fail(str(exc))
        except MetadataError as exc:
            _print_problems(exc.problems)
        self.schemas = SchemaSet(self.plugins.field_types)

    def changes(self) -> Any:
        from .overlay import MetadataChanges

        return MetadataChanges(self.settings, self.name, self.db, plugins=self.plugins, templates=self.templates)

    def installed(self) -> list[str]:
        """The packages the org installs, dependencies first (its overlays left out)."""
        from tessera.metadata.overlay import ORG_OVERLAY

        folder = self.settings.get("OVERLAY_DIR") if self.name == "default" else None
        folder_path = Path(folder).resolve() if folder else None
        return [p.name for p in self.registry.packages
                if p.name != ORG_OVERLAY and not (folder_path and Path(p.path).resolve() == folder_path)]

    def close(self) -> None:
        self.db.dispose()


@click.command("export")
@click.option("--org", default="default", show_default=True, help="The org whose overlay is written.")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="The package folder to write (new, empty, or an earlier export).")
def metadata_export(org: str, out: Path) -> None:
    """Write the org's overlay (what its admins and overlay deploys changed) as a YAML package:
    package.yaml and one file per document in objects/, flows/, roles/, apps/, ... Keys in a
    fixed order, no timestamps or generated ids: exporting again with no change writes the same
    bytes, and `tessera metadata deploy --overlay OUT --org OTHER` reproduces it elsewhere."""
    from tessera.metadata.overlay import write_package

    from .sync import SyncError

    target = _Org(org)
    try:
        documents = target.changes().documents()
        changed = write_package(out, documents, target.schemas, target.installed())
    except (SyncError, ValueError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")
    finally:
        target.close()
    if not documents:
        click.echo(f"the overlay of org '{org}' is empty: {out} holds only package.yaml")
    kinds: dict[str, int] = {}
    for document in documents:
        kinds[document.kind] = kinds.get(document.kind, 0) + 1
    shown = ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in sorted(kinds.items()))
    click.echo(f"exported the overlay of org '{org}' to {out}"
               f"{f' ({shown})' if shown else ''}; {len(changed)} file{'s' if len(changed) != 1 else ''} changed")


def _read_folder(target: _Org, folder: Path, stored: Sequence[Any]) -> list[Any]:
    """The changes that make ``folder`` the org's overlay: its documents, and the removal of
    the ``stored`` documents it does not hold."""
    from tessera.metadata.errors import Problems
    from tessera.metadata.overlay import read_package_folder

    from .overlay import DocumentChange

    if not folder.is_dir():
        _fail(f"{folder}: no such folder (give the folder of an overlay package)")
    problems = Problems()
    manifest, documents = read_package_folder(folder, target.schemas, problems)
    if problems:
        _print_problems(list(problems))
    if manifest is not None:
        missing = [d.name for d in manifest.depends if d.name not in target.installed()]
        if missing:
            shown = ", ".join(missing)
            _fail(f"the overlay in {folder} needs package{'s' if len(missing) > 1 else ''} {shown}, which org "
                  f"'{target.name}' does not install; deploy with "
                  + " ".join(f"--template {name}" for name in missing))
    wanted = {d.key for d in documents}
    return [*(DocumentChange(d.kind, d.name, d.data, d.source) for d in documents),
            *(DocumentChange.remove(d.kind, d.name) for d in stored if d.key not in wanted)]


def diff_overlay(org: str, folder: Path, templates: Sequence[str]) -> None:
    """`tessera metadata diff --overlay FOLDER`: the documents and the storage plan."""
    from .overlay import OverlayError
    from .sync import SyncError

    target = _Org(org, templates)
    try:
        service = target.changes()
        plan = service.plan(_read_folder(target, folder, service.documents()))
    except (OverlayError, SyncError) as exc:
        _fail(str(exc))
    finally:
        target.close()
    if plan.problems:
        for line in plan.describe():
            click.echo(line)
        _print_problems(plan.problems)
    click.echo(plan.render(sql=True))


def deploy_overlay(org: str, folder: Path, templates: Sequence[str], allow_destructive: bool) -> None:
    """`tessera metadata deploy --overlay FOLDER`: make FOLDER the org's overlay, in one
    transaction, with a history row; refused when another change arrives meanwhile."""
    import sqlalchemy as sa

    from tessera.cli import _actor, _refused

    from .overlay import Conflict, InvalidChange, OverlayError
    from .sync import SyncError, SyncRefused

    target = _Org(org, templates)
    try:
        service = target.changes()
        stored = service.documents()
        changes = _read_folder(target, folder, stored)
        expected = {d.key: d.version for d in stored}
        expected.update({c.key: 0 for c in changes if c.key not in expected})
        result = service.apply(changes, expected_versions=expected, actor=_actor(),
                               summary=f"deploy the overlay package {folder.name or folder}",
                               allow_destructive=allow_destructive)
    except InvalidChange as exc:
        _print_problems(exc.problems)
    except SyncRefused as exc:
        _refused(exc)
    except Conflict as exc:
        _fail(f"{exc} (run the deploy again)")
    except (OverlayError, SyncError) as exc:
        _fail(str(exc))
    except sa.exc.SQLAlchemyError as exc:
        _fail(f"deploy failed, nothing was changed: {exc}")
    finally:
        target.close()
    if not result.applied:
        click.echo(f"the overlay of org '{org}' already holds {folder}: nothing to change")
        if templates:
            click.echo("(templates are installed by `tessera metadata deploy --template NAME` without --overlay)")
        return
    for line in result.plan.describe():
        click.echo(line)
    storage = result.storage
    steps = storage.steps if storage is not None else []
    for number, words in enumerate(steps, 1):
        click.echo(f"{number}. {words}")
    for refusal in storage.destructive if storage is not None else []:
        click.echo(f"applied anyway (--allow-destructive): {refusal.message}")
    documents = len(result.versions)
    deployment = f"; deployment {storage.deployment_id}" if storage is not None and storage.applied else ""
    click.echo(f"deployed {documents} document{'s' if documents != 1 else ''} and {len(steps)} "
               f"step{'s' if len(steps) != 1 else ''} in one transaction (change {result.change_id}{deployment})")
