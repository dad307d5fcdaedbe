"""Link prediction for new US–Japan partnerships, learned from the existing ones.

The relationship graph is bipartite (US places and states on one side, JP
municipalities and prefectures on the other), so the classic neighbourhood indices
(common neighbours, Adamic–Adar, resource allocation) are all zero for any US–JP pair.
They are computed instead on the graph *projected* onto states × prefectures, where
"Michigan has nine city pairs with Shiga" becomes one weighted edge, with scipy.sparse.

Every feature of a pair is computed from a graph that does not contain that pair:
each known pair's candidate list (its partner and every other municipality, or
prefecture, its US side could have chosen) is scored on the graph with that edge removed,
and evaluation scores hidden pairs on the training graph only. The model ranks those
lists (a conditional logit with weights ≥ 0 on the features whose direction is known),
and Platt scaling of cross-fitted scores, folded into the weights, makes the score a
calibrated log-odds: the intercept plus one readable contribution per feature, and
``σ(score)`` the chance that this is the partner, were the US side to sign one more.
Suggestions are ranked when the model is trained and stored for the pages.

This module is the entry point: it names what the rest of jetmatch uses, from

- ``graph``: the Universe of candidate nodes, the TieGraph, its projected indices and spatial
  neighbourhoods;
- ``features``: pair features, their sentences, leave-one-out candidate lists;
- ``learn``: sign-constrained listwise and pointwise logistic learners, Platt calibration;
- ``model``: the ranking model with additive explanations and a calibrated figure;
- ``load``: the Universe and the graph from the database (merger history from the alias table);
- ``evaluate``: ranking evaluation per level against baselines, reliability, ablation;
- ``suggest``: suggestions, their reasons and champions;
- ``store``: training, and the suggestions stored with each trained model;
- ``proposals``: coordinators' proposals.
"""

from __future__ import annotations

import importlib
import sys
import types

# Each name and the module it comes from. They are imported on first use (PEP 562), so that
# scoring pairs with a stored model loads neither the learners (scipy.optimize) nor the evaluation.
_FROM = {
    **dict.fromkeys(("LEVEL_NAMES", "METHODS", "METRICS", "_rank", "evaluate", "evaluate_seed", "list_metrics",
                     "reliability"), "evaluate"),
    **dict.fromkeys(("FEATURES", "SIGNALS", "SUPPORTING", "candidate_lists", "pair_features", "training_examples"),
                    "features"),
    **dict.fromkeys(("TieGraph", "Universe", "projected_similarity"), "graph"),
    **dict.fromkeys(("RADIUS_KM", "capital_codes", "load_graph"), "load"),
    **dict.fromkeys(("DEFAULT_FEATURES", "MODEL_PREFIX", "PartnershipModel", "fit_model", "model_for", "stored_model"),
                    "model"),
    **dict.fromkeys(("STORED_TOP", "store_suggestions", "stored_suggestions", "train"), "store"),
    **dict.fromkeys(("open_proposals", "proposal_labels", "propose_partnership"), "proposals"),
    **dict.fromkeys(("LEVELS", "champions", "data_fingerprint", "default_us_pool", "describe_pair",
                     "seeker_suggestions", "suggest_partnerships", "summarise_reasons", "top_new_pairs"), "suggest"),
}


def __getattr__(name: str):
    if name not in _FROM:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_FROM[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_FROM})


class _Package(types.ModuleType):
    """Keep ``evaluate`` the function: importing the submodule of that name would bind the module here."""

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, types.ModuleType) and name in _FROM and value.__name__ == f"{__name__}.{name}":
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "FEATURES",
    "DEFAULT_FEATURES",
    "SIGNALS",
    "SUPPORTING",
    "candidate_lists",
    "LEVEL_NAMES",
    "list_metrics",
    "reliability",
    "STORED_TOP",
    "store_suggestions",
    "stored_suggestions",
    "Universe",
    "TieGraph",
    "pair_features",
    "training_examples",
    "PartnershipModel",
    "projected_similarity",
    "RADIUS_KM",
    "train",
    "stored_model",
    "model_for",
    "suggest_partnerships",
    "summarise_reasons",
    "propose_partnership",
    "proposal_labels",
    "open_proposals",
    "data_fingerprint",
    "LEVELS",
    "champions",
    "METHODS",
    "METRICS",
    "evaluate",
    "evaluate_seed",
    "capital_codes",
    "load_graph",
    "MODEL_PREFIX",
    "fit_model",
    "default_us_pool",
    "describe_pair",
    "seeker_suggestions",
    "top_new_pairs",
]
