"""Build the dashboards' world map (no tile server) from world-atlas's Natural Earth TopoJSON.

Run once when the map data changes; the output is committed under static/vendor/ and listed, with its
sha256, in static/vendor/README.md:

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    .venv/bin/python scripts/build_world_map.py package/countries-110m.json static/vendor/world-atlas-2.0.2/

world-atlas names countries by ISO 3166-1 *numeric* code; GeoIP databases (and the scanners) give the
*alpha-2* code. The mapping comes from pycountry (a dev dependency; its data is Debian's iso-codes). Three
shapes have no ISO code in Natural Earth: Kosovo gets the user-assigned code XK (as GeoIP databases use it),
N. Cyprus and Somaliland are drawn as part of CY and SO (where GeoIP places their addresses).

Writes countries-110m.json ({"viewBox", "projection", "countries": {alpha-2: {"name", "numeric", "d"}}}) and
countries-110m.svg (the same paths, ``<path id="country-FR" data-iso="FR">``), projected with Natural Earth I
and rounded to 0.1 unit of a 960-unit-wide map.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pycountry

WIDTH = 960.0
PRECISION = 10  # path coordinates in tenths of a unit
NO_ISO_CODE = {"Kosovo": "XK", "N. Cyprus": "CY", "Somaliland": "SO"}


def natural_earth(lon: float, lat: float) -> tuple[float, float]:
    """Natural Earth I projection (Šavrič, Jenny, Patterson and Hurni, 2011), radians in, unit sphere out."""
    lam, phi = math.radians(lon), math.radians(lat)
    phi2 = phi * phi
    phi4 = phi2 * phi2
    x = lam * (0.8707 - 0.131979 * phi2 + phi4 * (-0.013791 + phi4 * (0.003971 * phi2 - 0.001529 * phi4)))
    y = phi * (1.007226 + phi2 * (0.015085 + phi4 * (-0.044475 + 0.028874 * phi2 - 0.005916 * phi4)))
    return x, y


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """TopoJSON's quantized, delta-encoded arcs as lists of (longitude, latitude)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring_points(ring: list[int], arcs: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for index in ring:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc if not points else arc[1:])  # each arc starts where the previous one ended
    return points


Point = tuple[float, float]


def _clip(ring: list[Point], keep) -> list[Point]:
    """Sutherland-Hodgman: ``ring`` cut to one side of a meridian (``keep(lon)`` -> (inside, edge longitude))."""
    out: list[Point] = []
    for index, current in enumerate(ring):
        previous = ring[index - 1]
        current_in, edge = keep(current[0])
        previous_in, _ = keep(previous[0])
        if current_in != previous_in:
            t = (edge - previous[0]) / (current[0] - previous[0])
            out.append((edge, previous[1] + t * (current[1] - previous[1])))
        if current_in:
            out.append(current)
    return out


def split_at_antimeridian(ring: list[Point]) -> list[list[Point]]:
    """Natural Earth's rings for Russia, Fiji and a few more jump from +180 to -180 longitude; drawn as they are,
    each jump is a stripe across the whole map. Such a ring is made continuous (longitudes beyond +-180) and cut
    into its part east of -180 and west of +180. Antarctica goes round the pole and is drawn as it is."""
    unwrapped = [ring[0]]
    for lon, lat in ring[1:]:
        previous = unwrapped[-1][0]
        lon += 360 * round((previous - lon) / 360)
        unwrapped.append((lon, lat))
    lons = [lon for lon, _ in unwrapped]
    if abs(unwrapped[-1][0] - unwrapped[0][0]) > 180 or (min(lons) >= -180 and max(lons) <= 180):
        return [ring]
    pieces = []
    for shift in (0, 360, -360):
        moved = [(lon + shift, lat) for lon, lat in unwrapped]
        piece = _clip(_clip(moved, lambda lon: (lon <= 180, 180)), lambda lon: (lon >= -180, -180))
        if len(piece) >= 3:
            pieces.append(piece)
    return pieces


