"""A prompt becomes words, and words become a query that no prompt can turn into syntax."""

import pytest

from apps.documents.search import MAX_TERMS, fts5_match, query_terms, websearch_query

INJECTIONS = ["foo OR", '"', 'say "hi', "NEAR(", "NEAR(a b", "*", "foo*", "-", "-foo", "'; drop table x; --", "a:b"]


def test_terms_are_lowercased_words_without_stop_words_or_duplicates():
    assert query_terms("What is the NOTICE period? The notice, please!") == ["notice", "period"]


def test_unicode_words_and_numbers_are_kept_and_punctuation_dropped():
    assert query_terms("Größe: 30 Tage — délai") == ["größe", "30", "tage", "délai"]


def test_the_number_of_terms_is_bounded():
    assert len(query_terms(" ".join(f"word{n}" for n in range(100)))) == MAX_TERMS


@pytest.mark.parametrize("query", INJECTIONS)
def test_query_syntax_characters_never_reach_a_query(query):
    for term in query_terms(query):
        assert term.isalnum()


def test_fts5_expression_quotes_every_word_and_document():
    expression = fts5_match(["near", "or"], [12, 7])

    assert expression == 'document_id : ("12" OR "7") AND text : ("near" OR "or")'
    assert fts5_match(["a1"]) == 'text : ("a1")'


def test_websearch_input_ors_the_words():
    assert websearch_query(["notice", "period"]) == "notice or period"
