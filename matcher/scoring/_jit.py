"""Numba for the scoring kernels, without SciPy's linear algebra at start-up.

The first call of any compiled function in a process, even one loaded from the on-disk
cache, makes Numba load all its built-in implementations (``BaseContext.refresh``); whatever
features the kernels use. Among them ``numba.np.arraymath`` checks *at import* that a BLAS is
there by importing ``scipy.linalg.cython_blas``, which imports the whole of ``scipy.linalg``
(about 0.2 s of CPU time per process, more than the scoring of 40,000 alumni). The kernels use
no linear algebra.

:func:`_defer_blas` imports ``numba.np.arraymath`` once with that check answered by whether
SciPy's BLAS module can be found (no import), and restores Numba's own ``ensure_blas``
everywhere before anything is compiled, so code that does use ``np.dot`` or ``np.linalg``
imports and checks SciPy's BLAS as usual when it is compiled. If Numba's internals differ
from what is expected, nothing is changed (the start-up is then as before).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys

import numba
from numba import njit

__all__ = ["njit", "numba"]


def _defer_blas() -> bool:
    """Import ``numba.np.arraymath`` without importing ``scipy.linalg``; True if that was done."""
    if "numba.np.arraymath" in sys.modules:
        return False
    try:
        import numba.np.linalg as linalg
    except ImportError:  # pragma: no cover - a Numba without it
        return False
    ensure_blas = getattr(linalg, "ensure_blas", None)
    if not callable(ensure_blas):  # pragma: no cover - another Numba
        return False
    have_blas = _blas_found()

    def found() -> None:  # what arraymath's import-time check sees
        if not have_blas:
            raise ImportError("scipy 0.16+ is required for linear algebra")

    linalg.ensure_blas = found
    try:
        import numba.np.arraymath as arraymath
    finally:
        linalg.ensure_blas = ensure_blas
    if getattr(arraymath, "ensure_blas", None) is found:  # its own name for it, used when compiling
        arraymath.ensure_blas = ensure_blas
    return True


def _blas_found() -> bool:
    """Whether ``scipy.linalg.cython_blas`` is there, found on SciPy's path without importing ``scipy.linalg``."""
    try:
        scipy = importlib.util.find_spec("scipy")
    except (ImportError, ValueError):  # pragma: no cover
        return False
    places = [os.path.join(p, "linalg") for p in (scipy.submodule_search_locations or [])] if scipy else []
    return bool(places) and importlib.machinery.PathFinder.find_spec("cython_blas", places) is not None


DEFERRED = _defer_blas()