def polygons(geometry: dict) -> list[list[list[int]]]:
    if geometry["type"] == "Polygon":
        return [geometry["arcs"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["arcs"]
    return []


class Projector:
    def __init__(self) -> None:
        left, _ = natural_earth(-180, 0)
        right, _ = natural_earth(180, 0)
        _, top = natural_earth(0, 90)
        _, bottom = natural_earth(0, -90)
        self.left, self.top = left, top
        self.scale = WIDTH / (right - left)
        self.height = round((top - bottom) * self.scale, 1)

    def __call__(self, lon: float, lat: float) -> tuple[int, int]:
        x, y = natural_earth(lon, lat)
        # Integer tenths: relative path steps then add up exactly, without drift.
        return round((x - self.left) * self.scale * PRECISION), round((self.top - y) * self.scale * PRECISION)


def _number(tenths: int) -> str:
    text = f"{tenths / PRECISION:.1f}".rstrip("0").rstrip(".")
    return text if text != "-0" else "0"


def ring_path(points: list[tuple[float, float]], project: Projector) -> str:
    projected: list[tuple[int, int]] = []
    for lon, lat in points:
        point = project(lon, lat)
        if not projected or point != projected[-1]:
            projected.append(point)
    if len(projected) > 1 and projected[0] == projected[-1]:
        projected.pop()  # "z" closes the ring
    if len(projected) < 3:
        return ""  # smaller than the map's precision
    (x0, y0), steps = projected[0], []
    previous = projected[0]
    for x, y in projected[1:]:
        steps.append(f"{_number(x - previous[0])} {_number(y - previous[1])}")
        previous = (x, y)
    return f"M{_number(x0)} {_number(y0)}l" + " ".join(steps) + "z"


def alpha2_for(geometry: dict) -> tuple[str, str]:
    """(alpha-2, numeric) of a world-atlas geometry; numeric is "" for the shapes without an ISO code."""
    numeric = geometry.get("id")
    if numeric is None:
        return NO_ISO_CODE[geometry["properties"]["name"]], ""
    country = pycountry.countries.get(numeric=numeric)
    if country is None:
        raise SystemExit(f"No ISO 3166-1 country with the numeric code {numeric} ({geometry['properties']})")
    return country.alpha_2, numeric


def build(topology: dict) -> dict:
    arcs = decode_arcs(topology)
    project = Projector()
    countries: dict[str, dict] = {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        alpha2, numeric = alpha2_for(geometry)
        rings = [
            ring_path(piece, project)
            for polygon in polygons(geometry)
            for ring in polygon
            for piece in split_at_antimeridian(ring_points(ring, arcs))
        ]
        entry = countries.setdefault(alpha2, {"name": geometry["properties"]["name"], "numeric": numeric, "d": ""})
        if numeric:  # a shape without a code (N. Cyprus) adds to its country but does not rename it
            entry["name"], entry["numeric"] = geometry["properties"]["name"], numeric
        entry["d"] += "".join(ring for ring in rings if ring)
    return {
        "source": "world-atlas 2.0.2 countries-110m.json (Natural Earth 4.1.0, public domain; ISC)",
        "projection": "Natural Earth I",
        "viewBox": f"0 0 {WIDTH:g} {project.height:g}",
        "countries": dict(sorted(countries.items())),
    }


def svg(world: dict) -> str:
    paths = "\n".join(
        f'<path id="country-{code}" data-iso="{code}" d="{entry["d"]}"><title>{entry["name"]}</title></path>'
        for code, entry in world["countries"].items()
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{world["viewBox"]}" fill="#c8d3dc" stroke="#fff"'
        f' stroke-width="0.4" fill-rule="evenodd">\n'
        f"<!-- {world['source']}; {world['projection']} projection -->\n{paths}\n</svg>\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("topojson", type=Path, help="world-atlas countries-110m.json")
    parser.add_argument("out_dir", type=Path, help="where countries-110m.json and .svg are written")
    args = parser.parse_args()
    world = build(json.loads(args.topojson.read_text()))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "countries-110m.json").write_text(json.dumps(world, separators=(",", ":"), ensure_ascii=False))
    (args.out_dir / "countries-110m.svg").write_text(svg(world))
    print(f"{len(world['countries'])} countries, viewBox {world['viewBox']}, written to {args.out_dir}")


if __name__ == "__main__":
    main()
