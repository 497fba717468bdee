"""Real Redis, real `tessera worker` processes: a worker killed (SIGKILL) in the middle of its
jobs leaves none undone and none done twice.

1,000 jobs each write one note keyed by the job; one of them, queued among the first third,
holds its transaction open on its first attempt. The test kills the worker's whole process
group while that job runs, starts a new worker, and waits (polling, with a deadline) until the
job log says every job is done, sweeping as beat does. Redis gives the killed worker's
unacknowledged messages back after the visibility timeout (a few seconds here), and the sweep
dispatches any job still untouched after it; the job log makes a second delivery of a job that
had already committed a no-op.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tessera.jobs import enqueue
from tests.jobs.conftest import JobsSite, close_site, forget_probe_modules, notes_by_key, open_site, site_settings

JOBS = 1000
#: the slow job is queued after this many others
SLOW_AFTER = 300
#: seconds Redis keeps a delivered, unacknowledged job from other workers
VISIBILITY_TIMEOUT = 4


@pytest.fixture(params=["sqlite", "postgresql"])
def broker_site(request, tmp_path, probe_site, redis_url) -> Iterator[JobsSite]:
    """The app with Redis as its broker, on a queue of its own (deleted afterwards)."""
    import redis

    suffix = uuid.uuid4().hex[:8]
    settings = {**site_settings(request, tmp_path, suffix), "BROKER_URL": redis_url,
                "JOBS_QUEUE": f"tessera-test-{suffix}", "JOBS_VISIBILITY_TIMEOUT": VISIBILITY_TIMEOUT}
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(probe_site))
        site = open_site(settings, suffix)
        try:
            yield site
        finally:
            close_site(site, suffix)
            forget_probe_modules()
            server = redis.Redis.from_url(redis_url)
            _forget_queue(server, settings["JOBS_QUEUE"])
            server.close()


def test_a_killed_worker_leaves_every_job_done_exactly_once(broker_site, probe_site, tmp_path):
    from tessera_jobs_probe import SLOW_KEY

    site, started = broker_site, time.monotonic()
    records, store = site.records, site.jobs.store(site.records)
    with site.app.app_context(), records.unit_of_work() as work:  # dispatched once this commits
        for number in range(JOBS):
            if number == SLOW_AFTER:
                enqueue(work, "probe.note", {"seconds": 30}, key=SLOW_KEY)
            enqueue(work, "probe.note", {}, key=f"probe:{number}")

    def job_counts() -> dict[str, int]:
        with records.db.read() as conn:
            return store.counts(conn)

    def slow_job() -> Any:
        with records.db.read() as conn:
            return store.by_key(conn, SLOW_KEY)

    queued = time.monotonic()
    environment = _worker_environment(site, probe_site)
    first = _start_worker(environment, tmp_path / "worker-1.log")
    try:
        _wait_for(lambda: slow_job().status == "running", 30, "the slow job to start", first, tmp_path)
        os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool processes, mid-job
        first.wait(10)
    finally:
        _stop(first)
    at_kill, killed = job_counts(), time.monotonic()
    assert slow_job().status == "running"  # its effect never committed
    assert 0 < at_kill["done"] < JOBS + 1, at_kill

    second = _start_worker(environment, tmp_path / "worker-2.log")
    swept = [time.monotonic()]

    def all_done() -> bool:
        # what `tessera beat` does every minute, here every few seconds: a job whose message
        # Redis did not hand back (it was reserved, not yet started, by the killed worker) is
        # dispatched again once untouched for the visibility timeout
        if time.monotonic() - swept[0] > VISIBILITY_TIMEOUT:
            with site.app.app_context():
                site.jobs.sweep()
            swept[0] = time.monotonic()
        return job_counts()["done"] == JOBS + 1

    try:
        _wait_for(all_done, 90, "every job to be done", second, tmp_path, state=job_counts)
    finally:
        _stop(second)

    notes = notes_by_key(records.db, records.schema.table("note"))
    assert len(notes) == JOBS + 1
    assert {key: count for key, count in notes.items() if count != 1} == {}  # none took effect twice
    assert job_counts() == {"queued": 0, "running": 0, "retrying": 0, "done": JOBS + 1, "failed": 0}
    assert slow_job().attempts >= 2  # delivered again after its worker was killed
    print(f"\n{JOBS + 1} jobs queued in {queued - started:.1f} s; {at_kill['done']} done when the worker was "
          f"killed {killed - queued:.1f} s later; all done {time.monotonic() - killed:.1f} s after the kill")


def _forget_queue(server: Any, queue: str) -> None:
    """Remove what the test's queue left in the shared Redis: the queue, its bindings, and the
    messages a killed worker left unacknowledged (they would be given back to the queue later)."""
    for tag, raw in list(server.hscan_iter("unacked")):
        try:
            _message, _exchange, routing_key = json.loads(raw)
        except ValueError:
            continue
        if routing_key == queue:
            server.hdel("unacked", tag)
            server.zrem("unacked_index", tag)
    server.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


def _worker_environment(site: JobsSite, probe_site: Path) -> dict[str, str]:
    """The environment of a `tessera worker` for the site's settings, with the probe plugin."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TESSERA_")}
    environment.update({f"TESSERA_{key}": str(value) for key, value in site.settings.items()
                        if key != "TESTING" and value != ""})
    environment["PYTHONPATH"] = str(probe_site)
    return environment


def _start_worker(environment: dict[str, str], log: Path) -> subprocess.Popen:
    tessera = Path(sys.executable).with_name("tessera")
    with log.open("wb") as output:  # the child keeps its own descriptor
        return subprocess.Popen([str(tessera), "worker", "--concurrency", "2", "--loglevel", "warning"],
                                env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(worker: subprocess.Popen) -> None:
    """End the worker's process group if it still runs: a warm shutdown, then a kill."""
    if worker.poll() is not None:
        return
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(5)


def _wait_for(condition: Callable[[], bool], seconds: float, what: str, worker: subprocess.Popen,
              logs: Path, state: Callable[[], Any] = lambda: None) -> None:
    """Poll ``condition`` until it holds; fail with the workers' logs at the deadline or as
    soon as the worker has exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and worker.poll() is None:
        if condition():
            return
        time.sleep(0.05)
    shown = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in sorted(logs.glob("*.log")))
    ended = f"the worker exited ({worker.returncode})" if worker.returncode is not None else f"waited {seconds} s"
    pytest.fail(f"{ended} for {what} ({state()})\n{shown}")
