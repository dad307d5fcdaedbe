"""Resolve what a person typed into a Japanese placement or a US home, through the gazetteer.

Flask-free: the caller hands in the session and the process's gazetteer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.ingest.importer import ChapterFinder
from matcher.models import Municipality, MunicipalityAlias, USPlace

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


def resolve_jp(session: Session, text: str, gazetteer) -> JPPlace:
    """Return the municipality (or prefecture) ``text`` names; old merged names count."""
    answer = gazetteer.resolve(text, country="JP")
    if answer.status == "ambiguous":
        names = "; ".join(f"{c.name} ({c.prefecture or ''})" for c in answer.candidates)
        raise PlaceError(f"“{text}” could be {names}: add the prefecture")
    if answer.status != "resolved":
        raise PlaceError(f"“{text}” is not a Japanese municipality or prefecture we know")
    code = str(answer.code)
    if answer.kind == "prefecture":
        return JPPlace(None, code, None, f"{answer.name} Prefecture")
    muni = session.get(Municipality, code)
    alias_id = None
    if answer.via_alias:
        alias_id = session.scalar(select(MunicipalityAlias.id).where(
            MunicipalityAlias.municipality_code == code, MunicipalityAlias.name == answer.via_alias["name"]))
    label = f"{answer.via_alias['name']} (now {muni.name_romaji})" if answer.via_alias else muni.name_romaji
    return JPPlace(code, muni.prefecture_code, alias_id, label)


def resolve_us(session: Session, text: str, gazetteer) -> USHome:
    """Return the US place a home address ("Rutland, VT" or a ZIP code) names."""
    text = text.strip()
    answer = gazetteer.resolve(text, country="US")
    if answer.status == "resolved" and answer.kind != "state" and answer.lat is not None and answer.state:
        place_id = answer.place_id if answer.place_id is not None and session.get(USPlace, answer.place_id) else None
        return USHome(place_id, answer.state, answer.lat, answer.lon, text)
    if answer.status == "ambiguous":
        names = "; ".join(f"{c.name}, {c.state}" for c in answer.candidates)
        raise PlaceError(f"“{text}” could be {names}: add the state")
    raise PlaceError(f"“{text}” is not a US city (“Rutland, VT”) or ZIP code we know")


def chapter_for_state(session: Session, home: USHome) -> int | None:
    """Return the id of the chapter for a home (the nearest hub where two chapters share its state)."""
    return ChapterFinder.from_session(session).find(home.state, home.lat, home.lon)
