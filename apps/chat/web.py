"""The chat in the browser: login and logout for every user, the agent picker, conversations (Viewing Chat
History), the answer's event stream, Stop, files and feedback. Thin views: the writes are chat-core's services
(apps/chat/services.py) and the answers come from the one pipeline (apps/chat/pipeline.py) that the API uses too.

The answer streams as Server-Sent Events over a POST (session cookie + CSRF token, read by static/chat/chat.js
with fetch); the page shows the deltas as text and, once the answer is stored, swaps in the message as the
server renders it (Markdown, sanitized: apps/chat/markdown.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

from asgiref.sync import async_to_sync
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.handlers.asgi import ASGIRequest
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.models import ApplicationUser
from apps.agents.selectors import agent_default_for_user, agents_usable_by
from apps.audit.services import Actor
from apps.chat.markdown import render_markdown
from apps.chat.models import Conversation, Message, MessageType
from apps.chat.pipeline import Delta, Failed, Finished, PromptInput, Started, answer_cancel, answer_start
from apps.chat.selectors import (
    conversation_documents,
    conversation_list,
    conversation_messages,
    get_conversation_for_user,
    message_for_user,
)
from apps.chat.services import (
    ChatError,
    conversation_create,
    conversation_file_add,
    conversation_hide,
    message_feedback_set,
)
from apps.core.net import client_ip
from apps.engines.transport import close_client

LOGIN_URL = "chat:login"
CONVERSATIONS_PER_PAGE = 15
TITLE_CHARS = 80

chat_login_required = login_required(login_url=LOGIN_URL)


# --- logging in and out -----------------------------------------------------------------------------------------


class LoginForm(AuthenticationForm):
    """Email and password. authenticate() goes through django-axes first (AUTHENTICATION_BACKENDS), so the
    lockout of the admin's login applies here too, counted against the same account and address."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].widget.attrs.update({"autocomplete": "email", "inputmode": "email"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class LoginView(auth_views.LoginView):
    template_name = "chat/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return reverse("chat:index")


class LogoutView(auth_views.LogoutView):
    """POST only (Django's LogoutView): a link or an image cannot log anybody out."""

    def get_success_url(self) -> str:
        return reverse(LOGIN_URL)


def home(request: HttpRequest) -> HttpResponse:
    return redirect("chat:index" if request.user.is_authenticated else LOGIN_URL)


# --- helpers ----------------------------------------------------------------------------------------------------


def _person(request: HttpRequest) -> ApplicationUser:
    """The logged-in user as a plain model instance (not the request's lazy wrapper), for use off this thread."""
    return ApplicationUser.objects.select_related("company").get(pk=request.user.pk)


def _conversation(request: HttpRequest, conversation_id: str) -> Conversation:
    # Another user's conversation, or another company's, is a 404 (the selector filters on both).
    conversation = get_conversation_for_user(request.user.company, request.user, conversation_id)
    if conversation.removed_from_history:
        raise Http404("No such conversation.")  # removed from the person's history (kept for compliance)
    return conversation


def _sidebar(request: HttpRequest, current: Conversation | None = None) -> dict:
    """The conversation list on the side: newest first, searched by title (and metadata), paged."""
    query = request.GET.get("q", "").strip()[:100]
    rows = conversation_list(company=request.user.company, user=request.user, metadata_search=query)
    page = Paginator(rows, CONVERSATIONS_PER_PAGE).get_page(request.GET.get("page"))
    return {"conversations": page, "query": query, "current": current}


def format_cost(value: Decimal | None) -> str:
    value = value or Decimal(0)
    if 0 < value < Decimal("0.0001"):
        return "< $0.0001"
    return f"${value:.4f}"


def _message_view(message: Message) -> dict:
    return {
        "message": message,
        "html": render_markdown(message.text) if message.message_type == MessageType.AI else "",
        "cost": format_cost(message.cost),
        # The passages used as context, one name per file (several passages of a file are one source).
        "sources": list(dict.fromkeys(c.get("fileName") or "" for c in message.citations or [] if c.get("fileName"))),
    }


def _agent_choice(request: HttpRequest, agents: list) -> object | None:
    wanted = request.GET.get("agent") or request.POST.get("agent")
    if wanted:
        chosen = next((a for a in agents if a.public_id == wanted), None)
        if chosen is None:
            raise Http404("No such agent among the agents you may use.")
        return chosen
    default = agent_default_for_user(user=request.user)
    if default is not None:
        return default
    return agents[0] if agents else None


