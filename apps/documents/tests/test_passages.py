"""passages_for: the right chunks of exactly the given documents, within the budget, whatever the query."""

import pytest

from apps.documents.search import FTS5_DOCUMENT_FILTER_MAX
from apps.documents.selectors import Passage, passages_for
from apps.documents.services import document_create
from apps.documents.tests.files import make_pdf
from apps.documents.tests.test_search import INJECTIONS

FILLER = "The committee met on a Tuesday and reviewed the minutes of the previous meeting without changes. "
TERMINATION = "Either party may terminate this agreement with ninety days written notice to the other party."
PAYMENT = "Invoices are payable within thirty days of receipt by bank transfer in euros."


def text_document(company, actor, name: str, special: str = "", at: int = 5, paragraphs: int = 12):
    parts = [(FILLER * 8).strip() for _ in range(paragraphs)]
    if special:
        parts[at] = f"{(FILLER * 3).strip()} {special} {(FILLER * 3).strip()}"
    return document_create(company=company, actor=actor, name=name, content="\n\n".join(parts).encode())


@pytest.fixture
def contract(company, actor):
    return text_document(company, actor, "contract.txt", TERMINATION, at=7)


@pytest.fixture
def billing(company, actor):
    return text_document(company, actor, "billing.txt", PAYMENT, at=3)


def test_the_chunk_that_answers_the_question_comes_first(contract, billing, company):
    passages = passages_for(
        company=company,
        documents=[billing, contract],
        query="How much notice is needed to terminate the agreement?",
        budget_chars=5000,
        limit=3,
    )

    assert passages[0].document_id == contract.public_id
    assert passages[0].filename == "contract.txt"
    assert TERMINATION in passages[0].text
    assert passages[0].ordinal == contract.chunks.get(text__contains=TERMINATION).ordinal
    assert passages[0].score > 0
    assert all(PAYMENT not in p.text for p in passages)


def test_other_words_reach_the_other_document(contract, billing, company):
    [best, *_] = passages_for(
        company=company, documents=[contract, billing], query="When are invoices payable?", budget_chars=3000, limit=2
    )

    assert (best.document_id, PAYMENT in best.text) == (billing.public_id, True)


def test_stemming_matches_other_forms_of_a_word(contract, company):
    [best, *_] = passages_for(
        company=company, documents=[contract], query="termination notices", budget_chars=2000, limit=1
    )

    assert TERMINATION in best.text


def test_pdf_passages_carry_their_page(company, actor):
    pdf = make_pdf([FILLER * 10, FILLER * 5 + TERMINATION, FILLER * 10])
    document = document_create(company=company, actor=actor, name="signed.pdf", content=pdf)

    [best] = passages_for(company=company, documents=[document], query="terminate", budget_chars=2000, limit=1)

    assert best.page == 2
    assert best.as_citation() == {
        "documentId": document.public_id,
        "fileName": "signed.pdf",
        "chunk": best.ordinal,
        "page": 2,
        "text": best.text,
        "score": round(best.score, 6),
    }


@pytest.mark.parametrize("budget", [1500, 2500, 4000])
def test_passages_stay_within_the_character_budget(contract, company, budget):
    passages = passages_for(
        company=company, documents=[contract], query="committee meeting minutes", budget_chars=budget, limit=10
    )

    assert passages
    assert sum(len(p.text) for p in passages) <= budget
    assert len(passages) >= budget // 1200


def test_the_limit_caps_the_number_of_passages(contract, company):
    passages = passages_for(company=company, documents=[contract], query="committee", budget_chars=100_000, limit=2)

    assert len(passages) == 2


def test_a_budget_smaller_than_any_chunk_gets_the_best_chunk_shortened(contract, company):
    [only] = passages_for(company=company, documents=[contract], query="terminate", budget_chars=120, limit=3)

    assert 60 < len(only.text) <= 120
    assert contract.chunks.get(pk=only.chunk_id).text.startswith(only.text)


@pytest.mark.parametrize("query", ["", "   ", "the of and", "zebra xylophone", "?!"])
def test_without_matching_words_the_first_chunks_of_each_document_are_used_in_turn(contract, billing, company, query):
    passages = passages_for(company=company, documents=[contract, billing], query=query, budget_chars=3000, limit=4)

    assert [(p.document_id, p.ordinal) for p in passages][:2] == [(contract.public_id, 0), (billing.public_id, 0)]
    assert {p.score for p in passages} == {0.0}
    assert sum(len(p.text) for p in passages) <= 3000


def test_another_companys_documents_are_never_read_even_when_passed(company, other_company, actor, contract):
    theirs = text_document(other_company, actor, "theirs.txt", TERMINATION, at=2)

    mixed = passages_for(company=company, documents=[theirs, contract], query="terminate", budget_chars=9000, limit=9)
    only_theirs = passages_for(company=company, documents=[theirs], query="terminate", budget_chars=9000, limit=9)
    fallback = passages_for(company=company, documents=[theirs], query="", budget_chars=9000, limit=9)

    assert {p.document_id for p in mixed} == {contract.public_id}
    assert only_theirs == fallback == []


def test_no_company_reads_nothing(contract):
    assert passages_for(company=None, documents=[contract], query="terminate", budget_chars=9000, limit=9) == []


def test_documents_not_passed_are_not_searched(contract, billing, company):
    passages = passages_for(company=company, documents=[billing], query="terminate", budget_chars=9000, limit=9)

    assert {p.document_id for p in passages} == {billing.public_id}


@pytest.mark.parametrize("query", [*INJECTIONS, 'terminate" OR "invoices', "terminate AND NOT", "text:invoices", "^x"])
def test_query_syntax_in_the_prompt_is_never_an_error(contract, company, query):
    passages = passages_for(company=company, documents=[contract], query=query, budget_chars=3000, limit=3)

    assert all(isinstance(p, Passage) for p in passages)
    assert passages  # a match or the fallback, never nothing for a ready document


def test_nothing_is_asked_for_nothing(contract, company):
    assert passages_for(company=company, documents=[], query="terminate", budget_chars=3000, limit=3) == []
    assert passages_for(company=company, documents=[contract], query="terminate", budget_chars=0, limit=3) == []
    assert passages_for(company=company, documents=[contract], query="terminate", budget_chars=3000, limit=0) == []


def test_many_documents_at_once_still_rank_only_the_companys_own(company, other_company, actor):
    notes = [
        document_create(company=company, actor=actor, name=f"note-{n}.txt", content=f"Note {n} on gardening.".encode())
        for n in range(FTS5_DOCUMENT_FILTER_MAX + 5)
    ]
    target = document_create(company=company, actor=actor, name="target.txt", content=TERMINATION.encode())
    theirs = document_create(company=other_company, actor=actor, name="theirs.txt", content=TERMINATION.encode())

    passages = passages_for(
        company=company, documents=[*notes, theirs, target], query="terminate", budget_chars=9000, limit=9
    )

    assert [p.document_id for p in passages] == [target.public_id]
