"""The coalescing reader of chunked bodies: the same bytes, trailers and errors as h11's own reader, fewer events;
and the engines' connections use it (so that an upgrade of httpcore2 or h11 that bypasses it is noticed)."""

import asyncio
import itertools
import random

import h11
import httpx2
import pytest
from h11._readers import ChunkedReader

from apps.engines.netbackend import AsyncioTransport, CoalescingChunkedReader

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
FRAMES = [b'data: {"n":%d,"text":"tok "}\n\n' % n for n in range(40)] + [b"data: [DONE]\n\n"]
BODY = b"".join(b"%x\r\n%s\r\n" % (len(frame), frame) for frame in FRAMES)
END = b"0\r\n\r\n"


def _receive(pieces: list[bytes], *, coalescing: bool, close: bool = False) -> tuple[list[h11.Event], Exception | None]:
    """Feed a response to a client h11 connection piece by piece (as socket reads would) and collect its events
    until the end of the body, NEED_DATA after the last piece, or an error."""
    connection = h11.Connection(h11.CLIENT)
    connection.send(h11.Request(method="POST", target="/", headers=[("Host", "x"), ("Content-Length", "0")]))
    connection.send(h11.EndOfMessage())
    connection.receive_data(HEAD)
    assert isinstance(connection.next_event(), h11.Response)
    assert connection._reader.__class__ is ChunkedReader
    if coalescing:
        connection._reader = CoalescingChunkedReader(connection._reader)
    events: list[h11.Event] = []
    pending = list(pieces) + ([b""] if close else [])
    try:
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                if not pending:
                    return events, None
                connection.receive_data(pending.pop(0))
                continue
            events.append(event)
            if isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return events, None
    except h11.RemoteProtocolError as exc:
        return events, exc


def _body(events: list[h11.Event]) -> bytes:
    return b"".join(bytes(event.data) for event in events if isinstance(event, h11.Data))


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def test_one_read_of_many_chunks_is_one_data_event():
    events, error = _receive([BODY + END], coalescing=True)

    assert error is None
    assert [type(event) for event in events] == [h11.Data, h11.EndOfMessage]
    assert _body(events) == b"".join(FRAMES)


def test_every_split_of_the_body_gives_the_same_bytes_as_h11():
    wire = b"".join(b"%x\r\n%s\r\n" % (len(frame), frame) for frame in FRAMES[:3]) + END
    expected = b"".join(FRAMES[:3])
    for cut in range(1, len(wire)):
        for coalescing in (False, True):
            events, error = _receive(_split(wire, [cut]), coalescing=coalescing)
            assert error is None
            assert _body(events) == expected, (cut, coalescing)
            assert isinstance(events[-1], h11.EndOfMessage)


def test_random_reads_give_the_same_bytes_and_fewer_events():
    rng = random.Random(9)
    wire = BODY + END
    for _ in range(50):
        pieces = _split(wire, rng.sample(range(1, len(wire)), rng.randint(1, 30)))
        stock, _ = _receive(pieces, coalescing=False)
        ours, error = _receive(pieces, coalescing=True)
        assert error is None
        assert _body(ours) == _body(stock) == b"".join(FRAMES)
        assert len(ours) <= len(pieces) + 1 < len(stock)


def test_trailers_come_as_h11_gives_them():
    wire = BODY + b"0\r\nX-Checksum: abc\r\n\r\n"
    stock, _ = _receive([wire], coalescing=False)
    ours, error = _receive([wire], coalescing=True)

    assert error is None
    assert ours[-1] == stock[-1]
    assert list(ours[-1].headers) == [(b"x-checksum", b"abc")]


@pytest.mark.parametrize(
    "odd",
    [
        b"5;name=value\r\nhello\r\n",  # a chunk extension
        b"0005 \r\nhello\r\n",  # leading zeros, then whitespace before the CRLF
        b"A\r\n0123456789\r\n",  # upper-case hex
    ],
)
def test_chunks_it_does_not_read_itself_go_to_h11_with_the_same_result(odd):
    wire = BODY + odd + BODY + END
    for pieces in ([wire], _split(wire, [len(BODY) + 3]), _split(wire, list(range(7, len(wire), 97)))):
        stock, _ = _receive(pieces, coalescing=False)
        ours, error = _receive(pieces, coalescing=True)
        assert error is None
        assert _body(ours) == _body(stock)
        assert isinstance(ours[-1], h11.EndOfMessage)
        assert len(ours) < len(stock)


@pytest.mark.parametrize(
    "bad",
    [
        b"zz\r\ndata: x\n\n\r\n",  # not a hex size
        b"5\r\ndata: x\n\n\r\n",  # the size is shorter than the data: a missing CRLF after the chunk
        b"-1\r\n",
        b"5\r\nhello\n\r\n",  # a bare LF after the data
        b"1" * 30,  # a size line that never ends
    ],
)
def test_a_malformed_chunk_after_good_ones_fails_after_their_data(bad):
    wire = BODY + bad + END
    stock, stock_error = _receive([wire], coalescing=False)
    ours, error = _receive([wire], coalescing=True)

    assert isinstance(stock_error, h11.RemoteProtocolError)
    assert isinstance(error, h11.RemoteProtocolError)
    assert str(error) == str(stock_error)
    assert _body(ours) == _body(stock)
    assert _body(ours).startswith(b"".join(FRAMES))


def test_a_body_cut_in_a_chunk_is_an_incomplete_chunked_read():
    wire = BODY[:-7]
    ours, error = _receive([wire], coalescing=True, close=True)

    assert isinstance(error, h11.RemoteProtocolError)
    assert "incomplete chunked read" in str(error)
    assert _body(ours) == _body(_receive([wire], coalescing=False, close=True)[0])


def test_the_engines_connections_read_chunked_bodies_with_it(make_fake):
    """Through the real pool against the fake server: a streamed answer's connection has the coalescing reader,
    and a body with a Content-Length keeps h11's own reader."""
    fake = make_fake("openai")

    async def scenario():
        readers = []
        async with httpx2.AsyncClient(transport=AsyncioTransport(limits=httpx2.Limits(max_connections=2))) as client:
            config = fake.config()
            headers = {"Authorization": f"Bearer {config.api_key}"}
            for stream in (True, False):
                body = b'{"model":"m","stream":%s,"messages":[{"role":"user","content":"Hi"}]}' % (
                    b"true" if stream else b"false"
                )
                url = f"{fake.base_url}/chat/completions"
                async with client.stream("POST", url, content=body, headers=headers) as response:
                    connection = client._transport._pool.connections[0]._connection
                    readers.append(connection._h11_state._reader.__class__)
                    content = b"".join([chunk async for chunk in response.aiter_raw()])
                    assert content.startswith(b"data: ") if stream else content.startswith(b"{")
        return readers

    assert asyncio.run(scenario()) == [CoalescingChunkedReader, h11._readers.ContentLengthReader]


def test_a_chunk_bigger_than_h11s_receive_limit_streams_through_in_pieces():
    """A chunk's data is handed on as it arrives, as h11 does: waiting for the whole chunk would overflow h11's
    limit on buffered bytes (16 KiB by default) and fail the response."""
    data = bytes(range(256)) * 1200  # 300 KiB
    wire = b"%x\r\n%s\r\n" % (len(data), data) + END
    pieces = [wire[i : i + 8192] for i in range(0, len(wire), 8192)]

    events, error = _receive(pieces, coalescing=True)

    assert error is None
    assert _body(events) == data
    assert len(events) > 30
