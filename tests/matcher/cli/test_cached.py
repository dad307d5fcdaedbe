"""The CLI's gazetteer cache file: reused while the reference tables are unchanged, rebuilt after."""

import pytest
from sqlalchemy import func, select

from matcher.cli._cached import cached_gazetteer
from matcher.gazetteer.resolver import Gazetteer
from matcher.models import USPlace


def test_the_gazetteer_comes_from_its_file_until_the_reference_tables_change(session, tmp_path, monkeypatch):
    built = cached_gazetteer(session, tmp_path)
    assert len(list(tmp_path.glob("gazetteer-*.pickle"))) == 1

    def must_not_build(*_args, **_kwargs):
        raise AssertionError("rebuilt although the tables did not change")

    monkeypatch.setattr(Gazetteer, "from_session", classmethod(must_not_build))
    again = cached_gazetteer(session, tmp_path)
    assert again is not built and again.resolve("Ishidoriya, Iwate").name == "Hanamaki"

    session.add(USPlace(id=session.scalar(select(func.max(USPlace.id))) + 1, name="Jetmatchville", state_abbr="VT",
                        kind="city", lat=44.0, lon=-72.7))
    session.flush()
    with pytest.raises(AssertionError, match="rebuilt"):
        cached_gazetteer(session, tmp_path)
