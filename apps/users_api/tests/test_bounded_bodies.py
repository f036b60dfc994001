"""Every API view parses JSON with one bounded parser: a body nested too deep or too large is a 400
problem+json, never a RecursionError (500 text/html)."""

import json

import pytest

from apps.accounts.models import Group
from apps.audit.models import AuditEvent
from apps.core.parsers import MAX_JSON_DEPTH, BoundedJSONParser, json_depth
from tests.helpers import bearer

PROBLEM = "application/problem+json; charset=utf-8"
WRITES = [
    "/api/Users/CreateUser",
    "/api/Users/AddUserToGroup",
    "/api/Users/RemoveUserFromGroup",
    "/api/Groups/CreateGroup",
]
DEEP = "[" * 5000 + "]" * 5000


def post_raw(client, url: str, body: str, token: str):
    return client.post(url, body, content_type="application/json", headers=bearer(token))


def assert_bad_body(response, detail: str) -> None:
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["detail"] == detail
    assert body["traceId"].startswith("00-")


@pytest.mark.parametrize("url", WRITES)
def test_a_body_nested_5000_deep_is_a_400_problem(client, manager_token, url):
    response = post_raw(client, url, DEEP, manager_token)

    assert_bad_body(response, f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.")
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("url", WRITES)
def test_a_body_nested_just_past_the_bound_is_a_400_problem(client, manager_token, url):
    # Deep enough to hurt code that walks the data, far too shallow for a RecursionError in the parser.
    body = '{"name": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}"

    response = post_raw(client, url, body, manager_token)

    assert_bad_body(response, f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.")


def test_a_body_within_the_bounds_is_served(client, manager_token, company):
    response = post_raw(client, "/api/Groups/CreateGroup", json.dumps({"name": "Deep [[[ thinkers"}), manager_token)

    assert response.status_code == 201
    assert Group.objects.filter(company=company, name="Deep [[[ thinkers").exists()


def test_a_body_over_the_upload_limit_is_a_400_problem(client, manager_token, company, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"name": "Group", "padding": "x" * 1000})

    response = post_raw(client, "/api/Groups/CreateGroup", body, manager_token)

    assert_bad_body(response, "The body is larger than 1000 bytes.")
    assert not Group.objects.filter(company=company).exists()


def test_the_bounded_parser_is_the_default_of_every_api_view(settings):
    assert settings.REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] == ["apps.core.parsers.BoundedJSONParser"]
    assert BoundedJSONParser.media_type == "application/json"


@pytest.mark.parametrize(
    ("text", "depth"),
    [("1", 0), ('"[[{"', 0), ("[]", 1), ('{"a": [1, {"b": "]]"}]}', 3), (r'{"a\"[": [[]]}', 3), (DEEP, 5000)],
)
def test_json_depth_ignores_brackets_inside_strings(text, depth):
    assert json_depth(text) == depth


def test_the_parser_holds_the_size_bound_itself_whatever_stream_it_is_given(settings):
    from io import BytesIO

    from rest_framework.exceptions import ParseError

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    parser = BoundedJSONParser()

    assert parser.parse(BytesIO(b'{"a": 12}')) == {"a": 12}
    with pytest.raises(ParseError, match="larger than 10 bytes"):
        parser.parse(BytesIO(b'{"a": 123456}'))
