"""Comparisons as data: each signal is a list of ordered levels, most specific first.

A level has a name (stable, used in JSON and in learning), a label, a weight (log-odds)
and a sentence template that the explanation fills in for one pair. The integer *code*
of a level is its position in the list, so feature arrays hold small ``uint8`` codes and
scoring is a weight look-up. Weights live in a settings object (plain JSON, saved with a
model version in ``ScoringModel.settings``); the structure of the levels lives here.

>>> comps = comparisons(DEFAULT_SETTINGS)
>>> [lvl.name for lvl in comps["placement"].levels]
['partner', 'same_prefecture', 'neighbour_prefecture', 'same_region', 'none']
>>> float(comps["placement"].weights()[0])
4.0
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Level",
    "Comparison",
    "LEVELS",
    "PAIR_FACTORS",
    "ALUMNUS_FACTORS",
    "PARTNER_FACTORS",
    "DEFAULT_SETTINGS",
    "comparisons",
    "default_settings",
    "IN_TOWN_KM",
    "validate_settings",
]


IN_TOWN_KM = 2.0  # homes sit at their town's centre: nearer than this is the town itself


@dataclass(frozen=True)
class Level:
    """One level of a comparison: name, label, weight and a sentence template."""

    name: str
    label: str
    weight: float
    sentence: str

    def describe(self, **context: Any) -> str:
        """Fill the sentence template; missing context falls back to the label.

        A distance is said as its band, never as a number: ``near`` is "in" for a home in
        the town itself, else "within 25 km of".

        >>> level = Level("within_25km", "lives within 25 km", 2.0, "lives {near} {us_place}")
        >>> level.describe(km=0.0, us_place="Hot Springs, AR"), level.describe(km=14.0, us_place="Hot Springs, AR")
        ('lives in Hot Springs, AR', 'lives within 25 km of Hot Springs, AR')
        """
        if "km" in context and "near" not in context:
            context["near"] = "in" if 0 <= context["km"] < IN_TOWN_KM else "within 25 km of"
        try:
            return self.sentence.format(**context)
        except (KeyError, IndexError, ValueError):
            return self.label


@dataclass(frozen=True)
class Comparison:
    """A signal: ordered levels, most specific first; a level's code is its index."""

    factor: str
    levels: tuple[Level, ...]

    def weights(self) -> np.ndarray:
        """Return the level weights as a float32 array indexed by level code."""
        return np.array([lvl.weight for lvl in self.levels], dtype=np.float32)

    def code(self, name: str) -> int:
        """Return the code of the level called ``name``."""
        return [lvl.name for lvl in self.levels].index(name)

    def __len__(self) -> int:
        return len(self.levels)


# factor -> [(name, label, sentence template)], most specific first.
LEVELS: dict[str, list[tuple[str, str, str]]] = {
    # Pair factors (alumnus x relationship).
    "placement": [
        ("partner", "lived in the partner", "placed in {place}{merger} — the partner {partner_kind} ({years})"),
        ("same_prefecture", "same prefecture", "placed in {place}, in {prefecture}, the partner's prefecture ({years})"),
        ("neighbour_prefecture", "neighbouring prefecture", "placed in {place}, {prefecture}, next to the partner's {partner_prefecture}"),
        ("same_region", "same region", "placed in {place}, {prefecture}, in the same region ({region})"),
        ("none", "no placement tie", "no placement near the partner"),
    ],
    "distance": [
        # Bands, never numbers: an exact distance from a known town is most of a home address.
        ("within_25km", "lives within 25 km", "lives {near} {us_place}"),
        ("within_80km", "lives within 80 km", "lives within 80 km of {us_place}"),
        ("partner_state", "lives in the partner state", "lives in {us_state}, the US partner"),
        ("within_200km", "lives within 200 km", "lives within 200 km of {us_place}"),
        ("same_state", "same state", "lives in {us_state}, more than 200 km away"),
        ("further", "further away", "lives far from {us_place}"),
    ],
    "themes": [
        ("strong", "interests match the programmes", "interests match the committee's programmes ({themes})"),
        ("some", "some shared interests", "some interests match the committee's programmes ({themes})"),
        ("none", "no shared interests", "no stated interest in the committee's programmes"),
    ],
    # Alumnus factors (the same for every relationship).
    "japanese": [
        ("fluent", "fluent Japanese", "fluent Japanese (level {japanese_level})"),
        ("conversational", "conversational Japanese", "conversational Japanese (level {japanese_level})"),
        ("basic", "basic Japanese", "basic Japanese"),
    ],
    "years": [
        ("three_plus", "three or more years on JET", "{jet_years} years on JET"),
        ("two", "two years on JET", "two years on JET"),
        ("one", "one year on JET", "one year on JET"),
    ],
    "role": [
        ("cir", "worked as a CIR", "worked in international relations as a CIR"),
        ("sea", "worked as an SEA", "coached sport as an SEA"),
        ("alt", "taught as an ALT", "taught English as an ALT"),
    ],
    "recency": [
        ("recent", "back within 5 years", "back from Japan since {last_year}"),
        ("within_15", "back within 15 years", "back from Japan since {last_year}"),
        ("earlier", "back more than 15 years", "back from Japan since {last_year}"),
    ],
    "availability": [
        ("generous", "8+ hours a month", "{hours} hours a month available"),
        ("some", "2–7 hours a month", "{hours} hours a month available"),
        ("little", "under 2 hours a month", "little time available ({hours} hours a month)"),
    ],
    # Partner factors (chapter x relationship).
    "members": [
        ("many_partner", "3+ members lived in the partner", "{n_partner} of your members lived in {partner_name}"),
        ("partner", "members lived in the partner", "{n_partner} of your members lived in {partner_name}"),
        ("many_prefecture", "3+ members lived in the prefecture", "{n_ties} of your members lived in {partner_name} or {prefecture} prefecture"),
        ("prefecture", "members lived in the prefecture", "{n_ties} of your members lived in {partner_name} or {prefecture} prefecture"),
        ("none", "no member ties", "none of your members lived in {prefecture} prefecture"),
    ],
    "hub": [
        ("hub_city", "within 80 km of the hub", "{km:.0f} km from your hub, {hub}"),
        ("chapter_states", "in the chapter's states", "in {us_state}, one of your states"),
        ("near", "within 400 km of the hub", "{km:.0f} km from your hub, {hub}"),
    ],
    "status": [
        ("dormant", "dormant", "dormant since {dormant_since}"),
        ("unknown", "status unknown", "activity status unknown"),
        ("active", "active", "active relationship"),
    ],
}

