"""The Chat API's non-streaming endpoints: shapes, paging, files, feedback, refusals, tenancy."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.audit.services import Actor
from apps.chat.models import Conversation, ConversationFile, Message, MessageType
from apps.chat.services import conversation_create
from apps.oauth.services import access_token_issue
from tests.factories import APIUserFactory

pytestmark = pytest.mark.django_db

CONVERSATION_FIELDS = {
    "id", "userID", "botID", "title", "threadID", "vectorStoreID", "runID", "ipAddress", "promptTokens",
    "completionTokens", "totalTokens", "hasFlag", "hasMore", "isSaved", "removedFromHistory", "metaData",
    "messages", "functionCalls", "currentCost", "companyId", "lastUpdated", "createdDate",
}  # fmt: skip
MESSAGE_FIELDS = {
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


def client_for(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def api(user_token):
    return client_for(user_token)


def test_list_agents_in_the_clients_shape(api, agent):
    agent.suggested_prompts = "How much leave?\nWho approves?"
    agent.greeting = "Hi!"
    agent.save()
    body = api.get("/api/Chat/ListAgents").json()

    assert [a["id"] for a in body] == [agent.public_id]
    suggestion = body[0]["botSuggestion"][0]
    assert {"botID", "greeting", "greetingDescription", "imageName", "id", "lastUpdated", "createdDate"} <= set(
        suggestion
    )
    assert [s["suggestion"] for s in body[0]["botSuggestion"]] == ["How much leave?", "Who approves?"]


def test_generic_token_gets_a_403_problem_saying_a_user_token_is_needed(generic_token, agent):
    response = client_for(generic_token).get("/api/chat/listagents")

    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")
    assert "user token" in response.json()["detail"]


def test_no_token_is_401(agent):
    assert APIClient().get("/api/Chat/ListAgents").status_code == 401


def test_create_conversation_returns_it_with_current_cost(api, agent):
    response = api.post(
        "/api/Chat/CreateConversation", {"title": "Budget", "agentId": agent.public_id, "metadata": []}, format="json"
    )

    body = response.json()
    assert response.status_code == 200 and set(body) >= CONVERSATION_FIELDS
    assert body["currentCost"]["totalCost"] == 0 and body["botID"] == agent.public_id and body["metaData"] == []


def test_create_conversation_on_another_companys_agent_is_404(api, other_agent):
    response = api.post("/api/Chat/CreateConversation", {"agentId": other_agent.public_id}, format="json")
    assert response.status_code == 404


def test_get_conversations_all_spellings_newest_first_with_paging(api, company, plain_user, agent):
    made = [
        conversation_create(
            company=company, user=plain_user, actor=Actor(), agent=agent, title=f"C{n}", metadata=[{"tag": f"t{n}"}]
        )
        for n in range(5)
    ]
    newest_first = [c.public_id for c in reversed(made)]

    assert [c["id"] for c in api.get("/api/Chat/GetConversations").json()] == newest_first
    assert [c["id"] for c in api.get("/api/GetConversations?results=2&skip=2").json()] == newest_first[2:4]
    assert [c["id"] for c in api.get(f"/api/Chat/GetConversations/{agent.public_id}").json()] == newest_first
    page = api.get(f"/api/chat/getconversations/{agent.public_id}/2/0/t3").json()
    assert [c["id"] for c in page] == [made[3].public_id]
    first_page = api.get("/api/Chat/GetConversations?results=2").json()
    assert first_page[0]["hasMore"] is True and set(first_page[0]) >= CONVERSATION_FIELDS
    assert api.get("/api/Chat/GetConversations?results=abc").status_code == 400


def test_another_users_conversations_are_not_listed_nor_readable(admin_token, conversation):
    other = client_for(admin_token)
    assert other.get("/api/Chat/GetConversations").json() == []
    assert other.get(f"/api/Chat/GetConversation/{conversation.public_id}").status_code == 404


def test_get_conversation_lists_messages_in_the_clients_shape(api, conversation, company):
    Message.objects.create(company=company, conversation=conversation, message_type=MessageType.USER, text="Hi")
    body = api.get(f"/api/Chat/GetConversation/{conversation.public_id}").json()

    assert set(body) >= CONVERSATION_FIELDS
    assert set(body["messages"][0]) >= MESSAGE_FIELDS and body["messages"][0]["messageType"] == "User"


def test_add_file_to_conversation_with_the_field_named_after_the_file(api, conversation):
    upload = SimpleUploadedFile("notes.txt", b"The launch is in May.")
    response = api.post(f"/api/Chat/AddFileToConversation/{conversation.public_id}", {"notes.txt": upload})

    assert response.status_code == 200 and response.content == b""
    attached = ConversationFile.objects.get(conversation=conversation)
    assert response["X-File-Id"] == attached.document.public_id
    messages = api.get(f"/api/Chat/GetConversation/{conversation.public_id}").json()["messages"]
    assert messages[-1]["fileName"] == "notes.txt" and messages[-1]["fileIds"] == [attached.document.public_id]


def test_file_limits_are_4xx(api, conversation, settings):
    settings.DOCUMENT_MAX_BYTES = 10
    too_big = api.post(
        f"/api/Chat/AddFileToConversation/{conversation.public_id}", {"a.txt": SimpleUploadedFile("a.txt", b"x" * 11)}
    )
    settings.DOCUMENT_MAX_BYTES = 1000
    wrong_type = api.post(
        f"/api/Chat/AddFileToConversation/{conversation.public_id}", {"a.exe": SimpleUploadedFile("a.exe", b"MZ")}
    )
    nothing = api.post(f"/api/Chat/AddFileToConversation/{conversation.public_id}", {})

    assert (too_big.status_code, wrong_type.status_code, nothing.status_code) == (413, 415, 400)


def test_delete_file_of_own_conversation_and_404_for_others(api, admin_token, conversation):
    api.post(
        f"/api/Chat/AddFileToConversation/{conversation.public_id}", {"n.txt": SimpleUploadedFile("n.txt", b"x y")}
    )
    file_id = ConversationFile.objects.get().document.public_id

    assert client_for(admin_token).delete(f"/api/Chat/DeleteFile/{file_id}").status_code == 404
    assert api.delete(f"/api/Chat/DeleteFile/{file_id}").status_code == 200
    assert not ConversationFile.objects.exists()


def test_add_files_to_agent_needs_an_admin_token_with_agents_write(company, admin_user, plain_user, agent, admin_token):
    writer = APIUserFactory(company=company, name="Writer", grants=["chat", "agents:write"])
    admin_writer = client_for(access_token_issue(client=writer, user=admin_user)[1])
    plain_writer = client_for(access_token_issue(client=writer, user=plain_user)[1])
    files = {"a.txt": SimpleUploadedFile("a.txt", b"Alpha"), "b.md": SimpleUploadedFile("b.md", b"# Beta")}

    assert client_for(admin_token).post(f"/api/Chat/AddFilesToAgent/{agent.public_id}", files).status_code == 403
    assert plain_writer.post(f"/api/Chat/AddFilesToAgent/{agent.public_id}", files).status_code == 403
    for upload in files.values():
        upload.seek(0)
    response = admin_writer.post(f"/api/Chat/AddFilesToAgent/{agent.public_id}", files)
    assert response.status_code == 200 and sorted(f["fileName"] for f in response.json()) == ["a.txt", "b.md"]


def test_add_files_to_another_companys_agent_is_404(company, admin_user, other_agent):
    writer = APIUserFactory(company=company, name="Writer", grants=["chat", "agents:write"])
    api = client_for(access_token_issue(client=writer, user=admin_user)[1])
    response = api.post(
        f"/api/Chat/AddFilesToAgent/{other_agent.public_id}", {"a.txt": SimpleUploadedFile("a.txt", b"A")}
    )
    assert response.status_code == 404


def test_submit_feedback(api, conversation, company):
    answer = Message.objects.create(company=company, conversation=conversation, message_type=MessageType.AI, text="x")
    url = f"/api/Chat/SubmitFeedback?conversationId={conversation.public_id}&messageId={answer.public_id}"

    assert api.post(url + "&feedback=Like").json() == {}
    answer.refresh_from_db()
    assert answer.feedback == "Like"
    assert api.post(url + "&feedback=Great").status_code == 400
    assert api.post(url.replace(answer.public_id, "nope") + "&feedback=Like").status_code == 404


def test_delete_conversation_hides_it_and_keeps_the_record(api, conversation):
    assert api.delete(f"/api/Chat/DeleteConversation/{conversation.public_id}").status_code == 200
    assert api.get("/api/Chat/GetConversations").json() == []
    assert Conversation.objects.get(pk=conversation.pk).removed_from_history


def test_cancel_of_an_answer_not_in_progress_is_404(api):
    assert api.post("/api/Chat/CancelAnswer/not-an-answer").status_code == 404


def test_openapi_describes_the_chat_api_and_the_event_stream(client):
    schema = client.get("/api/schema", headers={"Accept": "application/json"}).json()

    ask = schema["paths"]["/api/Chat/AskAgent"]["post"]
    assert "text/event-stream" in ask["responses"]["200"]["content"]
    assert "thread.message.delta" in ask["responses"]["200"]["content"]["text/event-stream"]["schema"]["description"]
    for path in (
        "/api/Chat/ListAgents",
        "/api/Chat/GetConversations",
        "/api/GetConversations",
        "/api/Chat/ChatWithAgent",
    ):
        assert path in schema["paths"]
