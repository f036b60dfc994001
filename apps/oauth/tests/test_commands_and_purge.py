"""create_api_client, rotate_client_secret and purge_expired: output, errors, and what they change."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.services import Actor, audit_event_record
from apps.oauth import crypto
from apps.oauth.crypto import new_client_id
from apps.oauth.models import AccessToken, APIUser, AuthorizationCode
from apps.oauth.services import access_token_issue
from tests.helpers import bearer, run_manage


def call(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_create_api_client_prints_the_json_contract(company):
    data = json.loads(
        call(
            "create_api_client",
            "--company",
            "acme",
            "--name",
            "HR sync",
            "--redirect-uris",
            "https://localhost/callback, http://127.0.0.1:8765/cb",
            "--json",
        )
    )

    assert set(data) == {"client_id", "client_secret", "redirect_uris", "company", "grants"}
    assert data["grants"] == ["users:read", "chat", "agents:read"]
    assert data["redirect_uris"] == ["https://localhost/callback", "http://127.0.0.1:8765/cb"]
    assert data["company"] == "acme"
    client = APIUser.objects.get(client_id=data["client_id"])
    assert client.secret_hash == crypto.hash_secret(data["client_secret"])
    assert data["client_secret"] not in client.secret_hash
    assert len(data["client_secret"]) >= 43
    assert (client.allow_user_tokens, client.require_pkce) == (True, False)
    assert client.grants == data["grants"]
    assert data["client_secret"] not in json.dumps(list(AuditEvent.objects.values("detail", "target_label")))


def test_create_api_client_sets_the_policy_flags_and_prints_one_line(company):
    out = call(
        "create_api_client",
        "--company",
        "acme",
        "--name",
        "Kiosk",
        "--redirect-uris",
        "https://kiosk.example/cb",
        "--no-user-tokens",
        "--require-pkce",
        "--manage-users",
    )

    client = APIUser.objects.get(name="Kiosk")
    assert out.strip().count("\n") == 0 and client.client_id in out
    assert (client.allow_user_tokens, client.require_pkce) == (False, True)
    assert client.grants == ["users:read", "users:write", "chat", "agents:read"]
    assert "grants users:read users:write chat agents:read" in out


def test_create_api_client_takes_repeated_grants_and_lists_them_in_json(company):
    data = json.loads(
        call(
            "create_api_client",
            *("--company", "acme", "--name", "Oversight", "--redirect-uris", "https://o.example/cb", "--json"),
            *("--grant", "monitoring", "--grant", "dashboards", "--grant", "users:write", "--manage-users"),
        )
    )

    assert data["grants"] == ["users:read", "users:write", "chat", "agents:read", "monitoring", "dashboards"]
    assert APIUser.objects.get(client_id=data["client_id"]).grants == data["grants"]


def test_create_api_client_without_default_grants_gets_only_the_named_ones(company):
    data = json.loads(
        call(
            "create_api_client",
            *("--company", "acme", "--name", "Scanner", "--redirect-uris", "https://s.example/cb", "--json"),
            *("--no-default-grants", "--grant", "scanner"),
        )
    )

    assert data["grants"] == ["scanner"]


def test_create_api_client_unknown_grant_exits_non_zero_with_one_line_reason():
    result = run_manage(
        *("create_api_client", "--company", "acme", "--name", "X", "--redirect-uris", "https://a.example/cb"),
        *("--grant", "users:admin"),
        env={"DEBUG": "true"},
    )

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "CommandError: Unknown grant 'users:admin'; known grants: users:read, users:write, chat, agents:read, "
        "agents:write, scanner, monitoring, compliance, dashboards."
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--company", "nope", "--name", "X", "--redirect-uris", "https://a.example/cb"], "Unknown company: nope"),
        (["--company", "acme", "--name", "X", "--redirect-uris", "http://a.example/cb"], "must use https"),
        (["--company", "acme", "--name", "X", "--redirect-uris", "https://a.example/cb#x"], "fragment"),
        (["--company", "acme", "--name", " ", "--redirect-uris", "https://a.example/cb"], "name"),
        (["--company", "acme", "--name", "X", "--redirect-uris", "https://a.example/cb", "--grant", "chat:x"], "grant"),
    ],
)
def test_create_api_client_refuses_bad_input(company, args, message):
    with pytest.raises(CommandError, match=message):
        call("create_api_client", *args)
    assert not APIUser.objects.exists()


def test_rotate_client_secret_replaces_the_secret_and_revokes_tokens(client, api_client, generic_token):
    data = json.loads(call("rotate_client_secret", api_client.client_id, "--json"))

    api_client.refresh_from_db()
    assert set(data) == {"client_id", "client_secret"} and data["client_id"] == api_client.client_id
    assert crypto.secret_matches(data["client_secret"], api_client.secret_hash)
    assert not crypto.secret_matches(api_client.plain_secret, api_client.secret_hash)
    assert client.get("/api/oauth2/me", headers=bearer(generic_token)).status_code == 401


def test_rotate_client_secret_refuses_unknown_client(db):
    with pytest.raises(CommandError, match="Unknown client_id: nope"):
        call("rotate_client_secret", "nope")


def test_purge_expired_deletes_expired_tokens_and_old_codes_in_batches(api_client, authorize):
    now = timezone.now()
    for _ in range(3):
        authorize(api_client)
    for _ in range(5):
        access_token_issue(client=api_client, user=None)
    live_token = access_token_issue(client=api_client, user=None)[0]
    fresh_code = AuthorizationCode.objects.order_by("-pk").first()
    AccessToken.objects.exclude(pk=live_token.pk).update(expires_at=now - timedelta(seconds=1))
    # Codes stay while tokens issued from them could still be alive (a late replay must revoke them).
    AuthorizationCode.objects.exclude(pk=fresh_code.pk).update(expires_at=now - timedelta(hours=2))
    err = StringIO()

    out = StringIO()
    call_command("purge_expired", "--batch-size", "2", "--json", stdout=out, stderr=err)

    assert json.loads(out.getvalue()) == {"tokens": 5, "codes": 2, "audit_events": 0}
    assert list(AccessToken.objects.all()) == [live_token]
    assert list(AuthorizationCode.objects.all()) == [fresh_code]
    assert "5 expired tokens deleted so far" in err.getvalue() and err.getvalue().count("\n") >= 4
    assert AuditEvent.objects.get(action="oauth.purged").detail == {"tokens": 5, "codes": 2}


def test_purge_expired_keeps_a_used_code_while_its_token_may_live(api_client, authorize, exchange):
    code = authorize(api_client)
    exchange(api_client, code)
    AuthorizationCode.objects.update(expires_at=timezone.now() - timedelta(minutes=5))

    out = call("purge_expired")

    assert "0 expired access tokens, 0 spent authorization codes and 0 audit events" in out
    assert AuthorizationCode.objects.count() == 1
    assert exchange(api_client, code).content == b"Invalid Code"
    assert AccessToken.objects.get().revoked_at is not None


def record_events(count: int, *, age: timedelta, company=None) -> list[int]:
    ids = [audit_event_record(action="test.event", company=company, actor=Actor.system()).pk for _ in range(count)]
    AuditEvent.objects.filter(pk__in=ids).update(created=timezone.now() - age)
    return ids


def test_purge_expired_deletes_audit_events_past_the_retention_in_batches(company, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    record_events(5, age=timedelta(days=31), company=company)
    kept = record_events(2, age=timedelta(days=29), company=company)
    out, err = StringIO(), StringIO()

    call_command("purge_expired", "--batch-size", "2", "--json", stdout=out, stderr=err)

    assert json.loads(out.getvalue()) == {"tokens": 0, "codes": 0, "audit_events": 5}
    assert set(AuditEvent.objects.filter(action="test.event").values_list("pk", flat=True)) == set(kept)
    assert "... 2 expired audit events deleted so far" in err.getvalue()
    assert "... 5 expired audit events deleted so far" in err.getvalue()
    purge = AuditEvent.objects.get(action="audit.purged")
    assert purge.detail == {"count": 5, "older_than_days": 30} and purge.actor_type == "system"


def test_purge_expired_keeps_a_year_of_audit_events_by_default(company, settings):
    assert settings.AUDIT_RETENTION_DAYS == 365
    record_events(1, age=timedelta(days=366))
    recent = record_events(1, age=timedelta(days=364))

    out = call("purge_expired")

    assert "and 1 audit events older than 365 days" in out
    assert list(AuditEvent.objects.filter(action="test.event").values_list("pk", flat=True)) == recent


def test_client_ids_never_start_with_a_dash_so_commands_can_take_them():
    # 2,000 draws would almost surely (1 - (63/64)**2000) include a leading "-" without the guard.
    assert not any(new_client_id().startswith("-") for _ in range(2000))
