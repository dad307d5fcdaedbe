"""A geocode cache kept in the database, for :class:`matcher.gazetteer.Gazetteer`."""

from __future__ import annotations

from collections.abc import MutableMapping

from sqlalchemy import select

from matcher.models import GeocodeCache

__all__ = ["SessionGeocodeCache"]


class SessionGeocodeCache(MutableMapping):
    """Keep a geocode cache in the ``geocode_cache`` table: query → answer dict or None.

    A mutable mapping, so :class:`matcher.gazetteer.Gazetteer` can take it where it takes a
    plain dict. A None value records that the geocoder found nothing, so it is not asked again.

    Parameters
    ----------
    session : Session
        The session the rows are read and written with (flushed, not committed).
    """

    def __init__(self, session) -> None:
        self.session = session

    def __getitem__(self, query: str) -> dict | None:
        row = self.session.get(GeocodeCache, query)
        if row is None:
            raise KeyError(query)
        if row.lat is None:
            return None
        return {"lat": row.lat, "lon": row.lon, "state_abbr": row.state_abbr, "display_name": row.display_name}

    def __setitem__(self, query: str, value: dict | None) -> None:
        value = value or {}
        self.session.merge(GeocodeCache(query=query, lat=value.get("lat"), lon=value.get("lon"),
                                        state_abbr=value.get("state_abbr"),
                                        display_name=value.get("display_name")))
        self.session.flush()

    def __delitem__(self, query: str) -> None:
        row = self.session.get(GeocodeCache, query)
        if row is None:
            raise KeyError(query)
        self.session.delete(row)

    def __iter__(self):
        return iter(self.session.scalars(select(GeocodeCache.query)).all())

    def __len__(self) -> int:
        return len(list(iter(self)))
