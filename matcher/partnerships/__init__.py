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

from matcher._exports import lazy_exports

# Each name and the module it comes from. They are imported on first use, so that scoring pairs
# with a stored model loads neither the learners (scipy.optimize) nor the evaluation.
# ``evaluate`` stays the function when its module is imported.
__all__ = lazy_exports(__name__, {
    "evaluate": ["LEVEL_NAMES", "METHODS", "METRICS", "_rank", "evaluate", "evaluate_seed", "list_metrics",
                 "reliability"],
    "features": ["FEATURES", "SIGNALS", "SUPPORTING", "candidate_lists", "pair_features", "training_examples"],
    "graph": ["TieGraph", "Universe", "projected_similarity"],
    "load": ["RADIUS_KM", "capital_codes", "load_graph"],
    "model": ["DEFAULT_FEATURES", "MODEL_PREFIX", "PartnershipModel", "fit_model", "model_for", "stored_model"],
    "store": ["STORED_TOP", "store_suggestions", "stored_suggestions", "train"],
    "proposals": ["open_proposals", "proposal_labels", "propose_partnership"],
    "suggest": ["LEVELS", "champions", "data_fingerprint", "default_us_pool", "describe_pair",
                "seeker_suggestions", "suggest_partnerships", "summarise_reasons", "top_new_pairs"],
}, keep=["evaluate"])
__all__.remove("_rank")
