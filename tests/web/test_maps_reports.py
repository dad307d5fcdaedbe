"""The map, report and explanation-path pages, read as HTML: what each map holds, the CSV
downloads, and who may see them."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from matcher.models import Relationship

TERRITORIES = ("PR", "VI", "GU", "AS", "MP")


def _svg(page: str, id_: str) -> str:
    match = re.search(rf'<figure class="map[^"]*" id="{id_}">(.*?)</figure>', page, re.S)
    assert match, f"no map {id_}"
    return match.group(1)


def _areas(svg: str) -> dict[str, int]:
    return {k: int(n) for k, n in re.findall(r'class="area s\d" data-key="(\w+)" data-count="(\d+)"', svg)}


def _ends(svg: str) -> list[int]:
    return [int(p) for p in re.findall(r'class="end \w+" data-pair="(\d+)"', svg)]


@pytest.mark.parametrize("role", ["committee", "chapter_lead", "alumnus"])
def test_only_coordinators_see_the_map_and_the_reports(as_role, world, role):
    client = as_role(role)
    for url in ("/map", "/reports", "/reports/coverage/relationships.csv"):
        assert client.get(url).status_code == 403, url


def test_the_map_draws_every_state_and_prefecture_and_one_mark_per_relationship_end(as_role, world, db_session):
    page = as_role("coordinator").get("/map").get_data(as_text=True)
    us, jp = _svg(page, "map-us"), _svg(page, "map-jp")
    assert "<title id=\"map-us-title\">" in us and "<desc id=\"map-jp-desc\">" in jp
    assert len(_areas(us)) == 51 and len(_areas(jp)) == 47
    rels = db_session.execute(select(Relationship.id, Relationship.us_state_abbr)).all()
    assert sorted(_ends(jp)) == sorted(r for r, _ in rels)
    assert sorted(_ends(us)) == sorted(r for r, st in rels if st not in TERRITORIES)
    # shading from the world's known counts: Hana, Daniel and Priya lived in Iwate and live in Arkansas
    assert _areas(jp)["03"] == 3 and _areas(us)["AR"] == 3
    assert re.search(r'class="area s4" data-key="03"', jp) and re.search(r'class="area s0" data-key="44"', jp)
    # the accessible list beside the map names each pair once
    assert page.count('<li data-pair="') == len(rels)
    assert "Hot Springs, AR ↔ Hanamaki, Iwate" in page
    for secret in ("Quillfeather", "example.org", "34.5037"):
        assert secret not in page


def test_the_map_filters_by_status_chapter_and_level(as_role, world, db_session):
    client = as_role("coordinator")
    dormant = client.get("/map?status=dormant").get_data(as_text=True)
    n_dormant = db_session.scalar(select(func.count()).where(Relationship.status == "dormant"))
    assert len(_ends(_svg(dormant, "map-jp"))) == n_dormant and f'data-pair="{world.rutland.id}"' in dormant
    chapter = client.get(f"/map?chapter={world.chapter.slug}").get_data(as_text=True)
    n_ar_ok = db_session.scalar(select(func.count()).where(Relationship.us_state_abbr.in_(["AR", "OK"])))
    assert len(_ends(_svg(chapter, "map-jp"))) == n_ar_ok
    # members of the chapter only: Hana, Daniel and Priya are all in it
    assert _areas(_svg(chapter, "map-jp"))["03"] == 3
    states = client.get("/map?level=state").get_data(as_text=True)
    assert f'data-pair="{world.hot_springs.id}"' not in states


def test_the_chapter_page_shows_its_region(as_role, world):
    page = as_role("chapter_lead").get(f"/chapters/{world.chapter.slug}/partners").get_data(as_text=True)
    assert set(_areas(_svg(page, "map-region-us"))) == {"AR", "OK"}
    assert _areas(_svg(page, "map-region-jp"))["03"] == 3
    assert f'data-pair="{world.hot_springs.id}"' in page


def test_the_committee_sees_willing_alumni_around_the_partner_by_municipality_only(as_role, world):
    page = as_role("committee").get(f"/relationships/{world.hot_springs.id}/volunteers").get_data(as_text=True)
    svg = _svg(page, "map-partner")
    # Priya did not consent: Hanamaki counts Hana only; Daniel lived in Morioka
    assert "<title>Hanamaki: 1 willing alumnus</title>" in svg and "<title>Morioka: 1 willing alumnus</title>" in svg
    assert _areas(svg)["03"] == 2
    assert len(re.findall(r'class="count"', svg)) == 2  # circles per municipality, not per person


def test_the_volunteer_and_alum_pages_show_the_graphs_explanation_path(as_role, world, client):
    path = "placed in Ishidoriya (2003–2005) → merged into Hanamaki (2006) → sister city of Hot Springs, AR"
    page = as_role("committee").get(f"/relationships/{world.hot_springs.id}/volunteers").get_data(as_text=True)
    assert path in page
    assert "placed in Morioka (2010–2013) → in Iwate Prefecture → home of Hanamaki → sister city of Hot Springs, AR" \
        in page
    client.post("/logout")
    page = as_role("alumnus").get("/me/suggestions").get_data(as_text=True)
    assert path in page
    assert "merged into Hanamaki (2006) → sister city of Rutland, VT" in page


def test_reports_page_and_every_table_as_csv(as_role, world, db_session):
    client = as_role("coordinator")
    page = client.get("/reports").get_data(as_text=True)
    for section in ("coverage", "decisions", "exposure", "dormant", "graph"):
        assert f'id="{section}"' in page
    assert 'role="img"' in page and "<script" not in page.split("<main>")[1]
    from matcher.reports import TABLES

    for section, tables in TABLES.items():
        for table in tables:
            response = client.get(f"/reports/{section}/{table}.csv")
            assert response.status_code == 200 and response.mimetype == "text/csv", (section, table)
            assert f"jetmatch-{section}-{table}.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(client.get("/reports/coverage/relationships.csv").get_data(as_text=True))))
    assert len(rows) == db_session.scalar(select(func.count()).select_from(Relationship))
    hot = next(r for r in rows if r["relationship_id"] == str(world.hot_springs.id))
    # Hana (lives there, lived in Ishidoriya) and Daniel (Little Rock, 78 km) consented; Priya did not
    assert (hot["volunteers"], hot["near"], hot["tied"], hot["covered"]) == ("2", "2", "1", "False")
    assert client.get("/reports/coverage/nothing.csv").status_code == 404
    assert client.get("/reports/secrets/relationships.csv").status_code == 404


def test_the_reports_page_shows_the_first_rows_of_a_long_table_and_the_csv_all(as_role, world, db_session,
                                                                             monkeypatch):
    import web.reports

    monkeypatch.setattr(web.reports, "PAGE_ROWS", 2)
    client = as_role("coordinator")
    page = client.get("/reports").get_data(as_text=True)
    total = db_session.scalar(select(func.count()).select_from(Relationship))
    assert total > 2
    table = re.search(r"<caption>Relationships, the ones with no volunteer first.*?</table>", page, re.S).group(0)
    assert f"the first 2 of {total}; the CSV has all" in table
    assert table.count("<tr>") == 3  # the header and two rows
    rows = list(csv.DictReader(io.StringIO(client.get("/reports/coverage/relationships.csv").get_data(as_text=True))))
    assert len(rows) == total
