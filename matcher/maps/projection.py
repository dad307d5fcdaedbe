"""Map projections: lon/lat to the SVG coordinates of the shipped shapes.

The US map uses d3's ``geoAlbersUsa`` (scale 1300, translate [487.5, 305]: a 975 × 610 box),
ported here so that a city's dot lands where the state shapes put it; Alaska and Hawaii are
drawn as insets with their own conic projections, as d3 does. The Japan map uses the shapes'
own layout (MapSVG's Mercator, Okinawa moved into an inset), fitted at build time to the
municipalities' coordinates: an affine map of ``(lon, mercator(lat))``, one set of six
numbers for the mainland and one for Okinawa.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ConicEqualArea", "albers_usa", "mercator_y", "jp_point"]


@dataclass(frozen=True)
class ConicEqualArea:
    """d3's ``geoConicEqualArea`` with rotate (λ only), centre, parallels, scale and translate.

    >>> lower48 = ConicEqualArea(rotate=96, center=(-0.6, 38.7), parallels=(29.5, 45.5),
    ...                          scale=1300, translate=(487.5, 305))
    >>> [round(v, 1) for v in lower48(-96.6, 38.7)]
    [487.5, 305.0]
    """

    rotate: float
    center: tuple[float, float]
    parallels: tuple[float, float]
    scale: float
    translate: tuple[float, float]

    def _raw(self, lam: float, phi: float) -> tuple[float, float]:
        sy0 = math.sin(math.radians(self.parallels[0]))
        n = (sy0 + math.sin(math.radians(self.parallels[1]))) / 2
        c = 1 + sy0 * (2 * n - sy0)
        r0 = math.sqrt(c) / n
        r = math.sqrt(max(0.0, c - 2 * n * math.sin(phi))) / n
        return r * math.sin(lam * n), r0 - r * math.cos(lam * n)

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        cx, cy = self._raw(math.radians(self.center[0]), math.radians(self.center[1]))
        lam = math.radians(lon + self.rotate)
        lam = (lam + math.pi) % (2 * math.pi) - math.pi  # d3 wraps the rotated longitude
        x, y = self._raw(lam, math.radians(lat))
        k = self.scale
        return self.translate[0] + k * (x - cx), self.translate[1] - k * (y - cy)


_K, _TX, _TY = 1300.0, 487.5, 305.0
_LOWER48 = ConicEqualArea(96, (-0.6, 38.7), (29.5, 45.5), _K, (_TX, _TY))
_ALASKA = ConicEqualArea(154, (-2, 58.5), (55, 65), _K * 0.35, (_TX - 0.307 * _K, _TY + 0.201 * _K))
_HAWAII = ConicEqualArea(157, (-3, 19.9), (8, 18), _K, (_TX - 0.205 * _K, _TY + 0.212 * _K))


def albers_usa(lon: float, lat: float, state: str) -> tuple[float, float]:
    """Project a point of ``state`` (postal abbreviation) onto the 975 × 610 US map.

    The state picks the inset, as the shapes were drawn: Alaska and Hawaii have their own.

    Parameters
    ----------
    lon, lat : float
        The point, in degrees.
    state : str
        Its state's postal abbreviation.

    Returns
    -------
    (float, float)
        x and y on the map.

    Examples
    --------
    >>> x, y = albers_usa(-93.0552, 34.5037, "AR")   # Hot Springs, Arkansas
    >>> 550 < x < 600 and 380 < y < 420
    True
    >>> albers_usa(-149.9, 61.2, "AK")[0] < 250      # Anchorage, in the Alaska inset
    True
    """
    return {"AK": _ALASKA, "HI": _HAWAII}.get(state, _LOWER48)(lon, lat)


def mercator_y(lat: float) -> float:
    """Mercator's y for a latitude in degrees, in degrees of longitude at the equator.

    >>> abs(mercator_y(0.0)) < 1e-9
    True
    >>> round(mercator_y(45.0), 2)
    50.5
    """
    return math.degrees(math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))


def jp_point(lon: float, lat: float, params: list[float]) -> tuple[float, float]:
    """Project a point with fitted Japan parameters ``[a, b, c, d, e, f]``.

    ``x = a·lon + b·merc + c``, ``y = d·lon + e·merc + f``, where ``merc`` is the Mercator
    ordinate of ``lat``.

    Parameters
    ----------
    lon, lat : float
        The point, in degrees.
    params : list of float
        The six fitted parameters (``Shapes.params``: "mainland", and one per inset).

    Returns
    -------
    (float, float)
        x and y on the map.

    Examples
    --------
    >>> [round(v, 6) for v in jp_point(140.0, 0.0, [2.0, 0.0, -200.0, 0.0, -3.0, 10.0])]
    [80.0, 10.0]
    """
    a, b, c, d, e, f = params
    my = mercator_y(lat)
    return a * lon + b * my + c, d * lon + e * my + f
