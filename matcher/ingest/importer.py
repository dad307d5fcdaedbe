"""Import CSV files of alumni, placements, relationships, chapters and seekers.

Every row is checked before anything is written, and every problem is reported at
once with its row (as a spreadsheet numbers it: the header is row 1), its column and
what was expected. By default one bad row means nothing is written; with
``skip_invalid`` the good rows are written and the bad ones go to
``<stem>.rejects.csv`` beside the input, with an ``error`` column. The whole import is
one transaction (the caller commits), and rows that would not change are not rewritten, so importing the
same file twice changes nothing the second time.

Columns (extra columns are ignored with a warning):

=============  ==========================================================================
alumni         external_id, given_name, family_name (or name), email, home, japanese_level,
               interests, availability_hours, max_matches, consent [, consent_contact]
placements     alum_external_id, place, role, start_year, end_year, employer
relationships  us_place, jp_place, signed, status, themes, committee_name,
               committee_email, volunteers_wanted
chapters       slug, name, states, hub
seekers        municipality, prefecture, desired_countries, desired_partner, as_of, source
=============  ==========================================================================

Values:

- ``given_name`` and ``family_name``, or one ``name`` read by the rules of
  :func:`matcher.names.parse_name`: "Family, Given"; "FAMILY Given" (the family name in
  capitals); a kanji name with a space family name first, without one split after a
  common family name, else shown as an initial only; otherwise "Given Family". A row
  whose name had to be guessed gets a warning.
- ``home`` is a US city ("Rice Lake, WI") or ZIP code ("54868"); the alum's chapter is
  the one covering the home state (the one with the nearest hub where two share a state).
- ``place`` is a Japanese municipality, current or pre-merger ("Yamauchi-cho, Saga",
  "武雄市"), or a prefecture for a prefectural post ("Saga Prefecture").
- ``japanese_level``: 0–5; JLPT N5=1, N4=2, N3=3, N2=4, N1=5; or a word — none=0,
  beginner/basic=1, elementary=2, conversational/intermediate=3, business=4,
  fluent/native=5.
- ``consent``/``consent_contact``: yes/no, y/n, true/false, 1/0; blank = no.
  ``consent_contact`` defaults to ``consent``.
- ``role``: ALT, CIR or SEA (any case). Start year 1987 to next year; the end year is
  not before the start and at most ten years after it.
- ``signed``: "YYYY", "YYYY-MM" or "YYYY-MM-DD"; ``status``: active, dormant or unknown;
  ``themes``: separated by semicolons. A blank relationship cell keeps what the
  database holds (reference pairs are updated, not overwritten with blanks).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from matcher.ingest.cells import JAPANESE_LEVEL_WORDS, _Row, parse_bool, parse_japanese_level
from matcher.ingest.checks import _CHECKS
from matcher.ingest.lookups import ChapterFinder, _chunks, _Context, _Plan
from matcher.ingest.report import ImportReport, RowError
from matcher.decisions import withdraw_consent
from matcher.models import Alumnus, Placement
from matcher.scoring.pool import invalidate

__all__ = [
    "KINDS",
    "COLUMNS",
    "JAPANESE_LEVEL_WORDS",
    "RowError",
    "ImportReport",
    "ChapterFinder",
    "import_csv",
    "parse_japanese_level",
    "parse_bool",
]

KINDS = ("alumni", "placements", "relationships", "chapters", "seekers")

# (required, optional) columns per kind.
COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "alumni": (("external_id", "email", "home", "japanese_level", "interests",
                "availability_hours", "max_matches", "consent"), ("name", "given_name", "family_name", "consent_contact")),
    "placements": (("alum_external_id", "place", "role", "start_year", "end_year", "employer"), ()),
    "relationships": (("us_place", "jp_place", "signed", "status", "themes", "committee_name",
                       "committee_email", "volunteers_wanted"), ()),
    "chapters": (("slug", "name", "states", "hub"), ()),
    "seekers": (("municipality", "prefecture", "desired_countries", "desired_partner", "as_of", "source"), ()),
}


# --- the import ------------------------------------------------------------------------------


def _read(path: Path, report: ImportReport) -> tuple[list[str], list[_Row], bool]:
    """Read a UTF-8 CSV (BOM or not); return its header, data rows and whether it had a BOM."""
    data = path.read_bytes()
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.errors.append(RowError(1, "", "", f"the file is not UTF-8 text (byte {exc.start}); "
                                                  "save it as CSV UTF-8"))
        return [], [], bom
    records = _records(text)
    if not records:
        report.errors.append(RowError(1, "", "", "the file is empty; expected a header row"))
        return [], [], bom
    number, first, problem = records[0]
    if problem:
        report.errors.append(RowError(1, "", "", f"the header row {problem}"))
        return [], [], bom
    header = [h.strip().lower() for h in first]
    rows = []
    for number, raw, problem in records[1:]:
        if not problem and not any(cell.strip() for cell in raw):
            continue
        row = _Row(number, dict(zip(header, raw)), raw)
        if problem:
            row.unreadable = True
            row.error("", problem)
        elif len(raw) > len(header):
            row.error("", f"has {len(raw)} cells but the header has {len(header)} columns")
        rows.append(row)
    return header, rows, bom


def _records(text: str) -> list[tuple[int, list[str], str | None]]:
    r"""Split CSV text into (record number, cells, problem) triples; a record that cannot be read is a problem.

    A cell over the csv module's limit (``csv.field_size_limit()``, 128 KB) or a NUL
    character makes its record a problem, never an exception: the report names the row.

    >>> _records('a,b\n1,2\n3,"x\x00"\n')
    [(1, ['a', 'b'], None), (2, ['1', '2'], None), (3, [], 'contains a NUL character')]
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[str], str | None]] = []
    while True:
        number = len(records) + 1
        try:
            raw = next(reader)
        except StopIteration:
            return records
        except csv.Error as exc:
            limit = csv.field_size_limit()
            what = (f"has a cell longer than {limit // 1024} KB" if "field larger" in str(exc)
                    else f"is not valid CSV ({exc})")
            records.append((number, [], what))
            continue
        if any("\x00" in cell for cell in raw):
            records.append((number, [], "contains a NUL character"))
            continue
        records.append((number, raw, None))


