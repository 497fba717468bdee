"""``POST /api/v1/{object}/bulk``: create, update or upsert up to 1,000 records in one call.

::

    {"operation": "upsert", "external_id": "credit_code", "all_or_none": false,
     "records": [{"credit_code": "91310000MA1FL8XQ3B", "name": "Acme"}, ...]}

Rows run in order, in one transaction, each in its own savepoint (the record service's batch
rows), so a refused row leaves no trace. The answer has one result per row:
``{"index", "status", "id", "version", "errors"}`` with status 201 (created), 200 (updated) or
the status of the problem that refused it (422, 404, 409, 403). With ``all_or_none`` (the
default) one refused row undoes the whole batch: the answer is a 422 ``batch-failed`` problem
whose ``results`` show the refused rows and mark the good ones 424 (not saved because another
row failed).

* ``update`` rows carry ``id`` and the ``version`` they read (a stale row gets 409).
* ``upsert`` matches rows to records by ``external_id``, a unique field of the object: a match
  is updated (at the row's ``version`` when it gives one), anything else is created. Two rows
  with the same external id in one batch: the first creates, the second updates.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tessera.expressions import FormulaType
from tessera.records import errors as E
from tessera.records.errors import Problem, RecordError, StaleRecord, ValidationFailed
from tessera.storage.query import MAX_LIMIT

from .context import Caller, caller, refuse_unknown_parameters
from .messages import say
from .problems import ApiProblem, problem
from .serialize import json_response, read_json

OPERATIONS = ("create", "update", "upsert")
MEMBERS = frozenset({"operation", "records", "all_or_none", "external_id"})
#: the most rows one call takes
MAX_ROWS = 1000
#: the permissions each operation needs on the object, checked before any row runs
NEEDS = {"create": ("create",), "update": ("edit",), "upsert": ("create", "edit")}


class _Undo(Exception):
    """Leaves the unit of work so that it rolls back, carrying the rows' results."""

    def __init__(self, results: list[dict[str, Any]]) -> None:
        self.results = results


def bulk(object_name: str) -> Any:
    who = caller()
    obj = who.object(object_name)
    refuse_unknown_parameters((), who.locale)
    body = read_json(who.locale)
    operation, rows, all_or_none, external_id = _checked(who, obj.name, body)
    for permission in NEEDS[operation]:
        who.access.require(obj.name, permission)
    try:
        with who.service.unit_of_work(who.actor) as work:
            results = _Rows(who, work, obj.name, external_id).run(operation, rows)
            if all_or_none and any(r["errors"] for r in results):
                raise _Undo(results)
    except _Undo as undone:
        for result in undone.results:
            if not result["errors"]:
                result.update(status=424, id=None, version=None)
        failed = sum(1 for r in undone.results if r["errors"])
        return problem("batch-failed", say("batch_failed", who.locale, failed=failed, total=len(rows)),
                       results=undone.results)
    return json_response({"results": results})


def _checked(who: Caller, object_name: str, body: Mapping[str, Any]) -> tuple[str, list[Any], bool, str | None]:
    """The request's members, or a 400 naming every one that is wrong."""
    errors: dict[str, list[str]] = {}
    for name in sorted(set(body) - MEMBERS):
        errors[name] = [say("bulk_unknown_member", who.locale, members=", ".join(sorted(MEMBERS)))]
    operation = body.get("operation")
    if operation not in OPERATIONS:
        errors["operation"] = [say("bulk_operation", who.locale, choices=", ".join(OPERATIONS), value=repr(operation))]
    rows = body.get("records")
    if not isinstance(rows, list) or not rows or len(rows) > MAX_ROWS:
        errors["records"] = [say("bulk_records", who.locale, max=MAX_ROWS)]
    elif not all(isinstance(row, dict) for row in rows):
        bad = [str(i) for i, row in enumerate(rows) if not isinstance(row, dict)][:10]
        errors["records"] = [say("bulk_not_objects", who.locale, rows=", ".join(bad))]
    all_or_none = body.get("all_or_none", True)
    if not isinstance(all_or_none, bool):
        errors["all_or_none"] = [say("true_or_false", who.locale)]
    external_id = body.get("external_id")
    if operation == "upsert" or external_id is not None:
        field = who.registry.object(object_name).fields.get(external_id) if isinstance(external_id, str) else None
        usable = (field is not None and field.unique and field.stored and not field.system
                  and external_id not in who.access.hidden(object_name))
        if not usable:
            errors["external_id"] = [say("not_unique_field", who.locale, name=external_id, object=object_name)]
    if errors:
        raise ApiProblem("bad-request", say("bad_body", who.locale, names=", ".join(sorted(errors))), errors=errors)
    return operation, rows, all_or_none, external_id


