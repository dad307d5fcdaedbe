"""Comparisons are data: ordered levels, weights from settings, sentences filled per pair."""

import pytest

from matcher.scoring.comparisons import LEVELS, comparisons, default_settings, validate_settings


def test_every_level_has_a_default_weight_and_the_last_level_is_the_least_specific():
    comps = comparisons()
    for factor, levels in LEVELS.items():
        assert [lvl.name for lvl in comps[factor].levels] == [name for name, _, _ in levels]
    assert comps["placement"].levels[-1].weight == 0.0
    assert comps["placement"].code("same_prefecture") == 1


def test_settings_override_weights_and_refuse_unknown_levels():
    s = validate_settings({"weights": {"distance": {"within_25km": 5}}, "version": "v2"})
    assert s["weights"]["distance"]["within_25km"] == 5.0 and s["version"] == "v2"
    assert s["weights"]["placement"] == default_settings()["weights"]["placement"]
    with pytest.raises(ValueError, match="unknown levels"):
        validate_settings({"weights": {"distance": {"next_door": 1}}})


def test_the_partner_sentence_names_the_merger():
    level = comparisons()["placement"].levels[0]
    sentence = level.describe(place="Yamauchi", merger=" (merged into Takeo in 2006)", partner_kind="municipality",
                              years="2001–2003")
    assert sentence == "placed in Yamauchi (merged into Takeo in 2006) — the partner municipality (2001–2003)"
    assert comparisons()["distance"].levels[0].describe() == "lives within 25 km"  # missing context: the label
