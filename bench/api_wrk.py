"""The generated REST API against hand-written Flask + SQLAlchemy endpoints, under wrk.

    .venv/bin/python bench/api_wrk.py --scale 100            # the issue's setting: >= 100,000 leads
    .venv/bin/python bench/api_wrk.py --scale 1 --duration 5 # a quick look
    .venv/bin/python bench/api_wrk.py --operations update --update-clients 2   # one, fewer clients

Both servers run under gunicorn on loopback, one at a time, with the same number of workers,
reading the same SQLite (or TESSERA_DATABASE_URL) database of the demo org. For each operation
— get one lead, a filtered sorted page of 50 leads, create a lead, update a lead (PATCH with
If-Match; each updating client is a wrk thread with one connection and a lead of its own, as
the ETag of each answer is the If-Match of its next request) — wrk reports requests/s and the
50th and 99th percentile latencies, and the last
column is generated / hand-written requests/s. Goal (issue 7): >= 0.8 on reads, >= 0.6 on
writes. The hand-written side (bench/api_baseline.py) skips permissions, validation, history,
events and authentication; the generated side authenticates every request with a bearer token
and acts as an admin (no record-level filter).

Needs wrk (Debian: apt-get install wrk). The demo is loaded into ``--instance`` the first time
(``tessera demo load --scale N``: about 20-35 s per unit of scale on SQLite; scale 100 took 29 to 59
minutes) and reused afterwards; each run starts from a copy of the database as that load left it
(``<instance>/pristine``), unless ``--no-reset``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
OPERATIONS = ("get", "list", "create", "update")
READS = ("get", "list")


@dataclass
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", default=str(Path(tempfile.gettempdir()) / "tessera-bench"),
                        help="folder of the bench database (kept between runs)")
    parser.add_argument("--scale", type=float, default=100.0, help="demo scale (100: >= 100,000 leads)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per operation and server")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--update-clients", type=int, default=None,
                        help="concurrent updating clients, each a wrk thread with one connection updating "
                             "its own lead (default: --connections)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers per server")
    parser.add_argument("--no-reset", action="store_true",
                        help="measure the database as the last run left it (default: as the demo load left it)")
    parser.add_argument("--operations", default=",".join(OPERATIONS),
                        help=f"which to measure, comma-separated (default: {','.join(OPERATIONS)})")
    args = parser.parse_args()
    operations = [name.strip() for name in args.operations.split(",") if name.strip()]
    unknown = sorted(set(operations) - set(OPERATIONS))
    if unknown or not operations:
        parser.error(f"--operations: choose from {', '.join(OPERATIONS)} (not: {', '.join(unknown)})")
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 1
    instance = Path(args.instance).resolve()
    env = dict(os.environ, TESSERA_PLUGINS=os.environ.get("TESSERA_PLUGINS", ""))
    own_files = "TESSERA_DATABASE_URL" not in env  # SQLite files in the instance folder
    env.setdefault("TESSERA_DATABASE_URL", f"sqlite:///{instance / 'tessera.db'}")
    env.setdefault("TESSERA_SECRET_KEY", "bench")
    instance.mkdir(parents=True, exist_ok=True)
    subprocess.run([BIN / "tessera", "demo", "load", "--scale", str(args.scale)], env=env, check=True)
    if own_files and not args.no_reset:
        _reset(instance)
    args.update_clients = args.update_clients or args.connections
    token, lead_ids, update_ids = _prepare(env, args.update_clients)
    print(f"{len(lead_ids):,} lead ids sampled; {args.workers} workers per server; wrk -t{args.threads} "
          f"-c{args.connections} -d{args.duration}s (update: -t{args.update_clients} -c{args.update_clients})", flush=True)
    results: dict[str, dict[str, Figures]] = {}
    servers = {
        "generated": (["tessera.app:create_app()"], "/api/v1/lead", {"Authorization": f"Bearer {token}"}),
        "hand-written": (["--pythonpath", str(HERE), "api_baseline:create_app()"], "/leads", {}),
    }
    for name, (target, base, headers) in servers.items():
        with _gunicorn(target, args.workers, env) as port:
            results[name] = {}
            for operation in operations:
                script = _script(operation, base, headers, lead_ids, update_ids)
                results[name][operation] = _wrk(port, script, operation, args)
                print(f"  {name:13} {operation:7} {results[name][operation]}", flush=True)
    _report(results, operations)
    return 0


def _reset(instance: Path) -> None:
    """Start from the database as the demo load left it. Every run creates leads and adds
    history, so without this each run measured a slightly bigger database than the last
    (341,739 leads after a dozen runs of a 100,000-lead demo). The first run keeps a copy of
    the SQLite files in ``<instance>/pristine``; later runs put it back."""
    saved = instance / "pristine"
    if not saved.exists():
        staging = instance / "pristine.partial"
        shutil.rmtree(staging, ignore_errors=True)
        for path in _database_files(instance):
            target = staging / path.relative_to(instance)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        staging.rename(saved)  # complete, or not there at all
        print(f"kept the loaded database in {saved}", flush=True)
        return
    for path in _database_files(instance):
        path.unlink()
    for path in _database_files(saved):
        target = instance / path.relative_to(saved)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        _flush(target)
    print(f"reset the database to {saved}", flush=True)


def _flush(path: Path) -> None:
    """Write the copy to disk now: else the first checkpoint's fsync during the first write
    operation flushes the whole copy (1.3 GB at scale 100), and every writer waits for it
    (p99 of create 350 ms instead of 12 ms)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _database_files(folder: Path) -> list[Path]:
    """The SQLite files under ``folder`` (with their write-ahead logs), not the kept copies."""
    return sorted(path for pattern in ("*.db", "*.db-wal", "*.db-shm") for path in folder.rglob(pattern)
                  if not any(part.startswith("pristine") for part in path.relative_to(folder).parts))


