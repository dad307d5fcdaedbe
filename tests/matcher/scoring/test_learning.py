"""Learning from decisions: a hidden preference for nearby volunteers is learned; a worse model is refused."""

import numpy as np

from matcher.scoring.comparisons import LEVELS, default_settings
from matcher.scoring.learning import consider, evaluate, indicators, learn


def _simulated_decisions(seed=3, groups=120, per_group=12):
    """Coordinators who weigh distance three times more than the defaults, and placement less."""
    rng = np.random.default_rng(seed)
    hidden = default_settings()
    hidden["weights"]["distance"] = {k: 3 * v for k, v in hidden["weights"]["distance"].items()}
    hidden["weights"]["placement"] = {k: 0.3 * v for k, v in hidden["weights"]["placement"].items()}
    feats, group = [], []
    for g in range(groups):
        for _ in range(per_group):
            feats.append({f: LEVELS[f][rng.integers(len(LEVELS[f]))][0] for f in ("placement", "distance", "themes",
                                                                                  "japanese", "availability")})
            group.append(g)
    x = indicators(feats)
    from matcher.scoring.learning import _scores

    s = _scores(hidden, x)
    approved = (s - 3.0 + rng.logistic(size=len(s)) * 0.7 > 0).astype(int)
    return feats, approved, np.array(group)


def test_learned_weights_beat_the_defaults_on_held_out_decisions():
    feats, y, groups = _simulated_decisions()
    report = learn(default_settings(), feats, y, groups, seed=0, version="learned-test")
    print("held-out", report["current"], report["candidate"])
    assert report["candidate"]["ndcg@10"] > report["current"]["ndcg@10"]
    assert report["adopted"]
    learned = report["settings"]["weights"]
    assert learned["distance"]["within_25km"] > learned["distance"]["within_200km"] > 0
    assert learned["distance"]["further"] == 0.0


def test_a_worse_model_is_refused():
    feats, y, groups = _simulated_decisions(seed=5)
    worse = default_settings()
    worse["weights"]["distance"] = {k: -v for k, v in worse["weights"]["distance"].items()}
    adopt, now, new = consider(default_settings(), worse, indicators(feats), y, groups)
    assert not adopt
    assert new["ndcg@10"] < now["ndcg@10"]


def test_metrics_on_a_perfect_ranking():
    feats = [{"placement": "partner"}, {"placement": "none"}]
    m = evaluate(default_settings(), indicators(feats), np.array([1, 0]), np.array([7, 7]))
    assert m["ndcg@10"] == 1.0 and m["precision@10"] == 0.5
