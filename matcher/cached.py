"""The gazetteer kept in a cache file, so that `jetmatch resolve` does not rebuild it each time.

Building the gazetteer from the reference tables takes a second or more (every name of
every municipality, alias, US place and ZIP code is folded and indexed); reading the built
object back takes a fraction of that, and only the part a query needs is unpickled (see
``Gazetteer.__getstate__``). The file's name holds a fingerprint of the database (its
schema revision, the reference tables' row counts and largest keys), of the reference files
the gazetteer reads beside them (wards, postal codes) and of the gazetteer's own source, so a
new import, a migration or a new version of the code builds a new file; stale files are removed.

The fingerprint is plain SQL, so on a SQLite database :func:`stored_gazetteer` computes it
with the standard library's driver and answers from the file without loading SQLAlchemy.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["cached_gazetteer", "stored_gazetteer", "scoring_inputs", "stored_scoring_inputs",
           "prepare_scoring_inputs"]

_MATCHER = Path(__file__).resolve().parent
_KEYS = (("prefectures", "code"), ("municipalities", "code"), ("municipality_aliases", "id"),
         ("us_states", "abbr"), ("us_places", "id"), ("us_zips", "zip"))
_FILES = ("jp_wards.csv", "jp_postal_codes.csv")  # read from data/ when the gazetteer is built
_SQLITE_FILE = re.compile(r"sqlite(?:\+pysqlite)?:///([^?]+)")


def _fingerprint(database: str, query: Callable[[str], tuple]) -> str:
    """A short hash of the database's identity, schema revision and reference tables, the files and the code.

    ``query`` runs one SQL statement and returns its one row as a tuple.
    """
    from matcher.instance import data_dir

    parts = [database, str(query("SELECT version_num FROM alembic_version"))]
    parts += sorted(path.name for path in (_MATCHER / "migrations" / "versions").glob("*.py"))
    parts += [str(query(f"SELECT count(*), max({key}) FROM {table}")) for table, key in _KEYS]
    for name in _FILES:
        try:
            stat = (data_dir() / name).stat()
            parts.append(f"{name} {stat.st_size} {stat.st_mtime_ns}")
        except OSError:
            parts.append(f"{name} missing")
    parts += [path.read_text(encoding="utf-8") for path in sorted((_MATCHER / "gazetteer").glob("*.py"))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _database(session) -> str:
    url = session.get_bind().engine.url
    return (f"sqlite:{Path(url.database).resolve()}" if url.get_backend_name() == "sqlite" and url.database
            else url.render_as_string(hide_password=True))


def _session_fingerprint(session) -> str:
    from sqlalchemy import text

    return _fingerprint(_database(session), lambda sql: tuple(session.execute(text(sql)).one()))


def cached_gazetteer(session, folder: Path):
    """Return the gazetteer of this database, from ``folder``'s cache file when it is current."""
    from matcher.gazetteer.resolver import Gazetteer

    path = folder / f"gazetteer-{_session_fingerprint(session)}.pickle"
    gazetteer = _load(path)
    if gazetteer is None:
        gazetteer = Gazetteer.from_session(session)
        _store(gazetteer, path)
    return gazetteer


def stored_gazetteer(url: str, folder: Path):
    """Return the gazetteer of the SQLite database at ``url`` from ``folder``'s current cache file, else None.

    None as well for another database, an unprepared one or a missing file: the caller then
    checks the schema and builds the file with :func:`cached_gazetteer`.
    """
    fingerprint = _read_sqlite(url, lambda name, connection: _fingerprint(
        name, lambda sql: tuple(connection.execute(sql).fetchone())))
    return None if fingerprint is None else _load(folder / f"gazetteer-{fingerprint}.pickle")


def _read_sqlite(url: str, read: Callable[[str, sqlite3.Connection], Any]) -> Any:
    """Return ``read(name, connection)`` on the SQLite file of ``url`` opened read-only with the standard
    library, ``name`` being the resolved file's; None for another database, a missing file, or an
    sqlite3 error (a database not prepared by `jetmatch init`: the caller's SQLAlchemy path says so)."""
    found = _SQLITE_FILE.fullmatch(url)
    if not found or not Path(found.group(1)).is_file():
        return None
    database = Path(found.group(1)).resolve()
    try:
        connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        return read(f"sqlite:{database}", connection)
    except sqlite3.Error:
        return None
    finally:
        connection.close()


_GRAPH_CODE = ("features.py", "graph.py", "load.py", "suggest.py")  # what the graph and its features come from


def _scoring_fingerprint(session, alumni: bool) -> str:
    """A hash of what the partnership graph is built from (see :func:`_scoring_key`), read through ``session``."""
    from sqlalchemy import text

    return _scoring_key(_database(session), lambda sql: [tuple(r) for r in session.execute(text(sql))], alumni)


