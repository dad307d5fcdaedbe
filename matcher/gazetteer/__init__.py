"""Place resolution: Japanese municipalities with their merger history, prefectures, US places,
counties, states and ZIP codes.

The parts: :mod:`~matcher.gazetteer.resolver` (the :class:`Gazetteer` and its precedence rules),
:mod:`~matcher.gazetteer.names` (folding names to keys), :mod:`~matcher.gazetteer.forms` (the
forms people write: organisations, districts, addresses, postal codes),
:mod:`~matcher.gazetteer.index` (exact and one-edit look-ups), :mod:`~matcher.gazetteer.postal`
(postal code → municipality), :mod:`~matcher.gazetteer.files` (reading data/),
:mod:`~matcher.gazetteer.explain` (the sentences: :func:`place_problem` is the one said for an
unknown or ambiguous place everywhere) and :mod:`~matcher.gazetteer.cache` (the geocode cache).

Examples
--------
>>> from matcher.gazetteer import jp_key
>>> jp_key("Ōita") == jp_key("Ooita") == jp_key("OITA")
True
"""

from matcher.gazetteer.explain import candidate_label, place_problem, resolved_summary
from matcher.gazetteer.forms import MAX_PLACE_CHARS
from matcher.gazetteer.names import jp_key, kana_to_romaji, strip_macrons, us_key
from matcher.gazetteer.resolver import Gazetteer, Resolution

from matcher._exports import lazy_exports

# The geocode cache is a table: it loads SQLAlchemy, which resolving from a cache file never needs.
lazy_exports(__name__, {"cache": ["SessionGeocodeCache"]})

__all__ = [
    "Resolution",
    "Gazetteer",
    "SessionGeocodeCache",
    "kana_to_romaji",
    "strip_macrons",
    "jp_key",
    "us_key",
    "MAX_PLACE_CHARS",
    "place_problem",
    "candidate_label",
    "resolved_summary",
]
