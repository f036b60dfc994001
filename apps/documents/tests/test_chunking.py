"""Chunking: passages of up to 1,200 characters at the strongest boundary, a small overlap inside paragraphs."""

import itertools

from apps.documents.chunking import MAX_CHARS, MIN_PARAGRAPH_CHARS, OVERLAP_CHARS, chunk_text


def sentences(count: int, word: str = "alpha") -> str:
    return " ".join(f"Sentence {n} speaks of {word} and more {word}." for n in range(count))


def test_chunks_are_exact_slices_within_the_size_window():
    text = "\n\n".join(sentences(12, f"topic{n}") for n in range(40))

    chunks = chunk_text(text)

    assert len(chunks) > 10
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert all(text[c.start : c.end] == c.text for c in chunks)
    assert all(MIN_PARAGRAPH_CHARS <= len(c.text) <= MAX_CHARS for c in chunks[:-1])
    assert chunks[-1].end == len(text)


def test_a_blank_line_is_preferred_to_a_sentence_end_and_such_chunks_do_not_overlap():
    # Paragraphs of ~750 characters: two do not fit in one chunk, and none is cut.
    paragraphs = [sentences(20, f"p{n}") for n in range(5)]
    text = "\n\n".join(paragraphs)

    chunks = chunk_text(text)

    assert 700 < len(paragraphs[0]) < 800
    assert [c.text for c in chunks] == paragraphs
    assert all(a.end < b.start for a, b in itertools.pairwise(chunks))


def test_a_cut_inside_a_paragraph_ends_at_a_sentence_and_the_next_chunk_overlaps_it():
    text = sentences(80)

    chunks = chunk_text(text)

    assert len(chunks) >= 3
    assert all(c.text.endswith(".") for c in chunks)
    for before, after in itertools.pairwise(chunks):
        assert 0 < before.end - after.start <= OVERLAP_CHARS
        assert after.text.startswith("Sentence")


def test_csv_rows_are_kept_whole():
    text = "\n".join(f"{n},customer {n},{n * 7}.50 EUR" for n in range(400))

    chunks = chunk_text(text)

    assert len(chunks) > 5
    for chunk in chunks:
        for row in chunk.text.split("\n"):
            assert row.count(",") == 2


def test_text_without_any_space_is_cut_hard_at_the_maximum():
    chunks = chunk_text("x" * 3000)

    assert [len(c.text) for c in chunks] == [1200, 1200, 600]


def test_chunks_carry_the_page_they_start_on():
    page_one, page_two = sentences(30, "one"), sentences(30, "two")
    text = f"{page_one}\n\n{page_two}"

    chunks = chunk_text(text, page_starts=(0, len(page_one) + 2))

    assert chunks[0].page == 1
    assert chunks[-1].page == 2
    assert all(c.page == (1 if c.start < len(page_one) else 2) for c in chunks)


def test_empty_text_gives_no_chunks_and_a_short_text_one():
    assert chunk_text("") == []
    assert chunk_text(" \n\n ") == []
    [only] = chunk_text("  Short note.  ")
    assert (only.text, only.start, only.end, only.page, only.token_estimate) == ("Short note.", 2, 13, None, 3)
