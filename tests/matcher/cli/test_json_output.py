"""`--json` output: the fast indented writer gives exactly the standard library's text."""

import datetime as dt
import json
import math

import pytest

from matcher.cli._json import dumps_indented


class Level(int):
    """An int subclass, as an IntEnum would be."""


CASES = [
    {},
    [],
    "大分市 \"quoted\" \\ \n\t\x01",
    [{"us_place": "Anchorage, AK", "jp_place": "千歳市", "score": -5.8844, "existing": True, "reasons": [
        {"factor": "intercept", "value": None, "contribution": -8.8, "sentence": "starting point", "relative": ""},
        {"factor": "jp_city", "value": 1.0, "contribution": 0.417, "sentence": "a city", "relative": ""}]},
     {"us_place": "Nowhere, ZZ", "jp_place": "Takeo", "score": None, "existing": None, "reasons": [], "error": "x"}],
    {"nested": {"deeper": [[1, 2], [], {}, [{"a": [None]}]]}, "tuple": (1, "two", 3.5), "flags": [True, False]},
    {1: "int key", 2.5: "float key", True: "bool key", None: "none key", "s": Level(3)},
    {"odd floats": [math.nan, math.inf, -math.inf, 1e16, -0.0, 1e-7], "big": 10**30},
    {"when": dt.date(2026, 11, 30), "at": [dt.datetime(2026, 11, 30, 7, 0)], "set": {1}},
]


@pytest.mark.parametrize("data", CASES)
def test_the_same_text_as_json_dumps(data):
    assert dumps_indented(data) == json.dumps(data, ensure_ascii=False, indent=2, default=str)


def test_a_circular_reference_is_refused_as_json_refuses_it():
    loop: list = []
    loop.append([loop])
    with pytest.raises(ValueError, match="Circular"):
        dumps_indented(loop)
    with pytest.raises(ValueError, match="Circular"):
        json.dumps(loop, indent=2)