# --- pages ------------------------------------------------------------------------------------------------------


@never_cache
@chat_login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Pick an agent (the default one preselected), read its greeting, start a conversation."""
    agents = list(agents_usable_by(user=request.user))
    agent = _agent_choice(request, agents)
    context = {"agents": agents, "agent": agent, **_sidebar(request)}
    return render(request, "chat/index.html", context)


@chat_login_required
@require_POST
def start(request: HttpRequest) -> HttpResponse:
    """Make a conversation with the chosen agent; its first prompt is sent by the conversation page."""
    agents = list(agents_usable_by(user=request.user))
    agent = _agent_choice(request, agents)
    text = (request.POST.get("suggested") or request.POST.get("text") or "").strip()
    if agent is None:
        raise Http404("No agent is assigned to you.")
    if not text:
        messages.error(request, "Type a question to start the conversation.")
        return redirect(f"{reverse('chat:index')}?agent={agent.public_id}")
    try:
        conversation = conversation_create(
            company=request.user.company,
            user=request.user,
            actor=Actor.from_request(request),
            agent=agent,
            title=_title_of(text),
            ip_address=client_ip(request),
        )
    except ChatError as error:
        messages.error(request, error.message)
        return redirect("chat:index")
    # The prompt waits in the session (not in the URL, which would land in logs) until the page sends it.
    request.session[_pending_key(conversation.public_id)] = text
    return redirect("chat:conversation", conversation_id=conversation.public_id)


def _title_of(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def _pending_key(conversation_id: str) -> str:
    return f"chat:pending:{conversation_id}"


# never_cache: private pages, and Back must not show a stale copy (nor one still holding the first prompt to send).
@never_cache
@chat_login_required
@require_GET
def conversation_page(request: HttpRequest, conversation_id: str) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    rows = [_message_view(m) for m in conversation_messages(conversation=conversation)]
    usable = agents_usable_by(user=request.user).filter(pk=conversation.agent_id).exists()
    context = {
        "conversation": conversation,
        "agent": conversation.agent,
        "rows": rows,
        "files": list(conversation_documents(conversation=conversation)),
        "cost": format_cost(conversation.total_cost),
        "usable": usable,
        "pending": request.session.pop(_pending_key(conversation.public_id), "") if usable else "",
        **_sidebar(request, current=conversation),
    }
    return render(request, "chat/conversation.html", context)


@chat_login_required
@require_GET
def conversations(request: HttpRequest) -> HttpResponse:
    """The side list (search and paging) for htmx; without htmx, the chat page showing that list."""
    if not request.htmx:
        query = request.GET.urlencode()
        return redirect(f"{reverse('chat:index')}{'?' + query if query else ''}")
    current_id = request.GET.get("current", "")
    current = (
        Conversation.objects.filter(company=request.user.company, user=request.user, public_id=current_id).first()
        if current_id
        else None
    )
    return render(request, "chat/_conversation_list.html", _sidebar(request, current=current))


@chat_login_required
@require_GET
def message_fragment(request: HttpRequest, conversation_id: str, message_id: str) -> HttpResponse:
    """One message as the page shows it (the script swaps it in when the stream ends); the conversation's
    running cost goes along in a header."""
    conversation = _conversation(request, conversation_id)
    message = message_for_user(request.user.company, request.user, conversation, message_id)
    response = render(request, "chat/_message.html", {"row": _message_view(message), "conversation": conversation})
    conversation.refresh_from_db(fields=["total_cost"])
    response["X-Conversation-Cost"] = format_cost(conversation.total_cost)
    return response


@chat_login_required
@require_POST
def feedback(request: HttpRequest, conversation_id: str, message_id: str) -> HttpResponse:
    """Like / Dislike (htmx): pressing the chosen one again takes it back."""
    conversation = _conversation(request, conversation_id)
    message = message_for_user(request.user.company, request.user, conversation, message_id)
    wanted = request.POST.get("feedback", "")
    if wanted not in ("Like", "Dislike"):
        return HttpResponse("Feedback is Like or Dislike.", status=400)
    try:
        message = message_feedback_set(
            company=conversation.company,
            actor=Actor.from_request(request),
            message=message,
            feedback=None if message.feedback == wanted else wanted,
        )
    except ChatError as error:
        return HttpResponse(error.message, status=error.status)
    if request.htmx:
        return render(request, "chat/_feedback.html", {"message": message, "conversation": conversation})
    return redirect("chat:conversation", conversation_id=conversation.public_id)


@chat_login_required
@require_POST
def attach(request: HttpRequest, conversation_id: str) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    uploads = request.FILES.getlist("file")
    if not uploads:
        messages.error(request, "Choose a file to attach.")
    for upload in uploads:
        try:
            conversation_file_add(
                company=conversation.company,
                actor=Actor.from_request(request),
                conversation=conversation,
                uploaded_file=upload,
            )
        except ChatError as error:
            messages.error(request, f"{upload.name}: {error.message}")
        else:
            messages.success(request, f"{upload.name} is attached: the agent reads it with your next questions.")
    return redirect("chat:conversation", conversation_id=conversation.public_id)


@chat_login_required
@require_POST
def stop(request: HttpRequest, conversation_id: str) -> JsonResponse:
    conversation = _conversation(request, conversation_id)
    message_id = request.POST.get("message", "")
    stopped = async_to_sync(answer_cancel)(company=conversation.company, user=request.user, message_id=message_id)
    return JsonResponse({"stopped": stopped})


@chat_login_required
@require_POST
def remove(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """Remove a conversation from the person's history (the API's removedFromHistory): it leaves the side list and
    its page, and stays on record for the company's compliance officers."""
    conversation = _conversation(request, conversation_id)
    conversation_hide(
        company=conversation.company,
        actor=Actor.from_request(request),
        conversation=conversation,
    )
    messages.success(
        request,
        f"“{conversation}” was removed from your history. Your company's compliance officers can still see it.",
    )
    return redirect("chat:index")


