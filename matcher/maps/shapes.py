"""The shipped map shapes (data/map_us.json, data/map_jp.json) and where a point goes on them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from matcher.maps.projection import albers_usa, jp_point
from matcher.refdata import data_dir

__all__ = ["Shapes", "load_shapes", "project"]

_NUMBERS = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Shapes:
    """Hold one country's outlines: ``paths[key]`` is an SVG path, ``boxes[key]`` its (x0, y0, x1, y1).

    Parameters
    ----------
    country : str
        "US" (keyed by state abbreviation) or "JP" (keyed by JIS prefecture code).
    width, height : float
        The drawing's size.
    paths : dict of str to str
        Each region's SVG path.
    boxes : dict of str to (float, float, float, float)
        Each region's bounding box.
    params : dict of str to list of float
        The fitted projection parameters (Japan).
    source, license : str
        Where the outlines come from, and their licence.

    Examples
    --------
    >>> jp = load_shapes("JP")
    >>> jp.country, len(jp.paths) == len(jp.boxes) == 47
    ('JP', True)
    """

    country: str
    width: float
    height: float
    paths: dict[str, str]
    boxes: dict[str, tuple[float, float, float, float]]
    params: dict[str, list[float]]
    source: str
    license: str


def _box(d: str) -> tuple[float, float, float, float]:
    values = [float(v) for v in _NUMBERS.findall(d)]
    xs, ys = values[0::2], values[1::2]
    return min(xs), min(ys), max(xs), max(ys)


@lru_cache(maxsize=4)
def load_shapes(country: str, folder: str | None = None) -> Shapes:
    """Read one country's map shapes from the reference data folder, once.

    Parameters
    ----------
    country : str
        "US" reads ``map_us.json`` (keyed by state abbreviation), "JP" ``map_jp.json``
        (keyed by JIS prefecture code).
    folder : str, optional
        The folder to read from (default: :func:`matcher.refdata.data_dir`).

    Returns
    -------
    Shapes
        The outlines, their boxes and the projection parameters (kept: later calls return the
        same object).

    Examples
    --------
    >>> us = load_shapes("US")
    >>> len(us.paths), us.width, us.height
    (51, 975, 610)
    >>> sorted(load_shapes("JP").paths)[:2], len(load_shapes("JP").paths)
    (['01', '02'], 47)
    """
    raw = json.loads((Path(folder) if folder else data_dir()).joinpath(f"map_{country.lower()}.json").read_text())
    paths = raw["shapes"]
    return Shapes(country, raw["width"], raw["height"], paths, {k: _box(d) for k, d in paths.items()},
                  raw.get("params", {}), raw["source"], raw["license"])


def project(shapes: Shapes, lon: float, lat: float, region: str) -> tuple[float, float]:
    """Return where a point goes on the map.

    Alaska, Hawaii and Okinawa sit in insets, so the region picks the projection.

    Parameters
    ----------
    shapes : Shapes
        The map (:func:`load_shapes`).
    lon, lat : float
        The point, in degrees.
    region : str
        The US state or the JP prefecture code the point is in.

    Returns
    -------
    (float, float)
        x and y on the map.

    Examples
    --------
    >>> x, y = project(load_shapes("JP"), 141.117, 39.388, "03")   # Hanamaki, Iwate
    >>> x0, y0, x1, y1 = load_shapes("JP").boxes["03"]
    >>> x0 <= x <= x1 and y0 <= y <= y1
    True
    """
    if shapes.country == "US":
        return albers_usa(lon, lat, region)
    return jp_point(lon, lat, shapes.params.get(region, shapes.params["mainland"]))
