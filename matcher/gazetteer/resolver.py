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
5. Same current name, same prefecture, different kinds: the city, then ward, town, village
   ("Fuchu, Hiroshima" → Fuchū city, not Fuchū town; say "Fuchu-cho" for the town). Two
   *old* names alike in one prefecture stay ambiguous ("Gushikawa, Okinawa": a city and a
   village) unless a suffix, the district or "(now …)" decides.
7. Written forms are read in order, the first that resolves wins: as written; a kanji
   address (県, 郡 or 支庁, the longest known name, then a designated-city ward); a
   contracting organisation with its words removed; romaji without commas
   ("Shizuoka-ken Haibara-gun Kawane-cho"); one part of a comma address that names a
   municipality; a US address with a street or ZIP. A Japanese postal code is looked up first.
6. Anything still plural is *ambiguous*, with candidates ("Fuchu", "Springfield").

Key folding and query text live in :mod:`matcher.gazetteer.names`, the index in
:mod:`matcher.gazetteer.index`, the database geocode cache in :mod:`matcher.gazetteer.cache`;
the public names are all importable from here.
"""

from __future__ import annotations

import pickle
import re
import unicodedata
from collections.abc import Iterable, MutableMapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from matcher.gazetteer.explain import candidate_reason
from matcher.gazetteer.files import alias_rows, read_rows
from matcher.gazetteer.forms import (
    MAX_PLACE_CHARS,
    Reading,
    japan_postal_code,
    latin_segments,
    split_kanji_address,
    strip_organisation,
    us_address,
)
from matcher.gazetteer.index import _Hit, _Index
from matcher.gazetteer.postal import PostalTable
from matcher.gazetteer.names import (
    _GLUED,
    _JP_SUFFIX_WORDS,
    _KANJI_SUFFIX,
    _NOW,
    _to_katakana,
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
    "kana_to_romaji",
    "strip_macrons",
    "jp_key",
    "us_key",
]

_HAS_DIGIT = re.compile(r"\d")
_KIND_RANK = {"city": 0, "ward": 1, "town": 2, "village": 3}
_MAX_CANDIDATES = 25
_MAX_SUGGESTIONS = 5
_GLUED_KEYS = {kind: tuple(jp_key(s) for s in words) for kind, words in _GLUED.items()}
_KANA_KIND = {"city": "city", "town": "town", "village": "village"}
_DISTRICT_WORDS = ("gun", "district", "county")
_MUNICIPAL_SUFFIX = re.compile(r"(?i)(?:[-\s](?:shi|city|cho|machi|town|mura|son|village)|[市町村])$")

# The gazetteer's attributes by the part of a pickle they are kept in (see Gazetteer.__getstate__):
# "Ishidoriya, Iwate" needs only the Japanese part; ZIP and postal codes are read only for a text with digits.
_PARTS = {
    "jp": ("prefectures", "municipalities", "aliases", "wards", "_jp", "_ward_keys", "_ward_codes", "_pref_keys"),
    "us": ("states", "places", "_us", "_state_keys"),
    "zips": ("zips",),
    "postal": ("postal",),
}
_PART_OF = {name: part for part, names in _PARTS.items() for name in names}

# --- Answers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    """Hold one answer to one query: resolved, ambiguous (with candidates) or unknown.

    Parameters
    ----------
    query : str
        The text asked about.
    status : str
        "resolved", "ambiguous" or "unknown".
    country : str, optional
        "JP" or "US" once known.
    kind : str, optional
        municipality, prefecture, city, county, state or zip.
    name, name_ja, prefecture, state, code, lat, lon : optional
        What the place is called, where it is and its code (JIS code, FIPS or ZIP).
    via_alias : dict, optional
        The former name the query matched ("name", "merged_on", ...), for a merged town.
    candidates : list of Resolution
        The places an ambiguous or unknown query may mean.
    label, note, via : str, optional
        How to show the place, a remark ("spelling corrected to ..."), and how it was found
        (name, alias, code, typo, district, organisation, ward, postal code, address).
    place_id, prefecture_code, name_romaji, municipality_kind, source, ward, alias_name_ja : optional
        Further detail, described where the fields are declared.

    Examples
    --------
    >>> r = Resolution("Takeo", "resolved", country="JP", kind="municipality", name="Takeo", prefecture="Saga")
    >>> r.to_json()["prefecture"], r.to_json()["candidates"]
    ('Saga', [])
    """

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
    via: str | None = None  # name | alias | code | typo | district | organisation | ward | postal code | address
    ward: dict | None = None  # a designated city's ward the text named: {"code", "name", "name_ja"}
    alias_name_ja: str | None = None  # the old name in kanji, when answered through one

    def to_json(self) -> dict:
        """Return a JSON-ready dict of every field (candidates nested the same way)."""
        return asdict(self)


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
        :class:`~matcher.gazetteer.cache.SessionGeocodeCache` to keep answers in the database.

    Examples
    --------
    >>> gaz = Gazetteer.from_data_dir()
    >>> gaz.resolve("Ishidoriya, Iwate").name, gaz.resolve("Ishidoriya, Iwate").via_alias["merged_on"]
    ('Hanamaki', '2006-01-01')
    """

    def __init__(self, prefectures: Iterable[dict], municipalities: Iterable[dict], aliases: Iterable[dict],
                 states: Iterable[dict], places: Iterable[dict], zips: Iterable[dict], *,
                 wards: Iterable[dict] = (), postal: Iterable[dict] = (),
                 geocoder: Any = None, cache: MutableMapping | None = None) -> None:
        self.geocoder = geocoder
        self.cache = cache if cache is not None else {}
        self.prefectures = {r["code"]: dict(r) for r in prefectures}
        self.municipalities = {r["code"]: dict(r) for r in municipalities}
        self.aliases = [dict(r) for r in aliases]
        self.wards = [dict(r) for r in wards if r["city_code"] in self.municipalities]
        self.postal = PostalTable(postal)
        self.states = {r["abbr"]: dict(r) for r in states}
        self.places = {int(r["id"]): r for r in places}  # shared, never changed: 39,000 copies cost a load
        self.zips = {r["zip"]: (int(r["place_id"]), float(r["lat"]), float(r["lon"])) for r in zips}
        self._jp = _Index()
        self._us = _Index()
        self._ward_keys: dict[str, list[int]] = {}
        self._ward_codes = {w["code"]: i for i, w in enumerate(self.wards)}
        self._pref_keys: dict[str, str] = {}
        self._state_keys: dict[str, str] = {}
        self._index_jp()
        self._index_wards()
        self._index_us()

    # -- pickling: each country's tables unpickled when first used -----------------------

    def __getstate__(self) -> dict:
        """Pickle the Japanese, US and postal parts apart, so a reader unpickles only what it uses."""
        state = dict(self.__dict__)
        packed = dict(state.pop("_packed", {}))
        for part, names in _PARTS.items():
            if part not in packed:
                packed[part] = pickle.dumps({name: state.pop(name) for name in names}, pickle.HIGHEST_PROTOCOL)
        state["_packed"] = packed
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __getattr__(self, name: str) -> Any:
        # Reached only for a missing attribute: one of a part a gazetteer read from a pickle still holds packed.
        part = _PART_OF.get(name)
        data = self.__dict__.get("_packed", {}).get(part)
        if data is None:
            if name in self.__dict__:  # another thread unpacked it meanwhile
                return self.__dict__[name]
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        self.__dict__.update(pickle.loads(data))
        self.__dict__["_packed"].pop(part, None)
        return self.__dict__[name]

    # -- construction ------------------------------------------------------------------

    @classmethod
    def from_data_dir(cls, path: str | Path = "data", **kwargs) -> Gazetteer:
        """Load the reference CSVs from ``path`` (relative paths fall back to the project's data/)."""
        path = Path(path)
        if not (path / "municipalities.csv").exists() and not path.is_absolute():
            path = Path(__file__).resolve().parents[2] / path
        munis = read_rows(path / "municipalities.csv")
        places = read_rows(path / "us_places.csv")
        for r in places:
            r["state_abbr"] = r["state"]
        kwargs.setdefault("wards", read_rows(path / "jp_wards.csv"))
        kwargs.setdefault("postal", read_rows(path / "jp_postal_codes.csv"))
        return cls(read_rows(path / "prefectures.csv"), munis, alias_rows(path, munis),
                   read_rows(path / "us_states.csv"), places, read_rows(path / "us_zips.csv"), **kwargs)

    @classmethod
    def from_session(cls, session, data: str | Path | None = None, **kwargs) -> Gazetteer:
        """Load the same reference data from the database tables (columns, not ORM objects).

        Wards and postal codes are not tables: they are read from the reference files in ``data``
        (default: :func:`matcher.refdata.data_dir`).
        """
        # refdata imports matcher.gazetteer.files, so importing it at the top would be a cycle; SQLAlchemy
        # and the models here only, so that a gazetteer read from its cache file never loads them
        from sqlalchemy import select

        from matcher.models import Municipality, MunicipalityAlias, Prefecture, USPlace, USState, USZip
        from matcher.refdata import data_dir

        def rows(*cols):
            return [r._asdict() for r in session.execute(select(*cols))]

        A = MunicipalityAlias
        aliases = rows(A.municipality_code, A.name, A.name_ja, A.kind, A.district, A.merged_on, A.source, A.id,
                       A.kana, A.district_ja, A.old_code)
        for a in aliases:
            a["merged_on"] = a["merged_on"].isoformat() if a["merged_on"] else None
            a["prefecture_code"] = a["old_code"][:2] if a["old_code"] else None
        folder = Path(data) if data is not None else data_dir()
        kwargs.setdefault("wards", read_rows(folder / "jp_wards.csv"))
        kwargs.setdefault("postal", read_rows(folder / "jp_postal_codes.csv"))
        return cls(
            rows(Prefecture.code, Prefecture.name, Prefecture.name_ja, Prefecture.region,
                 Prefecture.neighbours, Prefecture.lat, Prefecture.lon),
            rows(Municipality.code, Municipality.prefecture_code, Municipality.name,
                 Municipality.name_romaji, Municipality.name_ja, Municipality.name_kana,
                 Municipality.kind, Municipality.lat, Municipality.lon, Municipality.population),
            aliases,
            rows(USState.abbr, USState.name, USState.fips, USState.lat, USState.lon),
            rows(USPlace.id, USPlace.name, USPlace.state_abbr, USPlace.kind, USPlace.lat,
                 USPlace.lon, USPlace.population),
            rows(USZip.zip, USZip.place_id, USZip.lat, USZip.lon),
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
            for k in self._alias_keys(a):
                self._jp.add(k, hit)

    def _alias_keys(self, a: dict) -> set[str]:
        """Every key an old name is found under: romaji, its official kana and their romaji, kanji."""
        kind = a.get("kind") or ""
        keys = self._name_keys(a["name"], kind)
        if a.get("kana"):
            kana = _to_katakana(a["kana"])
            bare = _bare_kana(kana, _KANA_KIND.get(kind, ""))
            keys |= {jp_key(kana), jp_key(bare)} | self._name_keys(kana_to_romaji(bare), kind)
        if a.get("name_ja"):
            keys.add(jp_key(a["name_ja"]))
            if a["name_ja"][-1] in _KANJI_SUFFIX and len(a["name_ja"]) > 2:
                keys.add(jp_key(a["name_ja"][:-1]))
        return keys

    def _index_wards(self) -> None:
        """Designated-city wards live in their own index: only a ward form or a city context reaches them."""
        for i, w in enumerate(self.wards):
            city = self.municipalities[w["city_code"]]
            keys = self._name_keys(w["name"], "ward") | {jp_key(w["name_ja"]), jp_key(w["name_ja"][:-1]),
                                                          jp_key(city["name_ja"] + w["name_ja"])}
            if w.get("name_kana"):
                keys.add(jp_key(w["name_kana"]))
            for k in keys:
                if k and i not in self._ward_keys.setdefault(k, []):
                    self._ward_keys[k].append(i)

    @staticmethod
    def _name_keys(name: str, kind: str) -> set[str]:
        if not name:
            return set()
        base = jp_key(name)
        return {base} | {base + s for s in _GLUED_KEYS.get(kind, ())}

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
        """Resolve one query; ``country`` ("JP" or "US") narrows the search.

        Text longer than :data:`~matcher.gazetteer.forms.MAX_PLACE_CHARS` is not read: the answer
        is ``unknown`` with a note saying so. Forms are tried in order (as written; kanji address;
        organisation; romaji without commas; each comma part; US address) until one resolves.

        Examples
        --------
        >>> gaz = Gazetteer.from_data_dir()
        >>> res = gaz.resolve("静岡県榛原郡川根町")
        >>> res.name, res.via, res.via_alias["name"]
        ('Shimada', 'district', 'Kawane')
        """
        country = country.upper() if country else None
        text = unicodedata.normalize("NFKC", query or "").strip()
        if not text:
            return Resolution(query=query, status="unknown", note="empty query")
        if len(text) > MAX_PLACE_CHARS:
            return Resolution(query=query, status="unknown",
                              note=f"too long: {len(text):,} characters; a place is at most {MAX_PLACE_CHARS}")
        code_hits = self._code_hits(text, country)
        if code_hits is not None:
            return self._answer(query, code_hits, "postal code" if code_hits and code_hits[0].kind == "zip" else "code")
        if country in (None, "JP") and (postal := japan_postal_code(text)):
            hits = [h for h in map(self._jis_hit, self.postal.get(postal[0])) if h]
            if len({h.code for h in hits}) == 1 and len(hits) > 1:  # two wards of one city: the city
                hits = [_Hit("municipality", hits[0].code, 0)]
            if hits:
                return self._answer(query, hits, "postal code")
            text = postal[1] or text
        first = None
        for reading in self._readings(text, country):
            res = self._read(query, reading, country)
            if res.status == "resolved" or (res.status == "ambiguous" and first is None and reading.via is None):
                return res
            first = first or (res if res.status == "ambiguous" else None)
        if first is not None:
            return first
        return self._fallback(query, text, country)

    def _readings(self, text: str, country: str | None):
        """Yield the ways to read ``text``, most literal first (lazily: most queries need one)."""
        if (org := strip_organisation(text)) is not None:  # "Ikuno Town Board of Education": the town
            for reading in self._readings(org, country):
                yield Reading(reading.name, reading.contexts, "organisation", reading.ward, reading.zip)
            return
        name, contexts = _split_query(text)
        if _is_cjk(name):
            yield self._kanji_reading(name, contexts)
        else:
            yield Reading(name, contexts)
        if not _is_cjk(name) and (segments := latin_segments(name)):
            yield self._segment_reading(segments, contexts)
        parts = [p for p in re.split(r"[,、，]", text) if p.strip()]
        for i, part in enumerate(parts[1:], start=1):  # "Yahata, Hanamaki-shi, Iwate-ken": a named city
            rest = parts[:i] + parts[i + 1:]
            if len(parts) >= 3 and _MUNICIPAL_SUFFIX.search(part.strip()):
                yield self._kanji_reading(part.strip(), rest) if _is_cjk(part) else Reading(part.strip(), rest, "address")
        if country in (None, "US") and (us := us_address(text)):
            city, state, zip_code, _ = us
            yield Reading(city, [state] if state else [], "address", zip=zip_code)

    def _kanji_reading(self, name: str, contexts: list[str]) -> Reading:
        """Read 県/郡/市区町村 written together: the longest known name at the front, then a ward."""
        pref, district, rest = split_kanji_address(name)
        if district and not any(jp_key(rest[:e]) in self._jp.exact for e in range(2, min(len(rest), 12) + 1)):
            district, rest = None, district + rest  # 小郡町 is a town, not the district 小郡
        contexts = list(contexts) + [c for c in (pref, district) if c]
        for end in range(min(len(rest), 12), 1, -1):
            key = jp_key(rest[:end])
            if key not in self._jp.exact:
                continue
            remainder, ward = rest[end:], None
            for stop in range(min(len(remainder), 8), 1, -1):
                if remainder[stop - 1] == "区" and jp_key(remainder[:stop]) in self._ward_keys:
                    ward, remainder = remainder[:stop], remainder[stop:]
                    break
            via = "ward" if ward else "address" if remainder else "district" if district else None
            if ward:
                return Reading(ward, contexts + [rest[:end]], via, ward)
            return Reading(rest[:end], contexts, via)
        return Reading(rest or name, contexts, "district" if district else None)

    @staticmethod
    def _segment_reading(segments: list[tuple[str, str]], contexts: list[str]) -> Reading:
        """Read "Shizuoka-ken Haibara-gun Kawane-cho" or "Nagoya-shi Chikusa-ku"."""
        words = {"prefecture": "prefecture", "district": "gun", "city": "shi", "ward": "ku", "town": "cho",
                 "village": "mura", "": ""}
        parts = [f"{n} {words[k]}".strip() for n, k in segments]
        kinds = [k for _, k in segments]
        if "ward" in kinds:
            i = kinds.index("ward")
            return Reading(parts[i], contexts + parts[:i] + parts[i + 1:], "ward", parts[i])
        i = max((j for j, k in enumerate(kinds) if k in ("city", "town", "village", "")), default=len(parts) - 1)
        via = "district" if "district" in kinds else "address"
        return Reading(parts[i], contexts + parts[:i] + parts[i + 1:], via)

    def _read(self, query: str, reading: Reading, country: str | None) -> Resolution:
        """Resolve one reading: the name, narrowed by its contexts."""
        now = [c for c in reading.contexts if _NOW.match(c.strip())]
        ctx = self._context([c for c in reading.contexts if c not in now])
        if ctx.pref and not ctx.state:
            country = country or "JP"
        if ctx.state and not ctx.pref:
            country = country or "US"
        if now:  # "X (now Y)" speaks of a Japanese merger
            country = country or "JP"
        hits, hint = [], None
        if country in (None, "JP"):
            jp_hits, hint = self._jp_hits(reading.name, ctx)
            if now:
                after = re.sub(r"(?i)^\S+\s+(into\s+|part\s+of\s+)?", "", now[0].strip())
                now_hits = self._jp_hits(after, _Ctx(pref=ctx.pref))[0]
                target = {h.code for h in now_hits if h.tier == 0} or {h.code for h in now_hits}
                old = [h for h in jp_hits if h.code in target and h.alias is not None]  # "(now Y)": X is an old name
                jp_hits = old or [h for h in jp_hits if h.code in target] or [_Hit("municipality", c, 0) for c in target]
            hits += jp_hits
        if country in (None, "US"):
            us_hits, us_hint = self._us_hits(reading.name, ctx.state)
            hits += us_hits
            hint = hint or us_hint
        hits = self._choose(hits, hint)
        if reading.via == "address":  # a part of an address naming a prefecture or state only frames it
            hits = [h for h in hits if h.kind not in ("prefecture", "state")]
        via = reading.via
        if not hits and reading.zip in self.zips and country in (None, "US"):
            hits, via = [_Hit("zip", reading.zip, 0)], "postal code"
        if not hits and ctx.cities and reading.via == "address" and country in (None, "JP"):
            hits = [_Hit("municipality", c, 0) for c in sorted(ctx.cities)]  # a street or hamlet in a city
        return self._answer(query, hits, via)

    def _fallback(self, query: str, text: str, country: str | None) -> Resolution:
        """Nothing read exactly: a one-edit typo, the geocoder, or unknown with what comes close."""
        name, contexts = _split_query(text)
        ctx = self._context(contexts)
        hits = []
        if country in (None, "JP"):
            hits += self._filter_jp(self._jp.typo(jp_key(self._strip_jp(name)[0])), ctx)
        if country in (None, "US"):
            hits += self._filter_us(self._us.typo(us_key(name)), ctx.state)
        hits = self._choose(hits, None)
        if len(hits) == 1:
            return self._answer(query, hits, "typo")
        if self.geocoder is not None and country in (None, "US") and not _is_cjk(text):
            return self._geocode(query, text)
        near = hits or self._near(name, country, ctx)
        cands = [self._candidate(query, h) for h in self._ordered(near)[:_MAX_SUGGESTIONS]]
        return Resolution(query=query, status="unknown", candidates=cands,
                          note="no place of that name; nearest spellings listed" if cands else None)

    def _near(self, name: str, country: str | None, ctx: _Ctx) -> list[_Hit]:
        """Places whose names start like ``name`` (at most a few dozen looked at)."""
        out: list[_Hit] = []
        for index, key, keep in ((self._jp, jp_key(self._strip_jp(name)[0]) if not _is_cjk(name) else jp_key(name),
                                  country in (None, "JP")),
                                 (self._us, us_key(name), country in (None, "US"))):
            if not keep or len(key) < 4:
                continue
            key = key[: index.MAX_TYPO_KEY]
            for cut in range(len(key) - 1, max(3, len(key) - 6), -1):  # shorter and shorter prefixes
                found = [h for _, h in index.prefixed(key[:cut], cap=40) if h.tier < 2]
                found = self._filter_jp(found, ctx) if index is self._jp else self._filter_us(found, ctx.state)
                if found:
                    out += found
                    break
        return out

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
        if len(prefix) > MAX_PLACE_CHARS:  # no place name is that long: nothing to suggest, nothing read
            return []
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

    def _context(self, contexts: list[str]) -> _Ctx:
        """Read the words around a name: prefecture, US state, district (郡) and a current city."""
        ctx = _Ctx()
        for c in reversed(contexts):
            c = re.sub(r"\s+\d{5}(?:-\d{4})?$", "", c.strip())  # "AR 71901": the ZIP is read elsewhere
            cjk = _is_cjk(c)
            bare, kind = (c, None) if cjk else self._strip_jp(c)
            key_jp = jp_key(bare)
            words = [w for w in _WORD_SPLIT.split(strip_macrons(c).lower()) if w]
            if ctx.pref is None and key_jp in self._pref_keys:
                ctx.pref = self._pref_keys[key_jp]
                ctx.pref_cities = {h.code for h in self._jp.get(key_jp) if h.kind == "municipality" and h.tier == 0
                                   and self.municipalities[h.code]["kind"] == "city"}  # "Nishi-ku, Osaka"
            elif ctx.state is None and not cjk and us_key(c) in self._state_keys:
                ctx.state = self._state_keys[us_key(c)]
            elif cjk and c.endswith(("郡", "支庁")):
                ctx.district.add(jp_key(c.removesuffix("支庁").removesuffix("郡")))
            elif len(words) > 1 and words[-1] in _DISTRICT_WORDS:
                ctx.district.add(jp_key(" ".join(words[:-1])))
            else:
                cities = {h.code for h in self._jp.get(key_jp) if h.kind == "municipality" and h.tier == 0
                          and kind in (None, self.municipalities[h.code]["kind"])}
                if not cities and cjk and c[-1:] in "市町村":
                    cities = {h.code for h in self._jp.get(jp_key(c[:-1])) if h.kind == "municipality" and h.tier == 0}
                ctx.cities |= cities
        return ctx

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

    def _jp_hits(self, name: str, ctx: _Ctx) -> tuple[list[_Hit], str | None]:
        if _is_cjk(name):
            key = jp_key(name)
            hits, hint = list(self._jp.get(key)), None
            if not hits and key[-1:] in _KANJI_SUFFIX:
                hint = _KANJI_SUFFIX[key[-1]]
                hits = list(self._jp.get(key[:-1]))
            if hint == "ward" or ctx.cities:
                hits = self._with_wards(hits, self._ward_hits(key, ctx), hint)
            return self._filter_jp(hits, ctx), hint
        bare, hint = self._strip_jp(name)
        hits = list(self._jp.get(jp_key(bare)))
        if hint and hint != "prefecture":
            glued = self._jp.get(jp_key(bare) + jp_key(_GLUED[hint][0]))
            hits = hits + [h for h in glued if h not in hits]
        if hint == "prefecture":
            hits = [h for h in hits if h.kind == "prefecture"]
        elif hint:
            hits = [h for h in hits if h.kind != "prefecture"]
            by_kind = [h for h in hits if self._jp_kind(h) == hint]
            hits = by_kind or hits
        if hint == "ward" or (ctx.cities and not hint):
            hits = self._with_wards(hits, self._ward_hits(jp_key(bare), ctx), hint)
        return self._filter_jp(hits, ctx), hint

    def _with_wards(self, hits: list[_Hit], wards: list[_Hit], hint: str | None) -> list[_Hit]:
        """Add ward hits; "-ku" written means a ward: a town of the same name no longer counts."""
        if hint == "ward" and wards:
            hits = [h for h in hits if self._jp_kind(h) == "ward"]
        return hits + wards

    def _ward_hits(self, key: str, ctx: _Ctx) -> list[_Hit]:
        hits = [_Hit("municipality", self.wards[i]["city_code"], 1, None, i) for i in self._ward_keys.get(key, ())]
        in_city = [h for h in hits if h.code in ctx.pref_cities]  # "Osaka" names the city as well
        return in_city or hits

    def _jis_hit(self, code: str) -> _Hit | None:
        """The hit for a JIS code from the postal table: a municipality, or a ward of its city."""
        if code in self.municipalities:
            return _Hit("municipality", code, 0)
        if code in self._ward_codes:
            i = self._ward_codes[code]
            return _Hit("municipality", self.wards[i]["city_code"], 0, None, i)
        return None

    def _jp_kind(self, hit: _Hit) -> str | None:
        if hit.alias is not None:
            return self.aliases[hit.alias].get("kind")
        if hit.ward is not None:
            return "ward"
        return self.municipalities[hit.code]["kind"] if hit.kind == "municipality" else None

    def _filter_jp(self, hits: list[_Hit], ctx: _Ctx | None) -> list[_Hit]:
        """Keep the hits in the context's prefecture, district and city; a district that fits none is ignored."""
        if ctx is None:
            return list(hits)
        if ctx.pref is not None:
            hits = [h for h in hits if ctx.pref in self._prefs_of(h)]
        if ctx.district:
            hits = [h for h in hits if self._districts_of(h) & ctx.district] or hits
        if ctx.cities:
            hits = [h for h in hits if h.kind == "municipality" and h.code in ctx.cities]
        return hits

    def _prefs_of(self, hit: _Hit) -> set[str]:
        if hit.kind == "prefecture":
            return {hit.code}
        prefs = {self.municipalities[hit.code]["prefecture_code"]}
        if hit.alias is not None and self.aliases[hit.alias].get("prefecture_code"):
            prefs.add(self.aliases[hit.alias]["prefecture_code"])  # merged across a prefecture border
        return prefs

    def _districts_of(self, hit: _Hit) -> set[str]:
        row = self.aliases[hit.alias] if hit.alias is not None else self.municipalities.get(hit.code, {})
        keys = {jp_key(row.get("district") or "")}
        ja = row.get("district_ja") or ""
        keys.add(jp_key(ja.removesuffix("支庁").removesuffix("郡")))
        return keys - {""}

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
        current = all(h.tier == 0 for h in munis)  # two old towns of one name stay ambiguous (no kind rank)
        if len(munis) == len(hits) > 1 and hint is None and current and len({self._division(h) for h in munis}) == 1:
            ranks = sorted(_KIND_RANK.get(self._jp_kind(h) or "", 9) for h in munis)
            if ranks[0] < ranks[1]:
                hits = [h for h in munis if _KIND_RANK.get(self._jp_kind(h) or "", 9) == ranks[0]]
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

    def _answer(self, query: str, hits: list[_Hit], via: str | None = None) -> Resolution:
        if not hits:
            return Resolution(query=query, status="unknown")
        if len(hits) == 1:
            how = via or ("typo" if hits[0].tier == 2 else "alias" if hits[0].alias is not None
                          else "ward" if hits[0].ward is not None else "postal code" if hits[0].kind == "zip"
                          else "name")
            res = self._resolution(query, hits[0], how)
            if hits[0].tier == 2:
                res = _replace(res, note=f"spelling corrected to {res.name}")
            return res
        cands = [self._candidate(query, h) for h in self._ordered(hits)[:_MAX_CANDIDATES]]
        note = f"{len(hits)} places match; add a prefecture or state"
        return Resolution(query=query, status="ambiguous", candidates=cands, note=note, via=via)

    def _ordered(self, hits: list[_Hit]) -> list[_Hit]:
        unique = list(dict.fromkeys(hits))
        return sorted(unique, key=lambda h: (h.tier, -self._population(h), h.kind, h.code, h.alias or -1))

    def _candidate(self, query: str, hit: _Hit) -> Resolution:
        res = self._resolution(query, hit)
        return _replace(res, note=candidate_reason(res))

    def _resolution(self, query: str, hit: _Hit, via: str | None = None) -> Resolution:
        if hit.kind == "prefecture":
            p = self.prefectures[hit.code]
            return Resolution(query=query, status="resolved", via=via, country="JP", kind="prefecture", name=p["name"],
                              name_ja=p["name_ja"], prefecture=p["name"], code=hit.code, lat=float(p["lat"]),
                              lon=float(p["lon"]), prefecture_code=hit.code, label=f"{p['name']} Prefecture",
                              source="gazetteer")
        if hit.kind == "municipality":
            m = self.municipalities[hit.code]
            p = self.prefectures[m["prefecture_code"]]
            old, alias_ja, ward = None, None, None
            if hit.alias is not None:
                a = self.aliases[hit.alias]
                old = {"name": a["name"], "merged_on": a.get("merged_on"), "kind": a.get("kind"),
                       "district": a.get("district") or None}
                alias_ja = a.get("name_ja") or None
            if hit.ward is not None:
                w = self.wards[hit.ward]
                ward = {"code": w["code"], "name": w["name_romaji"] or w["name"], "name_ja": w["name_ja"]}
            return Resolution(query=query, status="resolved", via=via, country="JP", kind="municipality", name=m["name"],
                              name_ja=m["name_ja"], prefecture=p["name"], code=hit.code, lat=float(m["lat"]),
                              lon=float(m["lon"]), via_alias=old, prefecture_code=p["code"],
                              name_romaji=m.get("name_romaji"), municipality_kind=m["kind"],
                              label=_muni_label(m, p), source="gazetteer", ward=ward, alias_name_ja=alias_ja)
        if hit.kind == "state":
            s = self.states[hit.code]
            return Resolution(query=query, status="resolved", via=via, country="US", kind="state", name=s["name"],
                              state=hit.code, code=hit.code, lat=float(s["lat"]), lon=float(s["lon"]),
                              label=s["name"], source="gazetteer")
        if hit.kind == "zip":
            pid, lat, lon = self.zips[hit.code]
            p = self.places[pid]
            return Resolution(query=query, status="resolved", via=via, country="US", kind="zip", name=p["name"],
                              state=p["state_abbr"], code=hit.code, lat=lat, lon=lon, place_id=pid,
                              label=f"{p['name']}, {p['state_abbr']} {hit.code}", source="gazetteer")
        p = self.places[int(hit.code)]
        return Resolution(query=query, status="resolved", via=via, country="US", kind=p["kind"], name=p["name"],
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


@dataclass
class _Ctx:
    """What the words around a name said: prefecture, US state, district keys, current-city codes."""

    pref: str | None = None
    state: str | None = None
    district: set[str] = field(default_factory=set)
    cities: set[str] = field(default_factory=set)
    pref_cities: set[str] = field(default_factory=set)  # cities named like the prefecture context


def _muni_label(m: dict, p: dict) -> str:
    name = m.get("name_romaji") or m["name"]
    return f"{name}, {p['name']}" if m["kind"] == "city" else f"{name} ({m['kind']}), {p['name']}"


def _replace(res: Resolution, **changes) -> Resolution:
    return replace(res, **changes)
