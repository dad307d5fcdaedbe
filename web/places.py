"""Resolve what a person typed into a Japanese placement or a US home, gazetteer first.

Flask-free. While ``matcher.gazetteer`` is unavailable the reference tables answer
the plain forms ("Ishidoriya, Iwate", "Hanamaki", "Rutland, VT", "05701").
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from matcher.models import Chapter, Municipality, MunicipalityAlias, Prefecture, USPlace, USState, USZip
from web.present import _fold

__all__ = ["JPPlace", "USHome", "resolve_jp", "resolve_us", "chapter_for_state"]


@dataclass
class JPPlace:
    municipality_code: str | None
    prefecture_code: str
    alias_id: int | None
    label: str


@dataclass
class USHome:
    place_id: int | None
    state: str
    lat: float
    lon: float
    label: str


class PlaceError(ValueError):
    """The text names no place, or several: the message says which."""


def resolve_jp(session: Session, text: str, gazetteer=None) -> JPPlace:
    """Return the municipality (or prefecture) ``text`` names; old merged names count."""
    if gazetteer is not None:
        answer = gazetteer.resolve(text, country="JP")
        if answer.status == "resolved":
            code = str(answer.code)
            if answer.kind == "prefecture" or len(code) == 2:
                return JPPlace(None, code, None, f"{answer.name} Prefecture")
            muni = session.get(Municipality, code)
            alias_id = None
            via = getattr(answer, "via_alias", None)
            if via:
                alias_id = session.scalar(select(MunicipalityAlias.id).where(
                    MunicipalityAlias.municipality_code == code, MunicipalityAlias.name == via["name"]))
            label = f"{via['name']} (now {muni.name_romaji})" if via else muni.name_romaji
            return JPPlace(code, muni.prefecture_code, alias_id, label)
        if answer.status == "ambiguous":
            names = "; ".join(f"{c.name} ({c.prefecture or ''})" for c in answer.candidates)
            raise PlaceError(f"“{text}” could be {names}: add the prefecture")
        raise PlaceError(f"“{text}” is not a Japanese municipality or prefecture we know")
    return _resolve_jp_tables(session, text)


def _resolve_jp_tables(session: Session, text: str) -> JPPlace:
    name, _, pref_text = text.partition(",")
    core, pref_core = _fold(name), _fold(pref_text)
    pref = session.scalar(select(Prefecture).where(func.lower(Prefecture.name) == core))
    if pref is not None and not pref_core:
        return JPPlace(None, pref.code, None, f"{pref.name} Prefecture")
    query = select(Municipality).join(Prefecture).where(or_(func.lower(Municipality.name) == core,
                                                            Municipality.name_ja == name.strip()))
    alias_query = (select(MunicipalityAlias, Municipality).join(Municipality).join(Prefecture)
                   .where(func.lower(MunicipalityAlias.name) == core))
    if pref_core:
        query = query.where(func.lower(Prefecture.name) == pref_core)
        alias_query = alias_query.where(func.lower(Prefecture.name) == pref_core)
    found = [JPPlace(m.code, m.prefecture_code, None, m.name_romaji) for m in session.scalars(query)]
    found += [JPPlace(m.code, m.prefecture_code, a.id, f"{a.name} (now {m.name_romaji})")
              for a, m in session.execute(alias_query)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise PlaceError(f"“{text.strip()}” is not a Japanese municipality or prefecture we know")
    raise PlaceError(f"“{text.strip()}” could be {'; '.join(p.label for p in found)}: add the prefecture")


def resolve_us(session: Session, text: str, gazetteer=None) -> USHome:
    """Return the US place a home address ("Rutland, VT" or a ZIP code) names."""
    text = text.strip()
    if gazetteer is not None:
        answer = gazetteer.resolve(text, country="US")
        if answer.status == "resolved" and answer.lat is not None and answer.kind != "state":
            place_id = getattr(answer, "place_id", None)
            state = answer.state if len(str(answer.state or "")) == 2 else None
            if place_id is not None and session.get(USPlace, place_id) is not None:
                state = state or session.get(USPlace, place_id).state_abbr
            else:
                place_id = None
            if state:
                return USHome(place_id, state, answer.lat, answer.lon, text)
    if text.isdigit() and len(text) == 5:
        z = session.get(USZip, text)
        if z is not None:
            return USHome(z.place_id, z.place.state_abbr, z.lat, z.lon, text)
    city, _, state = (part.strip() for part in text.rpartition(","))
    if city and state:
        st = session.scalar(select(USState).where(or_(func.upper(USState.abbr) == state.upper(),
                                                      func.lower(USState.name) == state.lower())))
        if st is not None:
            place = session.scalar(select(USPlace).where(USPlace.state_abbr == st.abbr,
                                                         func.lower(USPlace.name) == city.lower()))
            if place is not None:
                return USHome(place.id, st.abbr, place.lat, place.lon, text)
    raise PlaceError(f"“{text}” is not a US city (“Rutland, VT”) or ZIP code we know")


def chapter_for_state(session: Session, state: str) -> Chapter | None:
    """Return the first chapter (by name) whose states include ``state``."""
    for chapter in session.scalars(select(Chapter).order_by(Chapter.name)):
        if state in chapter.state_list:
            return chapter
    return None
