"""People's names: given and family name apart, read by stated rules, shown by one rule.

Committees and chapter leads see :func:`display_name` — the given name and the family
name's initial ("Dana W.") — and never the family name before a coordinator approves.
Every page, the API, e-mails, exports and the engine's own explanations use it.

A roster's single ``name`` cell is read by :func:`parse_name`:

1. "Family, Given" — a comma puts the family name first ("Whitfield, Dana").
2. "FAMILY Given" — a word in capitals is the family name ("YAMADA Taro", "Taro YAMADA").
3. A name in kanji or kana: with a space, family name first ("山田 太郎"); without one, split
   after the longest common family name it starts with (``data/jp_family_names.csv``),
   else kept whole as the family name, so that only its initial is ever shown ("山.").
4. Otherwise "Given Family": the first word is the given name, the rest the family name.

Where a rule had to guess, the result carries a ``warning`` for the importer to report.
"""

from __future__ import annotations

import csv
import os
import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import NamedTuple

__all__ = ["PersonName", "parse_name", "display_name", "full_name", "is_cjk", "family_names"]

_CAPS_WORD = re.compile(r"^[^\W\d_][^\W\d_'’.-]*(?:['’.-][^\W\d_]+)*$")


class PersonName(NamedTuple):
    """Hold a name read from one cell: given and family parts, and a warning where a rule guessed.

    Parameters
    ----------
    given : str
        The given name ("" when none could be told apart).
    family : str
        The family name.
    warning : str or None
        What a rule guessed, for the import report.

    Examples
    --------
    >>> PersonName("Dana", "Whitfield").warning is None
    True
    """

    given: str
    family: str
    warning: str | None = None


def is_cjk(text: str) -> bool:
    """Say whether ``text`` is written in kanji or kana.

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    bool
        True when it is written in kanji or kana.

    Examples
    --------
    >>> is_cjk("山田太郎"), is_cjk("やまだ"), is_cjk("Yamada")
    (True, True, False)
    """
    return any(unicodedata.name(ch, "").startswith(("CJK UNIFIED", "HIRAGANA", "KATAKANA")) for ch in text)


@cache
def family_names() -> tuple[str, ...]:
    """The common Japanese family names (kanji) from ``data/jp_family_names.csv``, longest first."""
    # The folder rule of matcher.refdata.data_dir, read here because refdata imports the models.
    folder = Path(os.environ.get("JETMATCH_DATA_DIR", Path(__file__).resolve().parents[1] / "data"))
    path = folder / "jp_family_names.csv"
    if not path.exists():
        return ()
    with path.open(encoding="utf-8", newline="") as f:
        names = {row["family_name"].strip() for row in csv.DictReader(f) if row.get("family_name")}
    return tuple(sorted(names, key=lambda n: (-len(n), n)))


def _is_caps(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters) and bool(_CAPS_WORD.match(word))


def _title(word: str) -> str:
    """"YAMADA" -> "Yamada", "O'BRIEN" -> "O'Brien", "SMITH-JONES" -> "Smith-Jones"."""
    return re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), word)


def _split_cjk(text: str, known: tuple[str, ...]) -> PersonName:
    for family in known:
        if text.startswith(family) and len(text) > len(family):
            return PersonName(text[len(family):], family,
                              f"read {text!r} as family name {family!r} and given name {text[len(family):]!r} "
                              "(a common family name); give given_name and family_name columns to be sure")
    return PersonName("", text, f"could not tell the family name in {text!r}: it is shown as an initial only; "
                                "give given_name and family_name columns, or a space after the family name")


def parse_name(text: str, known: tuple[str, ...] | None = None) -> PersonName:
    """Read a whole name into given and family parts by the rules in the module docstring.

    Parameters
    ----------
    text : str
        The name as written in one cell.
    known : tuple of str, optional
        Family names for splitting a kanji name without a space (default: the reference list).

    Returns
    -------
    PersonName
        The parts, with a warning where a rule guessed.

    Examples
    --------
    >>> parse_name("Whitfield, Dana")
    PersonName(given='Dana', family='Whitfield', warning=None)
    >>> parse_name("YAMADA Taro")
    PersonName(given='Taro', family='Yamada', warning=None)
    >>> parse_name("Dana Whitfield")
    PersonName(given='Dana', family='Whitfield', warning=None)
    >>> parse_name("山田 太郎")
    PersonName(given='太郎', family='山田', warning=None)
    >>> parse_name("山田太郎", known=("山田",)).family
    '山田'
    >>> parse_name("纐纈太郎", known=("山田",))[:2]
    ('', '纐纈太郎')
    """
    text = " ".join((text or "").split())
    if not text:
        return PersonName("", "")
    if "," in text:
        family, _, given = (part.strip() for part in text.partition(","))
        return PersonName(given, _title(family) if _is_caps(family) else family)
    words = text.split(" ")
    if is_cjk(text):
        if len(words) == 1:
            return _split_cjk(text, family_names() if known is None else known)
        return PersonName(" ".join(words[1:]), words[0])
    caps = [w for w in words if _is_caps(w)]
    if caps and len(caps) < len(words):
        return PersonName(" ".join(w for w in words if not _is_caps(w)), " ".join(_title(w) for w in caps))
    if len(words) == 1:
        return PersonName(words[0], "", f"{text!r} has no family name; shown as written")
    warning = None if len(words) == 2 else (
        f"read {text!r} as given name {words[0]!r} and family name {' '.join(words[1:])!r}; "
        "give given_name and family_name columns to be sure")
    return PersonName(words[0], " ".join(words[1:]), warning)


def display_name(given: str | None, family: str | None) -> str:
    """Return the name committees and chapter leads see: given name and the family name's initial.

    Parameters
    ----------
    given, family : str or None
        The name's parts.

    Returns
    -------
    str
        "Given F." (one part when the other is missing; "?" when both are).

    Examples
    --------
    >>> display_name("Dana", "Whitfield")
    'Dana W.'
    >>> display_name("Taro", "Yamada")
    'Taro Y.'
    >>> display_name("", "山田太郎")
    '山.'
    >>> display_name("Cher", "")
    'Cher'
    """
    given, family = (given or "").strip(), (family or "").strip()
    initial = f"{family[0]}." if family else ""
    return " ".join(part for part in (given, initial) if part) or "?"


def full_name(given: str | None, family: str | None) -> str:
    """Return the whole name, for contacts after approval: family name first when written in kanji.

    Parameters
    ----------
    given, family : str or None
        The name's parts.

    Returns
    -------
    str
        "Given Family", or "FamilyGiven" for a name in kanji or kana.

    Examples
    --------
    >>> full_name("Dana", "Whitfield"), full_name("太郎", "山田")
    ('Dana Whitfield', '山田太郎')
    """
    given, family = (given or "").strip(), (family or "").strip()
    if is_cjk(family + given):
        return family + given
    return " ".join(part for part in (given, family) if part)
