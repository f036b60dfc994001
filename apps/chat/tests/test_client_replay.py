"""The deployed mobile client's calls (shared/spec/observed-client-api.md), replayed as it sends them, with its
field names, against a live ASGI server: OAuth2 with userid, then every Chat call it makes."""

import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from apps.chat.models import ConversationFile, Message, MessageType
from apps.chat.tests.test_stream_live import sse_events, wait_until_stored

pytestmark = pytest.mark.django_db(transaction=True)
REDIRECT_URI = "https://localhost/callback"


@pytest.fixture
def phone(asgi_server, api_client, plain_user, agent):
    """A requests session holding the user token the client gets from the OAuth2 flow it runs."""
    query = urlencode(
        {
            "client_id": api_client.client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "userid": plain_user.userid,
        }
    )
    authorize = requests.get(f"{asgi_server.url}/api/oauth2?{query}", allow_redirects=False, timeout=10)
    code = parse_qs(urlsplit(authorize.headers["Location"]).query)["code"][0]
    token = requests.post(
        f"{asgi_server.url}/api/oauth2/Token",
        data={"client_id": api_client.client_id, "client_secret": api_client.plain_secret, "code": code},
        timeout=10,
    ).json()
    assert set(token) >= {"access_token", "expiration"}
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token['access_token']}"
    session.base = asgi_server.url
    return session


def test_the_mobile_clients_session(phone, agent, api_client):
    base = phone.base
    agents = phone.get(f"{base}/api/Chat/ListAgents", timeout=10).json()
    assert agents[0]["id"] == agent.public_id
    assert set(agents[0]) >= {"id", "name", "description", "botSuggestion"}
    suggestion = agents[0]["botSuggestion"][0]
    assert set(suggestion) >= {
        "botID",
        "greeting",
        "greetingDescription",
        "imageName",
        "id",
        "lastUpdated",
        "createdDate",
    }

    created = phone.post(
        f"{base}/api/Chat/CreateConversation",
        json={"title": "Leave", "agentId": agent.public_id, "metadata": []},
        timeout=10,
    ).json()
    assert set(created["currentCost"]) >= {
        "promptTokens", "completionTokens", "totalTokens", "promptCost", "completionCost", "totalCost"
    }  # fmt: skip

    listed = phone.get(f"{base}/api/Chat/GetConversations?results=50", timeout=10).json()
    assert isinstance(listed, list) and listed[0]["id"] == created["id"]
    assert set(listed[0]) >= {
        "id", "userID", "botID", "title", "threadID", "vectorStoreID", "runID", "ipAddress", "promptTokens",
        "completionTokens", "totalTokens", "hasFlag", "hasMore", "isSaved", "removedFromHistory", "metaData",
        "messages", "functionCalls", "currentCost", "companyId", "lastUpdated", "createdDate",
    }  # fmt: skip
    for spelling in (
        f"/api/Chat/GetConversations/{agent.public_id}",
        f"/api/Chat/GetConversations/{agent.public_id}/25/0/Leave",
        "/api/Chat/GetConversations?results=25&skip=0&metadatasearch=",
        "/api/GetConversations",
    ):
        assert [c["id"] for c in phone.get(f"{base}{spelling}", timeout=10).json()] == [created["id"]], spelling

    upload = phone.post(
        f"{base}/api/Chat/AddFileToConversation/{created['id']}",
        files={"handbook.txt": ("handbook.txt", b"Annual leave is twenty days.", "text/plain")},
        timeout=10,
    )
    assert upload.status_code == 200 and upload.content == b""

    stream = phone.post(
        f"{base}/api/Chat/AskAgent",
        json={"conversationID": created["id"], "text": "How much annual leave?"},
        headers={"Accept": "text/event-stream"},
        stream=True,
        timeout=30,
    )
    events = list(sse_events(stream))
    names = [name for name, _ in events]
    for expected in (
        "thread.run.queued", "thread.run.in_progress", "thread.run.step.created", "thread.message.created",
        "thread.message.in_progress", "thread.message.delta", "thread.message.completed", "thread.run.step.completed",
        "thread.run.completed", "done",
    ):  # fmt: skip
        assert expected in names, expected
    assert names.index("thread.message.created") < names.index("thread.message.delta") < names.index("done")
    message_id = json.loads(dict(events)["thread.message.created"])["id"]
    completed = json.loads(dict(events)["thread.message.completed"])
    assert completed["content"][0]["text"]["annotations"][0]["file_citation"]["title"] == "handbook.txt"
    wait_until_stored(message_id)

    conversation = phone.get(f"{base}/api/Chat/GetConversation/{created['id']}", timeout=10).json()
    answer = conversation["messages"][-1]
    assert answer["id"] == message_id and answer["messageType"] == "AI"
    assert set(answer) >= {
        "id",
        "feedback",
        "messageType",
        "text",
        "fileURL",
        "fileName",
        "fileIds",
        "citations",
        "like",
        "dislike",
    }
    assert set(answer["citations"][0]) >= {"content", "title", "filepath", "url", "chunk_id"}
    assert conversation["currentCost"]["totalCost"] > 0

    feedback = phone.post(
        f"{base}/api/Chat/SubmitFeedback?conversationId={created['id']}&messageId={message_id}&feedback=Like",
        timeout=10,
    )
    assert feedback.status_code == 200
    assert Message.objects.get(public_id=message_id).feedback == "Like"
    assert ConversationFile.objects.count() == 1
    assert Message.objects.filter(message_type=MessageType.SYSTEM).count() == 1


def test_the_client_logs_in_again_on_401(asgi_server):
    response = requests.get(
        f"{asgi_server.url}/api/Chat/ListAgents", headers={"Authorization": "Bearer expired.token.value"}, timeout=10
    )
    assert response.status_code == 401 and response.json()["status"] == 401
