"""``tessera flows list``, ``tessera flows test FLOW --record ID`` and ``tessera flows check``:
see the org's flows, what one would do to a record without writing anything, and run the flow
tests its packages ship beside their flows (``flows/<flow>.test.yaml``, see flows/testing.py).

A dry run runs the flow for real inside a transaction that is then rolled back: every step does
its work (so what it reports is what would happen, validation and permissions included), and
nothing is kept. Exit 0 when the flow ran (or its entry condition kept it from starting), 1
with a message when it cannot run or a step fails.
"""

from __future__ import annotations

import sys
from typing import Any

import click

_ORG = click.option("--org", default="default", show_default=True, help="The org whose flows to use.")


def register(group: click.Group) -> None:
    group.add_command(flows_group)


@click.group("flows")
def flows_group() -> None:
    """Look at flows and try them on a record."""


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _records(org: str) -> Any:
    from tessera.app import ORGS_KEY, create_app
    from tessera.orgs import UnknownOrg

    app = create_app()
    try:
        return app.extensions[ORGS_KEY].records(org)
    except UnknownOrg:
        _fail(f"there is no org '{org}'")


@flows_group.command("list")
@_ORG
def flows_list(org: str) -> None:
    """Every flow of the org: name, kind, object, what starts it, active or not."""
    service = _records(org)
    flows = service.flows.flows
    if not flows:
        click.echo("no flows")
        return
    for flow in flows.values():
        if flow.kind == "record":
            starts = f"{'/'.join(sorted(flow.events))} {flow.timing}"
        elif flow.kind == "stage_machine" and flow.stage_machine is not None:
            starts = f"changes of {flow.stage_machine.field}"
        else:
            starts = flow.schedule or flow.kind
        state = "active" if flow.active else "inactive"
        click.echo(f"{flow.name:<32} {flow.kind:<14} {flow.object or '-':<20} {starts:<28} {state}")


@flows_group.command("test")
@click.argument("flow")
@click.option("--record", "record_id", type=int, required=True, help="The id of the record to run the flow on.")
@click.option("--set", "changes", multiple=True, metavar="FIELD=VALUE",
              help="Run as for an update that sets FIELD to VALUE (repeatable), e.g. --set stage=won.")
@click.option("--as-update/--as-create", default=True, show_default=True,
              help="Run as for an update of the record or as for its creation.")
@_ORG
def flows_test(flow: str, record_id: int, changes: tuple[str, ...], as_update: bool, org: str) -> None:
    """Show what FLOW would do to a record, without writing anything."""
    from tessera.records import RecordError, ValidationFailed

    values = {}
    for item in changes:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            _fail(f"--set {item}: write FIELD=VALUE")
        values[name.strip()] = value

    service = _records(org)
    found = service.flows.flows.get(flow)
    if found is None:
        known = ", ".join(service.flows.flows) or "none"
        _fail(f"there is no flow '{flow}' in org {org} (flows: {known})")
    if found.kind != "record" or found.object is None:
        _fail(f"flow '{flow}' is a {found.kind.replace('_', ' ')}; only record-triggered flows can be tried on a record")
    try:
        log = service.flows.dry_run(found, record_id, changes=values, as_update=as_update)
    except ValidationFailed as exc:
        details = "; ".join(f"{'record' if k == '_record' else k}: {' '.join(v)}" for k, v in exc.messages().items())
        _fail(f"flow '{flow}' would fail on {found.object} {record_id}: {details}")
    except RecordError as exc:
        _fail(f"flow '{flow}' would fail on {found.object} {record_id}: {exc.message('en')}")
    for line in log:
        click.echo(line)
    click.echo("dry run: nothing was written")


@flows_group.command("check")
@click.argument("names", nargs=-1, metavar="[FLOW]...")
@_ORG
def flows_check(names: tuple[str, ...], org: str) -> None:
    """Run the flow tests shipped beside the org's flows (all, or those of FLOW...); nothing
    is written. Exit 1 when a case fails."""
    from .testing import FlowTestError, find_test_files, run_test_file

    service = _records(org)
    try:
        files = [f for f in find_test_files(service.registry) if not names or f.flow in names]
        unknown = sorted(set(names) - set(service.flows.flows))
        if unknown:
            _fail(f"there is no flow {', '.join(repr(n) for n in unknown)} in org {org}")
        if not files:
            click.echo("no flow tests" + (f" for {', '.join(names)}" if names else ""))
            return
        failed = total = 0
        for test in files:
            for result in run_test_file(service, test):
                total += 1
                mark = "ok  " if result.passed else "FAIL"
                click.echo(f"{mark} {result.flow}: {result.name}")
                for failure in result.failures:
                    click.echo(f"       {failure}")
                failed += not result.passed
    except FlowTestError as exc:
        _fail(str(exc))
    click.echo(f"{total - failed} of {total} flow test case(s) passed; nothing was written")
    if failed:
        sys.exit(1)