def _scoring_key(database: str, rows: Callable[[str], list[tuple]], alumni: bool) -> str:
    """A hash of what the partnership graph is built from: the schema revision, every relationship's
    two sides, the reference places, the merger aliases, the alumni and placements when the model reads
    them, the code and the distances to the sea (``data/coast_km.csv``).

    ``rows`` runs one SQL statement and returns its rows as tuples (the driver's values, which are
    the same through SQLAlchemy's ``text`` and through the standard library's sqlite3).
    """
    parts = [database, f"alumni={alumni}", repr(rows("SELECT version_num FROM alembic_version"))]
    parts += sorted(path.name for path in (_MATCHER / "migrations" / "versions").glob("*.py"))
    parts.append(repr(rows("SELECT id, us_kind, us_place_id, us_state_abbr, jp_kind, jp_municipality_code, "
                           "jp_prefecture_code FROM relationships ORDER BY id")))
    counted = [("prefectures", "code"), ("municipalities", "code"), ("municipality_aliases", "id"),
               ("us_states", "abbr"), ("us_places", "id")]
    if alumni:
        counted += [("alumni", "updated_at"), ("placements", "id")]
    parts += [repr(rows(f"SELECT count(*), max({key}) FROM {table}")) for table, key in counted]
    parts += [(_MATCHER / "partnerships" / name).read_text(encoding="utf-8") for name in _GRAPH_CODE]
    from matcher.instance import data_dir

    coast = data_dir() / "coast_km.csv"  # the data files the graph reads besides the database
    parts.append(hashlib.sha256(coast.read_bytes()).hexdigest() if coast.exists() else "no coast file")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def stored_scoring_inputs(url: str, folder: Path):
    """Return the newest stored partnerships model, the graph and the existing pairs' features of the
    SQLite database at ``url`` from ``folder``'s current cache file, else None; without SQLAlchemy.

    The model row is read and the cache file's fingerprint computed with the standard library's
    sqlite3. The fingerprint holds the schema revision, and the file is only written where the schema
    is current, so a file found stands for the schema check. None for another database, an
    unprepared one, no (usable) stored model or no current file: the caller then takes the
    SQLAlchemy path (:func:`scoring_inputs`), which builds the file.

    Returns
    -------
    (PartnershipModel, ScoringGraph, dict) or None
    """
    def read(name: str, connection: sqlite3.Connection):
        from matcher.partnerships.model import MODEL_PREFIX

        row = connection.execute("SELECT settings FROM scoring_models WHERE version LIKE ? "
                                 "ORDER BY version DESC LIMIT 1", (MODEL_PREFIX + "%",)).fetchone()
        model = None if row is None else _partnership_model(row[0])
        if model is None:
            return None
        from matcher.partnerships.load import uses_alumni

        return model, _scoring_key(name, lambda sql: connection.execute(sql).fetchall(), uses_alumni(model.names_))

    found = _read_sqlite(url, read)
    if found is None:
        return None
    model, key = found
    inputs = _load(folder / f"partnerships-{key}.pickle")
    return None if inputs is None else (model, *inputs)


def _partnership_model(settings):
    """The model of a stored row's JSON ``settings``, as :func:`matcher.partnerships.model.stored_model` reads it."""
    import json

    from matcher.partnerships.model import PartnershipModel

    try:
        settings = json.loads(settings) if isinstance(settings, (str, bytes)) else settings
        if not isinstance(settings, dict) or settings.get("kind") != "partnerships":
            return None
        return PartnershipModel.from_settings(settings)
    except (KeyError, ValueError, TypeError):
        return None


def scoring_inputs(session, folder: Path, alumni: bool):
    """Return the partnership graph prepared for scoring and the features of each existing pair.

    From ``folder``'s cache file when it is current; else built (the existing pairs' features
    are each computed on the graph without that pair, a few seconds) and written there.

    Parameters
    ----------
    session : Session
        Read only.
    folder : Path
        Where the cache files are.
    alumni : bool
        Load the alumni bridges (only a model that reads them needs them).

    Returns
    -------
    (ScoringGraph, dict)
        The graph, and ``(us node, jp node) → features`` (1 × FEATURES) of every existing pair.
    """
    path = folder / f"partnerships-{_scoring_fingerprint(session, alumni)}.pickle"
    found = _load(path)
    if found is not None:
        return found
    from matcher.partnerships.load import load_graph, scoring_graph
    from matcher.partnerships.suggest import _loo_features

    graph = load_graph(session, alumni=alumni)
    existing = {pair: _loo_features(graph, *pair) for pair in sorted(graph.pair_set)}
    inputs = (scoring_graph(graph), existing)
    _store(inputs, path)
    return inputs


def prepare_scoring_inputs(session, folder: Path | None = None) -> bool:
    """Build the cache file `jetmatch partnerships score` reads, for the newest stored model, unless current.

    Called where a model is trained (the command, the background job, the demo), so that the
    first scoring after it does not spend seconds on the leave-one-out features. Returns
    whether there is a model to build it for.
    """
    from matcher.instance import instance_path
    from matcher.partnerships.load import uses_alumni
    from matcher.partnerships.model import stored_model

    found = stored_model(session)
    if found is None:
        return False
    scoring_inputs(session, folder or instance_path() / "cache", alumni=uses_alumni(found[0].names_))
    return True


def _load(path: Path):
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None  # a damaged or foreign file: build afresh


def _store(value, path: Path) -> None:
    """Write the file aside and move it into place (two commands at once agree); drop older files of its kind."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(temp, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return  # no cache then; the value itself is fine
    kind = path.name.split("-")[0]
    for old in path.parent.glob(f"{kind}-*.pickle"):
        if old != path:
            old.unlink(missing_ok=True)
