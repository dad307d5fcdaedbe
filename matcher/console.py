"""Terminal helpers shared by CLI commands: progress bars on a terminal, quiet in pipes."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["track", "status"]

T = TypeVar("T")


def _interactive() -> bool:
    return sys.stderr.isatty()


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Yield ``items``, drawing a progress bar on stderr when it is a terminal."""
    if not _interactive():
        yield from items
        return
    from rich.progress import track as rich_track

    yield from rich_track(items, description=description, total=total, transient=True, console=_stderr())


def status(message: str) -> None:
    """Print a progress line on stderr when it is a terminal (never pollutes --json stdout)."""
    if _interactive():
        _stderr().print(f"[dim]{message}[/dim]")


def _stderr():
    from rich.console import Console

    return Console(stderr=True)
