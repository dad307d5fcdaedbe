"""Distances on the Earth: vectorised haversine for bulk work, geopy geodesic for one pair.

Haversine on a sphere of mean radius 6371.0088 km is within ~0.5% of the WGS-84
geodesic everywhere, which is far finer than any distance band used in scoring.
Always float64: float32 loses kilometres at short range (see design.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["EARTH_RADIUS_KM", "haversine_km", "geodesic_km", "PointIndex", "within_km"]

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray | float:
    """Return great-circle distances in km; arguments broadcast like NumPy arrays.

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : float or array-like, degrees

    Returns
    -------
    float for scalar input, else a float64 array of the broadcast shape.

    Examples
    --------
    >>> round(haversine_km(33.2382, 131.6126, 39.3886, 141.1139))  # Oita to Hanamaki
    1091
    >>> haversine_km([0.0, 0.0], [0.0, 0.0], 0.0, [1.0, 2.0]).round(1).tolist()
    [111.2, 222.4]
    """
    p1, l1, p2, l2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2.0) ** 2
    d = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return float(d) if np.ndim(d) == 0 else d


def geodesic_km(a: Sequence[float], b: Sequence[float]) -> float:
    """Return the WGS-84 geodesic distance in km between two (lat, lon) points (geopy).

    >>> round(geodesic_km((33.2382, 131.6126), (39.3886, 141.1139)))
    1092
    """
    from geopy.distance import geodesic

    return float(geodesic(tuple(a), tuple(b)).km)


class PointIndex:
    """A BallTree over (lat, lon) points for "which points lie within R km" queries.

    >>> idx = PointIndex([[45.5, -91.7], [43.07, -89.4]])  # Rice Lake, Madison
    >>> idx.within([[45.4, -91.8]], 50.0)[0].tolist()
    [0]
    """

    def __init__(self, points) -> None:
        from sklearn.neighbors import BallTree

        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        self.n = len(pts)
        self._tree = BallTree(np.radians(pts), metric="haversine")

    def within(self, queries, radius_km: float, return_distance: bool = False):
        """Return, per query point, the indices of points within ``radius_km`` (and distances)."""
        q = np.radians(np.asarray(queries, dtype=np.float64).reshape(-1, 2))
        r = radius_km / EARTH_RADIUS_KM
        if return_distance:
            ind, dist = self._tree.query_radius(q, r, return_distance=True, sort_results=True)
            return ind, [d * EARTH_RADIUS_KM for d in dist]
        return self._tree.query_radius(q, r)

    def nearest(self, queries, k: int = 1):
        """Return (distances_km, indices) of the k nearest points to each query point."""
        q = np.radians(np.asarray(queries, dtype=np.float64).reshape(-1, 2))
        dist, ind = self._tree.query(q, k=min(k, self.n))
        return dist * EARTH_RADIUS_KM, ind


def within_km(points, queries, radius_km: float):
    """Return, per query point, the indices of ``points`` within ``radius_km`` km."""
    return PointIndex(points).within(queries, radius_km)
