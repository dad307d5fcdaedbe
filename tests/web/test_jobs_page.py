"""The jobs a coordinator sees: an import on the web page queues a re-score that a real worker
thread runs, the new alum's suggestions appear, and a failed job shows its error and can be
retried from /jobs. The app commits for real here (a scratch database), as a worker must
read what the request wrote."""

from __future__ import annotations

import io
import re
import time

import pytest
from sqlalchemy import delete

from conftest import app_config, csrf_token, login
from matcher import db, jobs
from matcher.decisions import ListTransport
from matcher.models import Job, ScoringModel
from web import create_app

ALUM = ("external_id,name,email,home,japanese_level,interests,availability_hours,max_matches,consent\n"
        "WEB-1,Zora Plimpton,zora.web@example.org,\"Hot Springs, AR\",N2,education,5,2,yes\n")
PLACEMENT = ("alum_external_id,place,role,start_year,end_year,employer\n"
             "WEB-1,\"Ishidoriya, Iwate\",ALT,2003,2005,Ishidoriya Town Board of Education\n")
JOB_URL = re.compile(r'data-job-url="(/jobs/(\d+)\.json)"')


@pytest.fixture(scope="module")
def site(live_world, tmp_path_factory):
    from matcher.synth import add_demo_alumni

    engine = db.make_engine(live_world["url"])
    with db.session_scope(db.make_sessionmaker(engine)) as session:  # so that re-scoring one alum beats a full pass
        add_demo_alumni(session, 300, seed=13)
    engine.dispose()
    app = create_app(app_config(live_world["url"], MAIL_TRANSPORT=ListTransport()))
    with jobs.start_worker(live_world["url"]) as worker:
        yield app, worker
    jobs.close_queues()
    app.extensions["jetmatch_engine"].dispose()


@pytest.fixture
def coordinator(site, live_world):
    client = site[0].test_client()
    assert login(client, live_world["logins"]["coordinator"]).status_code == 302
    return client


def _upload(client, kind: str, text: str, name: str):
    return client.post("/import", data={"kind": kind, "csrf_token": csrf_token(client),
                                        "file": (io.BytesIO(text.encode()), name)},
                       content_type="multipart/form-data")


def _finished(client, url: str, seconds: float = 90) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = client.get(url).get_json()
        if job["finished"]:
            return job
        time.sleep(0.1)
    raise AssertionError(f"{url} did not finish within {seconds} s")


def test_a_web_import_rescores_in_the_background_and_the_new_alum_is_suggested(coordinator, live_world):
    for kind, text in (("alumni", ALUM), ("placements", PLACEMENT)):
        page = _upload(coordinator, kind, text, f"{kind}.csv").get_data(as_text=True)
        assert "Scoring 1 alumnus in the background" in page
        assert '<script src="/static/jobs.js">' in page  # the status follows itself, no inline script
        url, job_id = JOB_URL.search(page).groups()
        job = _finished(coordinator, url)
        assert (job["status"], job["line"], job["result"]["mode"]) == ("done", "done", "incremental")
        assert job["title"] == f"re-score 1 alumnus after importing {kind} ({kind}.csv)"
    volunteers = coordinator.get(f"/relationships/{live_world['hot_springs']}/volunteers").get_data(as_text=True)
    assert "Zora P." in volunteers and "Ishidoriya" in volunteers
    listing = coordinator.get("/jobs").get_data(as_text=True)
    assert f'id="job-{job_id}"' in listing and "re-score 1 alumnus after importing placements" in listing


def test_a_failed_job_shows_its_error_and_is_retried_from_the_page(coordinator, live_world):
    engine = db.make_engine(live_world["url"])
    sessions = db.make_sessionmaker(engine)
    try:
        with db.session_scope(sessions) as session:  # an active model scoring cannot use
            session.add(ScoringModel(version="broken-web", settings={"weights": {"sparkle": {"x": 1}}},
                                     metrics={}, active=True))
        response = coordinator.post("/jobs/add", data={"kind": "rescore", "csrf_token": csrf_token(coordinator)})
        assert response.status_code == 303
        with sessions() as session:
            job_id = session.scalar(Job.__table__.select().with_only_columns(Job.id).order_by(Job.id.desc()))
        job = _finished(coordinator, f"/jobs/{job_id}.json")
        assert job["status"] == "failed" and job["error"] == "ValueError: unknown factor 'sparkle'"
        listing = coordinator.get("/jobs").get_data(as_text=True)
        row = listing.split(f'id="job-{job_id}"')[1].split("</tr>")[0]
        assert "failed: ValueError: unknown factor &#39;sparkle&#39;" in row and "Retry" in row
        assert "<time" in row  # when it was queued, started and finished
        with db.session_scope(sessions) as session:
            session.execute(delete(ScoringModel).where(ScoringModel.version == "broken-web"))
        response = coordinator.post(f"/jobs/{job_id}/retry", data={"csrf_token": csrf_token(coordinator)},
                                    follow_redirects=True)
        assert f"Job #{job_id} is queued again" in response.get_data(as_text=True)
        job = _finished(coordinator, f"/jobs/{job_id}.json")
        assert (job["status"], job["attempts"], job["error"]) == ("done", 2, None)
        again = coordinator.post(f"/jobs/{job_id}/retry", data={"csrf_token": csrf_token(coordinator)},
                                 follow_redirects=True)
        assert "only a failed job can be retried" in again.get_data(as_text=True)
    finally:
        engine.dispose()


def test_only_coordinators_see_jobs(site, live_world):
    client = site[0].test_client()
    assert login(client, live_world["logins"]["committee"]).status_code == 302
    assert client.get("/jobs").status_code == 403
    assert client.get("/jobs/1.json").status_code == 403
