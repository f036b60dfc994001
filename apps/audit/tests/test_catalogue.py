"""The catalogue explains every action the code records, and each event reads as a sentence."""

import ast
import re
from pathlib import Path

from django.conf import settings

from apps.accounts.services import group_create, group_set_members, user_update_roles
from apps.audit.catalogue import ACTIONS, action_label, describe
from apps.audit.models import AuditEvent
from apps.audit.services import Actor, audit_event_record
from apps.oauth.services import api_client_rotate_secret

APPS_DIR = Path(settings.BASE_DIR) / "apps"
RECORDERS = {"audit_event_record", "audit_event_record_once"}
ACTION_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")


def _source_files() -> list[Path]:
    return [
        path
        for path in sorted(APPS_DIR.rglob("*.py"))
        if "tests" not in path.relative_to(APPS_DIR).parts and "migrations" not in path.parts
    ]


def _strings(node: ast.expr) -> list[str]:
    """The literal strings an ``action=`` argument can take: a constant, or either side of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def recorded_actions() -> dict[str, str]:
    """Every dotted ``action=`` string passed to any call in ``apps/`` outside tests, with where it is."""
    found = {}
    for path in _source_files():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg == "action":
                    for value in _strings(keyword.value):
                        if ACTION_NAME.fullmatch(value):
                            found[value] = f"{path.relative_to(APPS_DIR.parent)}:{node.lineno}"
    return found


def forwarded_actions() -> list[str]:
    """Recorder calls whose action is not a literal, except inside a function that takes ``action`` itself
    (its callers pass literals, which ``recorded_actions`` finds) -- anything else would hide an action."""
    hidden = []
    for path in _source_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            params = {arg.arg for arg in function.args.args + function.args.kwonlyargs}
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and _callee(node) in RECORDERS:
                    action = next((k.value for k in node.keywords if k.arg == "action"), None)
                    forwards = isinstance(action, ast.Name) and action.id == "action" and "action" in params
                    if action is not None and not _strings(action) and not forwards:
                        hidden.append(f"{path.relative_to(APPS_DIR.parent)}:{node.lineno}")
    return hidden


def test_every_action_recorded_in_the_code_has_a_catalogue_entry():
    recorded = recorded_actions()

    missing = {action: where for action, where in recorded.items() if action not in ACTIONS}

    assert missing == {}, "Add these actions to apps/audit/catalogue.py ACTIONS"


def test_the_source_scan_finds_literal_conditional_and_forwarded_actions():
    recorded = recorded_actions()

    assert {"client.secret_rotated", "user.created", "audit.exported"} <= recorded.keys()
    assert {"client.activated", "client.deactivated"} <= recorded.keys()  # "a" if active else "b"
    assert {"code.refused", "token.exchange_failed"} <= recorded.keys()  # passed through _refuse(action=...)
    assert "store_true" not in recorded  # argparse's action= is not an audit action


def test_no_recorder_call_hides_its_action_in_a_variable():
    assert forwarded_actions() == []


def test_every_catalogue_entry_is_still_recorded_somewhere():
    stale = set(ACTIONS) - set(recorded_actions())

    assert stale == set()


def test_every_catalogue_entry_has_a_label_and_a_sentence_about_its_actor():
    for action, text in ACTIONS.items():
        assert text.label and text.label[0].isupper(), action
        assert text.sentence.startswith("{actor}"), action


def test_rotating_a_secret_reads_as_a_sentence(admin_user, api_client):
    api_client_rotate_secret(client=api_client, actor=Actor(user=admin_user))

    event = AuditEvent.objects.select_related("client", "user").get(action="client.secret_rotated")

    assert describe(event) == (
        "admin@acme.example rotated the secret of the API client Acme integration (0 tokens revoked)"
    )


def test_role_change_and_group_membership_read_as_sentences(admin_user, plain_user, company):
    user_update_roles(user=plain_user, roles=["user", "monitor"], actor=Actor(user=admin_user))
    group = group_create(company=company, name="Research", actor=Actor.system())
    group_set_members(group=group, users=[plain_user], actor=Actor.system())

    sentences = [describe(e) for e in AuditEvent.objects.select_related("client", "user").order_by("id")]

    assert sentences == [
        "admin@acme.example changed the roles of user@acme.example from user to monitor, user",
        "The command line created the group Research",
        "The command line added user@acme.example to the group Research",
    ]


def test_failed_client_authentication_by_an_anonymous_caller(company, api_client):
    event = audit_event_record(
        action="client.auth_failed",
        company=company,
        actor=Actor(ip="198.51.100.7"),
        client=api_client,
        outcome="failure",
        detail={"reason": "wrong client secret"},
    )

    assert describe(event) == (
        "An anonymous caller failed to authenticate as the API client Acme integration: wrong client secret"
    )


def test_an_api_client_actor_is_named_as_such(api_client, plain_user):
    event = audit_event_record(
        action="user.impersonated",
        company=api_client.company,
        actor=Actor(client=api_client, user=plain_user),
        target=plain_user,
        detail={"jti": "abc"},
    )

    assert describe(event) == (
        f"The API client Acme integration ({api_client.client_id}) for user@acme.example got a token to act as"
        " user@acme.example (token abc)"
    )


def test_an_unknown_action_falls_back_to_a_readable_form(company, plain_user):
    event = audit_event_record(
        action="chat.message_blocked", company=company, actor=Actor(user=plain_user), outcome="failure"
    )

    assert describe(event) == "user@acme.example: chat: message blocked (failed)"
    assert action_label("chat.message_blocked") == "chat: message blocked"
    assert action_label("client.secret_rotated") == "Client secret rotated"


def test_a_detail_the_event_lacks_reads_as_a_question_mark_or_is_left_out(company, group):
    renamed = audit_event_record(action="group.renamed", company=company, actor=Actor.system(), target=group)
    deleted = audit_event_record(action="group.deleted", company=company, actor=Actor.system(), target=group)
    counted = audit_event_record(
        action="group.deleted", company=company, actor=Actor.system(), target=group, detail={"members": 3}
    )

    assert describe(renamed) == "The command line renamed the group ? to Engineering"
    assert describe(deleted) == "The command line deleted the group Engineering"
    assert describe(counted) == "The command line deleted the group Engineering (3 members)"


def test_a_deleted_target_keeps_its_recorded_name(company, admin_user, plain_user):
    event = audit_event_record(action="user.deleted", company=company, actor=Actor(user=admin_user), target=plain_user)
    plain_user.delete()

    event.refresh_from_db()
    assert describe(event) == "admin@acme.example deleted the user user@acme.example"


def test_braces_in_recorded_values_are_not_formatted_again(company):
    event = audit_event_record(
        action="group.renamed",
        company=company,
        actor=Actor.system(),
        detail={"before": "{actor.__class__}"},
    )
    AuditEvent.objects.filter(pk=event.pk).update(target_label="{0}")
    event.refresh_from_db()

    assert describe(event) == "The command line renamed the group {actor.__class__} to {0}"


def test_criteria_read_in_key_order_on_every_database(company, admin_user):
    audit_event_record(
        action="audit.exported",
        company=company,
        actor=Actor(user=admin_user),
        detail={"format": "CSV", "criteria": {"q": "x", "created_to": "2026-01-02", "created_from": "2026-01-01"}},
    )

    event = AuditEvent.objects.select_related("client", "user").get()

    assert describe(event) == (
        "admin@acme.example exported the logs as CSV (filters: created_from=2026-01-01, created_to=2026-01-02, q=x)"
    )
