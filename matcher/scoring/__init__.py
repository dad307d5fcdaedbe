"""Scoring alumni against relationships: comparisons as data, level codes, compiled top-k, reasons.

The parts, in the order data flows through them:

- :mod:`~matcher.scoring.comparisons`: each signal's ordered levels, weights and sentences;
- :mod:`~matcher.scoring.features`: per-alumnus and per-pair level codes as small integer arrays;
- :mod:`~matcher.scoring.pool`: loading alumni and relationships from the database into arrays;
- :mod:`~matcher.scoring.scorer` and :mod:`~matcher.scoring.topk`: totals and exact top-k lists;
- :mod:`~matcher.scoring.reasons` and :mod:`~matcher.scoring.suggestions`: explained, stored suggestions;
- :mod:`~matcher.scoring.store` and :mod:`~matcher.scoring.readback`: small rows written in bulk, their
  reasons written when read;
- :mod:`~matcher.scoring.learning`: weights learned from coordinators' decisions;
- :mod:`~matcher.scoring.assignment`: a capacity-respecting assignment;
- :mod:`~matcher.scoring.bench`: the benchmark behind ``jetmatch bench``.

The public names below are loaded on first use, so that importing one light part (the
comparisons, say) does not compile the top-k kernels.

Examples
--------
>>> from matcher.scoring import LEVELS
>>> [code for code, _label, _sentence in LEVELS["distance"]][:2]
['within_25km', 'within_80km']
"""

from matcher._exports import lazy_exports

__all__ = lazy_exports(__name__, {
    "comparisons": ["Level", "Comparison", "LEVELS", "PAIR_FACTORS", "ALUMNUS_FACTORS", "comparisons",
                    "default_settings", "validate_settings"],
    "scorer": ["Scorer", "TopK", "score_pool"],
    "suggestions": ["explain", "score_all", "rescore_alumnus", "suggest_volunteers", "suggest_relationships",
                    "suggest_partners"],
    "readback": ["volunteer_reasons", "suggestion_reasons"],
    "pool": ["Pool", "load_pool", "active_model", "invalidate"],
    "learning": ["LevelLogit", "train_from_decisions", "model_status", "use_model"],
    "assignment": ["assign_edges", "assign_pool"],
    "bench": ["run_bench"],
})
