"""The named grants of an API client: the one place that says what each grant is and who may carry it.

A client (APIUser) holds a set of grants. A generic token carries the client's grants; a user token carries
them narrowed by the user's roles (a plain user's token never writes users, whatever the client may do). The
token's ``scope`` claim holds them as one space-separated string (RFC 7662 §2.2, RFC 8693 §4.2), and every
request intersects it with the client's current grants, so removing a grant takes effect at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from apps.accounts.access import COMPLIANCE_ROLES, DASHBOARD_ROLES, MONITORING_ROLES
from apps.accounts.models import ROLE_FIELDS, ApplicationUser, Role

USERS_READ = "users:read"
USERS_WRITE = "users:write"
CHAT = "chat"
AGENTS_READ = "agents:read"
AGENTS_WRITE = "agents:write"
SCANNER = "scanner"
MONITORING = "monitoring"
COMPLIANCE = "compliance"
DASHBOARDS = "dashboards"


@dataclass(frozen=True)
class Grant:
    name: str
    label: str
    description: str
    default: bool
    # A user token carries the grant only if its user holds one of these roles; None: any user.
    roles: frozenset[str] | None = None


# In the order the admin page, the docs and every ``scope`` string list them.
GRANTS: dict[str, Grant] = {
    grant.name: grant
    for grant in (
        Grant(USERS_READ, "Read users and groups", "List and look up the company's users and groups.", True),
        Grant(
            USERS_WRITE,
            "Write users and groups",
            "Create and delete users (company admins included) and groups, and change memberships. A user token "
            "carries it only for a company admin.",
            False,
            frozenset({Role.ADMIN}),
        ),
        Grant(CHAT, "Chat", "Hold conversations with the agents the user may use.", True),
        Grant(AGENTS_READ, "Read agents", "List the agents and their settings (never provider keys).", True),
        Grant(
            AGENTS_WRITE,
            "Write agents",
            "Create, change and delete agents and who may use them. A user token carries it only for a company admin.",
            False,
            frozenset({Role.ADMIN}),
        ),
        Grant(SCANNER, "Scanner API", "Send text to the company's scanners and get their verdicts.", False),
        Grant(
            MONITORING,
            "Monitoring",
            "Read alerts and issues. A user token carries it only for a monitor or a company admin.",
            False,
            frozenset(MONITORING_ROLES),
        ),
        Grant(
            COMPLIANCE,
            "Compliance",
            "Search and export conversations. A user token carries it only for a compliance officer.",
            False,
            frozenset(COMPLIANCE_ROLES),
        ),
        Grant(
            DASHBOARDS,
            "Dashboards",
            "Read dashboards. A user token carries it only for a company admin, a monitor or a compliance officer.",
            False,
            frozenset(DASHBOARD_ROLES),
        ),
    )
}
DEFAULT_GRANTS: tuple[str, ...] = tuple(name for name, grant in GRANTS.items() if grant.default)


def default_grants() -> list[str]:
    """The grants of a new client (a callable, for the model field's default)."""
    return list(DEFAULT_GRANTS)


def normalize_grants(names: Iterable[str]) -> list[str]:
    """The names deduplicated, in the canonical order; an unknown or non-string name is a ValidationError."""
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise ValidationError("Grants must be a list of grant names.", code="grants")
    wanted = list(names)
    unknown = [name for name in wanted if not isinstance(name, str) or name not in GRANTS]
    if unknown:
        raise ValidationError(f"Unknown grant {unknown[0]!r}; known grants: {', '.join(GRANTS)}.", code="unknown_grant")
    return [name for name in GRANTS if name in wanted]


def validate_grants(value) -> None:
    """Model field validator: a list of known names, each once, in the canonical order."""
    if normalize_grants(value) != value:
        raise ValidationError("Grants must be listed once each, in the canonical order.", code="grants")


def grants_for_user(grants: Iterable[str], user: ApplicationUser | None) -> frozenset[str]:
    """The grants a token carries: the client's for a generic token, narrowed by the user's roles for a user
    token. Unknown names (a grant retired since) are dropped."""
    known = [GRANTS[name] for name in grants if name in GRANTS]
    if user is None:
        return frozenset(grant.name for grant in known)
    held = {role for role, field in ROLE_FIELDS.items() if getattr(user, field)}
    return frozenset(grant.name for grant in known if grant.roles is None or not grant.roles.isdisjoint(held))


def scope_string(grants: Iterable[str]) -> str:
    """The wire form: the names in the canonical order, separated by single spaces."""
    names = set(grants)
    return " ".join(name for name in GRANTS if name in names)


def roles_text(grant: str) -> str:
    """The roles a user token's user needs for the grant, for refusal messages ('admin or monitor')."""
    roles = GRANTS[grant].roles
    return " or ".join(role for role in Role.values if role in roles) if roles else "any role"
