"""Load what every worker would otherwise load on its first request, once, before gunicorn forks.

`jetmatch serve` runs gunicorn with ``--preload`` and ``JETMATCH_PRELOAD=1``: the app is
created in the master process, :func:`warm` fills its shared read-only structures, and
every worker starts with them (the pages are copy-on-write shared memory). Without it, the
first place search in each worker built the gazetteer (~1 s) and the first
``/partnerships`` view loaded the partnership graph and model (~5 s).

Database connections opened here are closed before the fork: a worker must never share one.
"""

from __future__ import annotations

import time

from flask import Flask

__all__ = ["warm"]


def warm(app: Flask) -> dict[str, float]:
    """Load the gazetteer, the scoring tables, the partnership suggestions, the place graph,
    the report and every template.

    Returns the seconds each part took (logged at start-up).
    """
    took: dict[str, float] = {}
    with app.test_request_context("/"):
        for name, load in _PARTS:
            start = time.perf_counter()
            try:
                load(app)
            except Exception:  # a part that cannot load now loads on first use, as before
                app.logger.exception("preloading %s failed", name)
            took[name] = round(time.perf_counter() - start, 3)
        from web.database import get_session

        get_session().close()
    engine = app.extensions.get("jetmatch_engine")
    if engine is not None:
        engine.dispose()  # no connection crosses the fork
    app.logger.info("preloaded before forking: %s", took)
    return took


def _gazetteer(app: Flask) -> None:
    from web.database import gazetteer

    gazetteer()


def _scoring(app: Flask) -> None:
    """The relationship side, the model's tables and reason writer: write one stored row's reasons."""
    from sqlalchemy import select

    from matcher.models import Suggestion
    from matcher.scoring.pool import relationship_side
    from matcher.scoring.readback import volunteer_reasons
    from web.database import get_session

    session = get_session()
    relationship_side(session)
    row = session.execute(select(Suggestion.alumnus_id, Suggestion.relationship_id, Suggestion.levels)
                          .where(Suggestion.kind == "volunteer").limit(1)).first()
    if row is not None:
        volunteer_reasons(session, [tuple(row)])


def _partnerships(app: Flask) -> None:
    from web.database import get_session
    from web.partnerships import _ranked

    _ranked(get_session(), "any")


def _place_graph(app: Flask) -> None:
    """The place graph the volunteer and alum pages draw tie paths from (~4 s at 40,000 alumni)."""
    from matcher.graph import cached_graph
    from web.database import get_session

    cached_graph(get_session(), 0.0)


def _reports(app: Flask) -> None:
    """The coordinators' report as /reports first shows it (about a second at 40,000 alumni)."""
    from matcher.reports import cached_report
    from web.database import get_session
    from web.reports import PAGE_ROWS

    cached_report(get_session(), dormant_years=5, limit=PAGE_ROWS,
                  graph_check_seconds=app.config.get("GRAPH_CHECK_SECONDS", 5.0))


def _templates(app: Flask) -> None:
    for name in app.jinja_env.list_templates(extensions=["html"]):
        app.jinja_env.get_template(name)


_PARTS = (("gazetteer", _gazetteer), ("scoring", _scoring), ("partnerships", _partnerships),
          ("place graph", _place_graph), ("reports", _reports), ("templates", _templates))
