"""Creating a Search: the text syntax and every filter, on the database the suite runs on (CI runs it on both
PostgreSQL and SQLite; so does `make test` with DATABASE_URL)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from apps.chat.models import Message, MessageType
from apps.compliance.search import parse
from apps.compliance.selectors import Criteria, highlight_html, message_search, search_page
from tests.factories import UserFactory

from .conftest import conversation_with, hit


def found(company, **criteria) -> list[str]:
    return [m.text for m in message_search(company=company, criteria=Criteria(**criteria))]


def test_all_words_must_match_and_stemming_relates_word_forms(company, data):
    assert found(company, text="refund conference") == [
        "Refunds for conference tickets are approved by your manager.",
        "Can I get a refund for the conference ticket? My card is 4111 1111 1111 1111.",
    ]
    assert found(company, text="refund contractor") == []


def test_quoted_phrase_needs_the_words_in_a_row(company, data):
    assert len(found(company, text='"terms of service"')) == 2
    assert found(company, text='"service terms"') == []


def test_prefix_matches_words_that_begin_so(company, data):
    texts = found(company, text="contract*")
    assert len(texts) == 2 and all("contractor" in text for text in texts)


def test_results_are_newest_first_and_never_another_companys(company, other_company, data):
    texts = found(company, text="refund")
    assert len(texts) == 2
    assert found(other_company, text="refund") == ["Can I get a refund for the contractor payroll?"]


@pytest.mark.parametrize(
    "text",
    [
        '"unbalanced phrase',
        "refund OR NOT",
        "text: (refund",
        "NEAR(refund conference)",
        "-refund",
        "refund*:*",
        "'; DROP TABLE chat_message; --",
        "\\ ^ $ % _ & | ! ( ) < > {}",
        "x\x00y refund",
        "🙂 réfund",
        "a" * 2000,
        "*",
        '""',
    ],
)
def test_malformed_text_never_errors(company, data, text):
    page = search_page(company=company, criteria=Criteria(text=text), page=1, page_size=10)
    assert page.total >= 0


def test_operators_of_the_databases_are_plain_words(company, data):
    # "OR" is not an operator: it is dropped like any other common word, and both words must still match.
    assert found(company, text="refund OR contractor") == []
    # An unbalanced quote runs to the end of the text.
    assert len(found(company, text='"terms of service')) == 2


def test_a_text_without_searchable_words_finds_nothing_and_says_so(company, data):
    page = search_page(company=company, criteria=Criteria(text="the !!! of"), page=1, page_size=10)
    assert page.rows == [] and page.searchable is False


def test_no_text_filters_only(company, data):
    assert len(found(company)) == 5


def test_filter_by_user(company, data, admin_user):
    assert found(company, user=admin_user) == [
        "The terms of service limit liability; the contractor keeps the copyright.",
        "Summarize the contractor agreement and the terms of service.",
    ]


def test_filter_by_group_members(company, data, plain_user):
    texts = found(company, group=data["group"])
    assert len(texts) == 3
    assert all(
        m.conversation.user == plain_user
        for m in message_search(company=company, criteria=Criteria(group=data["group"]))
    )


def test_filter_by_agent(company, data):
    assert len(found(company, agent=data["second_agent"])) == 2
    assert found(company, agent=data["second_agent"], text="refund") == []


def test_filter_by_date_range_in_the_company_time_zone(company, data):
    today = timezone.localdate()
    two_days_ago = today - dt.timedelta(days=2)
    assert len(found(company, date_from=two_days_ago)) == 3  # the contract and the hostile message
    assert len(found(company, date_to=two_days_ago)) == 2  # the refund conversation, three days ago
    assert found(company, date_from=today + dt.timedelta(days=1)) == []


def test_filter_by_scanner_hit_kind(company, data):
    assert found(company, hits=("pii",)) == [data["refund_prompt"].text]
    assert found(company, hits=("toxicity", "topic")) == []
    hit(data["contract_answer"], "toxicity", direction="answer")
    assert found(company, hits=("toxicity", "topic")) == [data["contract_answer"].text]


def test_flagged_only_is_messages_hit_or_in_flagged_conversations(company, data):
    assert len(found(company, flagged=True)) == 2  # both messages of the flagged refund conversation
    hit(data["contract_answer"], "topic", direction="answer")
    assert len(found(company, flagged=True)) == 3


def test_filter_by_feedback(company, data):
    assert found(company, feedback="Like") == [data["refund_answer"].text]
    assert found(company, feedback="Dislike") == [data["contract_answer"].text]


def test_a_hit_of_another_company_never_matches_a_message(company, data, other_company):
    # B's hit names B's message; A's filters look at A's hits only.
    assert all(m.company_id == company.pk for m in message_search(company=company, criteria=Criteria(hits=("pii",))))


def test_page_highlights_matches_and_escapes_the_message_html(company, data):
    page = search_page(company=company, criteria=Criteria(text="payroll"), page=1, page_size=10)
    (row,) = page.rows
    assert "<mark>payroll</mark>" in row.snippet
    assert "<script" not in row.snippet and "</script" not in row.snippet and "&lt;/script&gt;" in row.snippet


def test_page_without_text_shows_an_escaped_excerpt(company, data):
    page = search_page(company=company, criteria=Criteria(user=data["hostile"].user), page=1, page_size=1)
    assert "<script" not in page.rows[0].snippet and "<mark>" not in page.rows[0].snippet


def test_highlight_markers_are_balanced_whatever_the_text_holds():
    assert highlight_html("a\x02<b>\x02c\x03\x03 d\x02e") == "a<mark>&lt;b&gt;c</mark> d<mark>e</mark>"


def test_rank_order_puts_the_best_match_first(company, data):
    conversation_with(
        company,
        data["refund"].user,
        data["refund"].agent,
        [(MessageType.USER, "liability liability liability and more liability")],
        when=timezone.now() - dt.timedelta(days=5),
    )
    newest = search_page(company=company, criteria=Criteria(text="liability"), page=1, page_size=10)
    ranked = search_page(company=company, criteria=Criteria(text="liability", order="rank"), page=1, page_size=10)
    assert [row.message.text[:9] for row in newest.rows] == ["The terms", "liability"]
    assert [row.message.text[:9] for row in ranked.rows] == ["liability", "The terms"]
    assert ranked.rows[0].score > ranked.rows[1].score


def test_pages_and_capped_counts(company, data, agent):
    user = UserFactory(company=company, roles=["user"])
    conversation_with(company, user, agent, [(MessageType.USER, f"budget line {n}") for n in range(7)])
    first = search_page(company=company, criteria=Criteria(text="budget"), page=1, page_size=3)
    third = search_page(company=company, criteria=Criteria(text="budget"), page=3, page_size=3)
    # a text search with fewer than EXACT_BELOW matches is counted exactly
    assert (first.total, first.total_is_lower_bound, first.has_next, first.total_pages) == (7, False, True, 3)
    # other searches read one row past the page instead of counting every match
    everything = search_page(company=company, criteria=Criteria(user=user), page=1, page_size=3)
    assert (everything.total, everything.total_is_lower_bound, everything.has_next) == (4, True, True)
    last = search_page(company=company, criteria=Criteria(user=user), page=3, page_size=3)
    assert (last.total, last.total_is_lower_bound, last.has_next) == (7, False, False)
    assert [row.message.text for row in third.rows] == ["budget line 0"]
    assert (third.total, third.total_is_lower_bound, third.has_next) == (7, False, False)


def test_edited_and_deleted_messages_leave_the_index(company, data):
    message = data["contract_answer"]
    Message.objects.filter(pk=message.pk).update(text="Nothing about that here.")
    assert found(company, text="copyright") == []
    assert found(company, text="nothing") == ["Nothing about that here."]
    data["refund"].delete()
    assert found(company, text="refund") == []


def test_parse_reads_words_phrases_and_prefixes():
    query = parse('Refund "credit  card" contract* the -x OR')
    assert [(p.words, p.prefix) for p in query.parts] == [
        (("refund",), False),
        (("credit", "card"), False),
        (("contract",), True),
        (("x",), False),
    ]
    assert query.fts5() == '"refund" AND "credit card" AND "contract" * AND "x"'
    assert query.prefix_tsquery() == "('contract':*)"
    assert not parse("the of and")


def test_the_message_index_is_in_place_on_this_database(company, data):
    """SQLite: the FTS5 table's triggers keep it current. PostgreSQL: text searches use the GIN index."""
    from apps.compliance.search import PG_DOCUMENT

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'chat_message'")
            names = {row[0] for row in cursor.fetchall()}
            assert {
                "compliance_message_fts_insert",
                "compliance_message_fts_delete",
                "compliance_message_fts_update",
            } <= names
            return
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            f"EXPLAIN SELECT id FROM chat_message WHERE {PG_DOCUMENT} @@ websearch_to_tsquery('english', 'refund')"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "compliance_message_text_search" in plan
