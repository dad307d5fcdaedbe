"""Preloading (gunicorn --preload): shared structures are loaded when the app is made, before any request."""

import sys

from conftest import app_config
from web import create_app


def test_a_preloaded_app_holds_the_gazetteer_scoring_tables_and_partnerships_before_any_request(
        db_url, connection, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("JETMATCH_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(db_url, DB_CONNECTION=connection, PRELOAD=True))
    assert app.extensions["jetmatch_gazetteer"].resolve("Ishidoriya, Iwate").name == "Hanamaki"
    assert "any" in app.extensions["jetmatch_partnerships"]  # the page's ranking, ready
    assert "matcher.scoring.readback" in sys.modules
    assert "preloading" not in caplog.text  # no part failed


def test_an_app_made_for_tests_loads_nothing_ahead(db_url, connection, monkeypatch, tmp_path):
    monkeypatch.setenv("JETMATCH_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(db_url, DB_CONNECTION=connection))
    assert "jetmatch_gazetteer" not in app.extensions and "jetmatch_partnerships" not in app.extensions
