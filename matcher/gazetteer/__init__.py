"""Place resolution: Japanese municipalities with their merger history, prefectures, US places,
counties, states and ZIP codes.

The parts: :mod:`~matcher.gazetteer.resolver` (the :class:`Gazetteer` and its precedence rules),
:mod:`~matcher.gazetteer.names` (folding names to keys), :mod:`~matcher.gazetteer.index`
(exact and one-edit look-ups) and :mod:`~matcher.gazetteer.cache` (the database geocode cache).

Examples
--------
>>> from matcher.gazetteer import jp_key
>>> jp_key("Ōita") == jp_key("Ooita") == jp_key("OITA")
True
"""

from matcher.gazetteer.cache import SessionGeocodeCache
from matcher.gazetteer.names import jp_key, kana_to_romaji, strip_macrons, us_key
from matcher.gazetteer.resolver import Gazetteer, Resolution

__all__ = [
    "Resolution",
    "Gazetteer",
    "SessionGeocodeCache",
    "kana_to_romaji",
    "strip_macrons",
    "jp_key",
    "us_key",
]
