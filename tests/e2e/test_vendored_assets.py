"""The vendored Chart.js and world map work in a real browser, served by the app itself (no CDN): Chart.js
draws a bar chart on a canvas, and the map's countries can be coloured by their ISO alpha-2 code.
Screenshot: var/screenshots/vendored-chart-and-map.png."""

import pytest

pytestmark = pytest.mark.e2e

CHART = "/static/vendor/chart.js-4.6.1/chart.umd.min.js"
MAP = "/static/vendor/world-atlas-2.0.2/countries-110m.svg"


def test_chartjs_draws_and_the_map_colours_a_country_from_local_files(db, live_server, screenshots_dir, page):
    outside = []
    page.on("request", lambda request: outside.append(request.url) if live_server.url not in request.url else None)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/healthz")
    page.set_content(
        '<div style="width:600px;height:300px"><canvas id="chart"></canvas></div><div id="map" style="width:960px">'
        "</div>"
    )
    page.add_script_tag(url=f"{live_server.url}{CHART}")

    version = page.evaluate("Chart.version")
    drawn = page.evaluate(
        """() => {
            const chart = new Chart(document.getElementById('chart'), {
                type: 'bar', options: {animation: false, responsive: false},
                data: {labels: ['Mon', 'Tue', 'Wed'], datasets: [{label: 'prompts', data: [3, 7, 5]}]},
            });
            return chart.getDatasetMeta(0).data.length;
        }"""
    )
    svg = page.evaluate(
        f"""async () => {{
            const text = await (await fetch('{live_server.url}{MAP}')).text();
            document.getElementById('map').innerHTML = text;
            document.querySelector('#map path[data-iso="FR"]').setAttribute('fill', '#d9480f');
            return document.querySelectorAll('#map path[data-iso]').length;
        }}"""
    )
    page.screenshot(path=str(screenshots_dir / "vendored-chart-and-map.png"), full_page=True)

    assert version == "4.6.1"
    assert drawn == 3
    assert svg == 175
    assert outside == []
