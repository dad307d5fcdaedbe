"""Resolve what a person typed into a Japanese placement or a US home, through the gazetteer.

Flask-free: the caller hands in the session and the process's gazetteer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.gazetteer import MAX_PLACE_CHARS, candidate_label, place_problem, resolved_summary
from matcher.ingest.importer import ChapterFinder
from matcher.models import Municipality, MunicipalityAlias, USPlace

__all__ = ["JPPlace", "USHome", "resolve_jp", "resolve_us", "chapter_for_state", "preview_jp", "check_length"]


@dataclass
class JPPlace:
    municipality_code: str | None
    prefecture_code: str
    alias_id: int | None
    label: str
    summary: str | None = None  # what the text resolved to, said for a person


@dataclass
class USHome:
    place_id: int | None
    state: str
    lat: float
    lon: float
    label: str


class PlaceError(ValueError):
    """The text names no place, or several: the message says which."""


_JP_EXPECTED = "a Japanese municipality or prefecture (old names too)"


def check_length(text: str) -> None:
    """Refuse a place text longer than the gazetteer reads, with the one place sentence."""
    if len(text) > MAX_PLACE_CHARS:
        raise PlaceError(f"the place text is {len(text):,} characters long; a place is at most {MAX_PLACE_CHARS}")


def preview_jp(text: str, gazetteer) -> dict:
    """Say what a placement text resolves to, before it is saved (JSON for the form's preview)."""
    text = (text or "").strip()
    try:
        check_length(text)
    except PlaceError as exc:
        return {"status": "too long", "message": str(exc), "candidates": []}
    answer = gazetteer.resolve(text, country="JP") if text else None
    if answer is None or answer.status != "resolved":
        message = place_problem(answer, _JP_EXPECTED) if answer else "type a town, city or prefecture"
        cands = [{"label": candidate_label(c), "reason": c.note} for c in (answer.candidates[:5] if answer else [])]
        return {"status": answer.status if answer else "empty", "message": message, "candidates": cands}
    return {"status": "resolved", "message": resolved_summary(answer), "code": answer.code, "via": answer.via,
            "candidates": []}


def resolve_jp(session: Session, text: str, gazetteer) -> JPPlace:
    """Return the municipality (or prefecture) ``text`` names; old merged names count."""
    check_length(text)
    answer = gazetteer.resolve(text, country="JP")
    if answer.status != "resolved":
        raise PlaceError(place_problem(answer, _JP_EXPECTED))
    code = str(answer.code)
    if answer.kind == "prefecture":
        return JPPlace(None, code, None, f"{answer.name} Prefecture")
    muni = session.get(Municipality, code)
    alias_id = None
    if answer.via_alias:
        alias_id = session.scalar(select(MunicipalityAlias.id).where(
            MunicipalityAlias.municipality_code == code, MunicipalityAlias.name == answer.via_alias["name"]))
    label = f"{answer.via_alias['name']} (now {muni.name_romaji})" if answer.via_alias else muni.name_romaji
    return JPPlace(code, muni.prefecture_code, alias_id, label, resolved_summary(answer))


def resolve_us(session: Session, text: str, gazetteer) -> USHome:
    """Return the US place a home address ("Rutland, VT" or a ZIP code) names."""
    text = text.strip()
    check_length(text)
    answer = gazetteer.resolve(text, country="US")
    if answer.status == "resolved" and answer.kind != "state" and answer.lat is not None and answer.state:
        place_id = answer.place_id if answer.place_id is not None and session.get(USPlace, answer.place_id) else None
        return USHome(place_id, answer.state, answer.lat, answer.lon, text)
    if answer.status in ("ambiguous", "unknown") and (answer.candidates or answer.note):
        raise PlaceError(place_problem(answer, "a US city (“Rutland, VT”) or ZIP code"))
    raise PlaceError(f"“{text}” is not a US city (“Rutland, VT”) or ZIP code we know")


def chapter_for_state(session: Session, home: USHome) -> int | None:
    """Return the id of the chapter for a home (the nearest hub where two chapters share its state)."""
    return ChapterFinder.from_session(session).find(home.state, home.lat, home.lon)
