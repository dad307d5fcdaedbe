"""What an import found: errors located by row and column, and the report of the whole import."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RowError", "RowPlace", "ImportReport"]


@dataclass(frozen=True)
class RowError:
    """Describe a problem in one cell (or the header): where it is and what was expected.

    Parameters
    ----------
    row : int
        The row number as a spreadsheet shows it (the header is row 1).
    column : str
        The column name, or "" for a problem with the whole row.
    value : str
        The cell text as read.
    message : str
        What is wrong and what was expected.

    Examples
    --------
    >>> e = RowError(3, "email", "ann@", "is not an e-mail address")
    >>> str(e)
    'row 3, column email: is not an e-mail address'
    >>> RowError(1, "", "", "missing column email").to_json()["message"]
    'missing column email'
    """

    row: int
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}, column {self.column}" if self.column else f"row {self.row}"
        return f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value, "message": self.message}


@dataclass(frozen=True)
class RowPlace:
    """What one place cell resolved to, and how ("alias", "district", "organisation", "ward", …)."""

    row: int
    column: str
    value: str
    resolved_to: str
    via: str | None

    def __str__(self) -> str:
        how = f" (via {self.via})" if self.via else ""
        return f"row {self.row}, column {self.column}: {self.value!r} → {self.resolved_to}{how}"

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value, "resolved_to": self.resolved_to,
                "via": self.via}


_SHOWN_PLACES = 20  # the summary names this many read-through-a-form places; the JSON has all


@dataclass
class ImportReport:
    """Record what an import found and did; ``ok`` is False when any row or the header is bad.

    Parameters
    ----------
    kind : str
        The kind of CSV (one of ``KINDS``).
    file : str
        The path of the file read.
    dry_run : bool, optional
        True when nothing was written.
    rows, inserted, updated, unchanged, rejected : int
        Counts of rows read and of what happened to them.
    errors, warnings : list of RowError
        Every problem found, located by row and column.
    rejects_file : str or None
        Where the rejected rows went (with ``skip_invalid``).
    alumni_ids : list of int
        The alumni whose row or placements were written.
    places : list of RowPlace
        Each place cell that resolved, for the report.

    Examples
    --------
    >>> report = ImportReport("alumni", "alumni.csv", rows=2, inserted=1)
    >>> report.errors.append(RowError(3, "email", "ann@", "is not an e-mail address"))
    >>> report.ok, report.to_json()["errors"][0]["row"]
    (False, 3)
    """

    kind: str
    file: str
    dry_run: bool = False
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    rejects_file: str | None = None
    alumni_ids: list[int] = field(default_factory=list)  # alumni whose row or placements were written
    places: list[RowPlace] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "file": self.file, "ok": self.ok, "dry_run": self.dry_run,
            "rows": self.rows, "inserted": self.inserted, "updated": self.updated,
            "unchanged": self.unchanged, "rejected": self.rejected,
            "errors": [e.to_json() for e in self.errors],
            "warnings": [w.to_json() for w in self.warnings],
            "rejects_file": self.rejects_file,
            "places": [p.to_json() for p in self.places],
        }

    def summary(self) -> str:
        """Say in a few lines what happened, then list every error and warning."""
        counts = f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged"
        if self.rejected:
            counts += f", {self.rejected} rejected"
        head = f"{self.kind} from {self.file}: {self.rows} rows"
        if self.errors and not self.rejected:
            verdict = f"{len(self.errors)} error{'s' if len(self.errors) != 1 else ''} — nothing written"
        elif self.dry_run:
            verdict = f"dry run, nothing written (would be: {counts})"
        else:
            verdict = counts
        lines = [f"{head}; {verdict}"]
        if self.rejects_file:
            lines.append(f"rejected rows written to {self.rejects_file}")
        lines += [str(e) for e in self.errors]
        lines += [f"warning: {w}" for w in self.warnings]
        read = [p for p in self.places if p.via not in (None, "name", "code")]
        lines += [f"place: {p}" for p in read[:_SHOWN_PLACES]]
        if len(read) > _SHOWN_PLACES:
            lines.append(f"… and {len(read) - _SHOWN_PLACES} more places read through an old name or a form")
        return "\n".join(lines)
