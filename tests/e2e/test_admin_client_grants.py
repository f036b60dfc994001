"""A company admin gives and takes a client's grants in a real browser; the integration's token follows at once.

The admin registers a client, ticks ``users:write`` next to the default grants (each checkbox shows what the
grant allows), and the integration creates a user with the client's generic token. The admin then unticks the
grant on the client's page and the same token is refused with 403 naming the grant. Screenshots of the add form,
the one-time page and the clients list go to var/screenshots/.
"""

import pytest
import requests

from tests.e2e.test_admin_client_flow import authorization_code, copy_secret_from_one_time_page, log_in, token_response

pytestmark = pytest.mark.e2e

REDIRECT_URI = "http://127.0.0.1:8765/callback"


def create_user(base_url: str, token: str, email: str) -> requests.Response:
    return requests.post(
        f"{base_url}/api/Users/CreateUser",
        json={"email": email, "name": "Made by the integration"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_admin_grants_users_write_in_the_browser_and_taking_it_away_stops_the_token(
    admin_user, screenshots_dir, live_server, page
):
    base_url = live_server.url

    # given an admin on the add form, where the default grants are ticked and each says what it allows
    log_in(page, "admin@acme.example")
    page.goto("/admin/oauth/apiuser/add/")
    ticked = page.eval_on_selector_all("input[name=grants]:checked", "boxes => boxes.map(b => b.value)")
    assert ticked == ["users:read", "chat", "agents:read"]
    assert "Create and delete users" in page.inner_text("label[for=id_grants_1]")
    page.fill("#id_name", "HR sync")
    page.fill("#id_redirect_uris", REDIRECT_URI)
    page.check("input[name=grants][value='users:write']")
    page.locator("fieldset:has(#id_grants)").screenshot(path=str(screenshots_dir / "admin-client-grants-form.png"))

    # when the admin saves, and the integration gets a generic token with the copied secret
    page.click("input[name=_save]")
    client_id, secret = copy_secret_from_one_time_page(page)
    assert page.inner_text("#client-grants").split() == [
        "Read", "users", "and", "groups", "users:read",
        "Write", "users", "and", "groups", "users:write",
        "Chat", "chat",
        "Read", "agents", "agents:read",
    ]  # fmt: skip
    page.screenshot(path=str(screenshots_dir / "admin-client-grants-secret-once.png"), full_page=True)
    token = token_response(base_url, client_id, secret, authorization_code(base_url, client_id)).json()["access_token"]
    created = create_user(base_url, token, "first@acme.example")

    # then it may create users
    assert created.status_code == 201, created.text

    # when the admin unticks users:write on the client's page
    page.goto("/admin/oauth/apiuser/")
    assert "users:write" in page.inner_text("#result_list td.field-grant_lines")
    page.screenshot(path=str(screenshots_dir / "admin-clients-list-grants.png"), full_page=True)
    page.click("#result_list a:text-is('HR sync')")
    page.uncheck("input[name=grants][value='users:write']")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/oauth/apiuser/")

    # then the same token is refused at once, naming the grant, while reading still works
    refused = create_user(base_url, token, "second@acme.example")
    assert refused.status_code == 403
    assert refused.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="users:write"'
    assert "'users:write' grant" in refused.json()["detail"]
    listed = requests.get(f"{base_url}/api/Users/ListUsers", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert listed.status_code == 200
    assert "second@acme.example" not in listed.text
