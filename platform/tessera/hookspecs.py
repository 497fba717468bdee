"""The plugin contract: every hook a plugin may implement.

Rules every hook follows (docs/plugins.md says more, with an example per hook):

* Hooks are called with keyword arguments only. An implementation may accept fewer arguments
  than the spec names, so arguments can be added later without breaking anyone; none is ever
  renamed or removed.
* Each spec states its result rule: **list** (every plugin's answer, ``None`` answers dropped)
  or **first** (``firstresult``: the first answer that is not ``None`` wins).
* Order only through ``tryfirst``, ``trylast`` or ``wrapper=True``; built-in plugins are
  registered first, so an outside plugin's answer comes before theirs in a list hook.
* Hooks return data rather than mutate the engine. Record hooks run inside the write's
  transaction: raising refuses the write and rolls everything back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # the types hooks exchange; imported lazily to keep this module light
    from flask import Blueprint

    from tessera.expressions import FunctionSpec
    from tessera.fieldtypes import FieldType
    from tessera.flows.steps import FlowStepType, FlowTriggerType
    from tessera.jobs.periodic import PeriodicJob
    from tessera.jobs.types import JobType
    from tessera.metadata.model import ObjectDef
    from tessera.metadata.registry import Registry
    from tessera.notifications.email import EmailSender
    from tessera.records.actions import ActionDef
    from tessera.records.service import Actor, UnitOfWork
    from tessera.web.extensions import MenuEntry, RecordPanel

PROJECT = "tessera"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# ============================================================================= metadata

@hookspec
def tessera_metadata_packages() -> Sequence[Path]:
    """Folders of metadata packages this plugin ships (each holds a package.yaml); they are
    installed in every org while the plugin is enabled. Result: list."""


@hookspec
def tessera_register_field_types() -> Sequence[FieldType]:
    """Field types this plugin adds (FieldType instances); a name registered twice stops
    start-up naming both plugins. Result: list."""


@hookspec
def tessera_register_formula_functions() -> Sequence[FunctionSpec]:
    """Formula functions this plugin adds (FunctionSpec); they are type-checked like the
    built-ins and usable in every formula. Result: list."""


# ============================================================================= records

@hookspec
def tessera_record_before_validate(
    object: ObjectDef, record: Mapping[str, Any], prior: Mapping[str, Any] | None, action: str,
    actor: Actor, org: str, work: UnitOfWork,
) -> Mapping[str, Any] | None:
    """Values to set on a record before it is checked (normalise a phone, derive a field):
    ``{field: value}``. Called on create and update. Result: list, applied in order."""


@hookspec
def tessera_record_before_save(
    object: ObjectDef, record: Mapping[str, Any], prior: Mapping[str, Any] | None,
    changes: Mapping[str, tuple[Any, Any]], action: str, actor: Actor, org: str, work: UnitOfWork,
) -> Mapping[str, Any] | None:
    """Problems that refuse the write, after the record passed its own checks:
    ``{field: message}`` (text, a bilingual ``{en:, zh-CN:}`` mapping, or a list of them; the
    field ``_record`` for the whole record). Result: list, all problems reported together."""


@hookspec
def tessera_record_after_save(
    object: ObjectDef, record: Mapping[str, Any], prior: Mapping[str, Any] | None,
    changes: Mapping[str, tuple[Any, Any]], action: str, actor: Actor, org: str, work: UnitOfWork,
) -> None:
    """A record was created or updated, in its transaction: write related records through
    ``work``; raise to roll everything back. Result: ignored."""


@hookspec
def tessera_record_after_commit(
    object: ObjectDef, record: Mapping[str, Any], prior: Mapping[str, Any] | None,
    changes: Mapping[str, tuple[Any, Any]], action: str, actor: Actor, org: str,
) -> None:
    """A write (create, update, delete, restore) was committed: queue follow-up work (jobs,
    webhooks). Raising is logged, not undone. Result: ignored."""


@hookspec
def tessera_record_before_delete(
    object: ObjectDef, record: Mapping[str, Any], hard: bool, actor: Actor, org: str, work: UnitOfWork,
) -> Mapping[str, Any] | None:
    """Problems that refuse a delete: ``{field or "_record": message}``. Result: list."""


# ============================================================================= actions

@hookspec
def tessera_register_actions() -> Sequence[ActionDef]:
    """Record actions (buttons on record pages; ``POST /api/v1/{object}/{id}/actions/{name}``)
    with their input schema, permission and handler. Result: list."""


# ============================================================================= flows and jobs

@hookspec
def tessera_register_flow_steps() -> Sequence[FlowStepType]:
    """Step types flows may use (``steps: [{type: <name>, ...}]``). Result: list."""


@hookspec
def tessera_register_flow_triggers() -> Sequence[FlowTriggerType]:
    """Trigger types flows may start from (``trigger: {type: <name>}``). Result: list."""


@hookspec
def tessera_register_periodic_jobs() -> Sequence[PeriodicJob]:
    """Jobs run on a schedule (a cron expression and a task). Result: list."""


@hookspec
def tessera_register_job_types() -> Sequence[JobType]:
    """Kinds of background job (JobType: a name and a handler) that ``tessera.jobs.enqueue``
    may queue; a name registered twice stops start-up naming both plugins. Result: list."""


@hookspec
def tessera_register_email_senders() -> Sequence[EmailSender]:
    """Ways to deliver e-mail (EmailSender: a name and ``send(message, settings)``), chosen
    with the EMAIL_SENDER setting; a plugin's sender of a built-in's name replaces it.
    Result: list."""


# ============================================================================= web and API

@hookspec
def tessera_register_blueprints() -> Sequence[Blueprint]:
    """Flask blueprints with the plugin's routes, registered on the app. Result: list."""


@hookspec
def tessera_template_folders() -> Sequence[Path]:
    """Folders of Jinja2 templates searched before the engine's, so a plugin may add
    templates or override the engine's. Result: list (earlier plugins win)."""


@hookspec
def tessera_static_folders() -> Sequence[tuple[str, Path]]:
    """Static files: ``(name, folder)`` pairs served at ``/static/plugins/<name>/``.
    Result: list."""


@hookspec
def tessera_record_panels(object: ObjectDef, record: Mapping[str, Any], actor: Actor, org: str
                          ) -> Sequence[RecordPanel]:
    """Panels shown on a record's page (a score breakdown, a price explanation). Result: list."""


@hookspec
def tessera_menu_entries(actor: Actor, org: str) -> Sequence[MenuEntry]:
    """Entries for the navigation menu. Result: list."""


@hookspec
def tessera_openapi(registry: Registry) -> Mapping[str, Any] | None:
    """OpenAPI 3.1 fragments for the plugin's own routes: ``{"paths": {...},
    "components": {"schemas": {...}}}``, merged into ``/api/v1/openapi.json`` (actions are
    documented from their ActionDef already). Result: list."""
