"""Enqueueing from record writes: a job exists and runs only once its write has committed."""

from __future__ import annotations

import pytest

from tessera.jobs import JobsError, enqueue
from tessera.records.errors import Problem, ValidationFailed
from tessera.records.service import BatchFailed


def test_a_job_enqueued_in_a_write_runs_after_the_commit_and_its_effect_is_saved(probe_org):
    records, jobs = probe_org.records, probe_org.jobs

    with records.unit_of_work() as work:
        work.create("note", {"name": "the write itself"})
        queued = enqueue(work, "probe.note", {"name": "from the job"}, key="welcome:1", jobs=jobs)
        # inside the transaction the job is only queued: nothing of it has run yet
        assert jobs.store(records).get(work.conn, queued.id).status == "queued"
        assert probe_org.notes_by_key() == {}

    job = probe_org.job("welcome:1")
    assert (job.status, job.attempts, job.last_error) == ("done", 1, None)
    assert job.result == {"note": 2}
    assert probe_org.notes_by_key() == {None: 1, "welcome:1": 1}


def test_a_rolled_back_write_enqueues_nothing(probe_org):
    records, jobs = probe_org.records, probe_org.jobs

    with pytest.raises(ValidationFailed), records.unit_of_work() as work:
        enqueue(work, "probe.note", {}, key="never", jobs=jobs)
        work.create("note", {"name": "x" * 5000})  # longer than a text field takes: the write fails

    assert probe_org.job("never") is None
    assert probe_org.notes_by_key() == {}


def test_a_refused_batch_row_drops_the_job_it_enqueued_and_keeps_the_others(probe_org):
    """A row of a batch is saved or refused on its own (a savepoint): the job a refused row
    enqueued goes with it; the jobs of the saved rows run after the commit."""
    records, jobs = probe_org.records, probe_org.jobs

    def enqueue_then_check(change):
        if change.values["job_key"] is not None:
            return  # a note the job wrote
        enqueue(change.work, "probe.note", {"name": change.values["name"]}, key=f"row:{change.values['name']}",
                jobs=jobs)
        if change.values["name"] == "bad":
            raise ValidationFailed("note", {"name": [Problem("refused after the job was queued")]})

    records.events.listen("after_save", enqueue_then_check)
    with records.unit_of_work() as work:
        results = work.create_many("note", [{"name": "good"}, {"name": "bad"}, {"name": "fine"}],
                                   all_or_none=False)

    assert [r.error is None for r in results] == [True, False, True]
    assert probe_org.job("row:bad") is None
    assert probe_org.job("row:good").status == probe_org.job("row:fine").status == "done"
    assert probe_org.notes_by_key() == {None: 2, "row:good": 1, "row:fine": 1}


def test_a_refused_all_or_none_batch_drops_its_jobs_even_when_the_unit_of_work_goes_on(probe_org):
    records, jobs = probe_org.records, probe_org.jobs
    records.events.listen("after_save", lambda change: change.values["job_key"] is None and enqueue(
        change.work, "probe.note", {}, key=f"all:{change.values['name']}", jobs=jobs))

    with records.unit_of_work() as work:
        with pytest.raises(BatchFailed):
            work.create_many("note", [{"name": "one"}, {"name": "y" * 5000}])
        work.create("note", {"name": "after"})  # the caller carries on and commits

    assert probe_org.job("all:one") is None
    assert probe_org.job("all:after").status == "done"
    assert probe_org.notes_by_key() == {None: 1, "all:after": 1}


def test_a_key_enqueues_its_job_once(probe_org):
    records, jobs = probe_org.records, probe_org.jobs

    first = enqueue(records, "probe.note", {}, key="once", jobs=jobs)
    with records.unit_of_work() as work:
        second = enqueue(work, "probe.note", {}, key="once", jobs=jobs)
        work.create("note", {"name": "the write still commits"})

    assert first.created and not second.created and first.id == second.id
    assert probe_org.notes_by_key() == {"once": 1, None: 1}


def test_enqueue_without_a_key_makes_a_new_job_each_time(probe_org):
    first = enqueue(probe_org.records, "probe.note", {}, jobs=probe_org.jobs)
    second = enqueue(probe_org.records, "probe.note", {}, jobs=probe_org.jobs)

    assert first.key != second.key and first.key.startswith("probe.note:")
    assert sorted(probe_org.notes_by_key().values()) == [1, 1]


@pytest.mark.parametrize(("name", "payload", "key", "message"), [
    ("probe.nothing", {}, None, "there is no job type 'probe.nothing'"),
    ("probe.note", {"when": object()}, None, "the payload must be JSON"),
    ("probe.note", ["not", "a", "mapping"], None, "the payload must be a mapping"),
    ("probe.note", {}, "", "the key must be text of 1 to 200 characters"),
    ("probe.note", {}, "k" * 201, "the key must be text of 1 to 200 characters"),
])
def test_enqueue_refuses_bad_input_with_a_message_and_writes_nothing(probe_org, name, payload, key, message):
    with pytest.raises(JobsError, match=message):
        enqueue(probe_org.records, name, payload, key=key, jobs=probe_org.jobs)
    with probe_org.records.db.read() as conn:
        assert probe_org.jobs.store(probe_org.records).counts(conn)["queued"] == 0


def test_enqueue_outside_an_app_without_jobs_says_what_it_needs(probe_org):
    with pytest.raises(JobsError, match="jobs need the Tessera app"):
        enqueue(probe_org.records, "probe.note", {})


def test_a_read_only_unit_of_work_cannot_enqueue(probe_org):
    with probe_org.records.unit_of_work(read_only=True) as work, pytest.raises(RuntimeError, match="read_only"):
        enqueue(work, "probe.note", {}, jobs=probe_org.jobs)
