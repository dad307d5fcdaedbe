"""Place resolution: Japanese municipalities (with their merger history) and prefectures,
US places, counties, states and ZIP codes.

Everything is indexed in dicts when the gazetteer is built, under folded keys:
lowercase, macrons dropped, long vowels folded (ō/ô/oo/ou/oh → o, ū/uu → u, ā/aa → a),
"m" before b/m/p folded to "n" (Tamba = Tanba), punctuation and spaces dropped. Kanji and
kana are indexed as well (kana folded to hiragana). A one-edit typo fallback
(deletions, insertions, substitutions, adjacent swaps) is tried only when nothing matches
exactly, and only for keys of five or more letters.

Precedence, so that the same query always gets the same answer:

1. A code wins: "44201" is both Oita's JIS code and a ZIP in Ohio, so without a
   ``country`` it is *ambiguous*; ``country="JP"`` or a 6-digit JIS code with check
   digit settles it.
2. A suffix says the kind: "Oita-shi", "Oita City", "大分市" are the city;
   "Oita-ken", "Oita Prefecture", "大分県" the prefecture; "X County" a US county.
3. Current names beat old (merged) names: "Kasuga" is Kasuga, Fukuoka; "Kasuga, Hyogo"
   is answered through the merger (now Tamba).
4. A bare name that is a prefecture or state *and* a city inside it is the city
   ("Oita" → Oita city, "New York" → New York, NY); otherwise the prefecture or state
   beats same-named places ("Maryland" → the state, not Maryland, NY; "Ibaraki" → the
   prefecture, not Ibaraki city, Osaka, nor Ibaraki town inside the prefecture).
5. Same name, same prefecture, different kinds: the city, then ward, town, village
   ("Fuchu, Hiroshima" → Fuchū city, not Fuchū town; say "Fuchu-cho" for the town).
6. Anything still plural is *ambiguous*, with candidates ("Fuchu", "Springfield").

Key folding and query text live in :mod:`matcher.gazetteer.names`, the index in
:mod:`matcher.gazetteer.index`, the database geocode cache in :mod:`matcher.gazetteer.cache`;
the public names are all importable from here.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matcher.gazetteer.cache import SessionGeocodeCache
from matcher.gazetteer.index import _Hit, _Index
from matcher.gazetteer.names import (
    _GLUED,
    _JP_SUFFIX_WORDS,
    _KANJI_SUFFIX,
    _NOW,
    _US_COUNTY_WORDS,
    _WORD_SPLIT,
    _bare_kana,
    _is_cjk,
    _jis_check_digit,
    _split_query,
    jp_key,
    kana_to_romaji,
    strip_macrons,
    us_key,
)

__all__ = [
    "Resolution",
    "Gazetteer",
    "SessionGeocodeCache",
    "kana_to_romaji",
    "strip_macrons",
    "jp_key",
    "us_key",
]

_HAS_DIGIT = re.compile(r"\d")
_KIND_RANK = {"city": 0, "ward": 1, "town": 2, "village": 3}
_MAX_CANDIDATES = 25

# --- Answers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    """One answer to one query: resolved, ambiguous (with candidates) or unknown."""

    query: str
    status: str  # "resolved" | "ambiguous" | "unknown"
    country: str | None = None  # "JP" | "US"
    kind: str | None = None  # municipality | prefecture | city | county | state | zip
    name: str | None = None
    name_ja: str | None = None
    prefecture: str | None = None
    state: str | None = None
    code: str | None = None
    lat: float | None = None
    lon: float | None = None
    via_alias: dict | None = None
    candidates: list[Resolution] = field(default_factory=list)
    place_id: int | None = None
    prefecture_code: str | None = None
    name_romaji: str | None = None
    municipality_kind: str | None = None  # city | ward | town | village (JP municipalities)
    label: str | None = None
    note: str | None = None
    source: str | None = None  # "gazetteer" or "geocoder"

    def to_json(self) -> dict:
        """Return a JSON-ready dict (candidates nested the same way)."""
        return {
            "query": self.query, "status": self.status, "country": self.country, "kind": self.kind,
            "name": self.name, "name_ja": self.name_ja, "prefecture": self.prefecture, "state": self.state,
            "code": self.code, "lat": self.lat, "lon": self.lon, "via_alias": self.via_alias,
            "candidates": [c.to_json() for c in self.candidates],
            "place_id": self.place_id, "prefecture_code": self.prefecture_code,
            "name_romaji": self.name_romaji, "municipality_kind": self.municipality_kind,
            "label": self.label, "note": self.note, "source": self.source,
        }


# --- The gazetteer -----------------------------------------------------------------------


class Gazetteer:
    """Resolve place names and codes to Japanese and US places.

    Parameters
    ----------
    prefectures, municipalities, aliases, states, places, zips : iterables of dicts
        Rows shaped like the CSVs in ``data/`` (see ``data/SOURCES.md``).
    geocoder : object with ``.geocode(query)``, optional
        Asked only for US queries that nothing offline answers, and only when given.
    cache : mutable mapping, optional
        query → {"lat", "lon", "state_abbr", "display_name"} or None; a dict by default,
        :class:`SessionGeocodeCache` to keep answers in the database.

    Examples
    --------
    >>> gaz = Gazetteer.from_data_dir()
    >>> gaz.resolve("Ishidoriya, Iwate").name, gaz.resolve("Ishidoriya, Iwate").via_alias["merged_on"]
    ('Hanamaki', '2006-01-01')
    """

    def __init__(self, prefectures: Iterable[dict], municipalities: Iterable[dict], aliases: Iterable[dict],
                 states: Iterable[dict], places: Iterable[dict], zips: Iterable[dict], *,
                 geocoder: Any = None, cache: MutableMapping | None = None) -> None:
        self.geocoder = geocoder
        self.cache = cache if cache is not None else {}
        self.prefectures = {r["code"]: dict(r) for r in prefectures}
        self.municipalities = {r["code"]: dict(r) for r in municipalities}
        self.aliases = [dict(r) for r in aliases]
        self.states = {r["abbr"]: dict(r) for r in states}
        self.places = {int(r["id"]): dict(r) for r in places}
        self.zips = {r["zip"]: (int(r["place_id"]), float(r["lat"]), float(r["lon"])) for r in zips}
        self._jp = _Index()
        self._us = _Index()
        self._pref_keys: dict[str, str] = {}
        self._state_keys: dict[str, str] = {}
        self._index_jp()
        self._index_us()

    # -- construction ------------------------------------------------------------------

    @classmethod
    def from_data_dir(cls, path: str | Path = "data", **kwargs) -> Gazetteer:
        """Load the reference CSVs from ``path`` (relative paths fall back to the project's data/)."""
        path = Path(path)
        if not (path / "municipalities.csv").exists() and not path.is_absolute():
            path = Path(__file__).resolve().parents[2] / path

        def read(name: str) -> list[dict]:
            with open(path / name, newline="", encoding="utf-8-sig") as handle:
                return list(csv.DictReader(handle))

        aliases = [dict(municipality_code=r["new_code"], name=r["old_name"], name_ja=r.get("old_name_ja") or None,
                        kind=r["old_kind"], district=r["old_district"], merged_on=r["date"], source=r["source"])
                   for r in read("jp_mergers.csv") if r["new_code"]]
        places = [dict(r, state_abbr=r["state"]) for r in read("us_places.csv")]
        return cls(read("prefectures.csv"), read("municipalities.csv"), aliases, read("us_states.csv"),
                   places, read("us_zips.csv"), **kwargs)

    @classmethod
    def from_session(cls, session, **kwargs) -> Gazetteer:
        """Load the same reference data from the database tables (columns, not ORM objects)."""
        from sqlalchemy import select

        from matcher import models as m

        def rows(*cols):
            return [r._asdict() for r in session.execute(select(*cols))]

        aliases = rows(m.MunicipalityAlias.municipality_code, m.MunicipalityAlias.name,
                       m.MunicipalityAlias.name_ja, m.MunicipalityAlias.kind, m.MunicipalityAlias.district,
                       m.MunicipalityAlias.merged_on, m.MunicipalityAlias.source, m.MunicipalityAlias.id)
        for a in aliases:
            a["merged_on"] = a["merged_on"].isoformat() if a["merged_on"] else None
        return cls(
            rows(m.Prefecture.code, m.Prefecture.name, m.Prefecture.name_ja, m.Prefecture.region,
                 m.Prefecture.neighbours, m.Prefecture.lat, m.Prefecture.lon),
            rows(m.Municipality.code, m.Municipality.prefecture_code, m.Municipality.name,
                 m.Municipality.name_romaji, m.Municipality.name_ja, m.Municipality.name_kana,
                 m.Municipality.kind, m.Municipality.lat, m.Municipality.lon, m.Municipality.population),
            aliases,
            rows(m.USState.abbr, m.USState.name, m.USState.fips, m.USState.lat, m.USState.lon),
            rows(m.USPlace.id, m.USPlace.name, m.USPlace.state_abbr, m.USPlace.kind, m.USPlace.lat,
                 m.USPlace.lon, m.USPlace.population),
            rows(m.USZip.zip, m.USZip.place_id, m.USZip.lat, m.USZip.lon),
            **kwargs,
        )

    def _index_jp(self) -> None:
        for code, p in self.prefectures.items():
            hit = _Hit("prefecture", code, 0)
            base = jp_key(p["name"])
            suffix = "to" if code == "13" else "fu" if code in ("26", "27") else "" if code == "01" else "ken"
            keys = {base, base + suffix, base + "prefecture", jp_key(p["name_ja"])}
            if p["name_ja"][-1] in "県府都":
                keys.add(jp_key(p["name_ja"][:-1]))
            for k in keys:
                self._jp.add(k, hit)
                self._pref_keys[k] = code
        for code, m in self.municipalities.items():
            hit = _Hit("municipality", code, 0)
            for k in self._name_keys(m["name"], m["kind"]) | self._name_keys(m.get("name_romaji") or "", m["kind"]):
                self._jp.add(k, hit)
            reading = _bare_kana(m.get("name_kana") or "", m["kind"])
            if reading:
                for k in self._name_keys(kana_to_romaji(reading), m["kind"]):
                    self._jp.add(k, hit)
                self._jp.add(jp_key(reading), hit)
                self._jp.add(jp_key(m["name_kana"]), hit)
            self._jp.add(jp_key(m["name_ja"]), hit)
            if m["name_ja"][-1] in _KANJI_SUFFIX:
                self._jp.add(jp_key(m["name_ja"][:-1]), hit)
        for i, a in enumerate(self.aliases):
            if a["municipality_code"] not in self.municipalities:
                continue
            hit = _Hit("municipality", a["municipality_code"], 1, i)
            for k in self._name_keys(a["name"], a.get("kind") or ""):
                self._jp.add(k, hit)
            if a.get("name_ja"):
                self._jp.add(jp_key(a["name_ja"]), hit)

    @staticmethod
    def _name_keys(name: str, kind: str) -> set[str]:
        if not name:
            return set()
        base = jp_key(name)
        return {base} | {base + jp_key(s) for s in _GLUED.get(kind, ())}

    def _index_us(self) -> None:
        for abbr, s in self.states.items():
            hit = _Hit("state", abbr, 0)
            for k in (us_key(s["name"]), abbr.lower()):
                self._us.add(k, hit)
                self._state_keys[k] = abbr
            # The context "MT" folds like "Mt." (to "mount"): key the abbreviation that way too.
            self._state_keys.setdefault(us_key(abbr), abbr)
        self._state_keys["washingtondc"] = "DC"
        city_keys = {}
        for pid, p in self.places.items():
            hit = _Hit(p["kind"], str(pid), 0)
            key = us_key(p["name"])
            self._us.add(key, hit)
            if p["kind"] == "city":
                city_keys[pid] = key
            if p["kind"] == "county":
                for word in _US_COUNTY_WORDS:
                    if key.endswith(word) and len(key) > len(word):
                        self._us.add(key[: -len(word)], _Hit("county", str(pid), 1))
                        break
        for pid, key in city_keys.items():  # "New York City" → New York, unless a place has that name
            if key + "city" not in self._us.exact:
                self._us.add(key + "city", _Hit("city", str(pid), 1))

    # -- public API --------------------------------------------------------------------

    def resolve(self, query: str, country: str | None = None) -> Resolution:
        """Resolve one query; ``country`` ("JP" or "US") narrows the search."""
        country = country.upper() if country else None
        text = unicodedata.normalize("NFKC", query or "").strip()
        if not text:
            return Resolution(query=query, status="unknown", note="empty query")
        code_hits = self._code_hits(text, country)
        if code_hits is not None:
            return self._answer(query, code_hits, None, None)
        name, contexts = _split_query(text)
        now = [c for c in contexts if _NOW.match(c)]
        contexts = [c for c in contexts if c not in now]
        pref, state = self._context(contexts)
        if pref and not state:
            country = country or "JP"
        if state and not pref:
            country = country or "US"
        hits, hint = [], None
        if country in (None, "JP"):
            jp_hits, hint = self._jp_hits(name, pref)
            if now:
                target = {h.code for h in self._jp_hits(re.sub(r"(?i)^\S+\s+(into\s+)?", "", now[0]), pref)[0]}
                jp_hits = [h for h in jp_hits if h.code in target] or [_Hit("municipality", c, 0) for c in target]
            hits += jp_hits
        if country in (None, "US"):
            us_hits, us_hint = self._us_hits(name, state)
            hits += us_hits
            hint = hint or us_hint
        hits = self._choose(hits, hint)
        if not hits and country in (None, "JP"):
            hits = self._choose(self._filter_jp(self._jp.typo(jp_key(self._strip_jp(name)[0])), pref), hint)
        if not hits and country in (None, "US"):
            hits = self._choose(self._filter_us(self._us.typo(us_key(name)), state), hint)
        if not hits and self.geocoder is not None and country in (None, "US") and not _is_cjk(text):
            return self._geocode(query, text)
        return self._answer(query, hits, pref, state)

    def resolve_jp(self, query: str) -> Resolution:
        """Resolve a Japanese place (municipality, old name, prefecture, JIS code)."""
        return self.resolve(query, country="JP")

    def resolve_us(self, query: str) -> Resolution:
        """Resolve a US place (city, county, state, ZIP)."""
        return self.resolve(query, country="US")

    def resolve_many(self, queries: Iterable[str], country: str | None = None) -> list[Resolution]:
        """Resolve queries in order."""
        return [self.resolve(q, country) for q in queries]

    def suggest(self, prefix: str, country: str | None = None, limit: int = 10) -> list[Resolution]:
        """Return up to ``limit`` places whose names start with ``prefix``, best first.

        Old (merged) names are shown as "Ishidoriya (now Hanamaki)".
        """
        country = country.upper() if country else None
        found: list[tuple[tuple, Resolution]] = []
        seen = set()
        pools = []
        if country in (None, "JP"):
            pools.append((self._jp, jp_key(prefix)))
        if country in (None, "US"):
            pools.append((self._us, us_key(prefix)))
        for index, key in pools:
            if not key:
                continue
            for k, hit in index.prefixed(key):
                ident = (hit.kind, hit.code, hit.alias)
                if ident in seen or (hit.tier and hit.alias is None):
                    continue
                seen.add(ident)
                res = self._resolution(prefix, hit)
                if hit.alias is not None:
                    alias = self.aliases[hit.alias]
                    res = _replace(res, name=f"{alias['name']} (now {res.name})",
                                   label=f"{alias['name']} (now {res.label})")
                pop = self._population(hit)
                found.append(((k != key, hit.tier, hit.alias is not None, -pop, res.label or ""), res))
        found.sort(key=lambda t: t[0])
        return [r for _, r in found[:limit]]

    # -- lookups -----------------------------------------------------------------------

    def _code_hits(self, text: str, country: str | None) -> list[_Hit] | None:
        if not _HAS_DIGIT.search(text):
            return None
        compact = re.sub(r"[\s〒]", "", text)
        if re.fullmatch(r"(?i)jis[:\s]*\d{5,6}", compact):
            compact, country = re.sub(r"\D", "", compact), "JP"
        m = re.fullmatch(r"(\d{5})(?:-\d{4})?", compact)
        hits: list[_Hit] = []
        if m and country in (None, "US") and m.group(1) in self.zips:
            hits.append(_Hit("zip", m.group(1), 0))
        if m and not m.group(0)[5:] and country in (None, "JP") and compact in self.municipalities:
            hits.append(_Hit("municipality", compact, 0))
        if re.fullmatch(r"\d{6}", compact) and country in (None, "JP") and compact[:5] in self.municipalities \
                and _jis_check_digit(compact[:5]) == compact[5]:
            hits.append(_Hit("municipality", compact[:5], 0))
        if re.fullmatch(r"\d{2}", compact) and country == "JP" and compact in self.prefectures:
            hits.append(_Hit("prefecture", compact, 0))
        if m or re.fullmatch(r"\d{2}|\d{6}", compact):
            return hits
        return None

    def _context(self, contexts: list[str]) -> tuple[str | None, str | None]:
        pref = state = None
        for c in reversed(contexts):
            key_jp = jp_key(self._strip_jp(c)[0]) if not _is_cjk(c) else jp_key(c)
            if pref is None and key_jp in self._pref_keys:
                pref = self._pref_keys[key_jp]
            elif state is None and us_key(c) in self._state_keys:
                state = self._state_keys[us_key(c)]
        return pref, state

    @staticmethod
    def _strip_jp(name: str) -> tuple[str, str | None]:
        """Strip Latin suffix words ("-shi", "City", "Prefecture"); return (name, kind hint)."""
        words = [w for w in _WORD_SPLIT.split(strip_macrons(name).lower()) if w]
        hint = None
        if len(words) > 2 and words[1] == "of" and words[0] in ("city", "town", "village", "prefecture"):
            hint, words = _JP_SUFFIX_WORDS[words[0]], words[2:]
        while len(words) > 1 and words[-1] in _JP_SUFFIX_WORDS:
            hint = hint or _JP_SUFFIX_WORDS[words[-1]]
            words.pop()
        return " ".join(words), hint

    def _jp_hits(self, name: str, pref: str | None) -> tuple[list[_Hit], str | None]:
        if _is_cjk(name):
            key = jp_key(name)
            for code, p in self.prefectures.items():  # "佐賀県武雄市": prefecture glued in front
                if key.startswith(p["name_ja"]) and len(key) > len(p["name_ja"]):
                    key, pref = key[len(p["name_ja"]):], pref or code
                    break
            hits = self._jp.get(key)
            hint = None
            if not hits and "郡" in key[:-1]:
                key = key[key.rindex("郡") + 1:]
                hits = self._jp.get(key)
            if not hits and key[-1:] in _KANJI_SUFFIX:
                hint = _KANJI_SUFFIX[key[-1]]
                hits = self._jp.get(key[:-1])
            return self._filter_jp(hits, pref), hint
        bare, hint = self._strip_jp(name)
        hits = self._jp.get(jp_key(bare))
        if hint and hint != "prefecture":
            glued = self._jp.get(jp_key(bare) + jp_key(_GLUED[hint][0]))
            hits = hits + [h for h in glued if h not in hits]
        if hint == "prefecture":
            hits = [h for h in hits if h.kind == "prefecture"]
        elif hint:
            hits = [h for h in hits if h.kind != "prefecture"]
            by_kind = [h for h in hits if self._jp_kind(h) == hint]
            hits = by_kind or hits
        return self._filter_jp(hits, pref), hint

    def _jp_kind(self, hit: _Hit) -> str | None:
        if hit.alias is not None:
            return self.aliases[hit.alias].get("kind")
        return self.municipalities[hit.code]["kind"] if hit.kind == "municipality" else None

    def _filter_jp(self, hits: list[_Hit], pref: str | None) -> list[_Hit]:
        if pref is None:
            return list(hits)
        return [h for h in hits if (h.code if h.kind == "prefecture" else self.municipalities[h.code]["prefecture_code"]) == pref]

    def _us_hits(self, name: str, state: str | None) -> tuple[list[_Hit], str | None]:
        key = us_key(name)
        hint = "county" if key.endswith(_US_COUNTY_WORDS) else None
        hits = self._us.get(key)
        if not hits and state is None:  # "Rice Lake WI", "Washington DC"
            words = [w for w in re.split(r"[^A-Za-z0-9]+", name) if w]
            for n in (1, 2, 3):
                tail = us_key(" ".join(words[-n:]))
                if len(words) > n and tail in self._state_keys:
                    state, hits = self._state_keys[tail], self._us.get(us_key(" ".join(words[:-n])))
                    break
        if not hits and key.startswith("cityof"):
            hits = self._us.get(key[6:])
        if len(key) <= 2 and not re.fullmatch(r"[A-Z]{2}", name.strip()):
            hits = [h for h in hits if h.kind != "state"]  # "md" matches only as an abbreviation
        return self._filter_us(hits, state), hint

    def _filter_us(self, hits: list[_Hit], state: str | None) -> list[_Hit]:
        if state is None:
            return list(hits)
        return [h for h in hits if (h.code if h.kind == "state" else self.places[int(h.code)]["state_abbr"]) == state]

    def _division(self, hit: _Hit) -> str | None:
        if hit.kind == "municipality":
            return self.municipalities[hit.code]["prefecture_code"]
        if hit.kind in ("city", "county"):
            return self.places[int(hit.code)]["state_abbr"]
        return None

    def _choose(self, hits: list[_Hit], hint: str | None) -> list[_Hit]:
        """Apply the precedence rules in the module docstring; return the remaining hits."""
        if not hits:
            return []
        best = min(h.tier for h in hits)
        hits = [h for h in hits if h.tier == best]
        unique: dict[tuple[str, str], _Hit] = {}
        for h in hits:
            unique.setdefault((h.kind, h.code), h)
        hits = list(unique.values())
        if hint == "county":
            hits = [h for h in hits if h.kind == "county"] or hits
        divisions = [h for h in hits if h.kind in ("prefecture", "state")]
        places = [h for h in hits if h.kind not in ("prefecture", "state")]
        if divisions and places:
            codes = {d.code for d in divisions}
            inside = [p for p in places if self._division(p) in codes and self._is_city(p)]
            hits = inside or divisions
        munis = [h for h in hits if h.kind == "municipality"]
        if len(munis) == len(hits) > 1 and hint is None and len({self._division(h) for h in munis}) == 1:
            ranks = sorted(_KIND_RANK[self.municipalities[h.code]["kind"]] for h in munis)
            if ranks[0] < ranks[1]:
                hits = [h for h in munis if _KIND_RANK[self.municipalities[h.code]["kind"]] == ranks[0]]
        cities = [h for h in hits if h.kind in ("city", "county")]
        if len(cities) == len(hits) > 1 and len({self._division(h) for h in cities}) == 1 and hint is None:
            hits = [h for h in cities if h.kind == "city"] or hits
        return hits

    def _is_city(self, hit: _Hit) -> bool:
        if hit.kind == "municipality":
            return self.municipalities[hit.code]["kind"] == "city"
        return hit.kind == "city"

    def _population(self, hit: _Hit) -> int:
        row = self.municipalities.get(hit.code) if hit.kind == "municipality" else (
            self.places.get(int(hit.code)) if hit.kind in ("city", "county") else None)
        try:
            return int(float(row.get("population") or 0)) if row else 0
        except (TypeError, ValueError):
            return 0

    # -- answers -----------------------------------------------------------------------

    def _answer(self, query: str, hits: list[_Hit], pref: str | None, state: str | None) -> Resolution:
        if not hits:
            return Resolution(query=query, status="unknown")
        if len(hits) == 1:
            res = self._resolution(query, hits[0])
            if hits[0].tier == 2:
                res = _replace(res, note=f"spelling corrected to {res.name}")
            return res
        ordered = sorted(hits, key=lambda h: (-self._population(h), h.kind, h.code))
        cands = [self._resolution(query, h) for h in ordered[:_MAX_CANDIDATES]]
        note = f"{len(hits)} places match; add a prefecture or state" if len(hits) > 1 else None
        return Resolution(query=query, status="ambiguous", candidates=cands, note=note)

    def _resolution(self, query: str, hit: _Hit) -> Resolution:
        if hit.kind == "prefecture":
            p = self.prefectures[hit.code]
            return Resolution(query=query, status="resolved", country="JP", kind="prefecture", name=p["name"],
                              name_ja=p["name_ja"], prefecture=p["name"], code=hit.code, lat=float(p["lat"]),
                              lon=float(p["lon"]), prefecture_code=hit.code, label=f"{p['name']} Prefecture",
                              source="gazetteer")
        if hit.kind == "municipality":
            m = self.municipalities[hit.code]
            p = self.prefectures[m["prefecture_code"]]
            via = None
            if hit.alias is not None:
                a = self.aliases[hit.alias]
                via = {"name": a["name"], "merged_on": a.get("merged_on"), "kind": a.get("kind"),
                       "district": a.get("district") or None}
            return Resolution(query=query, status="resolved", country="JP", kind="municipality", name=m["name"],
                              name_ja=m["name_ja"], prefecture=p["name"], code=hit.code, lat=float(m["lat"]),
                              lon=float(m["lon"]), via_alias=via, prefecture_code=p["code"],
                              name_romaji=m.get("name_romaji"), municipality_kind=m["kind"],
                              label=_muni_label(m, p), source="gazetteer")
        if hit.kind == "state":
            s = self.states[hit.code]
            return Resolution(query=query, status="resolved", country="US", kind="state", name=s["name"],
                              state=hit.code, code=hit.code, lat=float(s["lat"]), lon=float(s["lon"]),
                              label=s["name"], source="gazetteer")
        if hit.kind == "zip":
            pid, lat, lon = self.zips[hit.code]
            p = self.places[pid]
            return Resolution(query=query, status="resolved", country="US", kind="zip", name=p["name"],
                              state=p["state_abbr"], code=hit.code, lat=lat, lon=lon, place_id=pid,
                              label=f"{p['name']}, {p['state_abbr']} {hit.code}", source="gazetteer")
        p = self.places[int(hit.code)]
        return Resolution(query=query, status="resolved", country="US", kind=p["kind"], name=p["name"],
                          state=p["state_abbr"], code=hit.code, lat=float(p["lat"]), lon=float(p["lon"]),
                          place_id=int(hit.code), label=f"{p['name']}, {p['state_abbr']}", source="gazetteer")

    def _geocode(self, query: str, text: str) -> Resolution:
        key = text.lower()
        try:
            answer = self.cache[key]
        except KeyError:
            location = self.geocoder.geocode(text)
            answer = None
            if location is not None:
                address = getattr(location, "address", "") or ""
                state = next((self._state_keys[us_key(part)] for part in reversed(address.split(","))
                              if us_key(part) in self._state_keys and len(us_key(part)) > 2), None)
                answer = {"lat": float(location.latitude), "lon": float(location.longitude),
                          "state_abbr": state, "display_name": address}
            self.cache[key] = answer
        if answer is None:
            return Resolution(query=query, status="unknown", source="geocoder")
        name = (answer.get("display_name") or text).split(",")[0].strip()
        return Resolution(query=query, status="resolved", country="US", kind="city", name=name,
                          state=answer.get("state_abbr"), lat=answer["lat"], lon=answer["lon"],
                          label=answer.get("display_name"), source="geocoder")


def _muni_label(m: dict, p: dict) -> str:
    name = m.get("name_romaji") or m["name"]
    return f"{name}, {p['name']}" if m["kind"] == "city" else f"{name} ({m['kind']}), {p['name']}"


def _replace(res: Resolution, **changes) -> Resolution:
    from dataclasses import replace

    return replace(res, **changes)
