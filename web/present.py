"""Flask-free helpers the views share: relationship search, distance bands, placement ties.

They take a session (and a gazetteer when one helps) and return plain values, so
the API and the HTML pages say the same things.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Hashable
from typing import Any

from flask import g, has_request_context
from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.orm import Session, joinedload

from matcher.gazetteer import strip_macrons
from matcher.geo import haversine_km
from matcher.scoring.comparisons import IN_TOWN_KM
from matcher.models import (
    CHANGE_STAMP,
    Municipality,
    MunicipalityAlias,
    Placement,
    Prefecture,
    Relationship,
    USPlace,
    USState,
)

__all__ = ["search_relationships", "km_between", "us_point", "distance_band", "tie_sentence",
           "placement_rows", "reasons", "BANDS", "relationship_json", "place_suggestions", "relationship_sides",
           "safe_cell", "band_phrase", "banded_reasons", "data_stamp", "StampedCache"]

BANDS = ((25, "within 25 km"), (80, "within 80 km"), (200, "within 200 km"))
_SUFFIXES = re.compile(r"[\s-]+(shi|ku|cho|machi|son|mura|city|town|village|ken|fu|to|prefecture|county)$")


def _fold(text: str) -> str:
    """Lower-case, strip macrons (the gazetteer's rule) and municipal suffixes: "Ōita-shi" → "oita"."""
    return _SUFFIXES.sub("", strip_macrons(text).strip().lower()).strip()


def _gazetteer_codes(gazetteer, q: str) -> tuple[set[str], set[str], set[int], set[str]]:
    """Ask the gazetteer what ``q`` names: municipality, prefecture, US place and state codes."""
    munis: set[str] = set()
    prefs: set[str] = set()
    places: set[int] = set()
    states: set[str] = set()
    if gazetteer is None:
        return munis, prefs, places, states
    answer = gazetteer.resolve(q)
    found = [answer] if getattr(answer, "status", None) == "resolved" else list(getattr(answer, "candidates", []) or [])
    for r in found:
        code, kind, country = str(getattr(r, "code", "") or ""), getattr(r, "kind", ""), getattr(r, "country", "")
        if country == "JP":
            (prefs if kind == "prefecture" or len(code) == 2 else munis).add(code)
        elif country == "US":
            if kind == "state":
                states.add(code.upper() if len(code) == 2 else str(getattr(r, "state", "") or "").upper())
            elif getattr(r, "place_id", None) is not None:
                places.add(int(r.place_id))
    return munis, prefs, places, states


def search_relationships(session: Session, q: str, gazetteer=None) -> Select:
    """Return a query for relationships whose US or Japanese side is named by ``q``.

    Any spelling the gazetteer resolves counts ("Hanamaki", "花巻市", "Ishidoriya"),
    and so do old names of merged towns, the partner's name at signing, and plain
    names of places, prefectures and states.
    """
    query = (select(Relationship).outerjoin(USPlace, Relationship.us_place_id == USPlace.id)
             .join(USState, Relationship.us_state_abbr == USState.abbr)
             .order_by(USState.name, USPlace.name, Relationship.id))
    q = (q or "").strip()
    if not q:
        return query
    munis, prefs, places, states = _gazetteer_codes(gazetteer, q)
    core = _fold(q.split(",")[0])
    like = f"%{core}%"
    munis |= set(session.scalars(select(Municipality.code).where(or_(
        func.lower(Municipality.name) == core, func.lower(Municipality.name_romaji) == core,
        Municipality.name_ja == q, Municipality.name_kana == q))))
    munis |= set(session.scalars(select(MunicipalityAlias.municipality_code).where(or_(
        func.lower(MunicipalityAlias.name) == core, MunicipalityAlias.name_ja == q))))
    prefs |= set(session.scalars(select(Prefecture.code).where(or_(
        func.lower(Prefecture.name) == core, Prefecture.name_ja == q))))
    places |= set(session.scalars(select(USPlace.id).where(func.lower(USPlace.name) == core)))
    states |= set(session.scalars(select(USState.abbr).where(or_(
        func.lower(USState.name) == core, func.lower(USState.abbr) == q.lower()))))
    return query.where(or_(
        Relationship.jp_municipality_code.in_(munis),
        Relationship.jp_prefecture_code.in_(prefs),
        Relationship.us_place_id.in_(places),
        Relationship.us_state_abbr.in_(states),
        func.lower(Relationship.jp_name_at_signing).like(like),
    ))


def km_between(lat1, lon1, lat2, lon2) -> float | None:
    """Great-circle distance in km (the engine's haversine), or None when a point is missing."""
    if None in (lat1, lon1, lat2, lon2):
        return None
    return haversine_km(lat1, lon1, lat2, lon2)


def us_point(rel: Relationship) -> tuple[float | None, float | None]:
    """Return the (lat, lon) distances are measured to: the US place, else the state."""
    if rel.us_place is not None:
        return rel.us_place.lat, rel.us_place.lon
    return rel.us_state.lat, rel.us_state.lon


def distance_band(alum, rel: Relationship, point: tuple | None = None) -> tuple[str, float | None]:
    """Return the band a committee sees ("lives within 25 km of Hot Springs, AR") and the km.

    The km is for sorting and filtering only; it is never shown, since an exact distance
    from a known town is most of a home address. A home in the town itself (its centre, as
    the gazetteer places homes) reads "lives in Hot Springs, AR".
    ``alum`` needs ``home_lat``, ``home_lon`` and ``home_state_abbr`` (an Alumnus or a row);
    pass ``point`` (from :func:`us_point`) when banding many alumni against one relationship.
    """
    lat, lon = point or us_point(rel)
    km = km_between(alum.home_lat, alum.home_lon, lat, lon)
    state = rel.us_state.name if alum.home_state_abbr and alum.home_state_abbr == rel.us_state_abbr else None
    return band_phrase(km, rel.us_label, state), km


def band_phrase(km: float | None, place: str, state: str | None = None) -> str:
    """Say how far an alum lives from ``place`` as a band, never as a number.

    >>> band_phrase(0.0, "Hot Springs, AR"), band_phrase(108.4, "Hot Springs, AR")
    ('lives in Hot Springs, AR', 'lives within 200 km of Hot Springs, AR')
    >>> band_phrase(450, "Hot Springs, AR", state="Arkansas"), band_phrase(None, "Hot Springs, AR")
    ('lives in Arkansas, more than 200 km away', 'home unknown')
    """
    if km is None:
        return "home unknown"
    if km < IN_TOWN_KM:
        return f"lives in {place}"
    for edge, label in BANDS:
        if km <= edge:
            return f"lives {label} of {place}"
    return f"lives in {state}, more than 200 km away" if state else f"lives more than 200 km from {place}"


def tie_sentence(placements, rel: Relationship) -> str:
    """Say how ``placements`` tie an alum to the Japanese side, most specific first.

    Each placement is ``(municipality_code, prefecture_code, alias_name, municipality_romaji,
    place, start_year, end_year)``, in start-year order (see :func:`placement_rows`).
    """
    best = None
    for muni, pref, alias, romaji, place, start, end in placements:
        if rel.jp_municipality_code and muni == rel.jp_municipality_code:
            if alias is not None:
                return f"lived in {alias} (now {romaji}), {start}–{end}"
            return f"lived in {rel.jp_municipality.name_romaji}, {start}–{end}"
        if pref == rel.jp_prefecture_code and best is None:
            best = f"lived in {romaji or place}, {rel.jp_prefecture.name} Prefecture, {start}–{end}"
            if rel.jp_kind == "prefecture":
                return best
    return best or "no placement in the partner's prefecture"


_PLACEMENTS = (select(Placement.alumnus_id, Placement.municipality_code, Placement.prefecture_code,
                      MunicipalityAlias.name, Municipality.name_romaji, Placement.place,
                      Placement.start_year, Placement.end_year)
               .outerjoin(MunicipalityAlias, Placement.alias_id == MunicipalityAlias.id)
               .outerjoin(Municipality, Placement.municipality_code == Municipality.code)
               .where(Placement.alumnus_id.in_(bindparam("alumnus_ids", expanding=True)))
               .order_by(Placement.alumnus_id, Placement.start_year, Placement.id))


def placement_rows(alumnus_ids) -> tuple[Select, dict]:
    """Return a query and its parameters for the placements of ``alumnus_ids``, as flat rows for :func:`tie_sentence`.

    One query with the municipality's romaji and the old name joined in: a page of
    volunteers needs no ORM objects for its tie sentences. The query is built once;
    run it with ``session.execute(*placement_rows(ids))``.
    """
    return _PLACEMENTS, {"alumnus_ids": list(alumnus_ids)}


def reasons(contributions) -> list[dict]:
    """Return the contributions that carry weight, strongest first, as {sentence, weight, factor}.

    Distance sentences stored before distances became bands ("lives 108 km from Hot
    Springs, AR") are said as their band.
    """
    items = [c for c in (contributions or []) if isinstance(c, dict)]
    items = [_banded(c) for c in items if c.get("weight")]
    return sorted(items, key=lambda c: -abs(float(c.get("weight") or 0)))


def banded_reasons(contributions) -> list:
    """Every contribution as stored, but with distance sentences said as bands (for the API)."""
    return [_banded(c) if isinstance(c, dict) else c for c in (contributions or [])]


_KM_SENTENCE = re.compile(r"^lives (\d+) km from (.+)$")
_STATE_KM = re.compile(r"^lives in (.+), \d+ km away$")


def _banded(c: dict) -> dict:
    sentence = str(c.get("sentence") or "")
    found = _KM_SENTENCE.match(sentence)
    if c.get("factor") == "distance" and found:
        return {**c, "sentence": band_phrase(float(found.group(1)), found.group(2))}
    found = _STATE_KM.match(sentence)
    if c.get("factor") == "distance" and found:
        return {**c, "sentence": f"lives in {found.group(1)}, more than 200 km away"}
    return c


def relationship_json(rel: Relationship) -> dict:
    """Public facts about a relationship (no committee e-mail)."""
    return {"id": rel.id, "label": rel.label, "us": rel.us_label, "jp": rel.jp_label,
            "jp_name_at_signing": rel.jp_name_at_signing, "signed": rel.signed, "status": rel.status,
            "dormant_since": rel.dormant_since, "themes": rel.theme_list,
            "volunteers_wanted": rel.volunteers_wanted}


def place_suggestions(session: Session, prefix: str, gazetteer, limit: int = 10) -> list[dict]:
    """Japanese places starting with ``prefix``, old merged names shown as "Ishidoriya (now Hanamaki)"."""
    prefix = (prefix or "").strip()
    if len(prefix) < 2:
        return []
    return [_suggestion_json(r) for r in gazetteer.suggest(prefix, country="JP", limit=limit)]


def _suggestion_json(r) -> dict:
    data = r.to_json() if hasattr(r, "to_json") else dict(r)
    name = data.get("name") or ""  # the gazetteer already says "Ishidoriya (now Hanamaki)"
    via = data.get("via_alias") or None
    where = data.get("prefecture") or data.get("state") or ""
    value = via["name"] if via else name.split(" (now ")[0]
    return {"label": f"{name}, {where}" if where else name, "value": f"{value}, {where}" if where else value,
            "code": data.get("code")}


def relationship_sides():
    """Loader options for both sides of a relationship, joined into the one query that gets it."""
    return (joinedload(Relationship.us_place), joinedload(Relationship.us_state),
            joinedload(Relationship.jp_municipality), joinedload(Relationship.jp_prefecture))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A CSV cell that a spreadsheet will not run as a formula (OWASP "CSV injection").

    Text starting with ``= + - @``, a tab or a carriage return gets a leading ``'``;
    numbers, and text that is a plain number, stay as they are.

    >>> [safe_cell(v) for v in ("=HYPERLINK(1)", "+1 555", "@SUM(A1)", "-x", "Dana W.")]
    ["'=HYPERLINK(1)", "'+1 555", "'@SUM(A1)", "'-x", 'Dana W.']
    >>> safe_cell(-1.5), safe_cell("-1.5"), safe_cell(7)
    (-1.5, '-1.5', 7)
    """
    if isinstance(value, (int, float)) or value is None:
        return value
    text = str(value)
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text and text.lower().lstrip("+-") not in ("inf", "infinity", "nan")


def data_stamp(session: Session) -> int:
    """Return the database's change stamp: raised (by triggers) in the transaction of any change to
    :data:`matcher.models.STAMPED_TABLES`. Read it before the data that is built into a cache.

    In a request, the stamp read with the signed-in user (web.auth.load_user, the request's first
    statement) when there is one: read before anything else the request reads.
    """
    if has_request_context() and "data_stamp" in g:
        return g.data_stamp
    return int(session.connection().execute(CHANGE_STAMP).scalar_one())


class StampedCache:
    """Values built from the stamped tables, kept in this process while the change stamp reads the same.

    A value is stored under the stamp read *before* the data it was built from: once a change
    has committed, every later read of the stamp is higher and the old values are dropped, so
    nothing built before a change (a consent withdrawn, a name corrected) is served after it.
    A key must hold everything else the value depends on.

    >>> cache = StampedCache()
    >>> cache.get(1, "k", lambda: "built at 1"), cache.get(1, "k", lambda: "again")
    ('built at 1', 'built at 1')
    >>> cache.get(2, "k", lambda: "built at 2"), cache.get(1, "k", lambda: "an older reader")
    ('built at 2', 'an older reader')
    """

    def __init__(self, limit: int = 5000) -> None:
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._values: dict[Hashable, Any] = {}
        self._limit = limit

    def at(self, stamp: int) -> dict:
        """Return the values kept at ``stamp``, a dict to read and fill (a throwaway one for an older stamp).

        A value built from data read after ``stamp`` goes into this dict, never into a newer
        stamp's: if the stamp moves meanwhile, it is dropped with this dict.
        """
        with self._lock:
            if self._stamp is None or stamp > self._stamp:
                self._stamp, self._values = stamp, {}
            elif len(self._values) >= self._limit:
                self._values = {}
            return self._values if stamp == self._stamp else {}

    def get(self, stamp: int, key: Hashable, build: Callable[[], Any]) -> Any:
        """Return the value of ``key`` at ``stamp``, calling ``build`` when it is not kept."""
        values = self.at(stamp)
        try:
            return values[key]
        except KeyError:
            value = values[key] = build()
            return value
