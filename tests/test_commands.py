"""The ops commands: success output (human and JSON), and each documented error with nothing written."""

import json
import subprocess
import uuid

import pytest
from django.core.management import CommandError, call_command

from apps.accounts.models import ApplicationUser, Group
from apps.audit.models import AuditEvent
from apps.companies.models import Company
from apps.oauth.crypto import secret_matches
from apps.oauth.models import APIUser
from tests.factories import CompanyFactory, UserFactory
from tests.helpers import ROOT, run_manage


def call(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# create_company


def test_create_company_prints_json(db):
    data = json.loads(call("create_company", "--name", "Acme Corp", "--json"))

    company = Company.objects.get(slug="acme-corp")
    assert data == {"id": company.pk, "slug": "acme-corp", "name": "Acme Corp"}
    assert AuditEvent.objects.filter(action="company.created", company=company).exists()


def test_create_company_prints_one_human_line(db):
    out = call("create_company", "--name", "Initech", "--slug", "ini")

    assert out.strip().count("\n") == 0
    assert "ini" in out and Company.objects.filter(slug="ini", name="Initech").exists()


def test_create_company_rejects_duplicate_slug(db):
    CompanyFactory(slug="acme")

    with pytest.raises(CommandError, match="slug"):
        call("create_company", "--name", "Other", "--slug", "acme")
    assert Company.objects.count() == 1


@pytest.mark.parametrize(("name", "slug"), [("  ", None), ("Acme", "not a slug!")])
def test_create_company_rejects_malformed_values(db, name, slug):
    args = ["create_company", "--name", name] + (["--slug", slug] if slug else [])

    with pytest.raises(CommandError):
        call(*args)
    assert Company.objects.count() == 0


def test_command_error_exits_non_zero_with_one_line_reason():
    result = run_manage("create_company", "--name", "   ", env={"DEBUG": "true"})

    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: Company name must not be empty."


# create_user


def test_create_user_prints_json_with_roles(company):
    data = json.loads(
        call(
            "create_user",
            "--company",
            "acme",
            "--email",
            "Dana@Acme.example",
            "--role",
            "admin",
            "--role",
            "monitor",
            "--name",
            "Dana",
            "--json",
        )
    )

    user = ApplicationUser.objects.get(userid=data["userid"])
    assert data == {
        "userid": user.userid,
        "email": "Dana@acme.example",
        "company": "acme",
        "roles": ["admin", "monitor", "user"],  # an admin is also a user, as the demo admin is
    }
    assert str(uuid.UUID(data["userid"])) == data["userid"]
    assert user.company == company and user.name == "Dana" and not user.has_usable_password()


def test_create_user_admin_is_also_a_user_like_the_demo_admin(company):
    data = json.loads(
        call("create_user", "--company", "acme", "--email", "a@acme.example", "--role", "admin", "--json")
    )

    assert data["roles"] == ["admin", "user"]
    assert ApplicationUser.objects.get(email="a@acme.example").roles == ["admin", "user"]


def test_create_user_no_user_role_makes_an_admin_who_is_not_a_user(company):
    data = json.loads(
        call(
            "create_user",
            "--company",
            "acme",
            "--email",
            "a@acme.example",
            "--role",
            "admin",
            "--no-user-role",
            "--json",
        )
    )

    assert data["roles"] == ["admin"]


def test_create_user_no_user_role_leaves_other_roles_alone(company):
    data = json.loads(
        call(
            "create_user",
            "--company",
            "acme",
            "--email",
            "m@acme.example",
            "--role",
            "monitor",
            "--no-user-role",
            "--json",
        )
    )

    assert data["roles"] == ["monitor"]


def test_create_user_defaults_to_the_user_role_and_sets_a_password(company):
    data = json.loads(
        call(
            "create_user",
            "--company",
            "acme",
            "--email",
            "eve@acme.example",
            "--password",
            "a-long-pass-phrase-9",
            "--json",
        )
    )

    user = ApplicationUser.objects.get(userid=data["userid"])
    assert data["roles"] == ["user"]
    assert user.check_password("a-long-pass-phrase-9")


def test_create_user_rejects_unknown_company(db):
    with pytest.raises(CommandError, match="Unknown company: nope"):
        call("create_user", "--company", "nope", "--email", "x@y.example")
    assert ApplicationUser.objects.count() == 0


def test_create_user_rejects_duplicate_email_ignoring_case(company):
    UserFactory(company=company, email="frank@acme.example")

    with pytest.raises(CommandError, match="already exists"):
        call("create_user", "--company", "acme", "--email", "FRANK@acme.example")
    assert ApplicationUser.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "not-an-email"], "valid email"),
        (["--email", "g@acme.example", "--role", "superhero"], "Unknown role"),
        (["--email", "g@acme.example", "--password", "123"], "too short"),
    ],
)
def test_create_user_rejects_malformed_values(company, args, message):
    with pytest.raises(CommandError, match=message):
        call("create_user", "--company", "acme", *args)
    assert ApplicationUser.objects.count() == 0
    assert not AuditEvent.objects.filter(action="user.created").exists()


