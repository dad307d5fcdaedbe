"""Realistic, deterministic synthetic JET alumni for demos, tests and benchmarks.

Two layers:

- :func:`generate` is pure NumPy: given a seed and the reference places (:class:`Pools`),
  it returns arrays for N alumni and their placements. A million alumni take seconds
  and no database.
- :func:`add_demo_alumni` writes N of them into the database with bulk inserts, plus a
  few named "story" alumni that demos rely on.

What "realistic" means here (public figures, see ``jet_facts.md`` in the design notes):
first placements start 1987–2025 following the yearly participant counts (848 in 1987,
peak 6,273 in 2002, none in 2020–21); stays of one to five years, mostly one to three;
roles about 90% ALT, 8% CIR, 2% SEA; host municipalities across all 47 prefectures,
weighted by the square root of population so that rural towns appear; about 15% with a
second placement; placements before a Heisei merger often written with the old town's
name ("Ishidoriya, Iwate"); homes weighted by US city population, a minority in cities
with a Japanese sister; Japanese level skewed to 2–3; about 12% without consent.
Names are combinations of common US first and last names, never real people's records.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from matcher.console import track
from matcher.ingest.importer import ChapterFinder
from matcher.models import (
    ROLES,
    Alumnus,
    Municipality,
    MunicipalityAlias,
    Placement,
    Prefecture,
    Relationship,
    USPlace,
)

__all__ = ["Pools", "SyntheticAlumni", "generate", "add_demo_alumni", "INTERESTS", "PARTICIPANTS",
           "STORIES", "external_id"]

# Participants per year (jetprogramme.org "History"); years between known points interpolated.
PARTICIPANTS = {1987: 848, 2002: 6273, 2010: 4334, 2019: 5761, 2020: 0, 2021: 0,
                2022: 5723, 2023: 5831, 2024: 5861, 2025: 5933}
FIRST_YEAR, LAST_YEAR = 1987, 2025
ROLE_P = (0.90, 0.08, 0.02)  # ALT, CIR, SEA
STAY_P = (0.30, 0.30, 0.22, 0.10, 0.08)  # 1..5 years
LEVEL_P = (0.05, 0.15, 0.30, 0.28, 0.14, 0.08)  # Japanese level 0..5
PREFECTURAL_P = (0.12, 0.35, 0.30)  # share of posts at prefecture level, per role
SECOND_PLACEMENT_P = 0.15
OLD_NAME_P = 0.6  # a pre-merger placement written with the old town's name
NO_CONSENT_P = 0.12
TIED_HOME_P = 0.12  # homes drawn among US cities that have a Japanese sister

INTERESTS = (
    "education", "youth exchange", "language teaching", "business development", "sustainability",
    "creative economies", "young professionals", "arts", "sports", "food", "technology", "tourism",
    "international relations", "music", "agriculture", "disaster resilience", "healthcare",
    "local government",
)
_INTEREST_W = np.array([9, 8, 7, 4, 4, 3, 4, 5, 4, 5, 4, 4, 3, 3, 2, 2, 2, 2], dtype=float)
_ROLE_BOOST = {1: ("international relations", "local government", "business development"), 2: ("sports",)}

FIRST_NAMES = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
    "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Margaret", "Mark", "Sandra",
    "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily", "Andrew", "Donna", "Joshua", "Michelle",
    "Kenneth", "Carol", "Kevin", "Amanda", "Brian", "Melissa", "George", "Deborah", "Timothy", "Stephanie",
    "Ryan", "Rebecca", "Jacob", "Laura", "Gary", "Sharon", "Nicholas", "Cynthia", "Eric", "Kathleen",
    "Jonathan", "Amy", "Stephen", "Angela", "Larry", "Shirley", "Justin", "Anna", "Scott", "Brenda",
    "Brandon", "Pamela", "Benjamin", "Emma", "Samuel", "Nicole", "Gregory", "Helen", "Alexander", "Samantha",
    "Maria", "Jose", "Carlos", "Ana", "Kevin", "Grace", "Daniel", "Mei", "Wei", "Priya",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
    "Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
    "Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
    "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson",
    "Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
    "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Nakamura",
)


def external_id(i: int) -> str:
    """Return the external id of the i-th (0-based) synthetic alum.

    Parameters
    ----------
    i : int
        The alum's index in :func:`generate`'s arrays.

    Returns
    -------
    str
        ``SYN-`` and the 1-based number in six digits.

    Examples
    --------
    >>> external_id(0), external_id(41_999)
    ('SYN-000001', 'SYN-042000')
    """
    return f"SYN-{i + 1:06d}"


def participants_by_year() -> np.ndarray:
    """Return participants for each year FIRST_YEAR..LAST_YEAR, interpolating between known years."""
    known = sorted((y, n) for y, n in PARTICIPANTS.items() if n)
    years = np.arange(FIRST_YEAR, LAST_YEAR + 1)
    counts = np.interp(years, [y for y, _ in known], [n for _, n in known])
    counts[np.isin(years, [y for y, n in PARTICIPANTS.items() if n == 0])] = 0
    return counts


# --- the places to draw from -----------------------------------------------------------------


@dataclass(frozen=True)
class Pools:
    """Hold the reference places synthetic alumni are drawn from, as arrays.

    Municipalities are sorted by prefecture; aliases by municipality. ``place_*`` are
    US cities (homes), with the chapter covering each and whether it has a Japanese sister.
    :meth:`from_session` reads them from the reference tables.

    Parameters
    ----------
    pref_code, pref_name, pref_name_ja : numpy.ndarray
        The prefectures.
    muni_code, muni_name, muni_name_ja, muni_kind, muni_pref, muni_weight : numpy.ndarray
        The municipalities, each with its prefecture (index into ``pref_*``) and the weight
        it is drawn with.
    alias_id, alias_muni, alias_name, alias_kind, alias_year : numpy.ndarray
        Former names, each with the municipality it merged into and the year.
    place_id, place_name, place_state, place_lat, place_lon, place_weight, place_chapter, place_tied : numpy.ndarray
        US cities, with their chapter (-1 where none) and whether they have a sister.
    """

    pref_code: np.ndarray
    pref_name: np.ndarray
    pref_name_ja: np.ndarray
    muni_code: np.ndarray
    muni_name: np.ndarray
    muni_name_ja: np.ndarray
    muni_kind: np.ndarray
    muni_pref: np.ndarray  # index into pref_*
    muni_weight: np.ndarray
    alias_id: np.ndarray
    alias_muni: np.ndarray  # index into muni_*
    alias_name: np.ndarray
    alias_kind: np.ndarray
    alias_year: np.ndarray  # year of the merger
    place_id: np.ndarray
    place_name: np.ndarray
    place_state: np.ndarray
    place_lat: np.ndarray
    place_lon: np.ndarray
    place_weight: np.ndarray
    place_chapter: np.ndarray  # chapter id, -1 where none
    place_tied: np.ndarray  # bool

    @classmethod
    def from_session(cls, session: Session) -> Pools:
        """Read the reference tables into arrays (a few thousand rows: fast)."""
        prefs = session.execute(select(Prefecture.code, Prefecture.name, Prefecture.name_ja)
                                .order_by(Prefecture.code)).all()
        pref_index = {code: i for i, (code, _, _) in enumerate(prefs)}
        munis = session.execute(select(Municipality.code, Municipality.name, Municipality.name_ja,
                                       Municipality.kind, Municipality.prefecture_code, Municipality.population)
                                .order_by(Municipality.prefecture_code, Municipality.code)).all()
        muni_index = {m.code: i for i, m in enumerate(munis)}
        pops = np.array([m.population or 0 for m in munis], dtype=float)
        known = pops[pops > 0]
        pops[pops <= 0] = np.median(known) if known.size else 10_000.0
        aliases = session.execute(select(MunicipalityAlias.id, MunicipalityAlias.municipality_code,
                                         MunicipalityAlias.name, MunicipalityAlias.kind, MunicipalityAlias.merged_on)
                                  .where(MunicipalityAlias.merged_on.is_not(None))).all()
        aliases = sorted((a for a in aliases if a.municipality_code in muni_index),
                         key=lambda a: (muni_index[a.municipality_code], a.id))
        places = session.execute(select(USPlace.id, USPlace.name, USPlace.state_abbr, USPlace.lat, USPlace.lon,
                                        USPlace.population)
                                 .where(USPlace.kind == "city", ~USPlace.name.contains("("))  # "X (historical)"
                                 .order_by(USPlace.id)).all()
        tied = set(session.scalars(select(Relationship.us_place_id).where(Relationship.us_place_id.is_not(None))))
        chapters = ChapterFinder.from_session(session)
        place_pop = np.array([p.population or 0 for p in places], dtype=float)
        return cls(
            pref_code=np.array([p[0] for p in prefs]), pref_name=np.array([p[1] for p in prefs]),
            pref_name_ja=np.array([p[2] for p in prefs]),
            muni_code=np.array([m.code for m in munis]), muni_name=np.array([m.name for m in munis]),
            muni_name_ja=np.array([m.name_ja for m in munis]), muni_kind=np.array([m.kind for m in munis]),
            muni_pref=np.array([pref_index[m.prefecture_code] for m in munis], dtype=np.int32),
            muni_weight=np.sqrt(pops),
            alias_id=np.array([a.id for a in aliases], dtype=np.int64),
            alias_muni=np.array([muni_index[a.municipality_code] for a in aliases], dtype=np.int32),
            alias_name=np.array([a.name for a in aliases]),
            alias_kind=np.array([a.kind or "" for a in aliases]),
            alias_year=np.array([a.merged_on.year for a in aliases], dtype=np.int16),
            place_id=np.array([p.id for p in places], dtype=np.int64),
            place_name=np.array([p.name for p in places]), place_state=np.array([p.state_abbr for p in places]),
            place_lat=np.array([p.lat for p in places]), place_lon=np.array([p.lon for p in places]),
            place_weight=np.where(place_pop > 0, place_pop, 1_000.0),
            place_chapter=np.array([chapters.find(p.state_abbr, p.lat, p.lon) or -1 for p in places],
                                   dtype=np.int64),
            place_tied=np.array([p.id in tied for p in places], dtype=bool),
        )


# --- the generator ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticAlumni:
    """Hold N synthetic alumni and their placements as arrays (indices point into the Pools).

    Placements are flat arrays ``p_*``; ``p_alum`` says whose each one is. ``p_muni`` is
    -1 for a prefectural post, ``p_alias`` -1 unless the place is written with an old name.
    ``interests`` is a bitmask over :data:`INTERESTS`.

    Parameters
    ----------
    seed : int
        The seed they were generated with.
    first, last, home, japanese_level, interests : numpy.ndarray
        One entry per alumnus (``home`` indexes ``Pools.place_*``).
    availability_hours, max_matches, consent, consent_contact : numpy.ndarray
        One entry per alumnus.
    p_alum, p_muni, p_pref, p_alias, p_role, p_start, p_end : numpy.ndarray
        One entry per placement (``p_role`` indexes :data:`ROLES`).
    """

    seed: int
    first: np.ndarray
    last: np.ndarray
    home: np.ndarray  # index into Pools.place_*
    japanese_level: np.ndarray
    interests: np.ndarray
    availability_hours: np.ndarray
    max_matches: np.ndarray
    consent: np.ndarray
    consent_contact: np.ndarray
    p_alum: np.ndarray
    p_muni: np.ndarray
    p_pref: np.ndarray
    p_alias: np.ndarray
    p_role: np.ndarray  # index into ROLES
    p_start: np.ndarray
    p_end: np.ndarray

    def __len__(self) -> int:
        return len(self.first)

    def name(self, i: int) -> str:
        return f"{self.given_name(i)} {self.family_name(i)}"

    def given_name(self, i: int) -> str:
        return str(FIRST_NAMES[self.first[i]])

    def family_name(self, i: int) -> str:
        return str(LAST_NAMES[self.last[i]])

    def interest_text(self, i: int) -> str:
        mask = int(self.interests[i])
        return "; ".join(t for b, t in enumerate(INTERESTS) if mask >> b & 1)


def _pick(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Draw ``size`` indices with probability proportional to ``weights`` (inverse CDF: fast)."""
    cdf = np.cumsum(weights, dtype=float)
    return np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right").clip(0, len(weights) - 1)


