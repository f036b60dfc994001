"""What each recorded action means, in words: the Logs screen's "What happened" column and the CSV export.

Every ``action`` string that the code passes to ``audit_event_record`` has an entry here; a test
(``apps/audit/tests/test_catalogue.py``) reads the source of ``apps/`` and fails on an action without one, so a
new action cannot ship unexplained. An action that is no longer recorded (older rows) or not yet known still
reads sensibly: ``chat.message_blocked`` becomes "chat: message blocked".

A sentence is a ``str.format`` template over the event's fields (never over code: only plain names):
``actor`` (who did it), ``target`` (the object's name when the event was recorded), ``client`` and ``user``
(the API client and person the event concerns), ``company``, and each key of the event's ``detail``.
A name that the event lacks reads "?" rather than breaking the page; a part in square brackets is left out
unless the event has every name in it (details that older rows may lack: "[ ({tokens_revoked} tokens revoked)]").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from apps.audit.models import ActorType, AuditEvent, Outcome


@dataclass(frozen=True)
class ActionText:
    label: str  # short, for the action filter: "Client secret rotated"
    sentence: str  # the event in words, see the module docstring


ACTIONS: dict[str, ActionText] = {
    # logs
    "audit.exported": ActionText("Logs exported", "{actor} exported the logs as {format} (filters: {criteria})"),
    "audit.purged": ActionText(
        "Old logs purged", "{actor} deleted {count} log entries older than {older_than_days} days"
    ),
    # companies (server admins)
    "company.created": ActionText("Company created", "{actor} created the company {target}"),
    "company.renamed": ActionText("Company renamed", "{actor} renamed the company {before} to {target}"),
    "company.activated": ActionText("Company activated", "{actor} activated the company {target}"),
    "company.deactivated": ActionText(
        "Company deactivated", "{actor} deactivated the company {target}[ ({tokens_revoked} tokens revoked)]"
    ),
    # web logins
    "login.succeeded": ActionText("Logged in", "{actor} logged in to the web admin"),
    "login.failed": ActionText("Login failed", "{actor} failed to log in to the web admin[ ({reason})]"),
    "login.logout": ActionText("Logged out", "{actor} logged out"),
    "login.unlocked": ActionText(
        "Login lockout lifted", "{actor} lifted the login lockout of {username}[ after {failures} failures]"
    ),
    "user.invited": ActionText("User invited", "{actor} emailed {target} an invitation to set a password"),
    "user.password_link_sent": ActionText(
        "Password link sent", "{actor} emailed {target} a link to set a new password"
    ),
    # documents (files of agents and conversations)
    "document.created": ActionText("Document added", "{actor} added the document {filename}[ ({chunks} passages)]"),
    "document.failed": ActionText(
        "Document kept without text", "{actor} added the document {filename}, whose text could not be read[ ({code})]"
    ),
    "document.rejected": ActionText("Document refused", "{actor} tried to add {filename}, which was refused: {reason}"),
    "document.deleted": ActionText("Document deleted", "{actor} deleted the document {filename}"),
    # monitoring (alert rules and issues)
    "monitoring.rule_created": ActionText("Alert rule created", "{actor} created the alert rule {target} ({kind})"),
    "monitoring.rule_updated": ActionText("Alert rule changed", "{actor} changed the alert rule {target}[ ({fields})]"),
    "monitoring.rule_enabled": ActionText("Alert rule enabled", "{actor} enabled the alert rule {target}"),
    "monitoring.rule_disabled": ActionText("Alert rule disabled", "{actor} disabled the alert rule {target}"),
    "monitoring.rule_secret_rotated": ActionText(
        "Webhook secret replaced", "{actor} replaced the webhook secret of the alert rule {target}"
    ),
    "monitoring.rule_deleted": ActionText("Alert rule deleted", "{actor} deleted the alert rule {name}"),
    "monitoring.issue_opened": ActionText(
        "Issue opened", "{actor} opened the issue {target} (rule {rule}, severity {severity})"
    ),
    "monitoring.issue_repeated": ActionText(
        "Issue seen again", "{actor} counted another occurrence on the issue {target}[ ({count} in all)]"
    ),
    "monitoring.issue_measured": ActionText("Issue measured again", "{actor} updated the measurement of {target}"),
    "monitoring.issue_updated": ActionText(
        "Issue changed", "{actor} changed the issue {target}[ ({fields}; now {status}, {severity})]"
    ),
    "monitoring.issue_commented": ActionText("Issue commented", "{actor} commented on the issue {target}"),
    # chat
    "chat.conversation_created": ActionText(
        "Conversation started", "{actor} started the conversation {target} with {agent}"
    ),
    "chat.conversation_hidden": ActionText("Conversation hidden", "{actor} removed {target} from their history"),
    "chat.file_added": ActionText("File added to a conversation", "{actor} added {file} to the conversation {target}"),
    "chat.file_deleted": ActionText(
        "File removed from a conversation", "{actor} removed {file} from the conversation {target}"
    ),
    "chat.feedback_given": ActionText("Feedback on an answer", "{actor} gave {feedback} to an answer in {target}"),
    "chat.answer_failed": ActionText(
        "Answer failed", "{actor} got no answer from {agent} in {target}: {reason}[ (HTTP {status})]"
    ),
    "chat.answer_blocked": ActionText(
        "Answer blocked", "{actor} got an answer of {agent} in {target} that was blocked: {reason}"
    ),
    "chat.answer_interrupted": ActionText(
        "Interrupted answer closed",
        "{actor} closed an answer of {agent} in {target} that a stopped server left unfinished, as incomplete"
        "[ ({input_tokens} + {output_tokens} tokens estimated, {cost} USD)]",
    ),
    # people and groups
    "server_admin.created": ActionText("Server admin created", "{actor} created the server admin {target}"),
    "user.created": ActionText("User added", "{actor} added the user {target}"),
    "user.updated": ActionText("User changed", "{actor} changed the user {target}[: {changed}]"),
    "user.roles_changed": ActionText(
        "User roles changed", "{actor} changed the roles of {target} from {before} to {after}"
    ),
    "user.activated": ActionText("User activated", "{actor} activated the user {target}"),
    "user.deactivated": ActionText(
        "User deactivated", "{actor} deactivated the user {target}[ ({tokens_revoked} tokens revoked)]"
    ),
    "user.password_set": ActionText("Password set", "{actor} set a new password for {target}"),
    "user.deleted": ActionText("User deleted", "{actor} deleted the user {target}"),
    "user.impersonated": ActionText("Client acted as a user", "{actor} got a token to act as {target}[ (token {jti})]"),
    "group.created": ActionText("Group created", "{actor} created the group {target}"),
    "group.renamed": ActionText("Group renamed", "{actor} renamed the group {before} to {target}"),
    "group.deleted": ActionText("Group deleted", "{actor} deleted the group {target}[ ({members} members)]"),
    "group.member_added": ActionText("Group member added", "{actor} added {user} to the group {target}"),
    "group.member_removed": ActionText("Group member removed", "{actor} removed {user} from the group {target}"),
    # AI agents, their grants and the company's agent settings
    "agent.created": ActionText("Agent added", "{actor} added the agent {target}[ on {engine}][ (model {model})]"),
    "agent.updated": ActionText("Agent changed", "{actor} changed the agent {target}[: {changed}]"),
    "agent.deleted": ActionText("Agent deleted", "{actor} deleted the agent {target} (its history is kept)"),
    "agent.connection_checked": ActionText(
        "Agent connection tested",
        "{actor} tested the connection of the agent {target}[: {latency_ms} ms, {input_tokens} tokens in, "
        "{output_tokens} out][: failed ({error})]",
    ),
    "agent.file_added": ActionText("Agent file added", "{actor} added the file {file} to the agent {target}"),
    "agent.file_deleted": ActionText("Agent file deleted", "{actor} deleted the file {file} of the agent {target}"),
    "agent.granted_to_group": ActionText(
        "Agent granted to a group", "{actor} let the group {group} use the agent {target}"
    ),
    "agent.revoked_from_group": ActionText(
        "Agent taken from a group", "{actor} took the agent {target} away from the group {group}"
    ),
    "agent.granted_to_user": ActionText("Agent granted to a user", "{actor} let {user} use the agent {target}"),
    "agent.revoked_from_user": ActionText(
        "Agent taken from a user", "{actor} took the agent {target} away from {user}"
    ),
    "user.default_agent_set": ActionText("Default agent set", "{actor} made {target} the default agent of {user}"),
    "user.default_agent_removed": ActionText("Default agent removed", "{actor} removed the default agent of {target}"),
    "company.profile_updated": ActionText(
        "Company information changed", "{actor} changed the general information of {target}[: {changed}]"
    ),
    "company.default_agent_set": ActionText(
        "Company default agent set", "{actor} set the default agent of {target} to {agent}"
    ),
    "company.provider_settings_set": ActionText(
        "Provider settings changed", "{actor} changed the {engine} provider settings of {target}[: {changed}]"
    ),
    "company.provider_settings_deleted": ActionText(
        "Provider settings deleted", "{actor} deleted the {engine} provider settings of {target}"
    ),
    "agent_template.created": ActionText("Default agent added", "{actor} added the default agent {target}"),
    "agent_template.updated": ActionText(
        "Default agent changed", "{actor} changed the default agent {target}[: {changed}]"
    ),
    "agent_template.deleted": ActionText("Default agent deleted", "{actor} deleted the default agent {target}"),
    "agent_template.published": ActionText(
        "Default agent published",
        "{actor} published the default agent {target} to every company[ ({copies} new copies)]",
    ),
    # scanners (settings and hits)
    "scanner.default_set": ActionText(
        "Scanner default changed", "{actor} changed the company default of the {scanner} scanner[ (enabled: {enabled})]"
    ),
    "scanner.agent_override_set": ActionText(
        "Agent scanner setting changed",
        "{actor} set the {scanner} scanner of the agent {target}[ (enabled: {enabled})]",
    ),
    "scanner.agent_override_cleared": ActionText(
        "Agent scanner setting cleared",
        "{actor} made the agent {target} inherit the company's {scanner} scanner settings again",
    ),
    "scanner.flagged": ActionText(
        "Scanner flagged", "{actor} sent a {direction} that the {scanner} scanner flagged[ ({types})][ via {source}]"
    ),
    "scanner.redacted": ActionText(
        "Scanner redacted", "{actor} sent a {direction} that the {scanner} scanner redacted[ ({types})][ via {source}]"
    ),
    "scanner.blocked": ActionText(
        "Scanner blocked", "{actor} sent a {direction} that the {scanner} scanner blocked[ ({types})][ via {source}]"
    ),
    # compliance (searches over conversations, their exports, saved searches)
    "compliance.searched": ActionText(
        "Conversations searched", "{actor} searched the conversations (criteria: {criteria})[, page {page}]"
    ),
    "compliance.exported": ActionText(
        "Search results exported", "{actor} exported the messages matching a search as {format} (criteria: {criteria})"
    ),
    "compliance.conversation_viewed": ActionText(
        "Conversation read", "{actor} read the conversation {target}[ of {user}]"
    ),
    "compliance.search_saved": ActionText("Search saved", "{actor} saved the search {name}"),
    "compliance.search_changed": ActionText("Saved search changed", "{actor} changed the saved search {name}"),
    "compliance.search_deleted": ActionText("Saved search deleted", "{actor} deleted the saved search {name}"),
    # API clients and OAuth2
    "client.created": ActionText(
        "API client registered", "{actor} registered the API client {target}[ with the grants {grants}]"
    ),
    "client.updated": ActionText("API client changed", "{actor} changed the API client {target}[: {changed}]"),
    "client.secret_rotated": ActionText(
        "Client secret rotated",
        "{actor} rotated the secret of the API client {target}[ ({tokens_revoked} tokens revoked)]",
    ),
    "client.activated": ActionText("API client activated", "{actor} activated the API client {target}"),
    "client.deactivated": ActionText(
        "API client deactivated", "{actor} deactivated the API client {target}[ ({tokens_revoked} tokens revoked)]"
    ),
    "client.auth_failed": ActionText(
        "Client authentication failed", "{actor} failed to authenticate as the API client {client}[: {reason}]"
    ),
    "code.refused": ActionText(
        "Authorization code refused", "{actor} was refused an authorization code for {client}[: {reason}]"
    ),
    "token.exchange_failed": ActionText(
        "Code exchange failed", "{actor} could not exchange a code for a token of {client}[: {reason}]"
    ),
    "token.issued": ActionText("Access token issued", "{actor} got an access token[ ({kind}, scope: {scope})]"),
    "token.revoked": ActionText(
        "Access tokens revoked", "{actor} revoked {count} access token(s) of {client}[: {reason}]"
    ),
    "oauth.purged": ActionText(
        "Expired tokens purged", "{actor} deleted {tokens} expired access tokens and {codes} spent codes"
    ),
    # dashboards
    "dashboard.created": ActionText("Dashboard created", "{actor} created the dashboard {target}"),
    "dashboard.updated": ActionText("Dashboard changed", "{actor} changed the dashboard {target}[: {changes}]"),
    "dashboard.deleted": ActionText(
        "Dashboard deleted", "{actor} deleted the dashboard {target}[ ({elements} elements)]"
    ),
    "dashboard.element_added": ActionText(
        "Dashboard element added", "{actor} added the element {title} to the dashboard {target}"
    ),
    "dashboard.element_changed": ActionText(
        "Dashboard element changed", "{actor} changed the element {title} of the dashboard {target}[: {fields}]"
    ),
    "dashboard.element_removed": ActionText(
        "Dashboard element removed", "{actor} removed the element {title} from the dashboard {target}"
    ),
    "dashboard.element_moved": ActionText(
        "Dashboard element moved", "{actor} moved the element {title} of the dashboard {target} to place {position}"
    ),
    "dashboard.rollups_rebuilt": ActionText(
        "Dashboard rollups rebuilt", "{actor} rebuilt the dashboards' daily rollups ({usage_rows} usage rows)"
    ),
}

# Every sentence starts with the actor: these phrases are capitalised, an email address is left as it is.
_ACTOR_WORDS = {ActorType.SYSTEM: "The command line", ActorType.ANONYMOUS: "An anonymous caller"}


def action_label(action: str) -> str:
    """A short name of ``action`` for lists and filters."""
    known = ACTIONS.get(action)
    return known.label if known is not None else _readable(action)


def describe(event: AuditEvent) -> str:
    """``event`` in one sentence. Reads ``event.client`` and ``event.user``: select them with the event."""
    known = ACTIONS.get(event.action)
    fields = _Fields(event)
    if known is None:
        sentence = f"{fields['actor']}: {_readable(event.action)}"
        if event.target_label or event.target_id:
            sentence += f" ({fields['target']})"
    else:
        sentence = _render(known.sentence, fields)
    if event.outcome == Outcome.FAILURE and known is None:
        sentence += " (failed)"
    return sentence


_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
_NAME = re.compile(r"\{(\w+)\}")


def _render(template: str, fields: _Fields) -> str:
    def optional(match: re.Match) -> str:
        part = match.group(1)
        return part if all(name in fields for name in _NAME.findall(part)) else ""

    # Values are substituted once, by format_map: braces inside a recorded value stay as they are.
    return _OPTIONAL.sub(optional, template).format_map(fields)


def _readable(action: str) -> str:
    """``chat.message_blocked`` -> ``chat: message blocked``."""
    area, _, rest = action.partition(".")
    words = rest.replace("_", " ").replace(".", " ").strip()
    return f"{area.replace('_', ' ')}: {words}" if words else area.replace("_", " ")


def _words(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_words(item) for item in value)
    if isinstance(value, dict):
        # Sorted: PostgreSQL's jsonb keeps keys in its own order, SQLite in the order written.
        return ", ".join(f"{key}={_words(item)}" for key, item in sorted(value.items()))
    return str(value)


class _Fields(dict):
    """The names a sentence may use; a missing one reads "?" (an older row, or a detail key not recorded)."""

    def __init__(self, event: AuditEvent) -> None:
        detail = event.detail if isinstance(event.detail, dict) else {}
        super().__init__({str(key): _words(value) for key, value in detail.items()})
        self["actor"] = _ACTOR_WORDS.get(event.actor_type) or event.actor_label or event.actor_type
        if event.actor_type == ActorType.CLIENT:
            self["actor"] = f"The API client {event.actor_label}"
        self["target"] = event.target_label or (f"{event.target_type} {event.target_id}".strip() or "nothing")
        self["client"] = event.client.name if event.client_id else "(unknown)"
        self["user"] = event.user.email if event.user_id else "(a deleted user)"

    def __missing__(self, key: str) -> str:
        return "?"
