"""Where jetmatch keeps its data: the instance folder, the database URL and the reference files.

Kept apart from :mod:`matcher.db` and :mod:`matcher.refdata` (which re-export them) because those load SQLAlchemy:
a quick command such as `jetmatch resolve` reads these without it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_dir", "database_url", "instance_path"]


def instance_path() -> Path:
    """Return the instance folder (created if missing) for the SQLite file and secrets."""
    path = Path(os.environ.get("JETMATCH_INSTANCE_PATH", "instance")).resolve()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def database_url(explicit: str | None = None) -> str:
    """Return the database URL to use.

    >>> database_url("sqlite:///x.db")
    'sqlite:///x.db'
    """
    url = explicit or os.environ.get("JETMATCH_DATABASE_URL")
    if url:
        # Accept the plain scheme people paste; psycopg 3 is the driver we install.
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        elif url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://") :]
        return url
    return f"sqlite:///{instance_path() / 'jetmatch.sqlite'}"


def data_dir() -> Path:
    """Return the reference data folder: ``JETMATCH_DATA_DIR`` or the project's ``data/``.

    Returns
    -------
    Path
        The folder.
    """
    return Path(os.environ.get("JETMATCH_DATA_DIR", Path(__file__).resolve().parents[1] / "data"))
