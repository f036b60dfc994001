"""The event-stream writer's delta frames: built from precomputed bytes around the text, they must be byte for byte
what encoding the whole object gives (chat-stream.md's thread.message.delta)."""

import json

import pytest

from apps.chat.api.events import StreamWriter, frame
from apps.chat.pipeline import Delta, Started

STARTED = Started(
    user_message_id="u-1",
    message_id="3f1c2a9e-0d4b-4c55-9a43-8f2b1d7e6c10",
    run_id="run_0123456789abcdef01234567",
    conversation_id="c-1",
    agent_id="a-1",
    model="gpt-4o",
    created_at=1_795_000_000,
)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Hello",
        "héllo wörld",
        'a "quote" and a \\ backslash',
        "line\nbreak\ttab",
        "emoji 😀",
        "\x00\x1f",
        "</script>",
    ],
)
def test_delta_frame_is_the_encoded_object(text):
    writer = StreamWriter(STARTED)

    built = writer.delta(Delta(text))

    expected = {
        "id": STARTED.message_id,
        "object": "thread.message.delta",
        "delta": {"content": [{"index": 0, "type": "text", "text": {"value": text, "annotations": []}}]},
    }
    assert built == frame("thread.message.delta", expected)
    name, data = built.decode().removesuffix("\n\n").split("\n", 1)
    assert name == "event: thread.message.delta" and json.loads(data.removeprefix("data: ")) == expected
