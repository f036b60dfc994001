"""The development engine's answers: composed from the prompt, without any model, so that a demo agent
answers offline. Used by ``manage.py run_demo_llm``; never an engine of a production agent."""

from __future__ import annotations

import re

from apps.engines.fakes import RecordedRequest

_STOPWORDS = frozenset(
    """
    a an and are as at be but by can could do does for from had has have how i if in into is it its me
    my of on or our please should so tell than that the their them then there these they this to us was
    we were what when where which who why will with would you your
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]+")


def _last_user_message(request: RecordedRequest) -> tuple[str, int, bool]:
    body = request.json if isinstance(request.json, dict) else {}
    messages = [m for m in body.get("messages") or () if isinstance(m, dict)]
    prompt = next((str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), "")
    earlier = sum(1 for m in messages if m.get("role") in ("user", "assistant")) - 1
    has_instructions = any(m.get("role") == "system" for m in messages)
    return prompt.strip(), max(earlier, 0), has_instructions


def keywords(text: str, limit: int = 4) -> list[str]:
    seen: dict[str, None] = {}
    for word in _WORD.findall(text):
        lowered = word.lower()
        if lowered not in _STOPWORDS and len(lowered) > 2:
            seen.setdefault(lowered, None)
    return sorted(seen, key=len, reverse=True)[:limit]


def compose_answer(request: RecordedRequest) -> str:
    prompt, earlier, has_instructions = _last_user_message(request)
    if not prompt:
        return "I did not receive a question. Ask me anything to try the chat."
    shown = prompt if len(prompt) <= 160 else prompt[:157].rstrip() + "…"
    topics = keywords(prompt)
    topic_line = ", ".join(f"**{word}**" for word in topics) if topics else "your message"
    lines = [
        f"You asked: *{shown}*",
        "",
        f"In short, your question is about {topic_line}. Here is how I would approach it:",
        "",
        f"1. Clarify the goal behind {topics[0] if topics else 'the question'} and who is affected.",
        "2. Check the company's AI policy and the data involved before acting.",
        "3. Start small, measure the outcome, and review it with your team.",
        "",
        f"_Context: {earlier} earlier message{'s' if earlier != 1 else ''}"
        f"{', with the agent instructions' if has_instructions else ''}._",
        "",
        "This answer comes from the AIRisk **development engine**, which composes text from your prompt "
        "without any language model.",
    ]
    return "\n".join(lines)
