"""Maps drawn on the server: shapes shipped in data/, projections, and views built from the database.

- :mod:`~matcher.maps.projection`: d3's geoAlbersUsa, and the fitted Japan layout;
- :mod:`~matcher.maps.shapes`: the outlines in ``data/map_us.json`` and ``data/map_jp.json``;
- :mod:`~matcher.maps.layout`: the coordinator's overview, a chapter's region, a partner's
  surroundings — areas shaded by counts, relationship ends, counts by municipality;
- :mod:`~matcher.maps.coast`: the coastlines in those outlines, for ``scripts/build-coast-distance``
  (imported by that script only: nothing reads the maps for distances at run time).
"""

from matcher.maps.layout import (LEVELS, Area, CountDot, End, MapView, alumni_by_prefecture, alumni_by_state,
                                 chapter_region, overview, partner_surroundings, relationship_ends, shade_bins)
from matcher.maps.projection import albers_usa, jp_point
from matcher.maps.shapes import Shapes, load_shapes, project

__all__ = ["LEVELS", "Area", "CountDot", "End", "MapView", "alumni_by_prefecture", "alumni_by_state",
           "chapter_region", "overview", "partner_surroundings", "relationship_ends", "shade_bins",
           "albers_usa", "jp_point", "Shapes", "load_shapes", "project"]
