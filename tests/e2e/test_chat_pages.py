"""The chat in a real browser, against an agent backed by the engines' fake OpenAI server streaming slowly: log in,
start a chat and watch the answer stream in, attach a file and get an answer citing it, stop an answer, reopen
history, and an answer carrying script injection rendered harmless. Screenshots at 375 and 1440 px go to
var/screenshots/."""

from decimal import Decimal

import pytest

from apps.agents.models import AgentUserGrant, CompanyProfile
from apps.audit.services import Actor
from apps.chat.models import Message, MessageType
from apps.chat.services import conversation_create
from apps.engines.fakes import FAKE_API_KEY, FakeEngineServer, Script
from tests.e2e.test_csp_browser import watch_csp
from tests.factories import DEFAULT_PASSWORD, AgentFactory

pytestmark = pytest.mark.e2e

ANSWER = (
    "Here is the **leave policy**:\n\n- 25 days a year\n- 5 carried over\n\n"
    "| Kind | Days |\n| --- | --- |\n| Annual | 25 |\n| Sick | 10 |\n\n```python\nprint('approved')\n```\n"
)
HOSTILE = (
    "Sure! <script>window.__pwned = 1; alert('script')</script> "
    "<img src=x onerror=\"window.__pwned = 2; alert('img')\"> "
    "[click me](javascript:alert('link')) <iframe src=\"javascript:alert('frame')\"></iframe> Done."
)
MARKER = "The travel budget for 2026 is 40,000 euros."


def answer_for(request) -> str:
    """The fake engine's answer: the file's fact when its passage came as context, else the policy."""
    body = request.json if isinstance(request.json, dict) else {}
    sent = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
    prompt = str(body.get("messages", [{}])[-1].get("content", ""))
    if "40,000 euros" in sent and "budget" in prompt.lower():
        return "According to budget.txt, the travel budget for 2026 is **40,000 euros**."
    if "hostile" in prompt.lower():
        return HOSTILE
    return ANSWER


@pytest.fixture
def fake_llm():
    script = Script(deltas=30, delay=0.06, first_delay=0.2)
    with FakeEngineServer("openai", script=script, answer=answer_for) as fake:
        yield fake


@pytest.fixture
def agent(company, plain_user, fake_llm):
    agent = AgentFactory(
        company=company,
        name="HR assistant",
        base_url=fake_llm.base_url,
        api_key=FAKE_API_KEY,
        greeting="Hello! I answer questions about HR policies.",
        greeting_description="Leave, expenses, travel: ask me anything about the handbook.",
        suggested_prompts="How many days of leave do I get?\nWho approves my expenses?\nWhat is the travel budget?",
        input_price_per_million=Decimal("2.50"),
        output_price_per_million=Decimal("10.00"),
    )
    AgentUserGrant.objects.create(company=company, agent=agent, user=plain_user)
    CompanyProfile.objects.update_or_create(company=company, defaults={"default_agent": agent})
    return agent


@pytest.fixture
def history(company, plain_user, agent):
    """An earlier conversation, to reopen."""
    conversation = conversation_create(
        company=company, user=plain_user, actor=Actor(user=plain_user), agent=agent, title="Parental leave rules"
    )
    for kind, text in ((MessageType.USER, "What about parental leave?"), (MessageType.AI, "It is **16 weeks**.")):
        Message.objects.create(company=company, conversation=conversation, message_type=kind, text=text)
    return conversation