class _Rows:
    """The rows of one bulk request, run through the unit of work's batch writes."""

    def __init__(self, who: Caller, work: Any, object_name: str, external_id: str | None) -> None:
        self.who, self.work, self.object, self.external_id = who, work, object_name, external_id

    def run(self, operation: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if operation == "create":
            return [self._create(i, row) for i, row in enumerate(rows)]
        if operation == "update":
            return [self._update(i, row, None) for i, row in enumerate(rows)]
        known = self._existing(rows)
        results = []
        for index, row in enumerate(rows):
            key = _key(row.get(self.external_id))
            if key is not None and key in known:
                result = self._update(index, row, known[key])
            else:
                result = self._create(index, row)
                if result["id"] is not None and key is not None:
                    known[key] = result["id"]
            results.append(result)
        return results

    def _create(self, index: int, row: dict[str, Any]) -> dict[str, Any]:
        if self.external_id is not None and _key(row.get(self.external_id)) is None:
            return self._refused(index, ValidationFailed(self.object, {self.external_id: [Problem(E.REQUIRED)]}))
        (outcome,) = self.work.create_many(self.object, [row], all_or_none=False)
        return self._result(index, outcome, 201)

    def _update(self, index: int, row: dict[str, Any], matched: int | None) -> dict[str, Any]:
        values = dict(row)
        if matched is not None:  # upsert: the record is the one the external id names
            values["id"] = matched
        else:
            problems: dict[str, list[Problem]] = {}
            for name, message in (("id", E.NOT_A_WHOLE_NUMBER), ("version", E.NOT_A_WHOLE_NUMBER)):
                value = values.get(name)
                if value is None:
                    problems[name] = [Problem(E.REQUIRED)]
                elif isinstance(value, bool) or not isinstance(value, int):
                    problems[name] = [Problem(message)]
            if problems:
                return self._refused(index, ValidationFailed(self.object, problems))
        (outcome,) = self.work.update_many(self.object, [values], all_or_none=False)
        return self._result(index, outcome, 200)

    def _existing(self, rows: list[dict[str, Any]]) -> dict[Any, int]:
        """Record ids by external id, for every usable external id in the rows: one query
        per 1,000 distinct values."""
        field = self.who.registry.object(self.object).field(self.external_id)
        keys = sorted({k for row in rows if (k := _key(row.get(self.external_id))) is not None and _fits(k, field.formula_type)},
                      key=str)
        found: dict[Any, int] = {}
        for start in range(0, len(keys), MAX_LIMIT):
            chunk = keys[start:start + MAX_LIMIT]
            page = self.work.query(self.object, filter={f"{self.external_id}__in": chunk},
                                   fields=[self.external_id], limit=MAX_LIMIT)
            for record in page.rows:
                found[_key(record[self.external_id])] = record["id"]
        return found

    def _result(self, index: int, outcome: Any, status: int) -> dict[str, Any]:
        if outcome.error is not None:
            return self._refused(index, outcome.error)
        record = outcome.record
        return {"index": index, "status": status, "id": record["id"], "version": record["version"], "errors": {}}

    def _refused(self, index: int, error: RecordError) -> dict[str, Any]:
        locale = self.who.locale
        if isinstance(error, ValidationFailed):
            errors = error.messages(locale)
        else:
            errors = {E.RECORD: [error.message(locale)]}
        result = {"index": index, "status": error.status, "id": None, "version": None, "errors": errors}
        if isinstance(error, StaleRecord):
            result.update(id=error.record_id, changed_fields=error.changed_fields)
        return result


def _key(value: Any) -> Any:
    """An external id value as a dictionary key (None when blank or not a plain value)."""
    if value is None or value == "" or isinstance(value, bool | dict | list):
        return None
    return value


def _fits(value: Any, ftype: FormulaType) -> bool:
    if ftype is FormulaType.TEXT:
        return isinstance(value, str)
    if ftype in (FormulaType.NUMBER, FormulaType.ID):
        return isinstance(value, int | Decimal)
    return False
