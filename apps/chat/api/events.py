"""The pipeline's events as the AskAgent event stream (chat-stream.md): OpenAI Assistants streaming event names
and object shapes, emitted from our own engines. ``thread_id`` is the conversation id, ``assistant_id`` the
agent id, a message's ``id`` the stored AI message's id."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from apps.chat.api.shapes import citation_shape
from apps.chat.pipeline import Delta, Failed, Finished, Started

DONE = b"event: done\ndata: [DONE]\n\n"
PING = b": ping\n\n"


def frame(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class StreamWriter:
    """Turns one answer's pipeline events into SSE frames; keeps what later objects repeat (ids, times)."""

    def __init__(self, started: Started) -> None:
        self.s = started
        self.step_id = "step_" + started.run_id.removeprefix("run_")
        # Every delta frame is the same bytes around its text: only the text is encoded per delta.
        head = frame("thread.message.delta", self._delta_object("\x00"))
        self._delta_head, _, self._delta_tail = head.partition(json.dumps("\x00").encode())

    def _delta_object(self, text: str) -> dict[str, Any]:
        return {
            "id": self.s.message_id,
            "object": "thread.message.delta",
            "delta": {"content": [{"index": 0, "type": "text", "text": {"value": text, "annotations": []}}]},
        }

    def run(self, status: str, **changes: Any) -> dict[str, Any]:
        run = {
            "id": self.s.run_id,
            "object": "thread.run",
            "created_at": self.s.created_at,
            "assistant_id": self.s.agent_id,
            "thread_id": self.s.conversation_id,
            "status": status,
            "started_at": self.s.created_at if status != "queued" else None,
            "expires_at": None,
            "cancelled_at": None,
            "completed_at": None,
            "failed_at": None,
            "last_error": None,
            "model": self.s.model,
            "instructions": self.s.instructions,
            "tools": [],
            "temperature": self.s.temperature,
            "incomplete_details": None,
            "usage": None,
            "metadata": {},
        }
        run.update(changes)
        return run

    def step(self, status: str, usage: dict | None = None, completed_at: int | None = None) -> dict[str, Any]:
        return {
            "id": self.step_id,
            "object": "thread.run.step",
            "created_at": self.s.created_at,
            "run_id": self.s.run_id,
            "thread_id": self.s.conversation_id,
            "assistant_id": self.s.agent_id,
            "type": "message_creation",
            "status": status,
            "step_details": {"type": "message_creation", "message_creation": {"message_id": self.s.message_id}},
            "completed_at": completed_at,
            "usage": usage,
        }

    def message(self, status: str, content: list, **changes: Any) -> dict[str, Any]:
        message = {
            "id": self.s.message_id,
            "object": "thread.message",
            "created_at": self.s.created_at,
            "thread_id": self.s.conversation_id,
            "run_id": self.s.run_id,
            "assistant_id": self.s.agent_id,
            "role": "assistant",
            "status": status,
            "content": content,
            "attachments": [],
            "completed_at": None,
            "incomplete_at": None,
            "incomplete_details": None,
            "metadata": {},
        }
        message.update(changes)
        return message

    def opening(self) -> Iterator[bytes]:
        yield frame("thread.run.created", self.run("queued"))
        yield frame("thread.run.queued", self.run("queued"))
        yield frame("thread.run.in_progress", self.run("in_progress"))
        yield frame("thread.run.step.created", self.step("in_progress"))
        yield frame("thread.run.step.in_progress", self.step("in_progress"))
        yield frame("thread.message.created", self.message("in_progress", []))
        yield frame("thread.message.in_progress", self.message("in_progress", []))

    def delta(self, event: Delta) -> bytes:
        return self._delta_head + json.dumps(event.text).encode() + self._delta_tail

    def closing(self, event: Finished, server_timing: str) -> Iterator[bytes]:
        usage = {
            "prompt_tokens": event.usage.input_tokens,
            "completion_tokens": event.usage.output_tokens,
            "total_tokens": event.usage.input_tokens + event.usage.output_tokens,
        }
        annotations = [
            {"type": "file_citation", "text": f"[{number}]", "file_citation": citation_shape(citation)}
            for number, citation in enumerate(event.citations, start=1)
        ]
        content = [{"type": "text", "text": {"value": event.text, "annotations": annotations}}]
        if event.status == "completed":
            yield frame("thread.message.completed", self.message("completed", content, completed_at=event.completed_at))
        else:
            details = {"reason": event.incomplete_reason}
            yield frame(
                "thread.message.incomplete",
                self.message("incomplete", content, incomplete_at=event.completed_at, incomplete_details=details),
            )
        yield frame("thread.run.step.completed", self.step("completed", usage, event.completed_at))
        metadata = {
            "cost": str(event.cost),
            "usage_estimated": str(event.usage.estimated).lower(),
            "server_timing": server_timing,
        }
        incomplete = {"reason": event.incomplete_reason} if event.status != "completed" else None
        yield frame(
            "thread.run.completed",
            self.run(
                "completed",
                completed_at=event.completed_at,
                usage=usage,
                incomplete_details=incomplete,
                metadata=metadata,
            ),
        )
        yield DONE

    def failure(self, event: Failed) -> Iterator[bytes]:
        failed_at = event.failed_at or int(time.time())
        last_error = {"code": event.code, "message": event.message}
        yield frame("thread.run.failed", self.run("failed", failed_at=failed_at, last_error=last_error))
        yield DONE


def server_timing(phases: dict[str, float]) -> str:
    """``Server-Timing`` syntax: ``auth;dur=1.2, prepare;dur=3.4``."""
    return ", ".join(f"{name};dur={value:.2f}" for name, value in phases.items())
