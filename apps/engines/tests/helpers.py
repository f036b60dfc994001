"""Run an engine stream to its end from a synchronous test."""

import asyncio
from contextlib import aclosing

import pytest

from apps.engines.base import ChatTurn, EngineConfig, EngineError, Finish, TextDelta
from apps.engines.service import stream_answer
from apps.engines.transport import close_client

HISTORY = (ChatTurn("user", "What is a risk register?"), ChatTurn("assistant", "A list of risks."))


async def _collect(config: EngineConfig, instructions: str, history, prompt: str) -> list:
    events = []
    try:
        async with aclosing(stream_answer(config, instructions=instructions, history=history, prompt=prompt)) as s:
            async for event in s:
                events.append(event)
    finally:
        await close_client()  # asyncio.run's loop ends here: its kept-alive connection too
    return events


def collect(
    config: EngineConfig, *, instructions: str = "Answer briefly.", history=HISTORY, prompt: str = "And a control?"
) -> tuple[list[str], Finish]:
    """The text deltas and the Finish; asserts the stream's shape (deltas, then exactly one Finish)."""
    events = asyncio.run(_collect(config, instructions, history, prompt))
    assert isinstance(events[-1], Finish)
    assert all(isinstance(event, TextDelta) for event in events[:-1])
    return [event.text for event in events[:-1]], events[-1]


def error_of(config: EngineConfig, **kwargs) -> EngineError:
    with pytest.raises(EngineError) as caught:
        collect(config, **kwargs)
    return caught.value