# create_server_admin


def test_create_server_admin_makes_a_superuser_without_company(db):
    call("create_server_admin", "--email", "root@example.com", "--password", "a-long-pass-phrase-9")

    admin = ApplicationUser.objects.get(email="root@example.com")
    assert admin.is_superuser and admin.company is None and admin.is_staff
    assert admin.check_password("a-long-pass-phrase-9")


def test_create_server_admin_rejects_duplicate_email_and_weak_password(db):
    UserFactory(company=None, email="root@example.com")

    with pytest.raises(CommandError, match="already exists"):
        call("create_server_admin", "--email", "ROOT@example.com", "--password", "a-long-pass-phrase-9")
    with pytest.raises(CommandError, match=r"too common|too short"):
        call("create_server_admin", "--email", "new@example.com", "--password", "password")
    assert ApplicationUser.objects.filter(is_superuser=True).count() == 0


# seed_demo


def test_seed_demo_is_idempotent(db):
    first = json.loads(call("seed_demo", "--json"))
    counts = (Company.objects.count(), ApplicationUser.objects.count(), Group.objects.count(), APIUser.objects.count())
    second = json.loads(call("seed_demo", "--json"))

    # The demo admin, user and officer, the Everyone group and the client; seed_activity's synthetic colleagues
    # (up to 12 people in all) and their department groups (3) give the dashboards something to show.
    assert counts == (1, 12, 4, 1)
    assert (
        Company.objects.count(),
        ApplicationUser.objects.count(),
        Group.objects.count(),
        APIUser.objects.count(),
    ) == counts
    assert {**first, "client_secret": None} == second
    group = Group.objects.get(name=first["group"])
    assert group.members.count() == 3
    officer = ApplicationUser.objects.get(email=first["officer"])
    assert officer.roles == ["monitor", "compliance", "user"]
    # monitoring has its rules and the dashboards a shared overview, once
    from apps.dashboards.models import Dashboard
    from apps.monitoring.models import AlertRule

    assert sorted(AlertRule.objects.values_list("kind", "scanner")) == [
        ("scanner_hit", "pii"),
        ("scanner_hit", "prompt_injection"),
    ]
    [overview] = Dashboard.objects.all()
    assert overview.shared and overview.elements.count() >= 5


def test_seed_demo_shows_the_demo_clients_secret_only_when_it_creates_it(db):
    first = json.loads(call("seed_demo", "--json"))
    again = call("seed_demo")

    client = APIUser.objects.get(client_id=first["client_id"])
    assert secret_matches(first["client_secret"], client.secret_hash)
    assert first["client_secret"] not in again
    assert f"rotate_client_secret {client.client_id}" in again


def test_seed_demo_admin_can_log_in_to_the_admin(db, client):
    data = json.loads(call("seed_demo", "--json"))

    credentials = {"username": data["admin"], "password": data["password"], "next": "/admin/"}
    logged_in = client.post("/admin/login/", credentials)
    assert logged_in.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_seed_demo_names_the_address_it_is_given(db):
    line = call("seed_demo", "--base-url", "http://127.0.0.1:8123/")
    data = json.loads(call("seed_demo", "--base-url", "http://127.0.0.1:8123", "--json"))

    assert "Log in at http://127.0.0.1:8123/admin/ " in line
    assert "8000" not in line
    assert data["admin_url"] == "http://127.0.0.1:8123/admin/"


@pytest.mark.parametrize("url", ["127.0.0.1:8123", "ftp://host", "http://host/admin/", "http://"])
def test_seed_demo_refuses_a_base_url_that_is_not_one(db, url):
    with pytest.raises(CommandError, match="--base-url must look like"):
        call("seed_demo", "--base-url", url)


def test_make_run_passes_its_port_to_seed_demo():
    result = subprocess.run(["make", "-n", "run", "PORT=8123"], cwd=ROOT, capture_output=True, text=True, check=True)

    seed = next(line for line in result.stdout.splitlines() if "seed_demo" in line)
    assert "--base-url http://127.0.0.1:8123" in seed
