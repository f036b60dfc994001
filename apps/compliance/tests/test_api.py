"""The Compliance API: grants and roles, two companies, search (query parameters and JSON body), export, one
conversation, saved searches; every search, read and export audited."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from apps.audit.models import AuditEvent
from apps.compliance.models import SavedSearch
from apps.oauth.services import access_token_issue
from tests.helpers import bearer

ENDPOINTS = [
    ("get", "/api/compliance/search?q=refund"),
    ("get", "/api/compliance/export?format=jsonl"),
    ("get", "/api/compliance/saved-searches"),
]


def call(token: str, method: str, path: str, body: dict | None = None):
    client = Client()
    kwargs = {"headers": bearer(token)}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)(path, **kwargs)


@pytest.mark.parametrize("method,path", ENDPOINTS)
@pytest.mark.parametrize("who", ["admin_user", "monitor_user", "plain_user"])
def test_user_tokens_of_other_roles_lack_the_grant(request, compliance_client, data, who, method, path):
    token = access_token_issue(client=compliance_client, user=request.getfixturevalue(who))[1]
    response = call(token, method, path)
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_a_client_without_the_grant_gets_403_and_no_token_401(generic_token, data, method, path):
    assert call(generic_token, method, path).status_code == 403
    assert getattr(Client(), method)(path).status_code == 401


def test_conversation_endpoint_role_matrix(request, compliance_client, data):
    path = f"/api/compliance/conversations/{data['refund'].public_id}"
    for who in ("admin_user", "monitor_user", "plain_user"):
        token = access_token_issue(client=compliance_client, user=request.getfixturevalue(who))[1]
        assert call(token, "get", path).status_code == 403


def test_search_by_query_parameters(officer_token, data, company):
    response = call(officer_token, "get", "/api/compliance/search?q=refund&hits=pii&pageSize=5")
    assert response.status_code == 200
    body = response.json()
    assert (body["totalCount"], body["page"], body["pageSize"], body["totalCountIsLowerBound"]) == (1, 1, 5, False)
    (result,) = body["data"]
    assert result["messageId"] == data["refund_prompt"].public_id
    assert "<mark>refund</mark>" in result["snippet"]
    assert result["hits"] == [{"scanner": "pii", "action": "redact", "direction": "prompt", "score": 0.9}]
    event = AuditEvent.objects.get(action="compliance.searched")
    assert event.detail == {"criteria": {"q": "refund", "hits": ["pii"]}, "page": 1, "results": 1, "channel": "api"}


def test_search_by_json_body_with_every_filter(officer_token, data, plain_user):
    body = {
        "q": "refund*",
        "user": plain_user.userid,
        "group": data["group"].pk,
        "agent": data["refund"].agent.public_id,
        "date_from": "2000-01-01",
        "flagged": True,
        "feedback": "Like",
        "order": "rank",
        "page": 1,
    }
    response = call(officer_token, "post", "/api/compliance/search", body)
    assert response.status_code == 200, response.content
    assert [r["messageId"] for r in response.json()["data"]] == [data["refund_answer"].public_id]


def test_generic_token_of_a_client_with_the_grant_searches_its_company(compliance_generic_token, data):
    response = call(compliance_generic_token, "get", "/api/compliance/search?q=refund")
    assert response.json()["totalCount"] == 2


@pytest.mark.parametrize(
    "query,field",
    [
        ("unknown=1", "unknown"),
        ("q=a&q=b", "q"),
        ("hits=virus", "hits"),
        ("date_from=yesterday", "date_from"),
        ("flagged=maybe", "flagged"),
        ("pageSize=500", "pageSize"),
        ("page=0", "page"),
        ("order=oldest", "order"),
    ],
)
def test_bad_parameters_are_400_problems_naming_them(officer_token, data, query, field):
    response = call(officer_token, "get", f"/api/compliance/search?{query}")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_bad_json_bodies_are_400(officer_token, data):
    assert call(officer_token, "post", "/api/compliance/search", {"flagged": "yes"}).status_code == 400
    assert call(officer_token, "post", "/api/compliance/search", {"hits": "pii"}).status_code == 400
    assert call(officer_token, "post", "/api/compliance/search", {"group": "1"}).status_code == 400
    response = Client().post(
        "/api/compliance/search", data="[1]", content_type="application/json", headers=bearer(officer_token)
    )
    assert response.status_code == 400


def test_another_companys_ids_are_not_choices(officer_token, data, other_user, other_agent, other_group):
    for query in (f"user={other_user.userid}", f"agent={other_agent.public_id}", f"group={other_group.pk}"):
        assert call(officer_token, "get", f"/api/compliance/search?{query}").status_code == 400


def test_malformed_text_is_never_an_error(officer_token, data):
    response = call(officer_token, "post", "/api/compliance/search", {"q": '"( OR * NEAR -'})
    assert response.status_code == 200


def test_other_companys_officer_sees_only_their_company(other_officer_token, data):
    body = call(other_officer_token, "get", "/api/compliance/search?q=refund").json()
    assert [r["conversationId"] for r in body["data"]] == [data["other"].public_id]


def test_export_streams_jsonl_and_csv_and_is_audited(officer_token, data):
    response = call(officer_token, "get", "/api/compliance/export?format=jsonl&q=refund")
    assert response.status_code == 200 and response.streaming
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["text"].startswith("Refunds")
    response = call(officer_token, "post", "/api/compliance/export", {"format": "csv", "q": "payroll"})
    text = b"".join(response.streaming_content).decode()
    assert response["Content-Type"] == "text/csv; charset=utf-8" and "'=HYPERLINK" not in text.splitlines()[0]
    assert AuditEvent.objects.filter(action="compliance.exported").count() == 2
    assert call(officer_token, "get", "/api/compliance/export?format=xml").status_code == 400


def test_export_ignores_the_accept_header(officer_token, data):
    response = Client().get(
        "/api/compliance/export?format=csv", headers={**bearer(officer_token), "Accept": "text/csv"}
    )
    assert response.status_code == 200


def test_get_a_conversation_with_messages_hits_and_files(officer_token, data):
    conversation = data["refund"]
    response = call(officer_token, "get", f"/api/compliance/Conversations/{conversation.public_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["conversationId"] == conversation.public_id and body["hasFlag"] is True
    assert [m["messageId"] for m in body["messages"]] == [
        data["refund_prompt"].public_id,
        data["refund_answer"].public_id,
    ]
    assert body["messages"][0]["hits"][0]["scanner"] == "pii"
    assert body["messages"][0]["text"].endswith("4111 1111 1111 1111.")
    assert body["files"] == [] and body["otherHits"] == []
    assert AuditEvent.objects.get(action="compliance.conversation_viewed").target_id == conversation.public_id


def test_another_companys_conversation_is_404(officer_token, other_officer_token, data):
    assert call(officer_token, "get", f"/api/compliance/conversations/{data['other'].public_id}").status_code == 404
    assert (
        call(other_officer_token, "get", f"/api/compliance/conversations/{data['refund'].public_id}").status_code == 404
    )
    assert call(officer_token, "get", "/api/compliance/conversations/missing").status_code == 404


def test_saved_searches_crud(officer_token, officer, data):
    created = call(
        officer_token,
        "post",
        "/api/compliance/saved-searches",
        {"name": "Cards", "criteria": {"q": "card", "hits": ["pii"]}},
    )
    assert created.status_code == 201, created.content
    search = created.json()
    assert search["criteria"] == {"q": "card", "hits": ["pii"]} and search["mine"] and not search["shared"]
    path = f"/api/compliance/saved-searches/{search['id']}"
    assert call(officer_token, "get", path).json()["name"] == "Cards"
    changed = call(officer_token, "patch", path, {"name": "Card numbers", "shared": True})
    assert changed.status_code == 200 and changed.json()["shared"] is True
    assert [s["name"] for s in call(officer_token, "get", "/api/compliance/saved-searches").json()] == ["Card numbers"]
    assert call(officer_token, "post", "/api/compliance/saved-searches", {"name": "Card numbers"}).status_code == 409
    assert call(officer_token, "post", "/api/compliance/saved-searches", {"name": ""}).status_code == 400
    assert (
        call(
            officer_token, "post", "/api/compliance/saved-searches", {"name": "X", "criteria": {"hits": ["virus"]}}
        ).status_code
        == 400
    )
    assert call(officer_token, "delete", path).status_code == 204
    assert not SavedSearch.objects.exists()
    actions = list(AuditEvent.objects.filter(action__startswith="compliance.search_").values_list("action", flat=True))
    assert sorted(actions) == ["compliance.search_changed", "compliance.search_deleted", "compliance.search_saved"]


def test_saved_searches_of_others_are_404_or_read_only(
    officer_token, other_officer_token, compliance_client, second_officer, data
):
    search = call(officer_token, "post", "/api/compliance/saved-searches", {"name": "Private"}).json()
    path = f"/api/compliance/saved-searches/{search['id']}"
    colleague = access_token_issue(client=compliance_client, user=second_officer)[1]
    assert call(colleague, "get", path).status_code == 404
    assert call(other_officer_token, "get", path).status_code == 404
    call(officer_token, "patch", path, {"shared": True})
    assert call(colleague, "get", path).json()["mine"] is False
    assert call(colleague, "patch", path, {"name": "Mine now"}).status_code == 404
    assert call(colleague, "delete", path).status_code == 404
    assert call(other_officer_token, "get", path).status_code == 404


def test_saved_searches_need_a_user_token(compliance_generic_token, data):
    assert call(compliance_generic_token, "get", "/api/compliance/saved-searches").status_code == 403


def test_endpoints_are_in_the_openapi_schema(db):
    paths = Client().get("/api/schema", headers={"Accept": "application/json"}).json()["paths"]
    for path in (
        "/api/compliance/search",
        "/api/compliance/export",
        "/api/compliance/conversations/{conversation_id}",
        "/api/compliance/saved-searches",
        "/api/compliance/saved-searches/{search_id}",
    ):
        assert path in paths, path