def log_in(page, email: str) -> None:
    page.goto("/")
    page.wait_for_url("**/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_url("**/chat/")


def shoot(page, screenshots_dir, name: str) -> None:
    for width, height in ((1440, 900), (375, 812)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(screenshots_dir / f"chat-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})


def streamed_text(page) -> str:
    return page.eval_on_selector(".msg-streaming .msg-body", "n => n.textContent") or ""


def test_start_a_chat_and_watch_the_answer_stream_in(plain_user, agent, history, page, screenshots_dir):
    violations = watch_csp(page)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto("/login/")
    page.screenshot(path=str(screenshots_dir / "chat-login-1440.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 812})
    page.screenshot(path=str(screenshots_dir / "chat-login-375.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, plain_user.email)

    # the default agent is preselected, its greeting and suggested prompts shown; no admin link for a user
    assert page.input_value("#agent-select") == agent.public_id
    assert page.inner_text("#agent-greeting") == "Hello! I answer questions about HR policies."
    assert page.locator(".suggestion").count() == 3
    assert page.locator("#admin-link").count() == 0
    shoot(page, screenshots_dir, "start")

    # Shift+Enter makes a new line; Enter sends
    page.click("#prompt")
    page.keyboard.type("How many days")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("of leave do I get?")
    assert page.input_value("#prompt") == "How many days\nof leave do I get?"
    page.keyboard.press("Enter")
    page.wait_for_url("**/chat/c/*/")

    # the answer arrives in pieces: some text shows while the Stop button is still there
    page.wait_for_function("() => (document.querySelector('.msg-streaming .msg-body') || {}).textContent")
    partial = streamed_text(page)
    assert partial and page.is_visible("#stop")
    assert len(partial) < len(ANSWER)
    # then the stored answer is swapped in, rendered from Markdown: list, table, code block
    page.wait_for_selector(".msg-ai .markdown table", timeout=20_000)
    assert page.locator(".msg-streaming").count() == 0
    answer = page.locator(".msg-ai").last
    assert answer.locator("li").count() == 2 and answer.locator("pre code").inner_text().strip() == "print('approved')"
    assert page.is_hidden("#stop")
    assert page.inner_text("#conversation-cost").startswith("$")
    assert page.inner_text("#conversation-cost") != "$0.0000"
    assert page.locator(".msg-user").first.inner_text() == "How many days\nof leave do I get?"

    # Like (htmx) sticks after a reload
    answer.locator("button[value=Like]").click()
    page.wait_for_selector(".msg-ai button[value=Like][aria-pressed=true]")
    # the new conversation heads the list; the earlier one is reopened from it (Viewing Chat History)
    assert page.locator("#conversation-list li").first.inner_text().startswith("How many days")
    shoot(page, screenshots_dir, "answer")
    page.click("#conversation-list a:has-text('Parental leave rules')")
    page.wait_for_url(f"**/chat/c/{history.public_id}/")
    assert page.inner_text(".msg-ai .markdown strong") == "16 weeks"
    page.go_back()
    page.wait_for_selector(".msg-ai .markdown table")
    assert page.locator(".msg-user").count() == 1  # not sent again
    assert page.locator(".msg-ai button[value=Like][aria-pressed=true]").count() == 1

    # the list is searched with htmx
    page.fill("#conversation-search", "parental")
    page.wait_for_function("() => document.querySelectorAll('#conversation-list li').length === 1")
    assert "Parental leave rules" in page.inner_text("#conversation-list")

    # removing a conversation from the history (kept on record for compliance)
    page.click("#conversation-list a:has-text('Parental leave rules')")
    page.wait_for_url(f"**/chat/c/{history.public_id}/")
    page.click("#conversation-menu")
    shoot(page, screenshots_dir, "remove")
    page.click("#remove-conversation")
    page.wait_for_url("**/chat/")
    assert "was removed from your history" in page.inner_text(".messages")
    assert "Parental leave rules" not in page.inner_text("#conversation-list")
    assert violations == []


def test_attach_a_file_and_get_an_answer_citing_it(plain_user, agent, page, screenshots_dir, tmp_path):
    log_in(page, plain_user.email)
    page.click(".suggestion:has-text('Who approves my expenses?')")
    page.wait_for_selector(".msg-ai .markdown", timeout=20_000)

    budget = tmp_path / "budget.txt"
    budget.write_text(f"Company travel rules.\n\n{MARKER}\nBook trains under four hours.\n")
    page.set_input_files("#attach-file", str(budget))
    page.click("#attach-submit")
    page.wait_for_selector(".messages li.success")
    assert "budget.txt" in page.inner_text(".file-list")

    page.fill("#prompt", "What is the travel budget?")
    page.press("#prompt", "Enter")
    page.wait_for_selector(".msg-ai .msg-sources", timeout=20_000)
    cited = page.locator(".msg-ai").last
    assert "40,000 euros" in cited.inner_text()
    assert cited.locator(".msg-sources .source").inner_text() == "budget.txt"
    shoot(page, screenshots_dir, "file")


def test_stop_an_answer(plain_user, agent, fake_llm, page):
    fake_llm.script.delay = 0.3  # slow enough to press Stop mid-answer
    log_in(page, plain_user.email)
    page.fill("#prompt", "How many days of leave?")
    page.press("#prompt", "Enter")
    page.wait_for_function("() => (document.querySelector('.msg-streaming .msg-body') || {}).textContent")

    page.click("#stop")

    page.wait_for_selector(".msg-ai.msg-incomplete", timeout=20_000)
    stopped = page.locator(".msg-ai.msg-incomplete")
    assert "Stopped." in stopped.inner_text()
    assert len(stopped.locator(".msg-body").inner_text()) < len(ANSWER) / 2
    assert page.is_hidden("#stop") and page.is_enabled("#send")
    # the stored message says the same after a reload
    page.reload()
    assert "Stopped." in page.locator(".msg-ai.msg-incomplete").inner_text()


def test_a_script_injection_answer_is_rendered_harmless(plain_user, agent, page, screenshots_dir):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, plain_user.email)
    page.fill("#prompt", "Give me a hostile answer")
    page.press("#prompt", "Enter")

    # while streaming the raw text shows as text; after it the sanitized rendering
    page.wait_for_function("() => (document.querySelector('.msg-streaming .msg-body') || {}).textContent")
    page.wait_for_selector(".msg-ai .markdown", timeout=20_000)
    answer = page.locator(".msg-ai").last
    page.wait_for_timeout(500)
    assert dialogs == []
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("#messages script, #messages img, #messages iframe").count() == 0
    hrefs = answer.locator("a").evaluate_all("nodes => nodes.map(n => n.getAttribute('href'))")
    assert all(not (href or "").lower().startswith("javascript:") for href in hrefs)
    assert "Done." in answer.inner_text()
    # reloading renders it from the server: still nothing runs
    page.reload()
    page.wait_for_timeout(300)
    assert dialogs == [] and page.evaluate("() => window.__pwned") is None
    assert page.locator("#messages script, #messages img, #messages iframe").count() == 0
    shoot(page, screenshots_dir, "hostile")


def test_a_user_without_agents_is_told_to_ask_the_admin_and_an_admin_sees_the_admin_link(
    admin_user, page, screenshots_dir
):
    log_in(page, admin_user.email)

    assert "No agent is assigned to you yet" in page.inner_text("#no-agent")
    assert page.get_attribute("#admin-link", "href") == "/admin/"
    shoot(page, screenshots_dir, "no-agent")