def _check_header(kind: str, header: list[str], report: ImportReport) -> None:
    required, optional = COLUMNS[kind]
    for column in required:
        if column not in header:
            report.errors.append(RowError(1, column, "", f"required column {column!r} is missing"))
    if kind == "alumni" and "name" not in header and not {"given_name", "family_name"} <= set(header):
        report.errors.append(RowError(1, "name", "", "required column 'given_name' and 'family_name' (or one "
                                                     "'name') is missing"))
    seen = set()
    for column in header:
        if column in seen:
            report.errors.append(RowError(1, column, column, f"column {column!r} appears twice"))
        seen.add(column)
        if column not in required and column not in optional:
            report.warnings.append(RowError(1, column, column, f"column {column!r} is not used; ignored"))


def _diff(plan: _Plan) -> tuple[list[dict], list[dict], int]:
    """Split records into inserts, updates (only changed fields, with the id) and an unchanged count."""
    inserts, updates, unchanged = [], [], 0
    for key, (_row, rec) in plan.records.items():
        old = plan.existing.get(key)
        if old is None:
            inserts.append({**plan.defaults, **rec})
            continue
        changed = {k: v for k, v in rec.items() if k in plan.fields and old.get(k) != v}
        if changed:
            updates.append({"id": old["id"], **changed})
        else:
            unchanged += 1
    return inserts, updates, unchanged


def _write(session: Session, model, inserts: list[dict], updates: list[dict]) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    if model is Alumnus:
        for rec in updates:
            rec["updated_at"] = now
    if inserts:
        session.execute(insert(model), inserts)
    if updates:
        session.execute(update(model), updates)
    session.flush()


