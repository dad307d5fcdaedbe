"""Maps, reports and accessibility in a real browser (Debian's Chromium through Playwright).

axe-core (from the npm registry, see the ``axe_source`` fixture) is served to each page by the
test from the app's own origin, so the page's CSP (script-src 'self') lets it run unchanged,
and every page of every role must pass WCAG 2.1 A and AA with no violation.
Screenshots go to $JETMATCH_SHOTS (default /tmp/shots).
"""

from __future__ import annotations

import pytest

import jm_world
from matcher import db
from matcher import partnerships as pt
from test_browser import ARGS, CHROMIUM, SHOTS, _shot, browser  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser

AXE_PATH = "/__test__/axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _signed_in(browser, live_server, login: str | None, width: int = 1100, axe: str | None = None):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.errors = []
    if axe is not None:
        page.route(f"{live_server.url}{AXE_PATH}",
                   lambda route: route.fulfill(status=200, content_type="application/javascript", body=axe))
    page.goto(live_server.url + "/login")
    if login:
        page.fill("input[name=login]", login)
        page.fill("input[name=password]", jm_world.PASSWORD)
        page.click("form.stack button")
        page.wait_for_url(live_server.url + "/")
    # listen only now: the sign-in page's favicon.ico is a 404 that is not ours to judge
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


def _axe_violations(page) -> list[str]:
    page.add_script_tag(url=page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2] + AXE_PATH)
    result = page.evaluate("async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:5]}"
            for v in result["violations"]]


def test_map_pairs_light_up_by_mouse_and_by_keyboard_without_console_errors(browser, live_server, live_world):  # noqa: F811
    page = _signed_in(browser, live_server, live_world["logins"]["coordinator"], width=1280)
    page.goto(f"{live_server.url}/map")
    hs = live_world["hot_springs"]
    us_end = page.locator(f'#map-us a.end[data-pair="{hs}"]')
    jp_end = page.locator(f'#map-jp a.end[data-pair="{hs}"]')
    item = page.locator(f'li[data-pair="{hs}"]')
    assert us_end.count() == 1 and jp_end.count() == 1
    assert "lit" not in (jp_end.get_attribute("class") or "")
    us_end.hover()
    assert "lit" in jp_end.get_attribute("class") and "lit" in item.get_attribute("class")
    _shot(page, "map-desktop-hover")
    page.screenshot(path=str(SHOTS / "map-pair-lit.png"))  # the viewport: no scrolling, the mouse stays
    page.mouse.move(0, 0)
    assert "lit" not in jp_end.get_attribute("class")
    # keyboard: focus the Japanese end (as Tab would), and the US end lights up
    jp_end.focus()
    assert "lit" in us_end.get_attribute("class")
    page.locator(".maps").screenshot(path=str(SHOTS / "map-pair-focused.png"))
    page.keyboard.press("Tab")
    assert "lit" not in us_end.get_attribute("class")
    focused_pair = page.evaluate("document.activeElement.getAttribute('data-pair')")
    assert focused_pair is not None and focused_pair != str(hs)  # Tab moved on to the next pair's end
    assert page.errors == []


def test_maps_render_at_phone_width_without_console_errors(browser, live_server, live_world):  # noqa: F811
    for who, url, name in (("coordinator", "/map", "map"), ("coordinator", "/reports", "reports"),
                           ("chapter_lead", "/chapters/jm-test-heartland/partners", "chapter-region"),
                           ("committee", f"/relationships/{live_world['hot_springs']}/volunteers", "partner-map")):
        for width, label in ((1280, "desktop"), (390, "phone")):
            page = _signed_in(browser, live_server, live_world["logins"][who], width=width)
            page.goto(live_server.url + url)
            for svg in page.locator("svg.map-svg").all():
                box = svg.bounding_box()
                assert box and 0 < box["width"] <= width, (url, width)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{url} scrolls sideways at {width}px ({scroll}px)"
            _shot(page, f"{name}-{label}")
            assert page.errors == [], (url, width, page.errors)
            page.context.close()


PAGES = {
    None: ["/login"],
    "coordinator": ["/", "/queue", "/history", "/partnerships", "/import", "/users", "/map", "/reports",
                    "/relationships", "/relationships?q=Hanamaki", "/relationships/{hot_springs}",
                    "/relationships/{hot_springs}/volunteers", "/chapters/jm-test-heartland/partners",
                    "/account/token", "/no-such-page"],
    "chapter_lead": ["/", "/chapters/jm-test-heartland/partners", "/relationships"],
    "committee": ["/", "/relationships/{hot_springs}/volunteers", "/relationships/{rutland}"],
    "alumnus": ["/", "/me", "/me/suggestions", "/me/delete"],
}


@pytest.fixture(scope="module")
def trained(live_world):
    """The partnership model trained and its suggestions stored, as the retrain job that follows an
    import leaves them. Without one, /partnerships fits a model and ranks every pair inside the
    request (about 7 s of CPU): on a busy 2-core machine page.goto's 30 s ran out waiting for it."""
    engine = db.make_engine(live_world["url"])
    with db.session_scope(db.make_sessionmaker(engine)) as session:
        pt.train(session)
    engine.dispose()


@pytest.mark.parametrize("role", list(PAGES), ids=lambda r: r or "anonymous")
def test_every_page_of_every_role_passes_axe_wcag21_aa(browser, live_server, live_world, axe_source, trained,  # noqa: F811
                                                       role):
    page = _signed_in(browser, live_server, live_world["logins"][role] if role else None, axe=axe_source)
    found = {}
    for url in PAGES[role]:
        before = len(page.errors)
        page.goto(live_server.url + url.format(**live_world))
        if url == "/no-such-page":  # the browser reports the 404 itself; the error page is what we judge
            del page.errors[before:]
        violations = _axe_violations(page)
        if violations:
            found[url] = violations
    assert found == {}
    assert page.errors == []
