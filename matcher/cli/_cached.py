"""The gazetteer kept in a cache file, so that `jetmatch resolve` does not rebuild it each time.

Building the gazetteer from the reference tables takes a second or more (every name of
every municipality, alias, US place and ZIP code is folded and indexed); loading the built
object from a pickle takes a fraction of that. The file's name holds a fingerprint of the
reference tables (row counts and largest keys) and of the gazetteer's own source, so a new
import or a new version of the code builds a new file; stale files are removed.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

__all__ = ["cached_gazetteer"]


def _fingerprint(session) -> str:
    """A short hash of the reference tables' sizes, the database and the gazetteer's code."""
    from sqlalchemy import func, select

    from matcher import models as m

    parts = [session.get_bind().engine.url.render_as_string(hide_password=True)]
    for table, key in ((m.Prefecture, m.Prefecture.code), (m.Municipality, m.Municipality.code),
                       (m.MunicipalityAlias, m.MunicipalityAlias.id), (m.USState, m.USState.abbr),
                       (m.USPlace, m.USPlace.id), (m.USZip, m.USZip.zip)):
        parts.append(str(session.execute(select(func.count(), func.max(key)).select_from(table)).one()))
    code = Path(__file__).resolve().parents[1] / "gazetteer"
    parts += [path.read_text(encoding="utf-8") for path in sorted(code.glob("*.py"))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def cached_gazetteer(session, folder: Path):
    """Return the gazetteer of this database, from ``folder``'s cache file when it is current."""
    from matcher.gazetteer.resolver import Gazetteer

    path = folder / f"gazetteer-{_fingerprint(session)}.pickle"
    if path.exists():
        try:
            with open(path, "rb") as handle:
                return pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            pass  # a damaged or foreign file: build afresh
    gazetteer = Gazetteer.from_session(session)
    _store(gazetteer, path)
    return gazetteer


def _store(gazetteer, path: Path) -> None:
    """Write the file aside and move it into place (two commands at once agree); drop older files."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(temp, "wb") as handle:
            pickle.dump(gazetteer, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return  # no cache then; the gazetteer itself is fine
    for old in path.parent.glob("gazetteer-*.pickle"):
        if old != path:
            old.unlink(missing_ok=True)
