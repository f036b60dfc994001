"""Who sees and changes which dashboard, on every page and every API endpoint: the role matrix (admin, monitor,
compliance, plain user) and two companies. Another company's dashboard and someone else's private one are 404; a
plain user gets 403; only the owner changes a dashboard (403 for the others who see it)."""

import pytest

from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from apps.dashboards.models import Dashboard, Element
from apps.dashboards.services import dashboard_create, element_create
from apps.oauth.services import access_token_issue
from tests.factories import APIUserFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = {"admin": ["admin", "user"], "monitor": ["monitor"], "compliance": ["compliance"], "user": ["user"]}


@pytest.fixture
def people(company, other_company):
    found = {role: UserFactory(company=company, email=f"{role}@acme.example", roles=roles) for role, roles in
             ROLES.items()}  # fmt: skip
    found["other_admin"] = UserFactory(company=other_company, email="admin@globex.example", roles=["admin", "user"])
    return found


def board(owner, name, *, shared=False) -> tuple[Dashboard, Element]:
    actor = Actor(user=owner)
    dashboard = dashboard_create(company=owner.company, actor=actor, owner=owner, name=name, shared=shared)
    element = element_create(company=owner.company, actor=actor, dashboard=dashboard, kind="totals", title="Totals")
    return dashboard, element


@pytest.fixture
def boards(people):
    return {
        "private": board(people["admin"], "Admin's own"),
        "shared": board(people["admin"], "For everyone", shared=True),
        "other": board(people["other_admin"], "Globex's", shared=True),
    }


def page_urls(dashboard: Dashboard, element: Element) -> list[str]:
    d, e = dashboard.public_id, element.public_id
    return [
        f"/dashboards/{d}/",
        f"/dashboards/elements/{e}/data",
    ]


def owner_urls(dashboard: Dashboard, element: Element) -> list[tuple[str, str, dict]]:
    d, e = dashboard.public_id, element.public_id
    return [
        ("get", f"/dashboards/{d}/elements/new?kind=map", {}),
        ("post", f"/dashboards/{d}/elements/new", {"kind": "map", "title": "Map", "period": "last_7", "width": "2"}),
        ("get", f"/dashboards/{d}/elements/{e}/edit", {}),
        ("post", f"/dashboards/{d}/elements/{e}/edit", {"title": "New", "period": "last_7", "width": "2"}),
        ("post", f"/dashboards/{d}/elements/{e}/move", {"direction": "down"}),
        ("post", f"/dashboards/{d}/elements/{e}/resize", {"width": "4"}),
        ("post", f"/dashboards/{d}/settings", {"name": "Renamed"}),
        ("post", f"/dashboards/{d}/elements/{e}/remove", {}),
        ("post", f"/dashboards/{d}/delete", {}),
    ]


# -- Pages -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "monitor", "compliance"])
def test_each_dashboard_role_sees_the_list_and_the_shared_dashboard(client, people, boards, role):
    client.force_login(people[role])

    listing = client.get("/dashboards/")
    assert listing.status_code == 200
    assert "For everyone" in listing.text and "Globex" not in listing.text
    assert ("Admin&#x27;s own" in listing.text) == (role == "admin")
    for url in page_urls(*boards["shared"]):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", ["monitor", "compliance"])
def test_someone_elses_private_dashboard_is_not_found(client, people, boards, role):
    client.force_login(people[role])

    for url in page_urls(*boards["private"]):
        assert client.get(url).status_code == 404, url
    for method, url, data in owner_urls(*boards["private"]):
        assert getattr(client, method)(url, data).status_code == 404, url


@pytest.mark.parametrize("role", ["admin", "monitor", "compliance"])
def test_another_companys_dashboard_is_not_found_even_when_shared(client, people, boards, role):
    client.force_login(people[role])

    for url in page_urls(*boards["other"]):
        assert client.get(url).status_code == 404, url
    for method, url, data in owner_urls(*boards["other"]):
        assert getattr(client, method)(url, data).status_code == 404, url
    assert Dashboard.objects.filter(name="Globex's").exists()


