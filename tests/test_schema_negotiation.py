"""GET /api/schema answers what API tools ask for, and /api/docs groups each tag once."""

import pytest

JSON_MEDIA_TYPES = ["application/json", "application/vnd.oai.openapi+json", "*/*"]


@pytest.mark.parametrize("accept", JSON_MEDIA_TYPES)
def test_schema_is_json_for_the_media_types_api_tools_send(client, accept):
    response = client.get("/api/schema", headers={"Accept": accept})

    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] in {"application/json", "application/vnd.oai.openapi+json"}
    assert response.json()["openapi"].startswith("3.")


def test_schema_answers_plain_application_json_with_that_media_type(client):
    response = client.get("/api/schema", headers={"Accept": "application/json"})

    assert response["Content-Type"].startswith("application/json")


def test_schema_is_yaml_on_request(client):
    response = client.get("/api/schema?format=yaml", headers={"Accept": "*/*"})

    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_schema_refuses_media_types_it_cannot_serve_with_a_problem(client):
    response = client.get("/api/schema", headers={"Accept": "text/csv"})

    assert response.status_code == 406
    assert response["Content-Type"] == "application/problem+json; charset=utf-8"


def test_every_tag_appears_once_whatever_its_case(client):
    schema = client.get("/api/schema").json()
    used = {tag for operations in schema["paths"].values() for op in operations.values() for tag in op["tags"]}

    assert len({tag.lower() for tag in used}) == len(used)
    assert "oauth2" not in used
    assert schema["paths"]["/api/oauth2/me"]["get"]["tags"] == ["OAuth2"]
    assert [tag["name"] for tag in schema["tags"]].count("OAuth2") == 1


def test_revoke_is_documented_as_an_empty_json_object(client):
    schema = client.get("/api/schema").json()

    ok = schema["paths"]["/api/oauth2/revoke"]["post"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["maxProperties"] == 0
    assert "429" in schema["paths"]["/api/oauth2"]["get"]["responses"]
