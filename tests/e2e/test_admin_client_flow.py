"""A company admin issues API credentials in a real browser, and an integration uses them.

The admin logs in, registers an API client, copies the secret from the one-time page with its copy button,
and the test, acting as the integration, completes the published OAuth2 flow with that secret against the
live server and lists the company's users. Then the admin rotates the secret in the browser and the old
secret is refused with 401. Screenshots of the one-time page and the clients list go to var/screenshots/.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.e2e

REDIRECT_URI = "http://127.0.0.1:8765/callback"


def log_in(page, email: str) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


def copy_secret_from_one_time_page(page) -> tuple[str, str]:
    """What a person does: press "Copy secret", then paste. Returns (client id, pasted secret)."""
    page.wait_for_selector("#client-secret")
    page.click("#copy-secret")
    page.wait_for_selector("#copy-status:has-text('Copied')")
    pasted = page.evaluate("navigator.clipboard.readText()")
    assert pasted == page.input_value("#client-secret")
    return page.input_value("#client-id"), pasted


def register_client(page, name: str) -> tuple[str, str]:
    page.goto("/admin/oauth/apiuser/add/")
    page.fill("#id_name", name)
    page.fill("#id_redirect_uris", REDIRECT_URI)
    page.click("input[name=_save]")
    return copy_secret_from_one_time_page(page)


def rotate_secret(page, name: str) -> str:
    page.goto("/admin/oauth/apiuser/")
    page.click(f"#result_list a:text-is('{name}')")
    page.click("#rotate-secret")
    page.wait_for_selector("#confirm-rotate")
    page.click("#confirm-rotate")
    return copy_secret_from_one_time_page(page)[1]


def authorization_code(base_url: str, client_id: str) -> str:
    response = requests.get(
        f"{base_url}/api/oauth2",
        params={"client_id": client_id, "redirect_uri": REDIRECT_URI},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return parse_qs(location.query)["code"][0]


def token_response(base_url: str, client_id: str, secret: str, code: str) -> requests.Response:
    return requests.post(
        f"{base_url}/api/oauth2/Token",
        data={"client_id": client_id, "client_secret": secret, "redirect_uri": REDIRECT_URI, "code": code},
        timeout=10,
    )


def test_admin_issues_a_client_whose_secret_completes_the_oauth2_flow_and_rotation_retires_it(
    admin_user, plain_user, screenshots_dir, live_server, page
):
    base_url = live_server.url

    # given a company admin who registers an API client in the browser and copies its secret
    log_in(page, "admin@acme.example")
    client_id, secret = register_client(page, "Browser-made integration")
    assert "cannot be shown again" in page.inner_text("#secret-warning")
    page.screenshot(path=str(screenshots_dir / "admin-client-secret-once.png"), full_page=True)
    page.click("#done")
    page.wait_for_url("**/admin/oauth/apiuser/")
    assert client_id in page.content()
    assert secret not in page.content()

    # when the integration runs the published OAuth2 flow with the copied secret
    code = authorization_code(base_url, client_id)
    issued = token_response(base_url, client_id, secret, code)
    assert issued.status_code == 200, issued.text
    access_token = issued.json()["access_token"]
    assert issued.json()["expiration"]
    users = requests.get(
        f"{base_url}/api/Users/ListUsers", headers={"Authorization": f"Bearer {access_token}"}, timeout=10
    )

    # then it lists the company's users, and the admin sees the client's outstanding token
    assert users.status_code == 200, users.text
    assert {"admin@acme.example", "user@acme.example"} <= {user["email"] for user in users.json()["data"]}
    page.goto("/admin/oauth/apiuser/")
    assert page.inner_text("#result_list td.field-outstanding_tokens") == "1"
    assert secret not in page.content()
    page.screenshot(path=str(screenshots_dir / "admin-clients-list.png"), full_page=True)

    # when the admin rotates the secret in the browser
    new_secret = rotate_secret(page, "Browser-made integration")

    # then the old secret is refused, its token is revoked, and the new secret works
    assert new_secret != secret
    refused = token_response(base_url, client_id, secret, authorization_code(base_url, client_id))
    assert refused.status_code == 401
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert refused.json()["status"] == 401
    revoked = requests.get(
        f"{base_url}/api/Users/ListUsers", headers={"Authorization": f"Bearer {access_token}"}, timeout=10
    )
    assert revoked.status_code == 401
    accepted = token_response(base_url, client_id, new_secret, authorization_code(base_url, client_id))
    assert accepted.status_code == 200, accepted.text


def test_secret_is_shown_once_and_rotation_in_the_browser_shows_a_different_one(admin_user, live_server, page):
    # given an admin who registered a client and copied its secret
    log_in(page, "admin@acme.example")
    client_id, secret = register_client(page, "Shown once")

    # when the admin opens the client's pages again
    page.goto("/admin/oauth/apiuser/")
    list_html = page.content()
    page.click("#result_list a:text-is('Shown once')")
    page.wait_for_selector("#rotate-secret")
    change_html = page.content()

    # then the secret is on none of them, and rotating shows a new one, once
    assert client_id in list_html
    assert secret not in list_html
    assert secret not in change_html
    assert "cannot be shown" in change_html
    new_secret = rotate_secret(page, "Shown once")
    assert new_secret != secret
    assert len(new_secret) >= 43  # 256 bits, URL-safe base64
    page.click("text=View the client")
    page.wait_for_selector("#rotate-secret")
    assert new_secret not in page.content()