@pytest.mark.parametrize("role", ["monitor", "compliance"])
def test_a_shared_dashboard_is_changed_only_by_its_owner(client, people, boards, role):
    client.force_login(people[role])
    before = AuditEvent.objects.count()

    for method, url, data in owner_urls(*boards["shared"]):
        assert getattr(client, method)(url, data).status_code == 403, url
    dashboard, element = boards["shared"]
    assert Dashboard.objects.get(pk=dashboard.pk).name == "For everyone"
    assert Element.objects.get(pk=element.pk).title == "Totals"
    assert AuditEvent.objects.count() == before


def test_a_plain_user_gets_403_on_every_page(client, people, boards):
    client.force_login(people["user"])

    assert client.get("/dashboards/").status_code == 403
    assert client.post("/dashboards/new", {"name": "x"}).status_code == 403
    assert client.post("/dashboards/starter").status_code == 403
    for url in page_urls(*boards["shared"]):
        assert client.get(url).status_code == 403, url
    for method, url, data in owner_urls(*boards["shared"]):
        assert getattr(client, method)(url, data).status_code == 403, url


def test_signed_out_visitors_go_to_the_login_page(client, boards):
    response = client.get(f"/dashboards/{boards['shared'][0].public_id}/")
    assert response.status_code == 302 and response.url.startswith("/login/?next=")
    assert client.get("/dashboards/").status_code == 302


def test_the_owner_changes_everything_and_each_change_is_audited(client, people, boards):
    client.force_login(people["admin"])
    dashboard, element = boards["private"]
    before = AuditEvent.objects.filter(action__startswith="dashboard.").count()

    for method, url, data in owner_urls(dashboard, element):
        response = getattr(client, method)(url, data)
        assert response.status_code in (200, 302), (url, response.status_code)

    assert not Dashboard.objects.filter(pk=dashboard.pk).exists()
    actions = list(
        AuditEvent.objects.filter(action__startswith="dashboard.").order_by("pk").values_list("action", flat=True)
    )[before:]
    assert actions == [
        "dashboard.element_added",
        "dashboard.element_changed",
        "dashboard.element_moved",
        "dashboard.element_changed",
        "dashboard.updated",
        "dashboard.element_removed",
        "dashboard.deleted",
    ]


def test_create_a_dashboard_and_the_starter_layout(client, people):
    client.force_login(people["monitor"])

    assert 'id="no-dashboards"' in client.get("/dashboards/").text
    created = client.post("/dashboards/new", {"name": "  Q3  ", "shared": "on"})
    starter = client.post("/dashboards/starter")

    mine = Dashboard.objects.filter(owner=people["monitor"]).order_by("pk")
    assert [(d.name, d.shared) for d in mine] == [("Q3", True), ("Overview", False)]
    assert created.url == f"/dashboards/{mine[0].public_id}/"
    assert starter.url == f"/dashboards/{mine[1].public_id}/"
    assert sorted(mine[1].elements.values_list("kind", flat=True)) == ["chart", "chart", "map", "top_n", "top_n",
                                                                        "totals"]  # fmt: skip
    assert client.post("/dashboards/new", {"name": ""}).status_code == 400


def test_the_element_form_shows_only_its_kinds_fields_and_refuses_bad_input(client, people, boards):
    client.force_login(people["admin"])
    dashboard, _ = boards["private"]
    url = f"/dashboards/{dashboard.public_id}/elements/new"

    top = client.get(url + "?kind=top_n").text
    assert 'name="subject"' in top and 'name="map_measure"' not in top and 'name="chart_type"' not in top
    maps = client.get(url + "?kind=map").text
    assert 'name="map_measure"' in maps and 'name="subject"' not in maps
    bad = client.post(url, {"kind": "top_n", "title": "T", "period": "custom", "width": "2", "subject": "users",
                            "measure": "tokens", "limit": "10"})  # fmt: skip
    assert bad.status_code == 400
    assert "A custom period needs a start and an end date." in bad.text
    too_many = client.post(url, {"kind": "top_n", "title": "T", "period": "last_7", "width": "2",
                                 "subject": "users", "measure": "tokens", "limit": "30"})  # fmt: skip
    assert too_many.status_code == 400 and "less than or equal to 25" in too_many.text
    foreign = client.post(url, {"kind": "totals", "title": "T", "period": "last_7", "width": "2",
                                "user": people["other_admin"].userid})  # fmt: skip
    assert foreign.status_code == 400
    assert dashboard.elements.count() == 1


