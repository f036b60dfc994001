"""portal_roles_required: who may open an oversight page, and the portal navigation shown by role."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.test import RequestFactory

from apps.accounts.access import has_any_role, portal_roles_required
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@portal_roles_required("admin", "monitor")
def page(request):
    return HttpResponse("the page")


def _request(user):
    request = RequestFactory().get("/monitoring/?status=open")
    request.user = user
    return request


def test_someone_not_signed_in_goes_to_the_portal_login_and_comes_back():
    from django.contrib.auth.models import AnonymousUser

    response = page(_request(AnonymousUser()))
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/monitoring/%3Fstatus%3Dopen"


@pytest.mark.parametrize(
    ("roles", "allowed"), [(["admin"], True), (["monitor"], True), (["compliance"], False), (["user"], False)]
)
def test_each_role(company, roles, allowed):
    user = UserFactory(company=company)
    user.set_roles(roles)
    user.save()
    if allowed:
        assert page(_request(user)).content == b"the page"
    else:
        with pytest.raises(PermissionDenied, match="'admin' or 'monitor' role"):
            page(_request(user))


def test_an_inactive_company_or_user_or_a_server_admin_without_company_is_refused(company):
    user = UserFactory(company=company)
    user.set_roles(["monitor"])
    user.save()
    assert has_any_role(user, ("monitor",))
    company.is_active = False
    assert not has_any_role(user, ("monitor",))
    company.is_active = True
    user.is_active = False
    assert not has_any_role(user, ("monitor",))
    staff = UserFactory(company=None, is_superuser=True)
    assert not has_any_role(staff, ("admin", "monitor", "compliance"))


def test_unknown_roles_are_refused_at_import_time():
    with pytest.raises(ValueError, match="Unknown roles"):
        portal_roles_required("auditor")


@pytest.mark.parametrize(
    ("roles", "links"),
    [(["user"], {"nav-chat"}), (["monitor"], {"nav-chat"}), (["compliance"], {"nav-chat"}), (["admin"], {"nav-chat"})],
)
def test_the_navigation_shows_the_chat_to_everyone(company, roles, links):
    # Monitoring, compliance and dashboards links appear once their apps' URLs are installed (their own tests).
    user = UserFactory(company=company)
    user.set_roles(roles)
    html = render_to_string("_portal_nav.html", {"user": user, "section": "chat"})
    assert 'id="nav-chat" aria-current="page"' in html
    for link in links:
        assert f'id="{link}"' in html
