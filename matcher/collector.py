"""Pausing Python's cycle collector around work that builds many long-lived objects without cycles.

Every 700 new container objects start a collection that walks the young objects, and now and
then all of them: with 80,000 fetched rows (or 350,000 to store, or the million objects that
importing SQLAlchemy and Numba and loading a pool create) alive, that was a third of the time
spent on them. Rows of numbers and text make no cycles, so nothing is left uncollected for long.
No third-party import here: the CLI's start-up uses it.

>>> import gc
>>> with paused():
...     gc.isenabled()
False
>>> gc.isenabled()
True
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused"]


@contextmanager
def paused(freeze: bool = False) -> Iterator[None]:
    """Pause the collector for the block; it resumes when the block ends if it ran before.

    ``freeze``: move everything alive at the end of the block out of the collector's reach
    (``gc.freeze``), for a process that ends soon after, so that neither the next full
    collection nor the interpreter's exit walks it again.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_on:
            gc.enable()