# -- API -------------------------------------------------------------------------------------------------------


@pytest.fixture
def dashboards_client(company):
    return APIUserFactory(company=company, name="BI", grants=["users:read", "dashboards"])


@pytest.fixture
def other_dashboards_client(other_company):
    return APIUserFactory(company=other_company, name="Globex BI", grants=["users:read", "dashboards"])


def bearer(client_obj, user=None) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {access_token_issue(client=client_obj, user=user)[1]}"}


def api_urls(dashboard: Dashboard, element: Element) -> list[str]:
    return [
        f"/api/dashboards/{dashboard.public_id}",
        f"/api/dashboards/elements/{element.public_id}",
        f"/api/dashboards/elements/{element.public_id}/data",
    ]


@pytest.mark.parametrize("role", ["admin", "monitor", "compliance"])
def test_api_each_role_reads_what_it_may_see(client, people, boards, dashboards_client, role):
    auth = bearer(dashboards_client, people[role])

    listing = client.get("/api/dashboards", **auth).json()
    names = [d["name"] for d in listing["data"]]
    assert names == (["Admin's own", "For everyone"] if role == "admin" else ["For everyone"])
    for url in api_urls(*boards["shared"]):
        assert client.get(url, **auth).status_code == 200, url
    for url in api_urls(*boards["other"]):
        assert client.get(url, **auth).status_code == 404, url
    private_status = 200 if role == "admin" else 404
    for url in api_urls(*boards["private"]):
        assert client.get(url, **auth).status_code == private_status, url


def test_api_a_plain_users_token_lacks_the_grant(client, people, boards, dashboards_client):
    auth = bearer(dashboards_client, people["user"])

    response = client.get("/api/dashboards", **auth)
    assert response.status_code == 403 and response["Content-Type"].startswith("application/problem+json")
    assert "dashboards" in response.json()["detail"]
    for url in api_urls(*boards["shared"]):
        assert client.get(url, **auth).status_code == 403, url


def test_api_a_client_without_the_grant_is_refused(client, people, boards, api_client):
    auth = bearer(api_client, people["admin"])
    assert client.get("/api/dashboards", **auth).status_code == 403
    assert client.get("/api/dashboards").status_code == 401


def test_api_a_generic_token_reads_shared_dashboards_and_changes_nothing(client, boards, dashboards_client):
    auth = bearer(dashboards_client)
    shared, element = boards["shared"]

    assert [d["name"] for d in client.get("/api/dashboards", **auth).json()["data"]] == ["For everyone"]
    assert client.get(f"/api/dashboards/elements/{element.public_id}/data", **auth).status_code == 200
    assert client.get(f"/api/dashboards/{boards['private'][0].public_id}", **auth).status_code == 404
    assert client.post("/api/dashboards", {"name": "x"}, content_type="application/json", **auth).status_code == 403
    assert client.delete(f"/api/dashboards/{shared.public_id}", **auth).status_code == 403


def test_api_another_companys_token_finds_nothing_of_ours(client, boards, other_dashboards_client, people):
    auth = bearer(other_dashboards_client, people["other_admin"])
    for key in ("private", "shared"):
        for url in api_urls(*boards[key]):
            assert client.get(url, **auth).status_code == 404, url
        dashboard, element = boards[key]
        assert client.delete(f"/api/dashboards/{dashboard.public_id}", **auth).status_code == 404
        assert client.patch(f"/api/dashboards/elements/{element.public_id}", {"title": "x"},
                            content_type="application/json", **auth).status_code == 404  # fmt: skip


def test_api_only_the_owner_changes_a_shared_dashboard(client, people, boards, dashboards_client):
    auth = bearer(dashboards_client, people["monitor"])
    dashboard, element = boards["shared"]

    assert client.patch(f"/api/dashboards/{dashboard.public_id}", {"name": "x"}, content_type="application/json",
                        **auth).status_code == 403  # fmt: skip
    assert client.post(f"/api/dashboards/{dashboard.public_id}/elements", {"kind": "totals", "title": "x"},
                       content_type="application/json", **auth).status_code == 403  # fmt: skip
    assert client.delete(f"/api/dashboards/elements/{element.public_id}", **auth).status_code == 403
    assert Dashboard.objects.get(pk=dashboard.pk).name == "For everyone"