def _prepare(env: dict[str, str], writers: int) -> tuple[str, list[int], list[int]]:
    """A bench admin and its token; lead ids to read; one fresh lead per writer to update."""
    code = """
import json, sqlalchemy as sa
from tessera.config import load_settings
from tessera.security.store import PlatformStore
from tessera.storage.sync import org_database
settings = load_settings()
store = PlatformStore.from_settings(settings)
user = store.user("default", "bench") or store.create_user("default", "bench", None, "admin", name="Bench")
token, _info = store.create_token(user, "bench")
db = org_database(settings, "default")
with db.engine.connect() as conn:
    ids = conn.execute(sa.text("select id from lead where deleted_at is null order by id limit 5000")).scalars().all()
print(json.dumps({"token": token, "ids": ids}))
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
    found = json.loads(out.strip().splitlines()[-1])
    return found["token"], found["ids"], found["ids"][-writers:]


class _gunicorn:
    def __init__(self, target: list[str], workers: int, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.command = [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
                        "--log-level", "warning", *target]
        self.env = env

    def __enter__(self) -> int:
        self.process = subprocess.Popen(self.command, env=self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return self.port
            except urllib.error.HTTPError:
                return self.port  # it answers (the baseline has no /healthz)
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not start: {' '.join(self.command)}")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lua_headers(headers: dict[str, str]) -> str:
    items = {"Content-Type": "application/json", **headers}
    return "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in items.items()) + "}"


def _script(operation: str, base: str, headers: dict[str, str], lead_ids: list[int], update_ids: list[int]) -> str:
    head = f"local headers = {_lua_headers(headers)}\n"
    if operation == "get":
        ids = ", ".join(str(i) for i in lead_ids)
        return head + f"""local ids = {{{ids}}}
request = function()
  return wrk.format("GET", "{base}/" .. ids[math.random(#ids)], headers)
end
"""
    if operation == "list":
        query = "?status=in_progress&sort=-score&limit=50" + ("&count=false" if base.startswith("/api") else "")
        return head + f"""request = function()
  return wrk.format("GET", "{base}{query}", headers)
end
"""
    if operation == "create":
        return head + f"""local n = 0
request = function()
  n = n + 1
  local body = '{{"name": "Bench ' .. n .. '", "company": "Bench Co", "phone": "13800138000", "status": "pending"}}'
  return wrk.format("POST", "{base}", headers, body)
end
"""
    ids = ", ".join(str(i) for i in update_ids)
    # one connection per thread, each updating its own lead: the ETag of each answer is the
    # If-Match of the next request, so no update is ever stale
    return head + f"""local ids = {{{ids}}}
local count = 0
function setup(thread)
  count = count + 1
  thread:set("lead", ids[count])
end
local version = nil
local n = 0
request = function()
  if version == nil then
    return wrk.format("GET", "{base}/" .. lead, headers)
  end
  n = n + 1
  local h = {{}}
  for k, v in pairs(headers) do h[k] = v end
  h["If-Match"] = version
  return wrk.format("PATCH", "{base}/" .. lead, h, '{{"title": "Bench ' .. n .. '"}}')
end
response = function(status, headers, body)
  version = headers["ETag"] or headers["etag"]
end
"""


_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk(port: int, script: str, operation: str, args: argparse.Namespace) -> Figures:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    # an update chains each answer's ETag into the next If-Match, which wrk's Lua can only do
    # per thread: the updating clients are threads of one connection each
    threads = connections = args.update_clients if operation == "update" else args.connections
    if operation != "update":
        threads = args.threads
    try:
        out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{args.duration}s", "--latency",
                              "-s", handle.name, f"http://127.0.0.1:{port}"],
                             check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(handle.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {pct: float(value) * _UNIT[unit] for pct, value, unit in _LATENCY.findall(out)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Figures(rps, latency.get("50", 0.0), latency.get("99", 0.0), int(errors.group(1)) if errors else 0)


def _report(results: dict[str, dict[str, Figures]], operations: list[str]) -> None:
    print("\n| operation | generated req/s | p50 ms | p99 ms | hand-written req/s | p50 ms | p99 ms | ratio | goal |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for operation in operations:
        ours, theirs = results["generated"][operation], results["hand-written"][operation]
        goal = 0.8 if operation in READS else 0.6
        ratio = ours.rps / theirs.rps if theirs.rps else 0.0
        print(f"| {operation} | {ours.rps:,.0f} | {ours.p50_ms:.1f} | {ours.p99_ms:.1f} | {theirs.rps:,.0f} | "
              f"{theirs.p50_ms:.1f} | {theirs.p99_ms:.1f} | {ratio:.2f} | {goal} |")
        for side, figures in (("generated", ours), ("hand-written", theirs)):
            if figures.errors:
                print(f"  ! {side} {operation}: {figures.errors} non-2xx answers", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
