"""The import page follows its background re-score in a real browser, under the strict CSP
(a static script polling the job's JSON, no inline script)."""

from __future__ import annotations

import pytest

from matcher import jobs
from test_browser import _page, _shot, browser  # noqa: F401  (the browser fixture)

pytestmark = pytest.mark.browser

ALUM = ("external_id,name,email,home,japanese_level,interests,availability_hours,max_matches,consent\n"
        "BROWSER-1,Zora Plimpton,zora.browser@example.org,\"Hot Springs, AR\",N2,education,5,2,yes\n")


def test_the_import_page_says_scoring_in_the_background_then_done(browser, live_server, live_world):  # noqa: F811
    page = _page(browser, live_server, live_world["logins"]["coordinator"])
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    # The page's first poll of the job is held until the page as served has been read: the
    # worker may finish a one-alum re-score before the test reads the line, and jobs.js would
    # already have replaced "in the background" with "done".
    holding, held = True, []
    page.route("**/jobs/*.json", lambda route: held.append(route) if holding else route.continue_())
    with jobs.start_worker(live_world["url"]):
        page.goto(f"{live_server.url}/import")
        page.select_option("select[name=kind]", "alumni")
        page.uncheck("input[name=dry_run]")
        page.set_input_files("input[name=file]", files=[{"name": "alumni.csv", "mimeType": "text/csv",
                                                         "buffer": ALUM.encode()}])
        page.click("form.stack button")
        line = page.locator(".job-follow .job-line")
        assert line.inner_text().startswith("Scoring 1 alumnus in the background")
        holding = False
        for route in held:
            route.continue_()
        page.locator(".job-follow[data-status=done]").wait_for(timeout=60_000)
        assert line.inner_text() == "Scoring 1 alumnus: done"
        _shot(page, "coordinator-import-job-done")
        page.click(".job-follow a")
        assert "re-score 1 alumnus after importing alumni (alumni.csv)" in page.locator("tr.job.done").first.inner_text()
        _shot(page, "coordinator-jobs")
    jobs.close_queues()
    assert refused == []
