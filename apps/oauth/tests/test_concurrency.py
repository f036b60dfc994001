"""Of concurrent exchanges of one code, exactly one gets a token (the code is consumed atomically)."""

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import requests

from apps.oauth.models import AccessToken

from .conftest import REDIRECT_URI


def test_eight_concurrent_exchanges_of_one_code_yield_exactly_one_token(concurrent_live_server, api_client):
    location = requests.get(
        f"{concurrent_live_server.url}/api/oauth2",
        params={"client_id": api_client.client_id, "redirect_uri": REDIRECT_URI},
        allow_redirects=False,
    ).headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    body = {"client_id": api_client.client_id, "client_secret": api_client.plain_secret, "code": code}

    def exchange(_):
        return requests.post(f"{concurrent_live_server.url}/api/oauth2/Token", data=body, timeout=30)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(exchange, range(8)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * 7
    assert {r.text for r in responses if r.status_code == 400} == {"Invalid Code"}
    assert AccessToken.objects.filter(client=api_client).count() == 1
