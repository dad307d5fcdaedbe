"""Sentences about answers: why a candidate fits, and the one "ambiguous or unknown place" sentence.

The CLI, the CSV import and the web pages all say a place problem with :func:`place_problem`,
so a coordinator reads the same words wherever a place did not resolve.
"""

from __future__ import annotations

__all__ = ["candidate_label", "candidate_reason", "place_problem", "resolved_summary"]

_KIND_WORD = {"city": "city", "ward": "ward", "town": "town", "village": "village"}


def candidate_label(res) -> str:
    """Name a candidate the way a person would write it: "Ishidoriya (now Hanamaki), Iwate".

    Parameters
    ----------
    res : Resolution
        A resolved place (usually one of an answer's ``candidates``).

    Returns
    -------
    str
        The name (the former one, with the current one, for a merged town) and its
        prefecture or state.

    Examples
    --------
    >>> from matcher.gazetteer.resolver import Resolution
    >>> candidate_label(Resolution("x", "resolved", kind="municipality", name="Hanamaki", prefecture="Iwate",
    ...                            via_alias={"name": "Ishidoriya", "merged_on": "2006-01-01"}))
    'Ishidoriya (now Hanamaki), Iwate'
    """
    name = res.name or res.query
    if res.via_alias:
        name = f"{res.via_alias['name']} (now {name})"
    elif getattr(res, "ward", None):
        name = f"{res.ward['name']} ward ({name})"
    if res.kind == "municipality":
        return f"{name}, {res.prefecture}" if res.prefecture else name
    return f"{name} ({res.state})" if res.state and res.kind != "state" else name


def candidate_reason(res) -> str:
    """Say in one line what a candidate is: an old town, a ward, a current city or a US place."""
    if res.via_alias:
        a = res.via_alias
        district = f" of {a['district']} district" if a.get("district") else ""
        when = f" on {a['merged_on']}" if a.get("merged_on") else ""
        return f"old {a.get('kind') or 'municipality'}{district}, merged into {res.name}{when}"
    if getattr(res, "ward", None):
        return f"a ward of {res.name}, {res.prefecture}"
    if res.kind == "municipality":
        return f"{_KIND_WORD.get(res.municipality_kind or '', 'municipality')} in {res.prefecture}"
    if res.kind == "prefecture":
        return "a prefecture of Japan"
    if res.kind == "state":
        return "a US state"
    return f"{res.kind or 'place'} in {res.state}" if res.state else (res.kind or "place")


def resolved_summary(res) -> str:
    """Say what a resolved answer is: "Ishidoriya — merged into Hanamaki on 2006-01-01".

    Parameters
    ----------
    res : Resolution
        A resolved answer.

    Returns
    -------
    str
        One line for a report or a page.

    Examples
    --------
    >>> from matcher.gazetteer.resolver import Resolution
    >>> resolved_summary(Resolution("x", "resolved", kind="municipality", name="Hanamaki", prefecture="Iwate",
    ...                             label="Hanamaki, Iwate", via_alias={"name": "Ishidoriya", "merged_on": "2006-01-01"}))
    'Ishidoriya — merged into Hanamaki on 2006-01-01 (Hanamaki, Iwate)'
    """
    label = res.label or res.name or res.query
    if res.via_alias:
        when = f" on {res.via_alias['merged_on']}" if res.via_alias.get("merged_on") else ""
        return f"{res.via_alias['name']} — merged into {res.name}{when} ({label})"
    if getattr(res, "ward", None):
        return f"{res.ward['name']} ward — part of {label}"
    return label


def place_problem(res, expected: str | None = None, limit: int = 5) -> str:
    """Return the one sentence for a place that is unknown, ambiguous or too long.

    Parameters
    ----------
    res : Resolution
        The gazetteer's answer (``status`` "unknown" or "ambiguous").
    expected : str, optional
        What the field wants ("a Japanese municipality"), said when nothing is suggested.
    limit : int
        At most this many candidates are named.

    Returns
    -------
    str
        "unknown place ...", "... is ambiguous: ..." or "the place text is too long ...",
        naming the candidates a person may have meant.

    Examples
    --------
    >>> from matcher.gazetteer.resolver import Resolution
    >>> c = Resolution("x", "resolved", kind="municipality", name="Hanamaki", prefecture="Iwate",
    ...                via_alias={"name": "Ishidoriya", "merged_on": "2006-01-01"})
    >>> place_problem(Resolution("Ishidorya", "unknown", candidates=[c]))
    "unknown place 'Ishidorya': did you mean Ishidoriya (now Hanamaki), Iwate?"
    >>> place_problem(Resolution("Nowhere", "unknown"), expected="a Japanese municipality")
    "unknown place 'Nowhere'; expected a Japanese municipality"
    """
    query = res.query if len(res.query or "") <= 60 else res.query[:57] + "…"
    if res.status == "unknown" and res.note and res.note.startswith("too long"):
        return f"the place text is {res.note}"
    names = "; ".join(candidate_label(c) for c in res.candidates[:limit])
    more = f" (and {len(res.candidates) - limit} more)" if len(res.candidates) > limit else ""
    if res.status == "ambiguous":
        return f"{query!r} is ambiguous: did you mean {names}{more}? Add the prefecture, district or state"
    if names:
        return f"unknown place {query!r}: did you mean {names}{more}?"
    return f"unknown place {query!r}" + (f"; expected {expected}" if expected else "")
