"""Map views built from the database: shaded areas, relationship ends, counts by place.

A view is plain data (no markup): the web layer draws it as inline SVG. Alumni appear only
as counts by prefecture, state or municipality — never a point per person, never a home.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select

from matcher.maps.shapes import Shapes, load_shapes, project
from matcher.models import Alumnus, Chapter, Municipality, Placement, Prefecture, Relationship, USPlace, USState

__all__ = ["Area", "End", "CountDot", "MapView", "shade_bins", "relationship_ends", "alumni_by_prefecture",
           "alumni_by_state", "overview", "chapter_region", "partner_surroundings", "LEVELS"]

# The level of a tie: between towns/cities, or between a state and a prefecture (or mixed).
LEVELS = ("city", "state")


@dataclass
class Area:
    """Shade one region of a map: a US state or a Japanese prefecture.

    Parameters
    ----------
    key : str
        The state abbreviation or the JIS prefecture code.
    name : str
        The region's name, for its title.
    d : str
        The SVG path.
    count : int
        How many alumni (or members) the shade stands for.
    shade : int
        0 (none) to 4 (most), from :func:`shade_bins`.
    """
    key: str
    name: str
    d: str
    count: int
    shade: int


@dataclass
class End:
    """Place one end of a relationship on a map.

    Parameters
    ----------
    pair : int
        The relationship id (both ends share it).
    x, y : float
        Where the end goes in the map's coordinates.
    label, partner_label : str
        This end's place and the other end's.
    status : str
        The relationship's status.
    """
    pair: int
    x: float
    y: float
    label: str
    partner_label: str
    status: str


@dataclass
class CountDot:
    """Draw a circle that gives a count at a place, never a person.

    Parameters
    ----------
    x, y : float
        The centre in the map's coordinates.
    r : float
        The radius, relative to the view (its area grows with the count).
    count : int
        The count shown.
    label : str
        The circle's title ("Takeo: 3 willing alumni").
    """
    x: float
    y: float
    r: float
    count: int
    label: str


@dataclass
class MapView:
    """Describe one map to draw: its shaded regions, relationship ends, circles and legend.

    Parameters
    ----------
    country : str
        "US" or "JP".
    title, desc : str
        The map's title and its text description (for screen readers).
    view_box : str
        The SVG viewBox, "x y width height".
    areas : list of Area
        The shaded regions.
    ends : list of End, optional
        The relationship ends.
    dots : list of CountDot, optional
        Counts by municipality.
    legend : list of (int, str), optional
        Each shade and the counts it stands for.
    unit : str, optional
        What the counts count ("alumni" or "members").
    marker : (float, float), optional
        Where a star marks the partner town.
    marker_label : str, optional
        The star's title.
    """
    country: str
    title: str
    desc: str
    view_box: str
    areas: list[Area]
    ends: list[End] = field(default_factory=list)
    dots: list[CountDot] = field(default_factory=list)
    legend: list[tuple[int, str]] = field(default_factory=list)
    unit: str = "alumni"
    marker: tuple[float, float] | None = None
    marker_label: str = ""


def shade_bins(top: int) -> list[int]:
    """Return the upper bounds of shades 1–4 for counts up to ``top`` (0 has shade 0), roughly geometric.

    Parameters
    ----------
    top : int
        The largest count on the map.

    Returns
    -------
    list of int
        Up to four increasing bounds, the last one ``top`` (fewer when ``top`` is small).

    Examples
    --------
    >>> shade_bins(1), shade_bins(8), shade_bins(1000)
    ([1], [2, 3, 5, 8], [6, 32, 178, 1000])
    """
    if top <= 0:
        return []
    return sorted({max(1, math.ceil(top ** (i / 4))) for i in range(1, 5)})


def _shade(n: int, bins: list[int]) -> int:
    """Shades are aligned at the top: the largest count is always the darkest (4)."""
    return 0 if n <= 0 else 5 - len(bins) + next(i for i, b in enumerate(bins) if n <= b)


def _legend(bins: list[int]) -> list[tuple[int, str]]:
    out, low = [(0, "none")], 1
    for i, high in enumerate(bins, 5 - len(bins)):
        out.append((i, f"{low}" if low == high else f"{low}–{high}"))
        low = high + 1
    return out


def _areas(shapes: Shapes, names: dict[str, str], counts: Counter, keys=None) -> tuple[list[Area], list]:
    bins = shade_bins(max((counts[k] for k in (keys or shapes.paths)), default=0))
    areas = [Area(k, names.get(k, k), shapes.paths[k], counts.get(k, 0), _shade(counts.get(k, 0), bins))
             for k in sorted(keys or shapes.paths, key=lambda k: names.get(k, k))]
    return areas, _legend(bins)


def _view_box(shapes: Shapes, keys, pad: float = 8.0) -> str:
    if not keys:
        return f"0 0 {shapes.width:g} {shapes.height:g}"
    boxes = [shapes.boxes[k] for k in keys if k in shapes.boxes]
    x0, y0 = min(b[0] for b in boxes) - pad, min(b[1] for b in boxes) - pad
    x1, y1 = max(b[2] for b in boxes) + pad, max(b[3] for b in boxes) + pad
    return f"{x0:.0f} {y0:.0f} {x1 - x0:.0f} {y1 - y0:.0f}"


# --- queries -----------------------------------------------------------------------------------

def relationship_ends(session, *, status: str = "", chapter: Chapter | None = None, level: str = "") -> list[dict]:
    """List each relationship's two ends with coordinates and labels, filtered; sorted by US label.

    Parameters
    ----------
    session : Session
        Read only.
    status : str, optional
        Keep only relationships with this status ("" keeps all).
    chapter : Chapter, optional
        Keep relationships whose US side is in the chapter's states.
    level : str, optional
        "city" keeps municipality-to-city ties, "state" those with a state or prefecture on
        either side ("" keeps all).

    Returns
    -------
    list of dict
        One per relationship: id, status, state, prefecture, and ``us_label``/``us_lon``/``us_lat``
        and ``jp_label``/``jp_lon``/``jp_lat``.
    """
    R = Relationship
    query = (select(R.id, R.us_kind, R.us_state_abbr, R.jp_kind, R.jp_prefecture_code, R.status,
                    USPlace.name, USPlace.lat, USPlace.lon, USState.name, USState.lat, USState.lon,
                    Municipality.name_romaji, Municipality.lat, Municipality.lon,
                    Prefecture.name, Prefecture.lat, Prefecture.lon)
             .outerjoin(USPlace, R.us_place_id == USPlace.id).join(USState, R.us_state_abbr == USState.abbr)
             .outerjoin(Municipality, R.jp_municipality_code == Municipality.code)
             .join(Prefecture, R.jp_prefecture_code == Prefecture.code))
    if status:
        query = query.where(R.status == status)
    if chapter is not None:
        query = query.where(R.us_state_abbr.in_(chapter.state_list))
    if level == "city":
        query = query.where(R.us_kind != "state", R.jp_kind == "municipality")
    elif level == "state":
        query = query.where((R.us_kind == "state") | (R.jp_kind == "prefecture"))
    rows = []
    for (rid, us_kind, st, jp_kind, pref, stat, pname, plat, plon, sname, slat, slon,
         mname, mlat, mlon, fname, flat, flon) in session.execute(query):
        us = (f"{pname}, {st}", plon, plat) if pname else (sname, slon, slat)
        jp = (f"{mname}, {fname}", mlon, mlat) if mname else (f"{fname} Prefecture", flon, flat)
        rows.append({"id": rid, "status": stat, "state": st, "prefecture": pref, "us_label": us[0],
                     "us_lon": us[1], "us_lat": us[2], "jp_label": jp[0], "jp_lon": jp[1], "jp_lat": jp[2]})
    return sorted(rows, key=lambda r: (r["us_label"], r["jp_label"], r["id"]))


def _alumni(chapter_id: int | None, consenting: bool):
    query = select(Alumnus.id)
    if chapter_id is not None:
        query = query.where(Alumnus.chapter_id == chapter_id)
    if consenting:
        query = query.where(Alumnus.consent.is_(True))
    return query


def alumni_by_prefecture(session, *, chapter_id: int | None = None, consenting: bool = False) -> Counter:
    """Count the alumni who lived in each prefecture (each alum once per prefecture).

    Parameters
    ----------
    session : Session
        Read only.
    chapter_id : int, optional
        Count only this chapter's members.
    consenting : bool, optional
        Count only alumni who consented to be suggested.

    Returns
    -------
    collections.Counter
        JIS prefecture code → alumni.
    """
    who = _alumni(chapter_id, consenting)
    return Counter(dict(session.execute(
        select(Placement.prefecture_code, func.count(func.distinct(Placement.alumnus_id)))
        .where(Placement.alumnus_id.in_(who.scalar_subquery())).group_by(Placement.prefecture_code)).all()))


def alumni_by_state(session, *, chapter_id: int | None = None, consenting: bool = False) -> Counter:
    """Count the alumni who live in each US state now.

    Parameters
    ----------
    session : Session
        Read only.
    chapter_id : int, optional
        Count only this chapter's members.
    consenting : bool, optional
        Count only alumni who consented to be suggested.

    Returns
    -------
    collections.Counter
        State abbreviation → alumni.
    """
    who = _alumni(chapter_id, consenting)
    return Counter(dict(session.execute(
        select(Alumnus.home_state_abbr, func.count()).where(Alumnus.id.in_(who.scalar_subquery()),
                                                            Alumnus.home_state_abbr.is_not(None))
        .group_by(Alumnus.home_state_abbr)).all()))


def _names(session) -> tuple[dict[str, str], dict[str, str]]:
    return (dict(session.execute(select(USState.abbr, USState.name)).all()),
            dict(session.execute(select(Prefecture.code, Prefecture.name)).all()))


def _spread(ends: list[End], shapes: Shapes) -> list[End]:
    """Ends at one place (Hanamaki has two partners) go round it in a small ring, so that
    each can be seen, pointed at and lit."""
    at: dict[tuple[float, float], list[End]] = {}
    for e in ends:
        at.setdefault((e.x, e.y), []).append(e)
    step = shapes.width / 150
    for group in (g for g in at.values() if len(g) > 1):
        for i, e in enumerate(group):
            angle = 2 * math.pi * i / len(group)
            e.x, e.y = round(e.x + step * math.cos(angle), 1), round(e.y + step * math.sin(angle), 1)
    return ends


def _ends(rows: list[dict], us: Shapes, jp: Shapes) -> tuple[list[End], list[End]]:
    us_ends, jp_ends = [], []
    for r in rows:
        if r["state"] in us.paths:  # territories are not drawn: the list beside the map has them
            x, y = project(us, r["us_lon"], r["us_lat"], r["state"])
            us_ends.append(End(r["id"], round(x, 1), round(y, 1), r["us_label"], r["jp_label"], r["status"]))
        x, y = project(jp, r["jp_lon"], r["jp_lat"], r["prefecture"])
        jp_ends.append(End(r["id"], round(x, 1), round(y, 1), r["jp_label"], r["us_label"], r["status"]))
    return _spread(us_ends, us), _spread(jp_ends, jp)


# --- the three views ---------------------------------------------------------------------------

def overview(session, *, status: str = "", chapter: Chapter | None = None, level: str = "") -> dict:
    """Lay out the coordinator's two maps side by side and the pairs listed beside them.

    Parameters
    ----------
    session : Session
        Read only.
    status, chapter, level : optional
        Filter the relationships as :func:`relationship_ends` does.

    Returns
    -------
    dict
        ``pairs`` (the rows of :func:`relationship_ends`) and ``views`` (the US and the JP
        :class:`MapView`, regions shaded by alumni).
    """
    us, jp = load_shapes("US"), load_shapes("JP")
    rows = relationship_ends(session, status=status, chapter=chapter, level=level)
    states, prefs = _names(session)
    cid = chapter.id if chapter else None
    us_areas, us_legend = _areas(us, states, alumni_by_state(session, chapter_id=cid))
    jp_areas, jp_legend = _areas(jp, prefs, alumni_by_prefecture(session, chapter_id=cid))
    us_ends, jp_ends = _ends(rows, us, jp)
    n = len(rows)
    return {"pairs": rows, "views": [
        MapView("US", "United States: sister cities and where alumni live",
                f"{n} relationship ends on a map of US states; each state shaded by how many alumni live there.",
                _view_box(us, []), us_areas, us_ends, legend=us_legend),
        MapView("JP", "Japan: partner towns and where alumni lived",
                f"{n} relationship ends on a map of Japan's 47 prefectures; each prefecture shaded by how many "
                "alumni lived there on JET.", _view_box(jp, []), jp_areas, jp_ends, legend=jp_legend)]}


def chapter_region(session, chapter: Chapter) -> dict:
    """Map a chapter's region: its states, its members' prefectures and the ties between them.

    The US map shows the chapter's states shaded by members living there; the Japan map its
    members' prefectures; both carry the relationships whose US side is in its states.

    Parameters
    ----------
    session : Session
        Read only.
    chapter : Chapter
        The chapter.

    Returns
    -------
    dict
        ``pairs`` and ``views`` as in :func:`overview`, counts in members.
    """
    us, jp = load_shapes("US"), load_shapes("JP")
    rows = relationship_ends(session, chapter=chapter)
    states, prefs = _names(session)
    keys = [s for s in chapter.state_list if s in us.paths]
    us_areas, us_legend = _areas(us, states, alumni_by_state(session, chapter_id=chapter.id), keys)
    jp_areas, jp_legend = _areas(jp, prefs, alumni_by_prefecture(session, chapter_id=chapter.id))
    us_ends, jp_ends = _ends(rows, us, jp)
    return {"pairs": rows, "views": [
        MapView("US", f"{chapter.name}: its states and their sister cities",
                f"{', '.join(states.get(s, s) for s in keys)}, shaded by how many members live there, with "
                f"{len(rows)} relationship ends.", _view_box(us, keys), us_areas, us_ends, legend=us_legend,
                unit="members"),
        MapView("JP", f"{chapter.name}: where members lived in Japan",
                f"Prefectures shaded by how many members lived there; {len(rows)} partner towns of the region.",
                _view_box(jp, []), jp_areas, jp_ends, legend=jp_legend, unit="members")]}


def partner_surroundings(session, rel: Relationship) -> MapView:
    """Map the partner town and how many willing alumni lived around it.

    Counts by prefecture (the partner's and its neighbours) and circles by municipality; only
    alumni who consented to be suggested are counted, and only counts are shown.

    Parameters
    ----------
    session : Session
        Read only.
    rel : Relationship
        The relationship whose Japanese side is mapped.

    Returns
    -------
    MapView
        The Japan map, the partner town marked with a star.
    """
    jp = load_shapes("JP")
    pref = session.get(Prefecture, rel.jp_prefecture_code)
    keys = [pref.code] + [c for c in pref.neighbour_codes if c in jp.paths]
    _, names = _names(session)
    areas, legend = _areas(jp, names, alumni_by_prefecture(session, consenting=True), keys)
    who = _alumni(None, True).scalar_subquery()
    per_muni = session.execute(
        select(Municipality.code, Municipality.name_romaji, Municipality.prefecture_code, Municipality.lat,
               Municipality.lon, func.count(func.distinct(Placement.alumnus_id)))
        .join(Placement, Placement.municipality_code == Municipality.code)
        .where(Placement.alumnus_id.in_(who), Municipality.prefecture_code.in_(keys))
        .group_by(Municipality.code, Municipality.name_romaji, Municipality.prefecture_code, Municipality.lat,
                  Municipality.lon)).all()
    dots = []
    for code, name, pcode, lat, lon, n in sorted(per_muni, key=lambda r: (-r[-1], r[1])):
        x, y = project(jp, lon, lat, pcode)
        # r is relative (the drawing scales it to the view): area grows with the count
        dots.append(CountDot(round(x, 1), round(y, 1), round(0.5 + 0.35 * math.sqrt(n), 2), n,
                             f"{name}: {n} willing alumn{'us' if n == 1 else 'i'}"))
    point = rel.jp_municipality or pref
    marker = project(jp, point.lon, point.lat, pref.code)
    return MapView("JP", f"Around {rel.jp_label}: where willing alumni lived",
                   f"{pref.name} and its neighbours shaded by how many willing alumni lived there; circles "
                   f"give counts by municipality; the star marks {rel.jp_label}.",
                   _view_box(jp, keys, pad=4), areas, dots=dots, legend=legend,
                   marker=(round(marker[0], 1), round(marker[1], 1)),
                   marker_label=rel.jp_municipality.name_romaji if rel.jp_municipality else pref.name)
