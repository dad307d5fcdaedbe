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
    """One country's outlines: ``paths[key]`` is an SVG path, ``boxes[key]`` its (x0, y0, x1, y1)."""

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
    """Read ``map_us.json`` (``country="US"``, keyed by state abbreviation) or ``map_jp.json``
    (``"JP"``, keyed by JIS prefecture code) from the reference data folder, once.

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
    """Where a point goes on the map: ``region`` is the US state or the JP prefecture code
    (Alaska, Hawaii and Okinawa sit in insets).

    >>> x, y = project(load_shapes("JP"), 141.117, 39.388, "03")   # Hanamaki, Iwate
    >>> x0, y0, x1, y1 = load_shapes("JP").boxes["03"]
    >>> x0 <= x <= x1 and y0 <= y <= y1
    True
    """
    if shapes.country == "US":
        return albers_usa(lon, lat, region)
    return jp_point(lon, lat, shapes.params.get(region, shapes.params["mainland"]))
