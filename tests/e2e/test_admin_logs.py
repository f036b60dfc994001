"""A company admin reads the Logs in a real browser: events in words, narrowed by action and by a date range,
then exported with the Export CSV button; the file holds exactly the filtered rows, and the export itself
shows up in the log. Screenshots at 1280 px wide: var/screenshots/admin-logs-all.png and admin-logs.png (filtered)."""

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from apps.accounts.services import group_create, user_update_roles
from apps.audit.models import AuditEvent
from apps.audit.services import Actor, audit_event_record
from apps.oauth.services import api_client_rotate_secret
from tests.e2e.test_admin_client_flow import log_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def logged_events(company, other_company, admin_user, plain_user, api_client, other_api_client):
    admin = Actor(user=admin_user, ip="192.0.2.10")
    api_client_rotate_secret(client=api_client, actor=admin)
    user_update_roles(user=plain_user, roles=["user", "monitor"], actor=admin)
    group_create(company=company, name="Research", actor=admin)
    old = audit_event_record(action="client.secret_rotated", company=company, actor=admin, target=api_client)
    AuditEvent.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=9))
    api_client_rotate_secret(client=other_api_client, actor=Actor.system())


def test_admin_filters_the_logs_and_exports_what_they_see(logged_events, admin_user, screenshots_dir, page):
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, admin_user.email)

    page.goto("/admin/audit/auditevent/")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 5  # the four events above and the admin's own login
    assert page.locator("#result_list td.field-what_happened").first.inner_text() == (
        "admin@acme.example logged in to the web admin"
    )
    page.screenshot(path=str(screenshots_dir / "admin-logs-all.png"), full_page=True)
    page.click("#changelist-filter a:text-is('Client secret rotated')")
    page.wait_for_url("**action=client.secret_rotated**")
    assert rows.count() == 2

    today = timezone.localdate().isoformat()
    page.fill("#audit-created_from", (timezone.localdate() - timedelta(days=1)).isoformat())
    page.fill("#audit-created_to", today)
    page.click("form.audit-date-range button[type=submit]")
    page.wait_for_url("**created_to=**")
    assert rows.count() == 1
    sentence = "admin@acme.example rotated the secret of the API client Acme integration (0 tokens revoked)"
    assert page.locator("#result_list td.field-what_happened").inner_text() == sentence
    assert page.locator("#result_list a.audit-target").inner_text() == "Acme integration"
    page.screenshot(path=str(screenshots_dir / "admin-logs.png"), full_page=True)

    with page.expect_download() as download_info:
        page.click("a.audit-export")
    download = download_info.value
    exported = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    assert download.suggested_filename.startswith("airisk-logs-acme-")
    assert [(row["action"], row["what happened"]) for row in exported] == [("client.secret_rotated", sentence)]

    page.goto("/admin/audit/auditevent/?action=audit.exported")
    assert (
        page.locator("#result_list td.field-what_happened")
        .inner_text()
        .startswith("admin@acme.example exported the logs as CSV (filters: action=client.secret_rotated, created_from=")
    )

    page.goto("/admin/audit/auditevent/")
    assert "Globex" not in page.content()
    page.click("#result_list a.audit-target:text-is('Acme integration')")
    page.wait_for_url("**/admin/oauth/apiuser/*/change/")
