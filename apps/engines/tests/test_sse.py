"""The server-sent events splitter and the JSON decoding of events, against plain reference implementations: the
same events and errors for a body fed in one piece, split at every byte, or in random pieces."""

import json
import random

import pytest

from apps.engines.base import EngineError
from apps.engines.transport import MAX_FRAME_BYTES, SSEParser, decode_json


def reference_events(body: bytes) -> tuple[list[bytes], str | None]:
    """The SSE rules the adapters rely on, line by line and nothing clever: the events, then the error."""
    events, data = [], []
    *lines, rest = body.split(b"\n")
    for raw in lines:
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if not line:
            if data:
                events.append(b"\n".join(data))
                data = []
        elif line.startswith(b"data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(b" ") else value)
        elif not line.startswith((b"event:", b"id:", b"retry:", b":")):
            return events, "not an event stream"
    if rest.strip() or data:
        return events, "ended in the middle of an event"
    return events, None


def parse(pieces: list[bytes]) -> tuple[list[bytes], str | None]:
    parser = SSEParser()
    events = []
    for piece in pieces:
        events += parser.feed(piece)
        if parser.error is not None:
            return events, parser.error.message.split("answer is ")[-1].removeprefix("an ")
    try:
        parser.close(cut=False)
    except EngineError as error:
        return events, error.message.split("stream ")[-1]
    return events, None


BODIES = [
    b'data: {"a":1}\n\ndata: {"a":2}\n\ndata: [DONE]\n\n',
    b'data: {"a":1}\r\n\r\ndata: {"a":2}\r\n\r\n',  # Gemini's CRLF
    b"data: one\ndata: two\n\n",  # two data lines: one event joined with LF
    b"data:no-space\n\ndata:  two spaces\n\n",
    b": keep-alive comment\nevent: delta\nid: 7\nretry: 100\ndata: x\n\n",
    b"data: \n\ndata:\n\n",  # empty data
    b"data: x\r\n\ndata: y\n\r\n",  # mixed line ends
    b"data: a\rb\n\n",  # a CR inside a line is kept
    b"\n\n\ndata: late\n\n",  # blank lines with no event
    b'data: {"a":1}\n\n<html>oops</html>\n\n',  # garbage after an event
    b"<html>\n",
    b"data: cut in the middle",
    b"data: no blank line\n",
    b"data: a\n\ndata: b\n\n" * 5 + b"data: c\r\n\r\n" * 5,
]


@pytest.mark.parametrize("body", BODIES)
def test_events_are_the_same_in_one_piece_and_split_at_every_byte(body):
    expected = reference_events(body)
    assert parse([body]) == expected
    for cut in range(1, len(body)):
        assert parse([body[:cut], body[cut:]]) == expected, cut
    assert parse([bytes([byte]) for byte in body]) == expected


def test_random_pieces_of_a_long_stream_give_every_event():
    rng = random.Random(3)
    frames = [b'data: {"n":%d,"t":"tok \\u00e9"}%s' % (n, rng.choice([b"\n\n", b"\r\n\r\n"])) for n in range(500)]
    body = b"".join(frames)
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(body)), 60))
        pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        events, error = parse(pieces)
        assert error is None
        assert [json.loads(event)["n"] for event in events] == list(range(500))


def test_the_events_before_garbage_come_first_then_the_error():
    parser = SSEParser()

    events = parser.feed(b"data: 1\n\ndata: 2\n\nHTTP/1.1 502 Bad Gateway\n\ndata: 3\n\n")

    assert events == [b"1", b"2"]
    assert parser.error.kind == "provider_error"
    assert parser.feed(b"data: 4\n\n") == []
    with pytest.raises(EngineError):
        parser.close(cut=True)


def test_an_over_long_line_is_an_error_and_a_cut_stream_is_not():
    parser = SSEParser()
    parser.feed(b"data: " + b"x" * MAX_FRAME_BYTES)
    assert "over-long" in parser.error.message

    cut = SSEParser()
    assert cut.feed(b"data: 1\n\ndata: half") == [b"1"]
    cut.close(cut=True)  # the adapter finishes with what it has
    with pytest.raises(EngineError, match="middle of an event"):
        cut.close(cut=False)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": [1, 2.5, "x\\u00e9", null, true]}',
        " {}",
        "{} ",
        "\t[1]\n",
        '"just a string"',
        "42",
        "NaN",
        "-Infinity",
        "[DONE]",
        "{",
        '{"a":1}{"b":2}',
        '{"a":1} x',
        "",
        "   ",
        "nul",
        '{"a":"\\ud800"}',
    ],
)
def test_decode_json_is_json_loads(text):
    try:
        expected = ("ok", json.loads(text))
    except ValueError as exc:
        expected = ("error", str(exc))
    try:
        got = ("ok", decode_json(text))
    except ValueError as exc:
        got = ("error", str(exc))
    assert got == expected or (got[0] == expected[0] == "ok" and got[1] != got[1])  # NaN is not NaN