def _written_alumni(session: Session, kind: str, inserts: list[dict], updates: list[dict]) -> list[int]:
    """The ids of the alumni an alumni or placements import wrote (for re-scoring just them)."""
    def ids(column, where, keys: list) -> list[int]:
        return [i for chunk in _chunks(keys) for i in session.scalars(select(column).where(where.in_(chunk)))]

    if kind == "alumni":
        return sorted({*ids(Alumnus.id, Alumnus.external_id, [r["external_id"] for r in inserts]),
                       *(r["id"] for r in updates)})
    if kind == "placements":
        return sorted({*ids(Placement.alumnus_id, Placement.id, [r["id"] for r in updates]),
                       *(r["alumnus_id"] for r in inserts)})
    return []


def _close_withdrawn(session: Session, updates: list[dict]) -> None:
    """Close the waiting requests of alumni whose consent this import withdrew."""
    for rec in updates:
        if rec.get("consent") is False:
            withdraw_consent(session, session.get(Alumnus, rec["id"]), "jetmatch import (consent withdrawn)")


def _write_rejects(path: Path, header: list[str], bad: list[_Row], bom: bool) -> Path:
    target = path.with_name(f"{path.stem}.rejects.csv")
    with open(target, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*header, "error"])
        for row in bad:
            cells = (row.raw + [""] * len(header))[:len(header)]
            writer.writerow([*cells, "; ".join(f"{e.column}: {e.message}" if e.column else e.message
                                               for e in row.errors)])
    return target


def import_csv(session: Session, kind: str, path: Path | str, *, gazetteer, dry_run: bool = False,
               skip_invalid: bool = False) -> ImportReport:
    """Check every row of a CSV of ``kind`` and, unless told otherwise, write all of it or none.

    Parameters
    ----------
    session : Session
        The session to read and write with. Rows are written and flushed, not committed:
        the caller commits, so the import is one transaction. If writing fails the session
        is rolled back.
    kind : str
        One of ``KINDS``.
    path : Path or str
        The CSV file, UTF-8 with or without a BOM.
    gazetteer : matcher.gazetteer.Gazetteer
        Resolves place text.
    dry_run : bool, optional
        Check and count, write nothing (no rejects file either).
    skip_invalid : bool, optional
        Write the good rows and put the bad ones in ``<stem>.rejects.csv``.

    Returns
    -------
    ImportReport
        Counts, every error located by row and column, and warnings.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}; expected one of {', '.join(KINDS)}")
    path = Path(path)
    report = ImportReport(kind=kind, file=str(path), dry_run=dry_run)
    header, rows, bom = _read(path, report)
    if header:
        _check_header(kind, header, report)
    report.rows = len(rows)
    if report.errors:  # the header is unusable: no row can be read reliably
        return report
    ctx = _Context(session, gazetteer, path, report.warnings)
    plan = _CHECKS[kind]([row for row in rows if not row.unreadable], ctx)
    report.places = ctx.places.resolved
    bad = [row for row in rows if row.errors]
    report.errors = [e for row in bad for e in row.errors]
    report.rejected = len(bad) if skip_invalid else 0
    inserts, updates, report.unchanged = _diff(plan)
    report.inserted, report.updated = len(inserts), len(updates)
    if bad and not skip_invalid:
        report.inserted = report.updated = report.unchanged = 0
        return report
    if not dry_run:
        try:
            _write(session, plan.model, inserts, updates)
            if kind == "alumni":
                _close_withdrawn(session, updates)
        except BaseException:
            session.rollback()
            raise
        report.alumni_ids = _written_alumni(session, kind, inserts, updates)
        if kind == "relationships" and (inserts or updates):
            invalidate()  # the scoring cache keys on counts, not on every field an import can change
        if bad:
            report.rejects_file = str(_write_rejects(path, header, bad, bom))
    return report
