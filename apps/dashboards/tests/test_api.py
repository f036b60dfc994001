"""The Dashboards API end to end with a monitor's user token: create a dashboard, add, change, move and remove
elements, read their numbers; malformed input is a 400 naming the field."""

import pytest

from apps.dashboards.models import Dashboard
from apps.oauth.services import access_token_issue
from tests.factories import APIUserFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def monitor(company):
    return UserFactory(company=company, email="monitor@acme.example", name="Mo Nitor", roles=["monitor"])


@pytest.fixture
def api(client, company, monitor):
    bi = APIUserFactory(company=company, name="BI", grants=["dashboards"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {access_token_issue(client=bi, user=monitor)[1]}"}

    def call(method: str, url: str, body=None):
        kwargs = {"content_type": "application/json"} if body is not None else {}
        return (
            getattr(client, method)(url, body, **kwargs, **auth)
            if body is not None
            else getattr(client, method)(url, **auth)
        )

    return call


def test_build_a_dashboard_over_the_api(api, history, monitor):
    created = api("post", "/api/dashboards", {"name": "Usage", "shared": True})
    assert created.status_code == 201
    dashboard_id = created.json()["id"]
    assert created.json()["owner"] == {"userid": monitor.userid, "name": "Mo Nitor"}
    assert created.json()["editable"] is True and created.json()["elements"] == []

    settings = {"kind": "top_n", "title": "Top agents", "subject": "agents", "measure": "tokens", "limit": 5}
    period = {"period": "custom", "startDate": "2026-03-01", "endDate": "2026-03-31"}
    filters = {"agentId": history["agent_a"].public_id, "mapMeasure": "blocked"}  # a map's setting: ignored
    top = api("post", f"/api/dashboards/{dashboard_id}/elements", {**settings, **period, **filters})
    assert top.status_code == 201, top.json()
    body = top.json()
    assert (body["subject"], body["limit"], body["agentId"], body["mapMeasure"]) == (
        "agents",
        5,
        history["agent_a"].public_id,
        "",
    )
    totals = api("post", f"/api/dashboards/{dashboard_id}/elements", {"kind": "totals", "title": "All",
                                                                         "position": 0})  # fmt: skip
    assert totals.status_code == 201 and totals.json()["position"] == 0

    listed = api("get", f"/api/dashboards/{dashboard_id}").json()
    assert [e["title"] for e in listed["elements"]] == ["All", "Top agents"]
    data = api("get", top.json()["dataUrl"]).json()
    assert data["kind"] == "top_n" and data["rows"][0]["label"] == "Agent A"
    assert data["filters"] == "agent Agent A"

    changed = api("patch", f"/api/dashboards/elements/{body['id']}", {"agentId": None, "position": 0, "width": 4})
    assert changed.status_code == 200
    assert (changed.json()["agentId"], changed.json()["position"], changed.json()["width"]) == (None, 0, 4)
    assert api("patch", f"/api/dashboards/{dashboard_id}", {"shared": False}).json()["shared"] is False
    assert api("delete", f"/api/dashboards/elements/{totals.json()['id']}").status_code == 204
    assert [e["title"] for e in api("get", f"/api/dashboards/{dashboard_id}").json()["elements"]] == ["Top agents"]
    assert api("delete", f"/api/dashboards/{dashboard_id}").status_code == 204
    assert not Dashboard.objects.exists()


def test_api_refuses_malformed_input_naming_the_field(api, history, other_user):
    dashboard_id = api("post", "/api/dashboards", {"name": "Usage"}).json()["id"]
    elements = f"/api/dashboards/{dashboard_id}/elements"

    assert api("post", "/api/dashboards", {"name": ""}).status_code == 400
    unknown = api("post", "/api/dashboards", {"name": "x", "colour": "red"})
    assert unknown.status_code == 400 and "colour" in unknown.json()["errors"]
    bad_kind = api("post", elements, {"kind": "pie", "title": "x"})
    assert bad_kind.status_code == 400 and "kind" in bad_kind.json()["errors"]
    scanners_by_cost = api("post", elements, {"kind": "top_n", "title": "x", "subject": "scanners", "measure": "cost"})
    assert scanners_by_cost.status_code == 400 and "measure" in scanners_by_cost.json()["errors"]
    custom = api("post", elements, {"kind": "totals", "title": "x", "period": "custom", "startDate": "2026-03-02",
                                    "endDate": "2026-03-01"})  # fmt: skip
    assert custom.status_code == 400 and "endDate" in custom.json()["errors"]
    foreign_user = api("post", elements, {"kind": "totals", "title": "x", "userId": other_user.userid})
    assert foreign_user.status_code == 400 and "userId" in foreign_user.json()["errors"]
    assert api("get", "/api/dashboards/elements/nope/data").status_code == 404
    assert api("get", "/api/dashboards?pageSize=0").status_code == 400
    assert api("get", f"/api/dashboards/{dashboard_id}").json()["elements"] == []


def test_routes_match_in_any_case(api):
    assert api("get", "/API/Dashboards").status_code == 200
