"""Place-name text: romanisation, folding to index keys, suffixes, query splitting, check digits.

Pure functions of strings, shared by :mod:`matcher.gazetteer.resolver` and the reference-data
scripts. Japanese names fold to one key however they are written (``jp_key``: "Ōita",
"Ooita", "Ohita" → "oita"; kanji and kana kept, kana as hiragana); US names fold with
"St."/"Saint" alike (``us_key``).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "kana_to_romaji",
    "strip_macrons",
    "jp_key",
    "us_key",
]

# --- Romanisation and folding -----------------------------------------------------------

_KANA = {
    "ア": "a", "イ": "i", "ウ": "u", "エ": "e", "オ": "o",
    "カ": "ka", "キ": "ki", "ク": "ku", "ケ": "ke", "コ": "ko",
    "ガ": "ga", "ギ": "gi", "グ": "gu", "ゲ": "ge", "ゴ": "go",
    "サ": "sa", "シ": "shi", "ス": "su", "セ": "se", "ソ": "so",
    "ザ": "za", "ジ": "ji", "ズ": "zu", "ゼ": "ze", "ゾ": "zo",
    "タ": "ta", "チ": "chi", "ツ": "tsu", "テ": "te", "ト": "to",
    "ダ": "da", "ヂ": "ji", "ヅ": "zu", "デ": "de", "ド": "do",
    "ナ": "na", "ニ": "ni", "ヌ": "nu", "ネ": "ne", "ノ": "no",
    "ハ": "ha", "ヒ": "hi", "フ": "fu", "ヘ": "he", "ホ": "ho",
    "バ": "ba", "ビ": "bi", "ブ": "bu", "ベ": "be", "ボ": "bo",
    "パ": "pa", "ピ": "pi", "プ": "pu", "ペ": "pe", "ポ": "po",
    "マ": "ma", "ミ": "mi", "ム": "mu", "メ": "me", "モ": "mo",
    "ヤ": "ya", "ユ": "yu", "ヨ": "yo",
    "ラ": "ra", "リ": "ri", "ル": "ru", "レ": "re", "ロ": "ro",
    "ワ": "wa", "ヰ": "i", "ヱ": "e", "ヲ": "o", "ン": "n", "ヴ": "vu",
    "ヵ": "ka", "ヶ": "ke",
}
_SMALL_Y = {"ャ": "a", "ュ": "u", "ョ": "o"}
_SMALL_V = {"ァ": "a", "ィ": "i", "ゥ": "u", "ェ": "e", "ォ": "o"}
_MACRON = {"a": "ā", "i": "ii", "u": "ū", "e": "ē", "o": "ō"}


def _to_katakana(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


def _to_hiragana(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def _syllables(kana: str) -> list[str]:
    out: list[str] = []
    for ch in _to_katakana(kana):
        if ch in _SMALL_Y and out and out[-1].endswith("i"):
            base = out[-1][:-1]
            out[-1] = base + _SMALL_Y[ch] if base in ("sh", "ch", "j") else base + "y" + _SMALL_Y[ch]
        elif ch in _SMALL_V and out:
            out[-1] = out[-1][:-1] + _SMALL_V[ch]
        elif ch == "ー" and out:
            out.append(out[-1][-1])
        elif ch == "・":  # a word boundary: no long vowel across it (カツ・ウラ → Katsuura)
            out.append("")
        elif ch in _KANA or ch == "ッ":
            out.append(_KANA.get(ch, "ッ"))
    return out


def kana_to_romaji(kana: str) -> str:
    """Return the Hepburn romanisation of a kana reading, long vowels with macrons.

    Parameters
    ----------
    kana : str
        A reading in katakana or hiragana.

    Returns
    -------
    str
        The romaji, capitalised.

    Examples
    --------
    >>> [kana_to_romaji(k) for k in ("オオイタ", "フチュウ", "ハナマキ", "キンチョウ", "シンオンセン", "カツ・ウラ")]
    ['Ōita', 'Fuchū', 'Hanamaki', 'Kinchō', "Shin'onsen", 'Katsuura']
    """
    syl = _syllables(kana)
    out: list[str] = []
    i = 0
    while i < len(syl):
        s = syl[i]
        nxt = syl[i + 1] if i + 1 < len(syl) else ""
        if s == "ッ":
            if nxt:
                out.append("t" if nxt.startswith("ch") else nxt[0])
        elif s == "n" and nxt[:1] in ("a", "i", "u", "e", "o", "y"):
            out.append("n'")
        elif out and ((s == "u" and out[-1][-1:] in ("o", "u")) or (s in ("a", "e", "o") and out[-1][-1:] == s)):
            out[-1] = out[-1][:-1] + _MACRON[out[-1][-1]]
        else:
            out.append(s)
        i += 1
    word = "".join(out)
    return word[:1].upper() + word[1:]


def strip_macrons(text: str) -> str:
    """Drop diacritics from Latin text: "Ōita" → "Oita".

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    str
        The text with combining marks removed.

    Examples
    --------
    >>> strip_macrons("Fuchū-chō")
    'Fuchu-cho'
    """
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


_CJK = re.compile("[\u3040-\U0002ffff]")


def _is_cjk(text: str) -> bool:
    return not text.isascii() and _CJK.search(text) is not None


_OU = re.compile(r"o[uh]")
_JP_FOLDS = [
    (re.compile(r"m(?=[bpm])"), "n"),
    (re.compile(r"cch"), "tch"),
    (_OU, "o"),
    (re.compile(r"([aeiou])\1+"), r"\1"),
    (re.compile(r"nn"), "n"),
]


def jp_key(text: str) -> str:
    """Fold a Japanese place name to its index key.

    Parameters
    ----------
    text : str
        A name in romaji (any spelling of long vowels), kanji or kana.

    Returns
    -------
    str
        For Latin text, lower-case romaji with the spellings of long vowels and the like
        folded together; for Japanese text, the text without spaces, kana as hiragana.

    Examples
    --------
    >>> {jp_key(s) for s in ("Ōita", "Oita", "Ooita", "Ohita", "OITA")}
    {'oita'}
    >>> jp_key("Tanba") == jp_key("Tamba"), jp_key("大分市"), jp_key("オオイタ")
    (True, '大分市', 'おおいた')
    """
    text = unicodedata.normalize("NFKC", text).strip()
    if _is_cjk(text):
        return _to_hiragana(re.sub(r"[\s・･,、]+", "", text)).replace("ヶ", "ケ").replace("ケ", "け")
    key = _NON_ALNUM.sub("", strip_macrons(text).lower())
    for pattern, repl in _JP_FOLDS:
        key = pattern.sub(repl, key)
        while pattern is _OU and _OU.search(key):  # "Ouhito" → "ohito" → "oito", as "Ōhito" folds
            key = pattern.sub(repl, key)
    return key


_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_US_WORDS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount", "pt": "point"}


def us_key(text: str) -> str:
    """Fold a US place name to its index key.

    Parameters
    ----------
    text : str
        A US place name.

    Returns
    -------
    str
        Lower case, the abbreviations St, Ste, Ft, Mt and Pt spelled out, punctuation and
        spaces dropped.

    Examples
    --------
    >>> us_key("St. Petersburg") == us_key("Saint Petersburg"), us_key("Lee's Summit")
    (True, 'leessummit')
    """
    if text.isalpha() and text.isascii():  # most names are one plain word
        low = text.lower()
        return _US_WORDS.get(low, low)
    if not text.isascii():
        text = strip_macrons(unicodedata.normalize("NFKC", text))
    return "".join(_US_WORDS.get(w, w) for w in _NON_ALNUM.split(text.lower()) if w)


# --- Suffixes and query text ---------------------------------------------------------------

_JP_SUFFIX_WORDS = {
    "shi": "city", "city": "city", "ku": "ward", "ward": "ward",
    "cho": "town", "machi": "town", "town": "town", "chou": "town",
    "son": "village", "mura": "village", "village": "village",
    "ken": "prefecture", "fu": "prefecture", "to": "prefecture", "prefecture": "prefecture",
    "pref": "prefecture",
}
_GLUED = {
    "city": ("shi", "city"), "ward": ("ku", "ward"), "town": ("cho", "machi", "town"),
    "village": ("son", "mura", "village"),
}
_KANJI_SUFFIX = {"市": "city", "区": "ward", "町": "town", "村": "village", "県": "prefecture",
                 "府": "prefecture", "都": "prefecture"}
_COUNTRY_WORDS = {"japan", "jp", "nihon", "nippon", "日本", "usa", "us", "unitedstates",
                  "unitedstatesofamerica", "america"}
_US_COUNTY_WORDS = ("county", "borough", "parish", "censusarea", "municipality")

_NOW = re.compile(r"(?i)^(now|currently|today|merged into)\s+")
_WORD_SPLIT = re.compile(r"[\s\-‐‑_.'’/]+")
_SEPARATORS = re.compile(r"[,、，()]")


def _split_query(query: str) -> tuple[str, list[str]]:
    """Split "Town, District, Prefecture" / "Town (Prefecture)" into the name and contexts."""
    text = unicodedata.normalize("NFKC", query).strip()
    if not _SEPARATORS.search(text):
        return text, []
    contexts = []
    for inner in re.findall(r"\(([^)]*)\)", text):
        contexts.append(inner.strip())
    text = re.sub(r"\([^)]*\)", " ", text)
    parts = [p.strip() for p in re.split(r"[,、，]", text) if p.strip()]
    if not parts:
        return "", []
    contexts = parts[1:] + contexts
    contexts = [c for c in contexts if re.sub(r"[^a-z日本]", "", c.lower()) not in _COUNTRY_WORDS]
    return parts[0], contexts


_KANA_SUFFIX = {"city": ("シ",), "ward": ("ク",), "town": ("チョウ", "マチ"), "village": ("ソン", "ムラ")}


def _bare_kana(kana: str, kind: str) -> str:
    """Drop the suffix reading: ("オオイタシ", "city") → "オオイタ"."""
    for suffix in _KANA_SUFFIX.get(kind, ()):
        if kana.endswith(suffix) and len(kana) > len(suffix):
            return kana[: -len(suffix)]
    return kana


def _jis_check_digit(code5: str) -> str:
    """Return the check digit of a 5-digit local government code (JIS X 0402).

    >>> _jis_check_digit("44201"), _jis_check_digit("13101")
    ('1', '6')
    """
    total = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2)))
    return str((11 - total % 11) % 10)