def _start_years(rng: np.random.Generator, size: int) -> np.ndarray:
    return (FIRST_YEAR + _pick(rng, participants_by_year(), size)).astype(np.int16)


def _within_prefecture(rng: np.random.Generator, pools: Pools, pref: np.ndarray) -> np.ndarray:
    """Draw one municipality per entry of ``pref`` (prefecture index), weighted, in that prefecture."""
    cdf = np.cumsum(pools.muni_weight)
    starts = np.searchsorted(pools.muni_pref, np.arange(len(pools.pref_code)), side="left")
    ends = np.searchsorted(pools.muni_pref, np.arange(len(pools.pref_code)), side="right")
    lo = np.where(starts > 0, cdf[np.maximum(starts - 1, 0)], 0.0)[pref]
    hi = cdf[np.maximum(ends - 1, 0)][pref]
    picked = np.searchsorted(cdf, lo + rng.random(len(pref)) * (hi - lo), side="right")
    return np.minimum(picked, ends[pref] - 1).astype(np.int32)


def _old_names(rng: np.random.Generator, pools: Pools, muni: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Return an alias index per placement that is written with a pre-merger name, else -1."""
    out = np.full(len(muni), -1, dtype=np.int32)
    if not len(pools.alias_id):
        return out
    first = np.searchsorted(pools.alias_muni, np.arange(len(pools.muni_code)), side="left")
    count = np.searchsorted(pools.alias_muni, np.arange(len(pools.muni_code)), side="right") - first
    m = np.maximum(muni, 0)
    pick = first[m] + (rng.random(len(muni)) * np.maximum(count[m], 1)).astype(np.int32)
    pick = np.minimum(pick, len(pools.alias_id) - 1)
    ok = (muni >= 0) & (count[m] > 0) & (rng.random(len(muni)) < OLD_NAME_P)
    ok &= pools.alias_year[pick] > start
    ok &= pools.alias_name[pick] != pools.muni_name[m]  # "Takeo" before 2006 is still "Takeo"
    out[ok] = pick[ok]
    return out


def _placements(rng: np.random.Generator, pools: Pools, n: int) -> dict[str, np.ndarray]:
    """First placements for everyone, then second ones for about 15%; flat arrays."""
    role = _pick(rng, np.array(ROLE_P), n).astype(np.int8)
    muni = _pick(rng, pools.muni_weight, n).astype(np.int32)
    start = _start_years(rng, n)
    stay = 1 + _pick(rng, np.array(STAY_P), n).astype(np.int16)
    end = np.minimum(start + stay, LAST_YEAR + 1).astype(np.int16)

    again = np.flatnonzero(rng.random(n) < SECOND_PLACEMENT_P)
    gap = np.where(rng.random(len(again)) < 0.6, 0, rng.integers(1, 6, len(again)))
    start2 = (end[again] + gap).astype(np.int16)
    start2[(start2 == 2020) | (start2 == 2021)] = 2022
    keep = start2 <= LAST_YEAR
    again, start2 = again[keep], start2[keep]
    end2 = np.minimum(start2 + 1 + _pick(rng, np.array(STAY_P[:3]), len(again)), LAST_YEAR + 1).astype(np.int16)
    same_pref = rng.random(len(again)) < 0.35
    muni2 = np.where(same_pref, _within_prefecture(rng, pools, pools.muni_pref[muni[again]]),
                     _pick(rng, pools.muni_weight, len(again))).astype(np.int32)
    role2 = np.where(rng.random(len(again)) < 0.85, role[again], _pick(rng, np.array(ROLE_P), len(again)))

    alum = np.concatenate([np.arange(n, dtype=np.int32), again.astype(np.int32)])
    roles = np.concatenate([role, role2.astype(np.int8)])
    munis = np.concatenate([muni, muni2])
    starts = np.concatenate([start, start2])
    prefectural = rng.random(len(alum)) < np.array(PREFECTURAL_P)[roles]
    pref = pools.muni_pref[munis].astype(np.int16)
    munis = np.where(prefectural, -1, munis).astype(np.int32)
    order = np.lexsort((starts, alum))
    result = {"p_alum": alum, "p_muni": munis, "p_pref": pref, "p_role": roles, "p_start": starts,
              "p_end": np.concatenate([end, end2]), "p_alias": _old_names(rng, pools, munis, starts)}
    return {k: v[order] for k, v in result.items()}


def _interests(rng: np.random.Generator, first_role: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    """One to four interests each (Gumbel top-k), CIRs and SEAs leaning to their work; a bitmask."""
    n = len(first_role)
    out = np.zeros(n, dtype=np.uint32)
    how_many = 1 + _pick(rng, np.array([0.2, 0.35, 0.3, 0.15]), n)
    logw = np.log(np.tile(_INTEREST_W, (len(ROLES), 1)))
    for r, boosted in _ROLE_BOOST.items():
        for topic in boosted:
            logw[r, INTERESTS.index(topic)] += np.log(6.0)
    bits = (np.uint32(1) << np.arange(len(INTERESTS), dtype=np.uint32))
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        keys = logw[first_role[lo:hi]] + rng.gumbel(size=(hi - lo, len(INTERESTS)))
        ranked = np.argsort(-keys, axis=1)[:, :4]
        chosen = np.arange(4)[None, :] < how_many[lo:hi, None]
        out[lo:hi] = np.where(chosen, bits[ranked], 0).sum(axis=1, dtype=np.uint32)
    return out


BLOCK = 10_000  # alumni per random stream: alum i is the same whatever n is


def generate(n: int, seed: int = 1, pools: Pools | None = None) -> SyntheticAlumni:
    """Generate ``n`` synthetic alumni with placements, the same arrays for the same seed.

    Alumni are drawn in blocks of :data:`BLOCK`, each from its own stream of ``seed``, so
    the first 2,000 of ``generate(40_000, s)`` are exactly ``generate(2_000, s)``.

    Parameters
    ----------
    n : int
        How many alumni.
    seed : int, optional
        The random seed; the output depends only on (seed, pools), truncated to n.
    pools : Pools
        The reference places (``Pools.from_session(session)``); a ValueError without them.

    Returns
    -------
    SyntheticAlumni
        Arrays for the alumni and a flat set of placement arrays.
    """
    if pools is None:
        raise ValueError("generate() needs the reference places: pass Pools.from_session(session)")
    if not len(pools.muni_code) or not len(pools.place_id):
        raise ValueError("no municipalities or US places: load the reference data first (`jetmatch init`)")
    blocks = [_block(np.random.default_rng([seed, b]), pools, BLOCK) for b in range(max(1, -(-n // BLOCK)))]
    for b, block in enumerate(blocks):
        block["p_alum"] = block["p_alum"] + b * BLOCK
    arrays = {k: np.concatenate([blk[k] for blk in blocks]) for k in blocks[0]}
    keep = arrays["p_alum"] < n  # whole blocks are drawn, then cut: the prefix never depends on n
    return SyntheticAlumni(seed=seed, **{k: v[keep] if k.startswith("p_") else v[:n] for k, v in arrays.items()})


def _block(rng: np.random.Generator, pools: Pools, n: int) -> dict[str, np.ndarray]:
    """Draw one block of ``n`` alumni and their placements from ``rng``."""
    p = _placements(rng, pools, n)
    first_role = p["p_role"][np.searchsorted(p["p_alum"], np.arange(n))]  # sorted by (alum, start)
    years = np.bincount(p["p_alum"], weights=p["p_end"] - p["p_start"], minlength=n)
    level = _pick(rng, np.array(LEVEL_P), n)
    level = level + ((years >= 3) & (rng.random(n) < 0.5))
    level = np.where(first_role == 1, np.maximum(level, 4), level).clip(0, 5).astype(np.int8)
    tied_idx = np.flatnonzero(pools.place_tied)
    home = _pick(rng, pools.place_weight, n)
    if len(tied_idx):
        to_tied = rng.random(n) < TIED_HOME_P
        home[to_tied] = tied_idx[rng.integers(0, len(tied_idx), int(to_tied.sum()))]
    consent = rng.random(n) >= NO_CONSENT_P
    hours = np.where(rng.random(n) < 0.15, 0, np.minimum(20, rng.geometric(0.15, n)))
    return dict(
        first=rng.integers(0, len(FIRST_NAMES), n, dtype=np.int16),
        last=rng.integers(0, len(LAST_NAMES), n, dtype=np.int16),
        home=home.astype(np.int32), japanese_level=level, interests=_interests(rng, first_role),
        availability_hours=hours.astype(np.int8),
        max_matches=(1 + _pick(rng, np.array([0.55, 0.30, 0.15]), n)).astype(np.int8),
        consent=consent, consent_contact=consent & (rng.random(n) < 0.9), **p,
    )


# --- into the database -----------------------------------------------------------------------

_KIND_EN = {"city": "City", "town": "Town", "village": "Village", "ward": "Ward"}
_OFFICE_JA = {"city": "役所", "ward": "役所", "town": "役場", "village": "役場"}
JAPANESE_EMPLOYER_P = 0.2

# Named alumni the demo walks through. Synthetic people; real places and mergers:
# Ishidoriya merged into Hanamaki (Hot Springs, AR's sister) on 2006-01-01; Yamauchi into
# Takeo (Sebastopol, CA's sister) on 2006-03-01. Homes list fallbacks if a town is absent.
STORIES: tuple[dict[str, Any], ...] = (
    dict(external_id="SYN-STORY-1", name="Dana Whitfield", homes=(("Hot Springs", "AR"), ("Little Rock", "AR")),
         place=("Ishidoriya", "Iwate"), role="ALT", years=(2003, 2005),
         employer="Ishidoriya Town Board of Education", japanese_level=3,
         interests="education; youth exchange; tourism", availability_hours=8, max_matches=2),
    dict(external_id="SYN-STORY-2", name="Marcus Ellery", homes=(("Sebastopol", "CA"), ("Santa Rosa", "CA")),
         place=("Takeo", "Saga"), role="CIR", years=(2010, 2013), employer="武雄市役所",
         japanese_level=5, interests="sustainability; food; creative economies; international relations",
         availability_hours=10, max_matches=2),
    dict(external_id="SYN-STORY-3", name="Joanna Pruitt", homes=(("Santa Rosa", "CA"), ("Petaluma", "CA")),
         place=("Karatsu", "Saga"), role="ALT", years=(2016, 2018),
         employer="Karatsu City Board of Education", japanese_level=2,
         interests="arts; youth exchange; education", availability_hours=6, max_matches=1),
    dict(external_id="SYN-STORY-4", name="Caleb Ostrander", homes=(("Portland", "OR"),),
         place=("Yamauchi", "Saga"), role="ALT", years=(2001, 2003),
         employer="Yamauchi Town Board of Education", japanese_level=2,
         interests="sports; youth exchange", availability_hours=4, max_matches=1),
    dict(external_id="SYN-STORY-5", name="Renee Halvorsen", homes=(("Burlington", "VT"), ("Rutland", "VT")),
         place=("Hanamaki", "Iwate"), role="ALT", years=(2012, 2014),
         employer="Hanamaki City Board of Education", japanese_level=3,
         interests="business development; young professionals; tourism", availability_hours=12, max_matches=3),
)


def _employer(role: str, name: str, kind: str, name_ja: str | None, pref: str, pref_ja: str,
              prefectural: bool, japanese: bool) -> str:
    """Write the employer the way an alum would: "Takeo City Board of Education", "武雄市役所"."""
    if prefectural:
        if japanese:
            return {"ALT": f"{pref_ja}教育委員会", "CIR": f"{pref_ja}庁"}.get(role, f"{pref_ja}体育協会")
        return {"ALT": f"{pref} Prefectural Board of Education",
                "CIR": f"{pref} Prefectural Government, International Affairs Division"}.get(
                    role, f"{pref} Prefectural Sports Association")
    if japanese and name_ja:
        return {"ALT": f"{name_ja}教育委員会", "CIR": f"{name_ja}{_OFFICE_JA.get(kind, '役所')}"}.get(
            role, f"{name_ja}体育協会")
    label = f"{name} {_KIND_EN.get(kind, '')}".strip()
    office = "Hall" if kind == "city" else "Office"
    return {"ALT": f"{label} Board of Education", "CIR": f"{label} {office}"}.get(role, f"{label} Sports Association")


def _alumni_rows(data: SyntheticAlumni, pools: Pools, todo: np.ndarray) -> list[dict[str, Any]]:
    home = data.home[todo]
    chapter = pools.place_chapter[home].tolist()
    columns = {
        "given_name": [data.given_name(i) for i in todo.tolist()],
        "family_name": [data.family_name(i) for i in todo.tolist()],
        "home": [f"{c}, {s}" for c, s in zip(pools.place_name[home].tolist(), pools.place_state[home].tolist())],
        "home_place_id": pools.place_id[home].tolist(), "home_state_abbr": pools.place_state[home].tolist(),
        "home_lat": pools.place_lat[home].tolist(), "home_lon": pools.place_lon[home].tolist(),
        "japanese_level": data.japanese_level[todo].tolist(),
        "interests": [data.interest_text(i) for i in todo.tolist()],
        "availability_hours": data.availability_hours[todo].tolist(),
        "max_matches": data.max_matches[todo].tolist(), "consent": data.consent[todo].tolist(),
        "consent_contact": data.consent_contact[todo].tolist(),
    }
    rows = []
    for k, i in enumerate(todo.tolist()):
        row = {key: values[k] for key, values in columns.items()}
        first, last = row["given_name"].lower(), row["family_name"].lower()
        row.update(external_id=external_id(i), email=f"{first}.{last}.{i + 1}@example.org",
                   chapter_id=chapter[k] if chapter[k] >= 0 else None)
        rows.append(row)
    return rows


def _placement_rows(data: SyntheticAlumni, pools: Pools, ids: dict[str, int], todo: np.ndarray,
                    rng: np.random.Generator) -> list[dict[str, Any]]:
    which = np.flatnonzero(np.isin(data.p_alum, todo))
    japanese = (rng.random(len(data.p_alum)) < JAPANESE_EMPLOYER_P)[which].tolist()
    rows = []
    for j, ja in zip(which.tolist(), japanese):
        m, a, pref = int(data.p_muni[j]), int(data.p_alias[j]), int(data.p_pref[j])
        role = ROLES[data.p_role[j]]
        pref_name, pref_ja = str(pools.pref_name[pref]), str(pools.pref_name_ja[pref])
        if a >= 0:
            name, kind, name_ja = str(pools.alias_name[a]), str(pools.alias_kind[a]) or "town", None
        elif m >= 0:
            name, kind, name_ja = str(pools.muni_name[m]), str(pools.muni_kind[m]), str(pools.muni_name_ja[m])
        else:
            name, kind, name_ja = pref_name, "", None
        rows.append(dict(
            alumnus_id=ids[external_id(int(data.p_alum[j]))],
            place=f"{name}, {pref_name}" if m >= 0 else f"{pref_name} Prefecture",
            municipality_code=str(pools.muni_code[m]) if m >= 0 else None,
            prefecture_code=str(pools.pref_code[pref]), alias_id=int(pools.alias_id[a]) if a >= 0 else None,
            role=role, start_year=int(data.p_start[j]), end_year=int(data.p_end[j]),
            employer=_employer(role, name, kind, name_ja, pref_name, pref_ja, m < 0, ja),
        ))
    return rows


def _insert(session: Session, model, rows: list[dict[str, Any]], label: str, progress: bool,
            chunk: int = 5_000) -> None:
    batches = [rows[i:i + chunk] for i in range(0, len(rows), chunk)]
    for batch in track(batches, label) if progress else batches:
        session.execute(insert(model), batch)


def _story_place(session: Session, name: str, prefecture: str):
    """Return (municipality code, prefecture code, alias id) for a current or pre-merger name."""
    alias = session.execute(
        select(MunicipalityAlias.municipality_code, Municipality.prefecture_code, MunicipalityAlias.id)
        .join(Municipality, MunicipalityAlias.municipality_code == Municipality.code)
        .join(Prefecture, Municipality.prefecture_code == Prefecture.code)
        .where(MunicipalityAlias.name == name, Prefecture.name == prefecture,
               Municipality.name != name)).first()
    if alias:
        return tuple(alias)
    muni = session.execute(
        select(Municipality.code, Municipality.prefecture_code)
        .join(Prefecture, Municipality.prefecture_code == Prefecture.code)
        .where(Municipality.name == name, Prefecture.name == prefecture)).first()
    return (muni.code, muni.prefecture_code, None) if muni else None


def _add_stories(session: Session, present: set[str], chapters: ChapterFinder) -> tuple[list[str], list[str]]:
    """Insert the story alumni that are missing; return (added names, skipped names)."""
    added, skipped = [], []
    for story in STORIES:
        if story["external_id"] in present:
            continue
        home = None
        for city, state in story["homes"]:
            home = session.scalars(select(USPlace).where(USPlace.name == city, USPlace.state_abbr == state,
                                                         USPlace.kind == "city")).first()
            if home:
                break
        place = _story_place(session, *story["place"])
        if home is None or place is None:
            skipped.append(story["name"])
            continue
        given, family = story["name"].split(" ", 1)
        alum = Alumnus(external_id=story["external_id"], given_name=given, family_name=family,
                       email=f"{given.lower()}.{family.lower()}@example.org",
                       home=home.label, home_place_id=home.id, home_state_abbr=home.state_abbr,
                       home_lat=home.lat, home_lon=home.lon,
                       chapter_id=chapters.find(home.state_abbr, home.lat, home.lon),
                       japanese_level=story["japanese_level"], interests=story["interests"],
                       availability_hours=story["availability_hours"], max_matches=story["max_matches"],
                       consent=True, consent_contact=True)
        muni, pref, alias = place
        alum.placements.append(Placement(place=", ".join(story["place"]), municipality_code=muni,
                                         prefecture_code=pref, alias_id=alias, role=story["role"],
                                         start_year=story["years"][0], end_year=story["years"][1],
                                         employer=story["employer"]))
        session.add(alum)
        added.append(story["name"])
    session.flush()
    return added, skipped


def add_demo_alumni(session: Session, n: int, seed: int = 1, progress: bool = False) -> dict[str, Any]:
    """Make sure the database holds ``n`` synthetic alumni (with placements); flush, don't commit.

    Alumni are ``SYN-000001``... plus, when ``n >= 50``, the named :data:`STORIES`
    (``SYN-STORY-1``...), which count towards ``n``. Ids already present are left alone,
    so running it twice with the same ``n`` adds nothing the second time.

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    n : int
        How many synthetic alumni the database should hold.
    seed : int, optional
        The random seed (see :func:`generate`).
    progress : bool, optional
        Show progress bars on the terminal.

    Returns
    -------
    dict
        seed, requested, inserted, already_present, placements, stories, skipped_stories, seconds.
    """
    started = time.perf_counter()
    pools = Pools.from_session(session)
    stories = STORIES if n >= 50 else ()
    data = generate(max(n - len(stories), 0), seed, pools)
    present = set(session.scalars(select(Alumnus.external_id).where(Alumnus.external_id.like("SYN-%"))).all())
    todo = np.array([i for i in range(len(data)) if external_id(i) not in present], dtype=np.int64)
    _insert(session, Alumnus, _alumni_rows(data, pools, todo), "synthetic alumni", progress)
    wanted = [external_id(i) for i in todo.tolist()]
    ids = dict(session.execute(select(Alumnus.external_id, Alumnus.id)
                               .where(Alumnus.external_id.like("SYN-%"))).all())
    rows = _placement_rows(data, pools, ids, todo, np.random.default_rng([seed, 1]))
    _insert(session, Placement, rows, "placements", progress)
    added, skipped = _add_stories(session, present, ChapterFinder.from_session(session)) if stories else ([], [])
    return {"seed": seed, "requested": n, "inserted": len(wanted) + len(added),
            "already_present": len(present & ({external_id(i) for i in range(len(data))}
                                              | {s["external_id"] for s in stories})),
            "placements": len(rows) + len(added), "stories": added, "skipped_stories": skipped,
            "seconds": round(time.perf_counter() - started, 2)}
