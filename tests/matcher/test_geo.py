"""Distances: vectorised haversine agrees with geopy's geodesic; BallTree radius queries."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.geo import PointIndex, geodesic_km, haversine_km, within_km

PAIRS = [  # (a, b): Oita–Hanamaki, Rice Lake–Madison, Baltimore–Yokohama, Takeo–Saga (short)
    ((33.2382, 131.6126), (39.3886, 141.1139)),
    ((45.5061, -91.7382), (43.0731, -89.4012)),
    ((39.2904, -76.6122), (35.4437, 139.6380)),
    ((33.1907, 130.0214), (33.2494, 130.2988)),
]


@pytest.mark.parametrize("a,b", PAIRS)
def test_haversine_within_half_percent_of_geodesic(a, b):
    assert haversine_km(*a, *b) == pytest.approx(geodesic_km(a, b), rel=0.005)


def test_haversine_broadcasts_in_float64():
    lat1 = np.array([p[0][0] for p in PAIRS], dtype=np.float32)
    lon1 = np.array([p[0][1] for p in PAIRS])
    lat2 = np.array([p[1][0] for p in PAIRS])
    lon2 = np.array([p[1][1] for p in PAIRS])
    d = haversine_km(lat1, lon1, lat2, lon2)
    assert d.dtype == np.float64 and d.shape == (4,)
    grid = haversine_km(lat1[:, None], lon1[:, None], lat2[None, :], lon2[None, :])
    assert grid.shape == (4, 4) and np.allclose(np.diag(grid), d)
    assert isinstance(haversine_km(0, 0, 0, 1), float)


def test_point_index_radius_and_nearest():
    homes = [(45.50, -91.74), (43.07, -89.40), (44.98, -93.27)]  # Rice Lake, Madison, Minneapolis
    idx = PointIndex(homes)
    hits = idx.within([(45.45, -91.70)], 25.0)[0]
    assert hits.tolist() == [0]
    ind, dist = idx.within([(45.45, -91.70)], 250.0, return_distance=True)
    assert sorted(ind[0].tolist()) == [0, 2]
    assert dist[0][0] == pytest.approx(haversine_km(45.45, -91.70, 45.50, -91.74), rel=1e-6)
    km, nearest = idx.nearest([(43.0, -89.5)], k=1)
    assert nearest[0][0] == 1 and km[0][0] < 15
    assert [h.tolist() for h in within_km(homes, [(0.0, 0.0)], 100.0)] == [[]]