# --- the answer's stream ----------------------------------------------------------------------------------------


def sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _frame(event) -> bytes | None:
    if isinstance(event, Delta):
        return sse("delta", {"text": event.text})
    if isinstance(event, Started):
        return sse("started", {"message_id": event.message_id, "user_message_id": event.user_message_id})
    if isinstance(event, Finished):
        return sse(
            "finished",
            {"message_id": event.message_id, "status": event.status, "reason": event.incomplete_reason},
        )
    if isinstance(event, Failed):
        return sse("failed", {"message_id": event.message_id, "message": event.message})
    return None


async def _async_stream(inp: PromptInput) -> AsyncIterator[bytes]:
    """Under ASGI: the pipeline's events as they come. Leaving early (the browser went away) abandons only the
    consumer side; the generation task finishes and stores the answer."""
    handle = answer_start(inp)
    async for event in handle.events():
        frame = _frame(event)
        if frame:
            yield frame


def _sync_stream(inp: PromptInput) -> Iterator[bytes]:
    """Under WSGI (runserver, the test live server): Django would buffer an async iterator whole, so the
    pipeline runs on an event loop of this worker thread, driven event by event. When the consumer leaves,
    the loop runs on until the answer is stored, as under ASGI."""
    loop = asyncio.new_event_loop()
    handle = None
    try:

        async def begin():
            return answer_start(inp)

        handle = loop.run_until_complete(begin())
        events = handle.events()
        while True:
            try:
                event = loop.run_until_complete(anext(events))
            except StopAsyncIteration:
                break
            frame = _frame(event)
            if frame:
                yield frame
    finally:
        try:
            if handle is not None:
                loop.run_until_complete(handle.wait())
            loop.run_until_complete(close_client())  # the loop ends here: its pooled engine connections with it
        finally:
            loop.close()


@chat_login_required
@require_POST
def ask(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """Send a prompt; the answer comes back as text/event-stream (started, delta*, finished | failed)."""
    conversation = _conversation(request, conversation_id)
    text = request.POST.get("text", "").strip()
    if not text:
        return JsonResponse({"message": "Type a question first."}, status=400)
    user = _person(request)
    inp = PromptInput(
        company=user.company,
        user=user,
        agent=conversation.agent,
        conversation=conversation,
        text=text,
        client_ip=client_ip(request),
        channel="web",
    )
    stream = _async_stream(inp) if isinstance(request, ASGIRequest) else _sync_stream(inp)
    response = StreamingHttpResponse(stream, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
