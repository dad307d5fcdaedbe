"""Distance to the sea from the shipped map outlines: an outline point that no other region's
outline passes near is coast, unless it lies on a land border given as a polyline.

Used by ``scripts/build-coast-distance`` to build ``data/coast_km.csv`` once; the partnership
model reads that file (``matcher.partnerships.load.coast_km``), never the maps at run time.
"""

from __future__ import annotations

import math
import re

import numpy as np

__all__ = ["rings", "outline_points", "coast_points", "inside_any", "km_per_px", "SHARED_PX", "STEP_PX", "BORDER_PX"]

SHARED_PX = 1.5  # an outline point this close to another region's outline is a land border
STEP_PX = 0.5  # outline segments are sampled this densely
BORDER_PX = 4.0  # outline points this close to a given land border are not coast
_EARTH_KM = 6371.0


def rings(path: str) -> list[np.ndarray]:
    """Return the rings (k × 2 point arrays) of an SVG path of absolute M/L/Z commands.

    >>> [r.tolist() for r in rings("M0 0L2 0L2 1ZM5 5L6 5L6 6Z")]
    [[[0.0, 0.0], [2.0, 0.0], [2.0, 1.0]], [[5.0, 5.0], [6.0, 5.0], [6.0, 6.0]]]
    """
    out = []
    for part in re.split(r"(?=M)", path):
        nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", part)]
        if len(nums) >= 4:
            out.append(np.array(nums).reshape(-1, 2))
    return out


def _dense(points: np.ndarray, closed: bool = True) -> np.ndarray:
    """Points every STEP_PX along the polyline (closed: back to its start)."""
    pts = np.vstack([points, points[:1]]) if closed else points
    out = [pts[:1]]
    for a, b in zip(pts[:-1], pts[1:]):
        n = max(1, int(math.ceil(np.hypot(*(b - a)) / STEP_PX)))
        out.append(a + (b - a) * (np.arange(1, n + 1)[:, None] / n))
    return np.vstack(out)


def outline_points(paths: dict[str, str]) -> np.ndarray:
    """Return every outline's points, every STEP_PX (coast and land borders alike)."""
    return np.vstack([_dense(r) for p in paths.values() for r in rings(p)])


def coast_points(paths: dict[str, str], borders: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Return the outline points (map units) that are coast.

    Parameters
    ----------
    paths : dict of str to str
        Each region's SVG outline (M/L/Z), all in the same map units.
    borders : dict of str to numpy.ndarray, optional
        Land borders with the outside world (k × 2 polylines in map units), by the region
        whose outline they are: its points within BORDER_PX of them are not coast.

    Returns
    -------
    numpy.ndarray
        n × 2 points, every STEP_PX along the coastline.

    Examples
    --------
    Two squares side by side share their middle edge, which is not coast; their outer edges are:

    >>> pts = coast_points({"a": "M0 0L10 0L10 10L0 10Z", "b": "M10 0L20 0L20 10L10 10Z"})
    >>> bool(np.any((np.abs(pts[:, 0] - 10) < 0.1) & (pts[:, 1] > 2) & (pts[:, 1] < 8)))
    False
    >>> bool(np.any(np.abs(pts[:, 0]) < 0.1)), bool(np.any(np.abs(pts[:, 0] - 20) < 0.1))
    (True, True)
    """
    from scipy.spatial import cKDTree

    dense = {k: np.vstack([_dense(r) for r in rings(p)]) for k, p in paths.items()}
    keys = list(dense)
    owner = np.concatenate([np.full(len(dense[k]), i) for i, k in enumerate(keys)])
    allpts = np.vstack([dense[k] for k in keys])
    coast = np.ones(len(allpts), dtype=bool)
    for i, near in enumerate(cKDTree(allpts).query_ball_point(allpts, SHARED_PX)):
        if np.any(owner[near] != owner[i]):
            coast[i] = False
    for k, line in (borders or {}).items():
        if k in keys:
            mine = np.flatnonzero(owner == keys.index(k))
            d, _ = cKDTree(_dense(np.asarray(line, dtype=float), closed=False)).query(allpts[mine])
            coast[mine[d < BORDER_PX]] = False
    return allpts[coast]


def inside_any(paths: dict[str, str], xy: np.ndarray) -> np.ndarray:
    """Return, for each point, whether it lies inside some region's outline (even–odd rule).

    A municipality outside every outline lies on an island the map leaves out.

    >>> inside_any({"a": "M0 0L10 0L10 10L0 10Z"}, np.array([[5.0, 5.0], [15.0, 5.0]])).tolist()
    [True, False]
    """
    xy = np.asarray(xy, dtype=float)
    out = np.zeros(len(xy), dtype=bool)
    for path in paths.values():
        for ring in rings(path):
            a, b = ring, np.roll(ring, -1, axis=0)
            x, y = xy[:, :1], xy[:, 1:]
            crosses = (a[:, 1] > y) != (b[:, 1] > y)
            with np.errstate(divide="ignore", invalid="ignore"):
                at = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
            out ^= (np.sum(crosses & (x < at), axis=1) % 2).astype(bool)
    return out


def km_per_px(lon: np.ndarray, lat: np.ndarray, xy: np.ndarray) -> float:
    """Return the map's scale: the median ratio of great-circle km to map distance between
    consecutive points (pairs under 300 km apart and over one unit on the map).

    >>> lon, lat = np.array([0.0, 1.0, 2.0]), np.zeros(3)
    >>> round(km_per_px(lon, lat, np.array([[0, 0], [10, 0], [20, 0]])), 2)   # 10 units a degree
    11.12
    """
    la, lo = np.radians(lat), np.radians(lon)
    h = np.sin(np.diff(la) / 2) ** 2 + np.cos(la[:-1]) * np.cos(la[1:]) * np.sin(np.diff(lo) / 2) ** 2
    km = 2 * _EARTH_KM * np.arcsin(np.sqrt(h))
    px = np.hypot(*np.diff(np.asarray(xy, dtype=float), axis=0).T)
    ok = (px > 1) & (km < 300)
    return float(np.median(km[ok] / px[ok]))
