"""A small named world for the web tests: Hot Springs, AR and Rutland, VT, both tied to
Hanamaki (Iwate), which absorbed Ishidoriya on 2006-01-01.

Rows are looked up first and created only when the reference data lacks them, so the
same builder works on the shipped data and on an empty schema.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from matcher import accounts
from matcher.scoring.pool import invalidate
from matcher.scoring.readback import pair_levels
from matcher.scoring.store import ensure_run
from matcher.models import (Alumnus, Chapter, Municipality, MunicipalityAlias, Placement, Prefecture,
                            Relationship, Suggestion, USPlace, USState)

PASSWORD = "correct horse battery"
# The secrets no page may show before approval.
HANA_EMAIL = "hana.quillfeather@example.org"
HANA_SURNAME = "Quillfeather"
PRIYA_SURNAME = "Venkataraman-Oduya"


@dataclass
class World:
    hot_springs: Relationship
    rutland: Relationship
    chapter: Chapter
    hana: Alumnus
    daniel: Alumnus
    priya: Alumnus
    logins: dict[str, str]


def _one(session, model, where, **create):
    found = session.scalar(select(model).filter_by(**where))
    if found is None:
        found = model(**where, **create)
        session.add(found)
        session.flush()
    return found


def _place(session, name, state, lat, lon):
    found = session.scalar(select(USPlace).filter_by(name=name, state_abbr=state, kind="city"))
    if found is None:
        next_id = (session.scalar(select(func.max(USPlace.id))) or 0) + 1
        found = USPlace(id=next_id, name=name, state_abbr=state, kind="city", lat=lat, lon=lon)
        session.add(found)
        session.flush()
    return found


def _relationship(session, place, muni, **fields):
    key = f"place:{place.id}|muni:{muni.code}"
    rel = session.scalar(select(Relationship).filter_by(pair_key=key))
    if rel is None:
        rel = Relationship(pair_key=key, us_kind="city", us_place_id=place.id, us_state_abbr=place.state_abbr,
                           jp_kind="municipality", jp_municipality_code=muni.code,
                           jp_prefecture_code=muni.prefecture_code)
        session.add(rel)
    for name, value in fields.items():
        setattr(rel, name, value)
    session.flush()
    return rel


def _contribution(factor, level, weight, sentence):
    return {"factor": factor, "level": level, "weight": weight, "sentence": sentence}


def build(session) -> World:
    """Create the named world (flushed, not committed) and return its handles."""
    iwate = _one(session, Prefecture, {"code": "03"}, name="Iwate", name_ja="岩手県", region="Tohoku",
                 neighbours="02;04;05", lat=39.70, lon=141.15)
    hanamaki = _one(session, Municipality, {"code": "03205"}, prefecture_code=iwate.code, name="Hanamaki",
                    name_romaji="Hanamaki", name_ja="花巻市", kind="city", lat=39.388, lon=141.117)
    morioka = _one(session, Municipality, {"code": "03201"}, prefecture_code=iwate.code, name="Morioka",
                   name_romaji="Morioka", name_ja="盛岡市", kind="city", lat=39.70, lon=141.15)
    ishidoriya = _one(session, MunicipalityAlias, {"municipality_code": "03205", "name": "Ishidoriya"},
                      merged_on=dt.date(2006, 1, 1), kind="town", reason="merger")
    for abbr, name, lat, lon in (("AR", "Arkansas", 34.9, -92.4), ("VT", "Vermont", 44.0, -72.7)):
        _one(session, USState, {"abbr": abbr}, name=name, lat=lat, lon=lon)
    hot_springs = _place(session, "Hot Springs", "AR", 34.5037, -93.0552)
    rutland_place = _place(session, "Rutland", "VT", 43.6106, -72.9726)
    little_rock = _place(session, "Little Rock", "AR", 34.7465, -92.2896)
    hs = _relationship(session, hot_springs, hanamaki, signed="1993-01-15", signed_year=1993, status="active",
                       themes="education;youth exchange;tourism", committee_name="Hot Springs Sister City Committee",
                       committee_email="sistercities@hotsprings.example")
    rut = _relationship(session, rutland_place, hanamaki, jp_name_at_signing="Ishidoriya", signed="1985",
                        signed_year=1985, status="dormant", dormant_since=2012,
                        committee_email="rutland-committee@rutland.example")
    chapter = _one(session, Chapter, {"slug": "jm-test-heartland"}, name="JETAA Heartland (test)", states="AR;OK",
                   hub="Little Rock, AR", hub_place_id=little_rock.id)

    def alum(ext, name, email, home, place, **kw):
        a = Alumnus(external_id=ext, name=name, email=email, home=home.label, home_place_id=home.id,
                    home_state_abbr=home.state_abbr, home_lat=home.lat, home_lon=home.lon, chapter_id=chapter.id,
                    **kw)
        session.add(a)
        session.flush()
        return a

    hana = alum("T-HANA", f"Hana {HANA_SURNAME}", HANA_EMAIL, hot_springs, None, japanese_level=4,
                interests="education, youth exchange, onsen tourism", availability_hours=8, max_matches=2,
                consent=True, consent_contact=True)
    session.add(Placement(alumnus_id=hana.id, place="Ishidoriya-cho, Iwate", municipality_code=hanamaki.code,
                          prefecture_code=iwate.code, alias_id=ishidoriya.id, role="ALT", start_year=2003,
                          end_year=2005))
    daniel = alum("T-DANIEL", "Daniel Okonkwo-Marsh", "daniel.om@example.org", little_rock, None,
                  japanese_level=2, interests="business development", availability_hours=4, consent=True,
                  consent_contact=True)
    session.add(Placement(alumnus_id=daniel.id, place="Morioka", municipality_code=morioka.code,
                          prefecture_code=iwate.code, role="CIR", start_year=2010, end_year=2013))
    priya = alum("T-PRIYA", f"Priya {PRIYA_SURNAME}", "priya.vo@example.org", hot_springs, None,
                 japanese_level=5, consent=False)
    session.add(Placement(alumnus_id=priya.id, place="Hanamaki", municipality_code=hanamaki.code,
                          prefecture_code=iwate.code, role="ALT", start_year=2015, end_year=2017))
    session.flush()

    # Volunteer rows hold level codes, as a score run stores them; their reasons are written when read.
    invalidate()
    run_id = ensure_run(session, "default")[0]

    def volunteer(alum, rel, score, rank):
        return Suggestion(run_id=run_id, kind="volunteer", alumnus_id=alum.id, relationship_id=rel.id, score=score,
                          rank=rank, levels=pair_levels(session, alum.id, rel.id))

    rows = [
        volunteer(hana, hs, 7.6, 1),
        volunteer(daniel, hs, 3.9, 2),
        # Priya did not consent: a stale row like this must still never be shown.
        volunteer(priya, hs, 9.0, 0),
        volunteer(hana, rut, 4.5, 1),
        Suggestion(run_id=run_id, kind="partner", chapter_id=chapter.id, relationship_id=hs.id, score=6.5, rank=1,
                   contributions=[_contribution("members", "partner", 3.0, "2 of your members lived in Hanamaki"),
                                  _contribution("hub", "hub_city", 1.5, "78 km from your hub, Little Rock, AR")]),
        Suggestion(run_id=run_id, kind="partner", chapter_id=chapter.id, relationship_id=rut.id, score=4.0, rank=2,
                   contributions=[_contribution("status", "dormant", 1.0, "dormant since 2012")]),
    ]
    session.add_all(rows)
    session.flush()
    logins = {
        "coordinator": "coord@example.org",
        "coordinator2": "coord2@example.org",
        "chapter_lead": "lead@example.org",
        "committee": "committee@hotsprings.example",
        "committee_rutland": "committee@rutland.example",
        "alumnus": "hanaq",
        "alumnus_daniel": "danielom",
    }
    scopes = {"chapter_lead": {"chapter": chapter.slug}, "committee": {"relationship_id": hs.id},
              "committee_rutland": {"relationship_id": rut.id}, "alumnus": {"alum": "T-HANA"},
              "alumnus_daniel": {"alum": "T-DANIEL"}}
    roles = {"coordinator2": "coordinator", "committee_rutland": "committee", "alumnus_daniel": "alumnus"}
    for key, login in logins.items():
        accounts.create_user(session, login, roles.get(key, key), password=PASSWORD, **scopes.get(key, {}))
    return World(hs, rut, chapter, hana, daniel, priya, logins)
