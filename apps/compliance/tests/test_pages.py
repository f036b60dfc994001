"""The compliance pages: the role matrix and two companies on every page, results and the conversation page,
saved searches, and the audit trail of every search, conversation view and export."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.audit.models import AuditEvent
from apps.compliance.models import SavedSearch

PAGES = [
    "/compliance/",
    "/compliance/?q=refund",
    "/compliance/saved/",
    "/compliance/export/?format=csv&q=refund",
]


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("who", ["admin_user", "monitor_user", "plain_user"])
def test_everyone_but_compliance_officers_gets_403(request, data, who, path):
    response = logged_in(request.getfixturevalue(who)).get(path)
    assert response.status_code == 403


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_goes_to_the_login_page(db, path):
    response = Client().get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("who", ["admin_user", "monitor_user", "plain_user"])
def test_conversation_page_is_compliance_only(request, data, who):
    response = logged_in(request.getfixturevalue(who)).get(f"/compliance/conversations/{data['refund'].public_id}/")
    assert response.status_code == 403


def test_search_page_starts_with_what_to_do(officer):
    response = logged_in(officer).get("/compliance/")
    assert response.status_code == 200
    assert b"Find what was said to your agents" in response.content
    assert not AuditEvent.objects.filter(action="compliance.searched").exists()


def test_search_shows_highlighted_escaped_results_and_audits_the_criteria(officer, data, company):
    response = logged_in(officer).get("/compliance/", {"q": "payroll", "hits": ["pii"], "run": "1"})
    assert response.status_code == 200
    assert b"No message matches" in response.content  # the payroll message has no pii hit
    response = logged_in(officer).get("/compliance/", {"q": "payroll"})
    body = response.content.decode()
    assert "<mark>payroll</mark>" in body
    assert "<script>alert" not in body and "&lt;b&gt;Payroll&lt;/b&gt;" in body
    assert f"/compliance/conversations/{data['hostile'].public_id}/" in body
    events = AuditEvent.objects.filter(action="compliance.searched", company=company).order_by("id")
    assert [e.detail["criteria"] for e in events] == [{"q": "payroll", "hits": ["pii"]}, {"q": "payroll"}]
    assert events.last().actor_user == officer and events.last().detail["results"] == 1


def test_results_partial_for_htmx_pushes_the_search_url(officer, data):
    response = logged_in(officer).get("/compliance/results/", {"q": "refund"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section id="results"')
    assert response["HX-Push-Url"] == "/compliance/?q=refund"


def test_invalid_criteria_say_so_without_searching(officer, data, other_user):
    response = logged_in(officer).get("/compliance/", {"user": other_user.userid, "date_from": "2026-02-31"})
    assert response.status_code == 200
    assert b"Some criteria are not valid" in response.content
    assert not AuditEvent.objects.filter(action="compliance.searched").exists()


def test_no_match_says_what_to_try(officer, data):
    response = logged_in(officer).get("/compliance/", {"q": "zebra"})
    assert b"No message matches this search" in response.content and b"refund*" in response.content


def test_conversation_page_shows_every_message_hit_and_cost_and_is_audited(officer, data, company):
    conversation = data["refund"]
    url = f"/compliance/conversations/{conversation.public_id}/"
    response = logged_in(officer).get(url, {"q": "refund", "message": data["refund_prompt"].public_id})
    body = response.content.decode()
    assert response.status_code == 200
    assert "4111 1111 1111 1111" in body  # compliance sees the text as written
    assert "pii · redact" in body
    assert "$0.0012" in body
    event = AuditEvent.objects.get(action="compliance.conversation_viewed")
    assert event.target_id == conversation.public_id and event.detail["criteria"] == {"q": "refund"}
    assert event.user == conversation.user and event.company == company


def test_conversation_page_escapes_message_html(officer, data):
    body = logged_in(officer).get(f"/compliance/conversations/{data['hostile'].public_id}/").content.decode()
    assert "<script>alert" not in body and "&lt;script&gt;alert" in body


def test_another_companys_conversation_is_404(officer, data, other_officer):
    assert logged_in(officer).get(f"/compliance/conversations/{data['other'].public_id}/").status_code == 404
    assert logged_in(officer).get("/compliance/conversations/nope/").status_code == 404
    assert logged_in(other_officer).get(f"/compliance/conversations/{data['refund'].public_id}/").status_code == 404


def test_other_company_officer_finds_only_their_own_company(other_officer, data):
    body = logged_in(other_officer).get("/compliance/", {"q": "refund"}).content.decode()
    assert "contractor payroll" in body and "conference" not in body


def test_save_a_search_and_run_it_again(officer, data, company):
    client = logged_in(officer)
    response = client.post("/compliance/saved/", {"name": "Card numbers", "q": "card", "hits": ["pii"]})
    assert response.status_code == 302 and response["Location"] == "/compliance/?q=card&hits=pii"
    search = SavedSearch.objects.get()
    assert (search.company, search.owner, search.criteria) == (company, officer, {"q": "card", "hits": ["pii"]})
    assert AuditEvent.objects.filter(action="compliance.search_saved", target_id=search.public_id).exists()
    listing = client.get("/compliance/saved/").content.decode()
    assert "Card numbers" in listing and 'href="/compliance/?q=card&amp;hits=pii"' in listing
    again = client.post("/compliance/saved/", {"name": "Card numbers", "q": "other"}, follow=True)
    assert "already have a saved search" in again.content.decode()


def test_saved_search_shared_with_colleagues_only_the_owner_changes_it(officer, second_officer, other_officer, data):
    client = logged_in(officer)
    client.post("/compliance/saved/", {"name": "Mine", "q": "refund"})
    search = SavedSearch.objects.get()
    assert "Mine" not in logged_in(second_officer).get("/compliance/saved/").content.decode()
    client.post(f"/compliance/saved/{search.public_id}/share/", {"shared": "on"})
    assert "Mine" in logged_in(second_officer).get("/compliance/saved/").content.decode()
    assert "Mine" not in logged_in(other_officer).get("/compliance/saved/").content.decode()
    # a colleague may run it but not delete it; another company's officer does not find it
    assert logged_in(second_officer).post(f"/compliance/saved/{search.public_id}/delete/").status_code == 404
    assert logged_in(other_officer).post(f"/compliance/saved/{search.public_id}/delete/").status_code == 404
    assert client.post(f"/compliance/saved/{search.public_id}/delete/").status_code == 302
    assert not SavedSearch.objects.exists()
    assert AuditEvent.objects.filter(action="compliance.search_deleted").count() == 1


def test_saved_searches_page_empty_state(officer):
    assert b"No saved searches yet" in logged_in(officer).get("/compliance/saved/").content


def test_navigation_shows_compliance_to_officers_only(officer, admin_user):
    assert b'id="nav-compliance"' in logged_in(officer).get("/compliance/").content
    assert b'id="nav-compliance"' not in logged_in(admin_user).get("/chat/").content
