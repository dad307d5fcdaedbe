"""Reasons of stored suggestions, written when they are read.

A stored volunteer row holds level codes, not sentences (see :mod:`matcher.scoring.store`).
Its reasons are written here by the same :class:`matcher.scoring.reasons.ReasonWriter` that
explains a pair at scoring time, fed the same details: the relationship side (cached in the
process, without the TF-IDF vectoriser, which reading does not need) and the few alumni
being shown. So a page of twenty rows costs two small queries and the writer's look-ups.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["volunteer_reasons", "suggestion_reasons", "pair_levels"]


def volunteer_reasons(session, pairs: Sequence[tuple[int, int, int]], version: str | None = None
                      ) -> list[list[dict[str, Any]]]:
    """Return the reasons of stored volunteer suggestions, one list per (alumnus id, relationship id, levels).

    Parameters
    ----------
    session : an open session.
    pairs : the stored rows' alumnus id, relationship id and ``levels``.
    version : the scoring model of their run (the current run's when None).

    Returns
    -------
    For each pair, [{factor, level, weight, sentence}] as at scoring time, weights summing to
    the score; [] for a pair whose alumnus or relationship is gone.
    """
    from matcher.scoring.pool import load_alumni, model_settings, relationship_side
    from matcher.scoring.reasons import writer_for
    from matcher.scoring.scorer import scorer_for
    from matcher.scoring.store import current_run, unpack_levels

    if not pairs:
        return []
    if version is None:
        run = current_run(session)
        version = run[1] if run else "default"
    scorer = scorer_for(model_settings(session, version))
    side = relationship_side(session)
    alum_ids = np.array([p[0] for p in pairs], np.int64)
    alumni, info = load_alumni(session, side, sorted(set(alum_ids.tolist())), scoring=False)
    at = {int(i): n for n, i in enumerate(alumni.ids.tolist())}
    rel_at = {int(i): n for n, i in enumerate(side.rels.ids.tolist())}
    known = [n for n, (a, r, _) in enumerate(pairs) if a in at and r in rel_at]
    out: list[list[dict[str, Any]]] = [[] for _ in pairs]
    if not known:
        return out
    rows = np.array([at[pairs[n][0]] for n in known], np.int64)
    cols = np.array([rel_at[pairs[n][1]] for n in known], np.int64)
    codes, combo = unpack_levels([pairs[n][2] for n in known])
    # one writer "alumnus" per pair: a pair's own combo says which alumnus levels it was scored with
    writer = writer_for(scorer, side, alumni.ids[rows], info, scorer.split_combo(combo))
    texts = writer.pairs(np.arange(rows.size), cols, codes, alumni.muni[rows], alumni.pref[rows])
    for n, text in zip(known, texts):
        out[n] = json.loads(text)
    return out


def suggestion_reasons(session, suggestions: Iterable[Any]) -> list[list[dict[str, Any]]]:
    """Return the reasons of stored :class:`matcher.models.Suggestion` rows, in order.

    A partner row's reasons are stored with it; volunteer rows are written from their
    levels, a batch per scoring model.
    """
    suggestions = list(suggestions)
    out: list[list[dict[str, Any]]] = [list(s.contributions or []) for s in suggestions]
    by_version: dict[str, list[int]] = {}
    for n, s in enumerate(suggestions):
        if s.kind == "volunteer":
            by_version.setdefault(s.run.model_version, []).append(n)
    for version, where in by_version.items():
        found = volunteer_reasons(session, [(suggestions[n].alumnus_id, suggestions[n].relationship_id,
                                             suggestions[n].levels) for n in where], version)
        for n, reasons in zip(where, found):
            out[n] = reasons
    return out


def pair_levels(session, alumnus_id: int, relationship_id: int, version: str | None = None) -> int:
    """Return the stored ``levels`` the model gives one alumnus x relationship from the data as it is now.

    For a suggestion row added by hand (a correction, a test); scoring computes these in bulk.
    ``version`` defaults to the current run's model.
    """
    from matcher.scoring.features import pair_codes
    from matcher.scoring.pool import load_alumni, model_settings, relationship_side
    from matcher.scoring.scorer import scorer_for
    from matcher.scoring.store import current_run, pack_levels

    if version is None:
        run = current_run(session)
        version = run[1] if run else "default"
    scorer = scorer_for(model_settings(session, version))
    side = relationship_side(session)
    side.fit_themes()
    alumni, info = load_alumni(session, side, [alumnus_id], scoring=False)
    if not len(alumni):
        raise LookupError(f"no alumnus {alumnus_id}")
    alumni.interests = side.interests([info[alumnus_id]["interests"]])
    r = int(np.searchsorted(side.rels.ids, relationship_id))
    if r >= len(side.rels) or side.rels.ids[r] != relationship_id:
        raise LookupError(f"no relationship {relationship_id}")
    code = pair_codes(side.geo, alumni, side.rels, scorer.settings, side.table)[0, r]
    return int(pack_levels(code, scorer.combos(alumni.codes)[0]))
