"""The OpenAPI schema at /api/schema and its reference page at /api/docs."""

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command

from tests.helpers import bearer

PROBLEM = "application/problem+json"
API_OPERATIONS = {
    ("/api/Users/ListUsers", "get"),
    ("/api/ListUsers", "get"),
    ("/api/Users/GetUser", "get"),
    ("/api/Users/CreateUser", "post"),
    ("/api/Users/AddUserToGroup", "post"),
    ("/api/Users/RemoveUserFromGroup", "post"),
    ("/api/Users/DeleteUser", "delete"),
    ("/api/Groups/ListGroups", "get"),
    ("/api/Groups/CreateGroup", "post"),
    ("/api/Groups/DeleteGroup", "delete"),
}
WRITES = {op for op in API_OPERATIONS if op[1] != "get"}


@pytest.fixture
def schema(client):
    response = client.get("/api/schema")
    assert response.status_code == 200
    return response.json()


def test_schema_is_public_openapi_3_json_and_yaml_on_request(client):
    as_json = client.get("/api/schema")
    as_yaml = client.get("/API/SCHEMA?format=yaml")

    assert as_json["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert as_json.json()["openapi"].startswith("3.")
    assert as_yaml.status_code == 200
    assert as_yaml.content.startswith(b"openapi: 3.")


def test_schema_documents_every_users_and_groups_endpoint_under_its_published_spelling(schema):
    documented = {(path, method) for path, ops in schema["paths"].items() for method in ops}

    assert documented >= API_OPERATIONS
    assert not [path for path in schema["paths"] if "[" in path or "\\" in path]


def bearer_scheme_name(schema: dict) -> str:
    (name,) = [n for n, s in schema["components"]["securitySchemes"].items() if s.get("scheme") == "bearer"]
    return name


def test_schema_documents_the_bearer_scheme_on_every_api_operation(schema):
    name = bearer_scheme_name(schema)
    bearer = schema["components"]["securitySchemes"][name]

    assert bearer["type"] == "http" and bearer["bearerFormat"] == "JWT"
    for path, method in API_OPERATIONS:
        assert schema["paths"][path][method]["security"] == [{name: []}]


@pytest.mark.parametrize(("path", "method"), sorted(API_OPERATIONS))
def test_schema_documents_each_error_as_problem_json(schema, path, method):
    responses = schema["paths"][path][method]["responses"]
    expected = {"400", "401", "405"} | ({"403", "404", "409", "415"} if (path, method) in WRITES else set())
    if path.endswith("GetUser"):
        expected.add("404")

    assert expected <= set(responses)
    for status in expected:
        assert list(responses[status]["content"]) == [PROBLEM]
        assert responses[status]["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_schema_problem_has_the_published_fields(schema):
    problem = schema["components"]["schemas"]["Problem"]

    assert {"type", "title", "status", "traceId"} <= set(problem["required"])
    assert {"detail", "errors"} <= set(problem["properties"])


def test_schema_documents_pagination_and_the_link_header(schema):
    operation = schema["paths"]["/api/Users/ListUsers"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    page = schema["components"]["schemas"]["UserPageOutput"]

    assert params["pageSize"]["schema"]["minimum"] == 1 and params["pageSize"]["schema"]["maximum"] == 500
    assert params["page"]["schema"]["minimum"] == 1
    assert {"search", "role", "active"} <= set(params)
    assert set(page["required"]) == {"data", "page", "pageSize", "totalCount", "totalPages"}
    assert "Link" in operation["responses"]["200"]["headers"]


def test_schema_request_bodies_refuse_unknown_fields(schema):
    for name in ("CreateUserInput", "MembershipInput", "CreateGroupInput"):
        assert schema["components"]["schemas"][name]["additionalProperties"] is False


def test_schema_documents_the_oauth2_endpoints_with_their_contract(schema):
    authorize = schema["paths"]["/api/oauth2"]["get"]
    token = schema["paths"]["/api/oauth2/Token"]["post"]

    assert {p["name"] for p in authorize["parameters"] if p["required"]} == {"client_id", "redirect_uri"}
    assert "Location" in authorize["responses"]["302"]["headers"]
    assert list(authorize["responses"]["400"]["content"]) == ["text/plain"]
    assert list(authorize["responses"]["401"]["content"]) == [PROBLEM]
    assert set(token["requestBody"]["content"]) == {"application/x-www-form-urlencoded", "application/json"}
    assert set(schema["components"]["schemas"]["TokenResponse"]["required"]) >= {"access_token", "expiration"}
    assert list(token["responses"]["400"]["content"]) == ["text/plain"]
    assert list(token["responses"]["401"]["content"]) == [PROBLEM]
    assert "post" in schema["paths"]["/api/oauth2/revoke"]
    assert "post" in schema["paths"]["/api/oauth2/introspect"]
    assert "get" in schema["paths"]["/.well-known/oauth-authorization-server"]


def test_docs_page_loads_every_asset_from_this_server(client):
    response = client.get("/api/docs")

    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    # Swagger UI's start-up script comes from the page's own view (no inline script: see the CSP).
    assert "/api/docs?script=" in urls
    urls.remove("/api/docs?script=")
    assert len(urls) >= 3
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, url
        assert url.startswith(settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/" + settings.STATIC_URL)
        assert finders.find(url.split("/static/", 1)[1]), url
    assert not re.search(r"https?://", html)
    assert "/api/schema" in client.get("/api/docs", {"script": ""}).content.decode()


def test_docs_page_does_not_ask_the_public_validator(client):
    script = client.get("/api/docs", {"script": ""})

    assert script["Content-Type"].startswith("application/javascript")
    assert '"validatorUrl": null' in script.content.decode()


def test_schema_is_valid_openapi_without_generator_warnings(tmp_path):
    # --validate checks the result against the OpenAPI 3 JSON schema; --fail-on-warn turns any guess into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3.")


def test_documented_user_and_group_shapes_match_what_the_api_returns(client, schema, generic_token, plain_user, group):
    group.members.add(plain_user)

    user = client.get("/api/Users/ListUsers", headers=bearer(generic_token)).json()["data"][0]
    listed_group = client.get("/api/Groups/ListGroups", headers=bearer(generic_token)).json()["data"][0]

    components = schema["components"]["schemas"]
    assert set(user) == set(components["UserOutput"]["properties"]) == set(components["UserOutput"]["required"])
    assert set(listed_group) == set(components["GroupOutput"]["properties"])
    assert set(user["groups"][0]) == set(components["GroupSummary"]["properties"])


def test_schema_says_which_grant_each_operation_needs_and_never_mentions_manage_users(schema):
    operations = {(path, method): schema["paths"][path][method] for path, method in API_OPERATIONS}

    assert "manage_users" not in str(schema)
    for (path, method), operation in operations.items():
        grant = "users:write" if (path, method) in WRITES else "users:read"
        assert f"`{grant}`" in operation["description"], path
        assert "403" in operation["responses"], path
    assert "scope" in schema["components"]["schemas"]["IntrospectionResponse"]["properties"]
