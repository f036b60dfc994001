"""At 1280 px wide, the lists of API clients, issued tokens and logs show their useful columns without a
horizontal scroll, with realistic (long) names, addresses and URIs. Screenshots go to var/screenshots/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.services import Actor, audit_event_record
from apps.oauth.services import access_token_issue
from tests.e2e.test_admin_client_flow import log_in
from tests.factories import APIUserFactory

pytestmark = pytest.mark.e2e

LISTS = {
    "clients": ("/admin/oauth/apiuser/", ["created", "last used", "outstanding tokens", "active"]),
    "tokens": ("/admin/oauth/accesstoken/", ["expires", "status", "client", "user"]),
    "logs": ("/admin/audit/auditevent/", ["when", "what happened", "target", "outcome"]),
}


@pytest.fixture
def busy_company(company, admin_user, plain_user):
    """Clients with long names and several long redirect URIs, their tokens, and audit events with IPv6 IPs."""
    clients = [
        APIUserFactory(
            company=company,
            name=f"Customer-support assistant integration number {i} (production)",
            redirect_uris=",".join(
                f"https://integration-{i}.very-long-subdomain.customer-example.com/oauth/callback/{n}" for n in range(3)
            ),
        )
        for i in range(3)
    ]
    for client in clients:
        client.last_used_at = timezone.now() - timedelta(minutes=5)
        client.save(update_fields=["last_used_at"])
        access_token_issue(client=client, user=None)
        access_token_issue(client=client, user=plain_user)
    for _ in range(5):
        audit_event_record(
            action="client.secret_rotated",
            company=company,
            actor=Actor(ip="2001:0db8:85a3:0000:0000:8a2e:0370:7334", client=clients[0], user=admin_user),
            client=clients[0],
            user=plain_user,
            target=plain_user,
        )
    return company


@pytest.mark.parametrize("name", list(LISTS))
def test_admin_list_fits_1280_pixels_without_horizontal_scroll(busy_company, screenshots_dir, page, name):
    path, headers = LISTS[name]
    page.set_viewport_size({"width": 1280, "height": 800})

    log_in(page, "admin@acme.example")
    page.goto(path)
    page.wait_for_selector("#result_list")
    page.screenshot(path=str(screenshots_dir / f"admin-list-{name}-1280.png"))

    widths = page.evaluate(
        """() => {
            const results = document.querySelector('#changelist .results');
            const table = document.querySelector('#result_list');
            return {
                scroll: results.scrollWidth, client: results.clientWidth,
                tableRight: table.getBoundingClientRect().right, viewport: document.documentElement.clientWidth,
                page: document.documentElement.scrollWidth,
            };
        }"""
    )
    assert widths["scroll"] <= widths["client"], widths
    assert widths["tableRight"] <= widths["viewport"], widths
    assert widths["page"] <= widths["viewport"], widths
    shown = page.inner_text("#result_list thead").lower()
    assert all(header in shown for header in headers), shown
    if name == "logs":  # the caller's address stands under the time
        assert "from 2001:db8:85a3::8a2e:370:7334" in page.inner_text("#result_list tbody")