PAIR_FACTORS = ("placement", "distance", "themes")
ALUMNUS_FACTORS = ("japanese", "years", "role", "recency", "availability")
PARTNER_FACTORS = ("members", "hub", "status")

DEFAULT_SETTINGS: dict[str, Any] = {
    "version": "default",
    "weights": {
        "placement": {"partner": 4.0, "same_prefecture": 2.0, "neighbour_prefecture": 0.9, "same_region": 0.4, "none": 0.0},
        "distance": {"within_25km": 2.0, "within_80km": 1.5, "partner_state": 1.2, "within_200km": 0.8,
                     "same_state": 0.4, "further": 0.0},
        "themes": {"strong": 1.2, "some": 0.5, "none": 0.0},
        "japanese": {"fluent": 0.6, "conversational": 0.3, "basic": 0.0},
        "years": {"three_plus": 0.4, "two": 0.2, "one": 0.0},
        "role": {"cir": 0.5, "sea": 0.1, "alt": 0.0},
        "recency": {"recent": 0.3, "within_15": 0.1, "earlier": 0.0},
        "availability": {"generous": 0.6, "some": 0.3, "little": -1.0},
        "members": {"many_partner": 4.0, "partner": 3.0, "many_prefecture": 2.0, "prefecture": 1.0, "none": 0.0},
        "hub": {"hub_city": 1.5, "chapter_states": 1.0, "near": 0.3},
        "status": {"dormant": 1.0, "unknown": 0.3, "active": 0.0},
    },
    # Band edges, kept with the weights so a model records what it was scored with.
    "theme_bands": [0.35, 0.1],  # cosine >= strong, >= some
    "min_pair_score": 0.5,  # a pair needs at least this much from pair factors to be suggested
    "top_k": 10,
    "partner_radius_km": 400,
}


def default_settings() -> dict[str, Any]:
    """Return a fresh copy of the default settings."""
    return copy.deepcopy(DEFAULT_SETTINGS)


def validate_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Return ``settings`` completed from the defaults; refuse unknown factors or levels."""
    out = default_settings()
    for key, value in settings.items():
        if key != "weights":
            out[key] = value
    for factor, levels in settings.get("weights", {}).items():
        if factor not in LEVELS:
            raise ValueError(f"unknown factor {factor!r}")
        known = {name for name, _, _ in LEVELS[factor]}
        unknown = set(levels) - known
        if unknown:
            raise ValueError(f"unknown levels for {factor}: {sorted(unknown)}")
        out["weights"][factor].update({k: float(v) for k, v in levels.items()})
    return out


def comparisons(settings: dict[str, Any] | None = None) -> dict[str, Comparison]:
    """Build every comparison with the weights from ``settings`` (defaults if None)."""
    settings = validate_settings(settings or {})
    weights = settings["weights"]
    return {
        factor: Comparison(factor, tuple(Level(name, label, float(weights[factor][name]), sentence)
                                         for name, label, sentence in levels))
        for factor, levels in LEVELS.items()
    }
