"""The forms people write places in: organisations, districts, kanji addresses, postal codes, US addresses.

Pure functions of strings for :mod:`matcher.gazetteer.resolver`: each takes what was typed and
returns the parts the gazetteer looks up, or ``None`` when the form does not apply. All of them
are linear in the length of the text (the resolver caps that length before calling them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "MAX_PLACE_CHARS",
    "Reading",
    "strip_organisation",
    "japan_postal_code",
    "split_kanji_address",
    "latin_segments",
    "us_address",
]

MAX_PLACE_CHARS = 200  # a place, an organisation or an address; longer text is refused, not read

_ORG_LATIN = re.compile(  # "Hall" and "Office" only after a kind word: Rural Hall, NC is a town
    r"(?i)\b(?:(?P<kind>town|city|village|ward|prefectural|municipal)\s+(?:office|hall)"
    r"|(?P<kind2>town|city|village|ward|prefectural|municipal)?\s*(?:board\s+of\s+education|b\.?o\.?e\b\.?"
    r"|kyo?u?iku\s*iinkai|yakuba|yakusho|international\s+(?:exchange\s+)?(?:section|division)"
    r"|education\s+office))\b\.?")
_ORG_FRONT = re.compile(r"(?i)^(?:the\s+)?(?:board\s+of\s+education|office)\s+of\s+(?:the\s+)?")
_ORG_KANJI = re.compile(r"(?:教育委員会|教委|役場|役所|国際交流課|企画課)")


@dataclass(frozen=True)
class Reading:
    """One way to read a query: the name looked up, its context words, and how it was read."""

    name: str
    contexts: list[str] = field(default_factory=list)
    via: str | None = None  # organisation | district | ward | address | postal code
    ward: str | None = None
    zip: str | None = None  # a US ZIP written after the city and state


def strip_organisation(text: str) -> str | None:
    """Return the place inside a contracting organisation's name, or None when there is none.

    >>> strip_organisation("Ikuno Town Board of Education, Hyogo")
    'Ikuno Town, Hyogo'
    >>> strip_organisation("生野町教育委員会"), strip_organisation("Board of Education of Ikuno-cho")
    ('生野町', 'Ikuno-cho')
    >>> strip_organisation("Ikuno") is None, strip_organisation("Rural Hall, North Carolina") is None
    (True, True)
    """
    stripped = _ORG_FRONT.sub("", text)
    stripped = _ORG_KANJI.sub("", _ORG_LATIN.sub(_kind_word, stripped))
    if stripped == text:
        return None
    stripped = re.sub(r"\s*([,、，])\s*", r"\1 ", stripped)
    stripped = re.sub(r"(?:[,、，]\s*)+", ", ", stripped)
    return re.sub(r"\s+", " ", stripped).strip(" ,、，-") or None


def _kind_word(m: re.Match) -> str:
    word = m.group("kind") or m.group("kind2") or ""
    return " " + word if word.lower() in ("town", "city", "village", "ward") else ""


_POSTAL = re.compile(r"^(?:〒|〶|郵便番号|postal\s*code|post\s*code|zip)?[\s:：]*(\d{3})[-ー－‐]?(\d{4})(?!\d)\s*(.*)$",
                     re.IGNORECASE | re.DOTALL)


def japan_postal_code(text: str) -> tuple[str, str] | None:
    """Return (7-digit postal code, the rest) when ``text`` starts with a Japanese postal code.

    >>> japan_postal_code("〒025-0301 岩手県花巻市"), japan_postal_code("0250301")
    (('0250301', '岩手県花巻市'), ('0250301', ''))
    >>> japan_postal_code("54868") is None, japan_postal_code("12345-6789") is None
    (True, True)
    """
    m = _POSTAL.match(text.strip())
    if not m:
        return None
    return m.group(1) + m.group(2), m.group(3).strip()


_KANJI_PREF = re.compile(r"^(北海道|東京都|京都府|大阪府|[^\s\d]{2,3}県)")


def split_kanji_address(text: str) -> tuple[str | None, str | None, str]:
    """Split a kanji address into (prefecture, district, the rest); either may be None.

    >>> split_kanji_address("静岡県榛原郡川根町")
    ('静岡県', '榛原郡', '川根町')
    >>> split_kanji_address("福島県郡山市朝日1-1")
    ('福島県', None, '郡山市朝日1-1')
    >>> split_kanji_address("北海道網走支庁生田原町")
    ('北海道', '網走支庁', '生田原町')
    """
    text = re.sub(r"\s+", "", text)
    pref = None
    if m := _KANJI_PREF.match(text):
        pref, text = m.group(1), text[m.end():]
    district = None
    if m := re.match(r"^([^\d市区町村]{1,6}?(?:郡|総合振興局|振興局|支庁))(?=.)", text):
        district, text = m.group(1), text[m.end():]
    return pref, district, text


_LATIN_KINDS = {
    "ken": "prefecture", "fu": "prefecture", "to": "prefecture", "prefecture": "prefecture", "pref": "prefecture",
    "gun": "district", "district": "district", "county": "district",
    "shi": "city", "city": "city", "ku": "ward", "ward": "ward",
    "cho": "town", "chou": "town", "machi": "town", "town": "town",
    "son": "village", "mura": "village", "village": "village",
}


def latin_segments(text: str) -> list[tuple[str, str]]:
    """Cut romaji written without commas into (name, kind) segments, each closed by its suffix word.

    >>> latin_segments("Shizuoka-ken Haibara-gun Kawane-cho")
    [('Shizuoka', 'prefecture'), ('Haibara', 'district'), ('Kawane', 'town')]
    >>> latin_segments("Nagoya-shi Chikusa-ku"), latin_segments("Kawane")
    ([('Nagoya', 'city'), ('Chikusa', 'ward')], [])
    """
    words = [w for w in re.split(r"[\s\-‐‑_.,]+", text) if w]
    segments, current = [], []
    for word in words:
        kind = _LATIN_KINDS.get(word.lower())
        if kind and current:
            segments.append((" ".join(current), kind))
            current = []
        else:
            current.append(word)
    if current:
        segments.append((" ".join(current), ""))
    return segments if len(segments) > 1 else []


_ZIP_END = re.compile(r"(?:^|[\s,])(\d{5})(?:-\d{4})?\s*$")
_STREET = re.compile(r"^\s*\d+[A-Za-z]?\s+\S")


def us_address(text: str) -> tuple[str, str | None, str | None, bool] | None:
    """Read "Hot Springs AR 71901" or "12 Elm St, Billings, MT 59101": (city text, state text, ZIP, street?).

    Returns None when the text has neither a trailing ZIP nor a street line.

    >>> us_address("Billings MT 59101")
    ('Billings MT', None, '59101', False)
    >>> us_address("100 Main St, Hot Springs, Arkansas 71901")
    ('Hot Springs', 'Arkansas', '71901', True)
    """
    zip_code = None
    if m := _ZIP_END.search(text):
        zip_code, text = m.group(1), text[: m.start()].strip(" ,")
    parts = [p.strip() for p in text.split(",") if p.strip()]
    street = bool(parts) and len(parts) > 1 and _STREET.match(parts[0]) is not None
    if street:
        parts = parts[1:]
    if not parts or (zip_code is None and not street):
        return None if zip_code is None else ("", None, zip_code, street)
    if len(parts) == 1:
        return parts[0], None, zip_code, street
    return parts[-2], parts[-1], zip_code, street
