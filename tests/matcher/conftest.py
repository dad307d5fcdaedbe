"""A small hand-made world in a database of its own (no reference data), whose report
figures and map counts are known by hand:

- Hot Springs, AR ↔ Hanamaki (active, R1); Rutland, VT ↔ Hanamaki (dormant since 2012, R2);
  Maryland ↔ Oita Prefecture (R3, signed 1990); Annapolis, MD ↔ Beppu (R4, signed 2024);
  Wyoming has no tie.
- Alumni: Ada (Hot Springs; placed in Ishidoriya, merged into Hanamaki in 2006), Ben (Little
  Rock, 78 km away; Oita city), Cy (Hot Springs; Oita city), Dee (Little Rock; Hanamaki; did
  NOT consent), Eve (no home, no placement), Fay (no home; Iwate prefectural post; capacity 0).
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from matcher import db
from matcher.models import (Alumnus, Chapter, Decision, MatchRequest, Municipality, MunicipalityAlias, Placement,
                            Prefecture, Relationship, Suggestion, USPlace, USState)
from matcher.scoring.store import ensure_run

UTC = dt.timezone.utc


def _rel(key, place, state, jp_kind, muni, pref, **kw):
    return Relationship(pair_key=key, us_kind="state" if place is None else "city",
                        us_place_id=place.id if place else None, us_state_abbr=state, jp_kind=jp_kind,
                        jp_municipality_code=muni, jp_prefecture_code=pref, **kw)


def _build(s) -> SimpleNamespace:
    s.add_all([Prefecture(code="03", name="Iwate", name_ja="岩手県", region="Tohoku", lat=39.70, lon=141.15),
               Prefecture(code="44", name="Oita", name_ja="大分県", region="Kyushu-Okinawa", lat=33.24, lon=131.61)])
    s.flush()
    s.add_all([Municipality(code="03205", prefecture_code="03", name="Hanamaki", name_romaji="Hanamaki",
                            name_ja="花巻市", kind="city", lat=39.388, lon=141.117),
               Municipality(code="44201", prefecture_code="44", name="Oita", name_romaji="Ōita", name_ja="大分市",
                            kind="city", lat=33.2382, lon=131.6126),
               Municipality(code="44202", prefecture_code="44", name="Beppu", name_romaji="Beppu", name_ja="別府市",
                            kind="city", lat=33.2846, lon=131.4914)])
    s.flush()
    ishidoriya = MunicipalityAlias(municipality_code="03205", name="Ishidoriya", merged_on=dt.date(2006, 1, 1),
                                   kind="town", reason="merger")
    s.add(ishidoriya)
    s.add_all([USState(abbr="AR", name="Arkansas", fips="05", lat=34.9, lon=-92.4),
               USState(abbr="VT", name="Vermont", fips="50", lat=44.0, lon=-72.7),
               USState(abbr="MD", name="Maryland", fips="24", lat=39.0, lon=-76.7),
               USState(abbr="WY", name="Wyoming", fips="56", lat=43.0, lon=-107.5)])
    s.flush()
    hot = USPlace(id=1, name="Hot Springs", state_abbr="AR", lat=34.5037, lon=-93.0552)
    rock = USPlace(id=2, name="Little Rock", state_abbr="AR", lat=34.7465, lon=-92.2896)
    rutland = USPlace(id=3, name="Rutland", state_abbr="VT", lat=43.6106, lon=-72.9726)
    annapolis = USPlace(id=4, name="Annapolis", state_abbr="MD", lat=38.9784, lon=-76.4922)
    s.add_all([hot, rock, rutland, annapolis])
    s.flush()
    r1 = _rel("place:1|muni:03205", hot, "AR", "municipality", "03205", "03", status="active", signed_year=1993)
    r2 = _rel("place:3|muni:03205", rutland, "VT", "municipality", "03205", "03", status="dormant",
              dormant_since=2012, signed_year=1985, jp_name_at_signing="Ishidoriya")
    r3 = _rel("state:MD|pref:44", None, "MD", "prefecture", None, "44", status="unknown", signed_year=1990)
    r4 = _rel("place:4|muni:44202", annapolis, "MD", "municipality", "44202", "44", status="active", signed_year=2024)
    s.add_all([r1, r2, r3, r4])
    heartland = Chapter(slug="heartland", name="Heartland", states="AR;OK")
    northeast = Chapter(slug="northeast", name="Northeast", states="VT;MD")
    s.add_all([heartland, northeast])
    s.flush()

    def alum(ext, name, home, consent=True, **kw):
        a = Alumnus(external_id=ext, name=name, email=f"{ext.lower()}@example.org", consent=consent,
                    home=home.label if home else "", home_place_id=home.id if home else None,
                    home_state_abbr=home.state_abbr if home else None, home_lat=home.lat if home else None,
                    home_lon=home.lon if home else None, availability_hours=4, **kw)
        s.add(a)
        s.flush()
        return a

    ada = alum("W-ADA", "Ada Quillon", hot, chapter_id=heartland.id)
    ben = alum("W-BEN", "Ben Oakridge", rock, chapter_id=heartland.id)
    cy = alum("W-CY", "Cy Marlow", hot)
    dee = alum("W-DEE", "Dee Withheld", rock, consent=False)
    eve = alum("W-EVE", "Eve Nowhere", None)
    fay = alum("W-FAY", "Fay Fullup", None, max_matches=0)
    for a, muni, pref, alias in ((ada, "03205", "03", ishidoriya.id), (ben, "44201", "44", None),
                                 (cy, "44201", "44", None), (dee, "03205", "03", None), (fay, None, "03", None)):
        s.add(Placement(alumnus_id=a.id, place="as written", municipality_code=muni, prefecture_code=pref,
                        alias_id=alias, role="ALT", start_year=2003, end_year=2005))
    run_id = ensure_run(s, "default")[0]
    for a, r, score in ((ada, r1, 7.6), (ben, r1, 3.9), (cy, r1, 5.0), (ada, r2, 4.5), (ben, r3, 3.0),
                        (cy, r3, 2.0), (dee, r1, 9.0)):
        s.add(Suggestion(run_id=run_id, kind="volunteer", alumnus_id=a.id, relationship_id=r.id, score=score))
    t0 = dt.datetime(2026, 1, 5, 10, tzinfo=UTC)  # a Monday, ISO week 2026-W02
    for a, score, at, decisions in (
            (ada, 7.6, t0, [("approved", "coord1", 24)]),
            (ben, 3.9, t0 + dt.timedelta(days=1), [("rejected", "coord2", 48)]),
            (cy, 5.0, t0 + dt.timedelta(days=8), [("on_hold", "coord1", 2), ("approved", "coord1", 12)])):
        req = MatchRequest(kind="introduction", alumnus_id=a.id, relationship_id=r1.id, score=score,
                           requested_at=at, status="pending", decision_count=0)
        s.add(req)
        s.flush()
        for seq, (status, who, hours) in enumerate(decisions, 1):
            # the database moves a request's status only along a decision row (append-only trail)
            s.add(Decision(request_id=req.id, sequence=seq, status=status, decided_by=who,
                           decided_at=at + dt.timedelta(hours=hours)))
            s.flush()
            req.status, req.decision_count = status, seq
            s.flush()
    s.flush()
    return SimpleNamespace(r1=r1.id, r2=r2.id, r3=r3.id, r4=r4.id, ada=ada.id, ben=ben.id, cy=cy.id, dee=dee.id,
                           ishidoriya=ishidoriya.id, heartland=heartland.id,
                           now=dt.datetime(2026, 6, 1, tzinfo=UTC))


@pytest.fixture
def small_world(empty_db_url):
    """(session, handles) on a fresh database holding only the small world."""
    engine = db.make_engine(empty_db_url)
    db.upgrade(engine)
    sessions = db.make_sessionmaker(engine)
    with db.session_scope(sessions) as s:
        handles = _build(s)
    session = sessions()
    try:
        yield session, handles
    finally:
        session.close()
        engine.dispose()
