"""Flow tests shipped beside the flow: ``flows/<flow>.test.yaml`` in a package, run by
``tessera flows check`` (and by the test suite for the L2C package)::

    flow: opportunity_stages            # optional: the file's name without .test.yaml
    cases:
      - name: a deal is won from negotiation with its amount
        given:                          # records made first; later values refer to them as $name
          acme: {object: account, values: {name: Acme}}
        record: {name: Big deal, account: $acme, stage: negotiation, amount: 5000, close_date: $today+30}
        change: {stage: won}            # optional: an update of the record (else: its creation)
        as: sales_rep                   # optional: make the records and the change as a user of
                                        # this role, who owns them (default: the system)
        expect:
          values: {probability: 100, forecast_category: won}
      - name: skipping to won is refused
        record: {name: Quick deal, account: $acme, stage: qualify}
        change: {stage: won}
        expect:
          error: {stage: Cannot change from}     # a problem on that field containing the text

A case writes through the record service exactly as the API would — so every flow, stage
machine, formula and validation rule of the org takes part — inside a transaction that is
rolled back afterwards: checking changes nothing. ``run: true`` runs a scheduled (or any)
flow's steps on the record afterwards, as its schedule would (its condition checked), and
``expect.log`` then names texts its log must contain. Values may be ``$today``, ``$today+N``,
``$today-N``, ``$now`` and ``$<given name>``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from tessera.metadata.errors import Problems
from tessera.metadata.loader import load_file
from tessera.records.errors import RecordError, ValidationFailed

TEST_SUFFIXES = (".test.yaml", ".test.yml", ".test.json")
_RELATIVE = re.compile(r"^\$today(?:([+-])(\d{1,5}))?$")


class FlowTestError(Exception):
    """A flow test file that cannot be read or names what does not exist; for people."""


@dataclass
class CaseResult:
    file: str
    flow: str
    name: str
    failures: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class FlowTestFile:
    path: Path
    flow: str
    cases: tuple[Mapping[str, Any], ...]


def find_test_files(registry: Any) -> list[FlowTestFile]:
    """The flow tests of the registry's packages, in package order; FlowTestError on a file
    that cannot be read."""
    found = []
    for package in registry.packages:
        folder = Path(package.path) / "flows" if getattr(package, "path", None) else None
        if folder is None or not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.name.lower().endswith(TEST_SUFFIXES)):
            found.append(read_test_file(path))
    return found


def read_test_file(path: Path) -> FlowTestFile:
    problems = Problems()
    doc = load_file(path, problems)
    if doc is None or problems:
        raise FlowTestError(f"{path}: {'; '.join(str(p) for p in problems) or 'cannot be read'}")
    data = doc.data if isinstance(doc.data, Mapping) else {}
    cases = data.get("cases")
    if not isinstance(cases, list) or not cases or not all(isinstance(c, Mapping) for c in cases):
        raise FlowTestError(f"{path}: 'cases' must be a list of cases (each a mapping)")
    name = path.name
    for suffix in TEST_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return FlowTestFile(path, str(data.get("flow") or name), tuple(cases))


def run_test_file(service: Any, test: FlowTestFile) -> list[CaseResult]:
    flow = service.flows.flows.get(test.flow)
    if flow is None:
        raise FlowTestError(f"{test.path}: there is no flow '{test.flow}' in this org")
    return [run_case(service, flow, case, str(test.path), index) for index, case in enumerate(test.cases)]


def run_case(service: Any, flow: Any, case: Mapping[str, Any], file: str = "", index: int = 0) -> CaseResult:
    """Run one case in a transaction that is rolled back; what failed, if anything."""
    result = CaseResult(file, flow.name, str(case.get("name") or f"case {index + 1}"))
    unknown = sorted(set(case) - {"name", "given", "record", "change", "as", "run", "expect"})
    if unknown:
        result.failures.append(f"unknown key(s) {', '.join(unknown)}")
        return result
    if not flow.object:
        result.failures.append(f"flow '{flow.name}' has no object to make a record of")
        return result
    expect = case.get("expect") or {}
    with service.flows._rolled_back() as work:
        actor_work = _as(service, work, case.get("as"))
        aliases = _given(actor_work, case.get("given") or {})
        record = _write(work, actor_work, flow, case, aliases, result)
        if record is None:
            return result
        if case.get("run"):
            try:
                outcome = service.flows.run(flow, service.flows._system_work(work), dict(record), None,
                                            log=result.log)
            except RecordError as exc:
                result.failures.append(f"running the flow failed: {_said(exc)}")
                return result
            if outcome is None:
                result.log.append("the flow's condition does not hold for this record")
            record = work.get(flow.object, record["id"])
        _check_values(record, expect.get("values") or {}, aliases, result)
        for text in expect.get("log") or ():
            if not any(str(text) in line for line in result.log):
                result.failures.append(f"the log has no line containing {str(text)!r}")
    return result


def _given(work: Any, given: Mapping[str, Any]) -> dict[str, int]:
    aliases: dict[str, int] = {}
    for alias, spec in given.items():
        if not isinstance(spec, Mapping) or "object" not in spec:
            raise FlowTestError(f"given.{alias}: write {{object: name, values: {{...}}}}")
        created = work.create(str(spec["object"]), _resolve(spec.get("values") or {}, aliases, work.now))
        aliases[str(alias)] = int(created["id"])
    return aliases


def _write(work: Any, actor_work: Any, flow: Any, case: Mapping[str, Any], aliases: dict[str, int],
           result: CaseResult) -> dict[str, Any] | None:
    expect = case.get("expect") or {}
    values = _resolve(case.get("record") or {}, aliases, work.now)
    change = case.get("change")
    try:
        if change is None:
            record = actor_work.create(flow.object, values)
        else:
            created = actor_work.create(flow.object, values)  # theirs, so they may see it
            record = actor_work.update(flow.object, created["id"], _resolve(change, aliases, work.now), version=None)
    except ValidationFailed as exc:
        _check_error(exc.messages("en"), expect.get("error"), result)
        return None
    except RecordError as exc:
        _check_error({"_record": [_said(exc)]}, expect.get("error"), result)
        return None
    if expect.get("error") is not None:
        result.failures.append(f"expected the write to be refused ({expect['error']}), but it was saved")
        return None
    return work.get(flow.object, record["id"])


def _as(service: Any, work: Any, role: Any) -> Any:
    if role is None:
        return work
    if role not in service.registry.roles:
        raise FlowTestError(f"as: there is no role '{role}'")
    from tessera.records.service import Actor, UnitOfWork

    other = UnitOfWork(service, work.conn, Actor(id=0, name=f"a {role}", role=str(role)))
    other.now = work.now
    other.committed = work.committed
    return other


def _resolve(values: Mapping[str, Any], aliases: Mapping[str, int], now: dt.datetime) -> dict[str, Any]:
    resolved = {}
    for name, value in values.items():
        if isinstance(value, str) and value.startswith("$"):
            value = _special(value, aliases, now)
        resolved[str(name)] = value
    return resolved


def _special(value: str, aliases: Mapping[str, int], now: dt.datetime) -> Any:
    match = _RELATIVE.match(value)
    if match:
        days = int(match.group(2) or 0) * (-1 if match.group(1) == "-" else 1)
        return (now.date() + dt.timedelta(days=days)).isoformat()
    if value == "$now":
        return now.isoformat()
    if value[1:] in aliases:
        return aliases[value[1:]]
    raise FlowTestError(f"{value}: not $today, $today+N, $now or a name under 'given'")


def _check_error(messages: Mapping[str, list[str]], expected: Any, result: CaseResult) -> None:
    said = "; ".join(f"{k}: {' '.join(v)}" for k, v in messages.items())
    if expected is None:
        result.failures.append(f"the write was refused: {said}")
        return
    if isinstance(expected, str):
        if not any(expected in m for items in messages.values() for m in items):
            result.failures.append(f"expected a problem containing {expected!r}; got {said}")
        return
    for name, text in dict(expected).items():
        if not any(str(text) in m for m in messages.get(str(name), ())):
            result.failures.append(f"expected a problem on {name} containing {str(text)!r}; got {said}")


def _check_values(record: Mapping[str, Any], expected: Mapping[str, Any], aliases: Mapping[str, int],
                  result: CaseResult) -> None:
    for name, want in expected.items():
        if name not in record:
            result.failures.append(f"the record has no field '{name}'")
            continue
        if isinstance(want, str) and want.startswith("$"):
            want = _special(want, aliases, dt.datetime.now(dt.UTC))
        got = record[name]
        if not _same(got, want):
            result.failures.append(f"{name}: expected {want!r}, got {_shown(got)!r}")


def _same(got: Any, want: Any) -> bool:
    if want is None or got is None:
        return want is None and got is None or want == "" and got is None
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want or str(got).lower() == str(want).lower()
    if isinstance(want, int | float | Decimal):
        try:
            return Decimal(str(got)) == Decimal(str(want))
        except InvalidOperation:
            return False
    if isinstance(got, Mapping):  # a lookup shown with its name
        got = got.get("id")
    return _shown(got) == str(want)


def _shown(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _said(exc: RecordError) -> str:
    return exc.message("en") if not isinstance(exc, ValidationFailed) else str(exc)
