"""A compliance officer in a real browser: log in, search (htmx swaps the results in, the address bar keeps the
search), see the matched words highlighted and the message's HTML shown as text, open the conversation, save the
search and run it from Saved searches, and export the results as CSV (the download holds the matching rows).
Screenshots: var/screenshots/compliance-*.png."""

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.utils import timezone

from apps.chat.models import MessageType
from apps.compliance.tests.conftest import conversation_with, hit
from tests.e2e.test_csp_browser import watch_csp
from tests.factories import DEFAULT_PASSWORD, AgentFactory, UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def corpus(company, other_company):
    officer = UserFactory(
        company=company, email="officer@acme.example", name="Olga Officer", roles=["compliance", "user"]
    )
    dana = UserFactory(company=company, email="dana@acme.example", name="Dana", roles=["user"])
    agent = AgentFactory(company=company, name="HR assistant")
    legal = AgentFactory(company=company, name="Legal helper")
    refund = conversation_with(
        company,
        dana,
        agent,
        [
            (MessageType.USER, "Can I get a refund for the conference ticket? My card is 4111 1111 1111 1111."),
            (MessageType.AI, "Refunds for conference tickets are approved by your manager within 5 days."),
        ],
        title="Conference refund",
        when=timezone.now() - dt.timedelta(days=2),
        has_flag=True,
    )
    hit(refund.messages.order_by("created").first(), "pii", "redact")
    conversation_with(
        company,
        dana,
        legal,
        [
            (MessageType.USER, "<b>Urgent</b>: may I ask for a refund of the <i>contractor</i> invoice?"),
            (MessageType.AI, "Contractor invoices are refunded only after the legal review."),
        ],
        title="Contractor invoice",
        when=timezone.now() - dt.timedelta(hours=5),
    )
    conversation_with(company, officer, agent, [(MessageType.USER, "What is the travel budget?")], title="Travel")
    other = UserFactory(company=other_company, email="x@globex.example", roles=["user"])
    conversation_with(other_company, other, AgentFactory(company=other_company), [(MessageType.USER, "refund please")])
    return {"officer": officer, "refund": refund}


def log_in(page, email: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_url("**/chat/**")


def test_officer_searches_reads_saves_and_exports(corpus, page, screenshots_dir):
    violations = watch_csp(page)
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, "officer@acme.example")
    page.click("#nav-compliance")
    page.wait_for_url("**/compliance/")
    assert page.is_visible("#results-start")
    page.screenshot(path=str(screenshots_dir / "compliance-start.png"), full_page=True)

    # search: htmx replaces the results, the address bar keeps the search
    page.fill("#id_q", "refund*")
    page.click("#run-search")
    page.wait_for_selector("#results-table")
    page.wait_for_url("**/compliance/?**q=refund*")
    rows = page.locator("#results-table tbody tr")
    assert rows.count() == 4
    assert page.inner_text("#results-count").startswith("4 messages found")
    marks = page.locator("#results-table mark")
    assert marks.count() >= 4 and {m.lower()[:6] for m in marks.all_inner_texts()} == {"refund"}
    # the message's own HTML is text, never markup
    assert "<b>Urgent</b>" in page.inner_text("#results-table") or "Urgent" in page.inner_text("#results-table")
    assert page.locator("#results-table b, #results-table i").count() == 0
    page.screenshot(path=str(screenshots_dir / "compliance-results.png"), full_page=True)

    # filters: only messages a PII scanner hit
    page.check("input[name=hits][value=pii]")
    page.click("#run-search")
    page.wait_for_function("() => document.querySelectorAll('#results-table tbody tr').length === 1")
    assert "pii · redact" in page.inner_text("#results-table")

    # open the conversation: every message, the hit, the cost
    page.click("#results-table a:text('Open conversation')")
    page.wait_for_url("**/compliance/conversations/**")
    assert page.inner_text("h1") == "Conference refund"
    assert page.locator("#messages article").count() == 2
    assert "4111 1111 1111 1111" in page.inner_text("#messages")
    assert page.locator("#messages .badge-hit").count() == 1
    page.screenshot(path=str(screenshots_dir / "compliance-conversation.png"), full_page=True)
    page.click("#back-to-results")
    page.wait_for_selector("#results-table")

    # save the search, then run it from Saved searches
    page.fill("#save-name", "Card numbers in refunds")
    page.click("#save-submit")
    page.wait_for_selector(".messages li.success")
    page.click("#tab-saved")
    page.wait_for_url("**/compliance/saved/")
    assert "Card numbers in refunds" in page.inner_text("#saved-table")
    page.screenshot(path=str(screenshots_dir / "compliance-saved.png"), full_page=True)
    page.click("#saved-table a:text('Run')")
    page.wait_for_selector("#results-table")
    assert page.input_value("#id_q") == "refund*" and page.is_checked("input[name=hits][value=pii]")
    assert rows.count() == 1

    # export as CSV: the download holds the matching rows
    with page.expect_download() as download_info:
        page.click("#export-csv")
    download = download_info.value
    assert download.suggested_filename.startswith("airisk-compliance-acme-") and download.suggested_filename.endswith(
        ".csv"
    )
    exported = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    assert [(row["conversation title"], row["scanner hits"]) for row in exported] == [
        ("Conference refund", "pii:redact")
    ]
    assert exported[0]["text"].startswith("Can I get a refund")

    # empty state of a search without matches
    page.fill("#id_q", "zebra")
    page.click("#run-search")
    page.wait_for_selector("#results-empty")
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto("/compliance/?q=refund*")
    page.screenshot(path=str(screenshots_dir / "compliance-results-375.png"), full_page=True)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    assert violations == []
