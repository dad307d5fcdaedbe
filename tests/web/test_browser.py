"""Journeys in a real browser: Debian's Chromium, headless, driven by Playwright.

Screenshots go to $JETMATCH_SHOTS (default /tmp/shots); the folder is printed.
Without /usr/bin/chromium these tests skip, except under CI, where that is a failure.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import jm_world
from matcher import db
from matcher.mail import send_outbox

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("JETMATCH_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
SHOTS = Path(os.environ.get("JETMATCH_SHOTS", "/tmp/shots"))


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM}: install Debian's chromium (scripts/test does) to run browser tests"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {SHOTS}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def _page(browser, live_server, login: str, width: int = 1100):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(live_server.url + "/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", jm_world.PASSWORD)
    page.click("form.stack button")
    page.wait_for_url(live_server.url + "/")
    return page


def _loaded(page) -> None:
    """Wait for the page a click navigated to to load.

    A click waits only until the navigation it starts has committed: the new document may
    still be parsing, so content(), count() and all_inner_texts() (which do not wait) could
    read a page that is only partly there.
    """
    page.wait_for_load_state("load")


def _shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_committee_requests_coordinator_approves_committee_sees_contact(browser, live_server, live_world):
    hs = live_world["hot_springs"]
    committee = _page(browser, live_server, live_world["logins"]["committee"])
    _shot(committee, "committee-home")
    committee.goto(f"{live_server.url}/relationships/{hs}/volunteers")
    _shot(committee, "committee-volunteers")
    assert committee.locator("h1").inner_text() == "Volunteers for Hot Springs, AR ↔ Hanamaki"
    body = committee.content()
    assert "placed in Ishidoriya (merged into Hanamaki in 2006)" in body
    assert jm_world.HANA_EMAIL not in body and jm_world.HANA_SURNAME not in body

    committee.select_option("select[name=level]", "4")
    committee.click("form.filters button")
    _loaded(committee)  # all_inner_texts() does not wait: read the filtered page, not the one before it
    assert committee.locator("li.result h2").all_inner_texts() == ["Hana Q."]
    _shot(committee, "committee-volunteers-filtered")
    committee.click("li.result button:has-text('Request introduction')")
    _loaded(committee)
    assert "Introduction requested" in committee.locator(".flash").inner_text()
    assert "introduction pending" in committee.content()

    coordinator = _page(browser, live_server, live_world["logins"]["coordinator"])
    coordinator.goto(f"{live_server.url}/queue")
    _shot(coordinator, "coordinator-queue")
    item = coordinator.locator("li.result", has_text="Hana Q.")
    item.locator("input[name=note]").fill("Lived in Ishidoriya; lives in Hot Springs")
    item.locator("button[value=approved]").click()
    assert "approved" in coordinator.locator(".flash").inner_text()
    coordinator.goto(f"{live_server.url}/history")
    _shot(coordinator, "coordinator-history")
    assert live_world["logins"]["coordinator"] in coordinator.content()
    engine = db.make_engine(live_world["url"])
    with db.make_sessionmaker(engine)() as session:  # as `jetmatch mail send` would, after the page
        send_outbox(session, live_server.outbox, sender="jetmatch <no-reply@jetmatch.test>")
    engine.dispose()
    assert len(live_server.outbox.outbox) == 2

    committee.goto(f"{live_server.url}/relationships/{hs}/volunteers")
    contact = committee.locator(".contact").inner_text()
    assert jm_world.HANA_EMAIL in contact and f"Hana {jm_world.HANA_SURNAME}" in contact
    _shot(committee, "committee-volunteers-approved")


def test_alum_adds_a_placement_by_an_old_merged_name(browser, live_server, live_world):
    page = _page(browser, live_server, live_world["logins"]["alumnus_daniel"], width=390)  # a phone
    page.goto(f"{live_server.url}/me")
    page.fill("#place", "Ishidor")
    page.locator("#place-options option").first.wait_for(state="attached")
    labels = page.eval_on_selector_all("#place-options option", "els => els.map(e => e.label)")
    assert any(label.startswith("Ishidoriya (now Hanamaki)") for label in labels), labels
    page.fill("#place", "Ishidoriya, Iwate")
    preview = page.locator("#place-preview")  # what the text resolves to, before saving
    preview.filter(has_text="Ishidoriya — merged into Hanamaki on 2006-01-01").wait_for()
    page.select_option("select[name=role]", "ALT")
    page.fill("input[name=start_year]", "2016")
    page.fill("input[name=end_year]", "2018")
    page.click("#add-placement button")
    _loaded(page)  # count() does not wait
    assert "Added Ishidoriya (now Hanamaki)" in page.locator(".flash").inner_text()
    assert page.locator("table.list", has_text="Ishidoriya (now Hanamaki), Iwate").count() == 1
    _shot(page, "alumnus-profile-phone")
    page.goto(f"{live_server.url}/me/suggestions")
    _shot(page, "alumnus-suggestions-phone")


# Counts the answers the page's scripts have read (Response.json()), each counted once the
# handlers chained on it have run: they are promise callbacks, the count a task queued after them.
COUNT_ANSWERS = """
window.answersHandled = 0;
const json = Response.prototype.json;
Response.prototype.json = function () {
  return json.call(this).then(function (body) {
    setTimeout(function () { window.answersHandled += 1; }, 0);
    return body;
  });
};
"""


def test_a_late_answer_for_earlier_text_does_not_replace_the_preview(browser, live_server, live_world):
    """The answer for "Ishidor" is held back until "Ishidoriya, Iwate" has been answered: the
    preview must keep the later text's resolution (out-of-order answers once made CI flaky)."""
    page = _page(browser, live_server, live_world["logins"]["alumnus_daniel"])
    page.add_init_script(COUNT_ANSWERS)
    held = []

    def hold_the_short_one(route):
        if "q=Ishidor" in route.request.url and "Ishidoriya" not in route.request.url:
            held.append(route)
        else:
            route.continue_()

    page.route("**/places/*?q=*", hold_the_short_one)
    page.goto(f"{live_server.url}/me")
    page.fill("#place", "Ishidor")
    for _ in range(100):
        if len(held) >= 2:  # the resolve and the suggest request for "Ishidor"
            break
        page.wait_for_timeout(50)
    assert len(held) == 2, [r.request.url for r in held]
    page.fill("#place", "Ishidoriya, Iwate")
    # both answers for the later text (resolve and suggest) handled, not just arrived
    page.wait_for_function("() => window.answersHandled >= 2")
    assert "Ishidoriya — merged into Hanamaki on 2006-01-01" in page.locator("#place-preview").inner_text()
    options = page.eval_on_selector_all("#place-options option", "els => els.map(e => e.label)")
    # (none for the full text; the held answer for "Ishidor" has some: they must not come back)
    for route in held:  # now let the stale answers arrive
        route.continue_()
    page.wait_for_function("() => window.answersHandled >= 4")  # and their handlers run
    assert "Ishidoriya — merged into Hanamaki on 2006-01-01" in page.locator("#place-preview").inner_text()
    assert page.eval_on_selector_all("#place-options option", "els => els.map(e => e.label)") == options


def test_chapter_lead_and_search_pages(browser, live_server, live_world):
    page = _page(browser, live_server, live_world["logins"]["chapter_lead"])
    page.click("nav a:has-text('Partners')")
    page.wait_for_url("**/partners")  # content() read mid-navigation is empty: wait for the new page
    page.locator("body", has_text="2 of your members lived in Hanamaki").wait_for()
    _shot(page, "chapter-partners")
    page.goto(f"{live_server.url}/relationships?q=Ishidoriya")
    rows = page.locator("table.list tbody tr").all_inner_texts()
    assert any("Hot Springs, AR" in r for r in rows) and any("Rutland, VT" in r for r in rows)
    _shot(page, "relationships-search")
    page.goto(f"{live_server.url}/relationships/{live_world['rutland']}")
    _shot(page, "relationship-page")
    assert re.search(r"Partner at signing\s*Ishidoriya", page.locator("dl.facts").inner_text())


def test_pages_send_no_console_errors_under_the_csp(browser, live_server, live_world):
    page = _page(browser, live_server, live_world["logins"]["alumnus"])
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/me")
    page.fill("#place", "Hanam")
    page.wait_for_timeout(400)
    _shot(page, "alumnus-profile")
    assert errors == []
