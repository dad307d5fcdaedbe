"""The engine commands on a scratch database: score, suggest (JSON shape, merger reason), assign."""

import json

import pytest
from sqlalchemy import select

from matcher import db
from matcher.cli import cli
from matcher.models import Alumnus, MunicipalityAlias, Placement, Relationship, USPlace


@pytest.fixture(scope="module")
def scored_url(scratch_db_url):
    """A scratch database with an Ishidoriya alum and a few Takeo alumni."""
    engine = db.make_engine(scratch_db_url)
    with db.session_scope(db.make_sessionmaker(engine)) as s:
        alias = s.scalars(select(MunicipalityAlias).where(MunicipalityAlias.name == "Ishidoriya")).one()
        for i, (place, muni, pref, alias_id) in enumerate([("Ishidoriya, Iwate", "03205", "03", alias.id)] +
                                                          [("Takeo", "41206", "41", None)] * 4):
            a = Alumnus(external_id=f"C-{i}", name=f"Test {i}", email=f"c{i}@example.org", japanese_level=3,
                        availability_hours=6, max_matches=1, consent=True, home="Portland, OR", home_lat=45.52,
                        home_lon=-122.68, home_state_abbr="OR")
            s.add(a)
            s.flush()
            s.add(Placement(alumnus_id=a.id, place=place, municipality_code=muni, prefecture_code=pref,
                            alias_id=alias_id, role="ALT", start_year=2003, end_year=2005))
    engine.dispose()
    return scratch_db_url


def _json(runner, url, *args):
    result = runner.invoke(cli, ["--database-url", url, *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _rel(url, city, state):
    engine = db.make_engine(url)
    with db.session_scope(db.make_sessionmaker(engine)) as s:
        rid = s.scalars(select(Relationship.id).join(USPlace, Relationship.us_place_id == USPlace.id)
                        .where(USPlace.name == city, USPlace.state_abbr == state)).one()
    engine.dispose()
    return rid


def test_score_then_suggest_volunteers_names_the_merger(runner, scored_url):
    summary = _json(runner, scored_url, "score", "--json")
    assert summary["alumni"] == 5 and summary["volunteer_suggestions"] > 0
    items = _json(runner, scored_url, "suggest", "volunteers", "--relationship",
                  str(_rel(scored_url, "Hot Springs", "AR")), "--json")
    top = items[0]
    assert {"relationship_id", "alumnus_id", "us_place", "jp_place", "score", "reasons"} <= top.keys()
    assert top["external_id"] == "C-0"
    assert {"factor", "level", "weight", "sentence"} == set(top["reasons"][0])
    assert any("Ishidoriya (merged into Hanamaki" in r["sentence"] for r in top["reasons"])


def test_suggest_relationships_and_partners_shape(runner, scored_url):
    mine = _json(runner, scored_url, "suggest", "relationships", "--alum", "C-1", "--json")
    assert mine and all({"us_place", "jp_place", "score", "reasons"} <= m.keys() for m in mine)
    partners = _json(runner, scored_url, "suggest", "partners", "--chapter", "portland", "--json")
    assert all({"chapter", "us_place", "jp_place", "score", "reasons"} <= p.keys() for p in partners)


def test_assign_never_exceeds_capacity(runner, scored_url):
    result = _json(runner, scored_url, "assign", "--json")
    per_alum = {}
    for p in result["pairs"]:
        per_alum[p["alumnus_id"]] = per_alum.get(p["alumnus_id"], 0) + 1
    assert all(n <= 1 for n in per_alum.values())  # every test alum has max_matches=1
