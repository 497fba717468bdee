"""The app's job system: Celery eager without a broker, and the job log on /admin/jobs and the API."""

from __future__ import annotations

import pytest

from tessera.jobs import enqueue


def test_without_a_broker_the_app_runs_jobs_through_celery_eagerly_after_the_commit(site, tag):
    records = site.records
    with site.app.app_context():
        with records.unit_of_work() as work:
            queued = enqueue(work, "probe.note", {"name": tag}, key=f"{tag}:eager")
            assert site.jobs.store(records).get(work.conn, queued.id).status == "queued"
        assert [n["name"] for n in records.query("note", filter={"job_key": f"{tag}:eager"}).rows] == [tag]

    assert site.app.extensions["celery"].conf.task_always_eager is True
    with records.db.read() as conn:
        assert site.jobs.store(records).by_key(conn, f"{tag}:eager").status == "done"


def _arrange_jobs(site, tag: str) -> tuple[str, str]:
    """A done job and a job waiting to retry, the newest of the log; returns their keys."""
    done, flaky = f"{tag}:done", f"{tag}:flaky <b>"
    with site.app.app_context():
        enqueue(site.records, "probe.note", {}, key=done)
        enqueue(site.records, "probe.flaky", {"fail_times": 9}, key=flaky)
    return done, flaky


def test_an_admin_sees_the_job_log_with_each_status_and_the_last_error(site, tag):
    done, _flaky = _arrange_jobs(site, tag)

    page = site.get("/admin/jobs?lang=en").get_data(as_text=True)

    assert "Background jobs" in page and done in page
    assert "Waiting to retry" in page and "RuntimeError: planned failure 1" in page
    assert f"{tag}:flaky &lt;b&gt;" in page  # keys and errors are escaped
    assert "Traceback" not in page
    assert 'href="/admin/jobs"' in page  # the Admin menu leads here


def test_the_job_log_filters_by_status_and_answers_htmx_with_the_fragment(site, tag):
    done, flaky = _arrange_jobs(site, tag)

    fragment = site.get("/admin/jobs?status=retrying&lang=en", **{"HX-Request": "true"})
    body = fragment.get_data(as_text=True)

    assert fragment.status_code == 200 and "<html" not in body
    assert f"{tag}:flaky" in body and done not in body
    assert 'data-status="done"' not in body.split("<table", 1)[1]  # the rows, not the filter pills
    assert site.get("/admin/jobs?status=lost&lang=en").status_code == 400


def test_the_job_log_speaks_chinese(site, tag):
    _arrange_jobs(site, tag)

    page = site.get("/admin/jobs?lang=zh-CN").get_data(as_text=True)

    assert "后台任务" in page and "等待重试" in page and "尝试次数" in page


def test_a_user_who_is_not_an_admin_gets_403_from_the_page_and_the_api(site):
    assert site.get("/admin/jobs", user="cleo").status_code == 403
    response = site.get("/api/v1/admin/jobs", user="cleo")
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert site.get("/api/v1/admin/jobs/1", user="cleo").status_code == 403


def test_the_api_lists_jobs_newest_first_with_counts_and_filters(site, tag):
    before = site.get("/api/v1/admin/jobs").get_json()["counts"]
    done, flaky = _arrange_jobs(site, tag)

    everything = site.get("/api/v1/admin/jobs?limit=2").get_json()
    failing = site.get("/api/v1/admin/jobs?status=retrying&limit=1").get_json()

    assert [job["key"] for job in everything["data"]] == [flaky, done]
    assert everything["counts"]["done"] == before["done"] + 1
    assert everything["counts"]["retrying"] == before["retrying"] + 1
    [job] = failing["data"]
    assert (job["key"], job["status"], job["attempts"], job["max_attempts"]) == (flaky, "retrying", 1, 3)
    assert job["last_error"] == "RuntimeError: planned failure 1"
    one = site.get(f"/api/v1/admin/jobs/{job['id']}").get_json()
    assert one["key"] == flaky and one["payload"] == {"fail_times": 9}


@pytest.mark.parametrize("query", ["status=lost", "limit=0", "before=x", "colour=red"])
def test_the_api_refuses_a_bad_query_with_a_problem_naming_the_parameter(site, query):
    response = site.get(f"/api/v1/admin/jobs?{query}")

    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert query.split("=")[0] in response.get_json()["errors"]


def test_the_api_answers_404_for_a_job_that_does_not_exist(site):
    response = site.get("/api/v1/admin/jobs/999999")

    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_only_an_admins_openapi_document_describes_the_job_log(site):
    admin = site.get("/api/v1/openapi.json").get_json()
    clerk = site.get("/api/v1/openapi.json", user="cleo").get_json()

    assert "/api/v1/admin/jobs" in admin["paths"] and "/api/v1/admin/jobs/{id}" in admin["paths"]
    assert not any(path.startswith("/api/v1/admin/") for path in clerk["paths"])
