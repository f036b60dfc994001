"""Writes of agents, their files, grants, defaults, company settings and templates. Each runs in a transaction
and leaves an audit event; no key value ever goes into one (only the names of the fields that changed)."""

from __future__ import annotations

import asyncio
import mimetypes
import os
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import ApplicationUser, Group
from apps.agents.config import effective_engine_values, engine_config, has_own_key
from apps.agents.engine_fields import (
    AGENT_ENGINE_ATTRS,
    CREDENTIAL_ATTRS,
    ENGINE_FIELDS,
    ENGINE_LABELS,
    SECRET_ATTRS,
    TEMPLATE_ENGINE_ATTRS,
    engine_attrs,
)
from apps.agents.models import (
    MAX_MESSAGES_RANGE,
    TEMPERATURE_RANGE,
    Agent,
    AgentFile,
    AgentGroupGrant,
    AgentTemplate,
    AgentUserGrant,
    CompanyProfile,
    ProviderCredential,
    UserDefaultAgent,
)
from apps.agents.selectors import agents_usable_by, company_profile_for, provider_credential_for
from apps.audit.models import Outcome
from apps.audit.services import Actor, audit_event_record
from apps.companies.models import Company
from apps.companies.services import company_update_profile
from apps.core.validators import validate_http_url
from apps.engines.base import ConnectionCheck, EngineConfig, EngineError
from apps.engines.prices import list_price
from apps.engines.service import check_connection, validate_config
from apps.engines.transport import close_client

# The settings an admin gives an agent besides the engine's own fields.
GENERAL_ATTRS = ("name", "description", "instructions", "greeting", "greeting_description", "suggested_prompts")
ADVANCED_ATTRS = ("max_messages", "temperature", "max_tokens", "input_price_per_million", "output_price_per_million")
TEXT_ATTRS = (*GENERAL_ATTRS, *AGENT_ENGINE_ATTRS)
CHECK_READ_TIMEOUT = 30.0
_UNSET: Any = object()


# --- validation, shared by the forms, the commands and the services -----------------------------------------------


def _list_price(engine: str, model: str) -> tuple[Decimal, Decimal] | None:
    return list_price(engine, model) if model else None


def _number_error(values: dict, name: str, label: str, low, high, cast) -> str | None:
    value = values.get(name)
    if value is None or value == "":
        return None
    try:
        number = cast(value)
    except (TypeError, ValueError, InvalidOperation):
        return f"{label} must be a number."
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        return f"{label} must be {bounds}."
    values[name] = number
    return None


def agent_settings_errors(
    values: dict, *, company: Company | None, template: bool = False, require_key: bool = False
) -> dict[str, list[str]]:
    """Field errors of an agent's (or a template's) settings, keyed by attribute ("__all__" for the whole).

    ``values`` holds the settings (strings already stripped); numbers are converted in place. With
    ``require_key`` the agent must end up with a key, its own or the company's.
    """
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not values.get("name"):
        add("name", "Give the agent a name.")
    engine = values.get("engine") or ""
    if engine not in ENGINE_FIELDS:
        add("engine", f"Unknown engine {engine!r}; choose one of {', '.join(ENGINE_FIELDS)}.")
    for name, label, low, high, cast in (
        ("max_messages", "Max Messages", MAX_MESSAGES_RANGE[0], MAX_MESSAGES_RANGE[1], _whole_number),
        ("temperature", "LLM temperature", TEMPERATURE_RANGE[0], TEMPERATURE_RANGE[1], float),
        ("max_tokens", "Maximum answer tokens", 1, 1_000_000, _whole_number),
        ("input_price_per_million", "Input price", Decimal(0), None, Decimal),
        ("output_price_per_million", "Output price", Decimal(0), None, Decimal),
    ):
        if message := _number_error(values, name, label, low, high, cast):
            add(name, message)
    if "engine" in errors:
        return errors
    credential = provider_credential_for(company=company, engine=engine) if company is not None else None
    for field in ENGINE_FIELDS[engine]:
        if template and field.name not in TEMPLATE_ENGINE_ATTRS:
            continue
        supplied = field.company_may_supply and credential is not None and getattr(credential, field.name, "")
        if field.required and not values.get(field.name) and not (supplied or (template and field.company_may_supply)):
            add(field.name, f"{field.label} is required for {ENGINE_LABELS[engine]}.")
    if values.get("base_url"):
        try:
            validate_http_url(values["base_url"])
        except ValidationError as exc:
            add("base_url", " ".join(exc.messages))
    if engine == "bedrock" and bool(values.get("access_key_id")) != bool(values.get("secret_access_key")):
        add("access_key_id", "Give the access key id and the secret access key together.")
    if require_key and not errors and not template:
        effective = effective_engine_values(values, credential)
        config = EngineConfig(
            engine=engine, **{k: v for k, v in effective.items() if k in EngineConfig.__dataclass_fields__}
        )
        for message in validate_config(config):
            add("api_key", message + " (or set it in the company's External Agent Provider Settings)")
    return errors


def _whole_number(value) -> int:
    number = float(value)
    if number != int(number):
        raise ValueError
    return int(number)


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError({("__all__" if key == "__all__" else key): msgs for key, msgs in errors.items()})


def _normalized(values: dict) -> dict:
    return {
        key: value.strip() if isinstance(value, str) and key not in SECRET_ATTRS else value
        for key, value in values.items()
    }


def _with_list_prices(values: dict) -> dict:
    """Empty prices filled with the provider's list price for the model, when the price table knows it."""
    if values.get("input_price_per_million") in (None, "") or values.get("output_price_per_million") in (None, ""):
        price = _list_price(values["engine"], values.get("model") or "")
        if price is not None:
            for name, listed in zip(("input_price_per_million", "output_price_per_million"), price, strict=True):
                if values.get(name) in (None, ""):
                    values[name] = listed
    for name in ("input_price_per_million", "output_price_per_million"):
        if values.get(name) == "":
            values[name] = None
    return values


def _check_company(obj, company: Company) -> None:
    if obj.company_id != company.pk:
        raise ValidationError("That belongs to another company.", code="company")


# --- agents -----------------------------------------------------------------------------------------------------


@transaction.atomic
def agent_create(
    *,
    company: Company,
    actor: Actor,
    name: str,
    engine: str,
    template: AgentTemplate | None = None,
    require_key: bool = True,
    image=None,
    is_active: bool = True,
    **settings_: Any,
) -> Agent:
    """A new agent of ``company``. ``settings_``: the general, engine and advanced settings by attribute name;
    engine settings the chosen engine does not take are dropped. Empty prices take the model's list price."""
    unknown = set(settings_) - set(TEXT_ATTRS) - set(ADVANCED_ATTRS)
    if unknown:
        raise ValidationError(f"Unknown agent setting(s): {', '.join(sorted(unknown))}.")
    values = _normalized({"name": name, "engine": engine, **settings_})
    _raise(agent_settings_errors(values, company=company, require_key=require_key))
    values = _with_list_prices(values)
    used = set(engine_attrs(engine))
    agent = Agent(company=company, template=template, is_active=is_active)
    for attr in TEXT_ATTRS:
        setattr(agent, attr, values.get(attr) or "" if attr not in AGENT_ENGINE_ATTRS or attr in used else "")
    for attr in ADVANCED_ATTRS:
        if values.get(attr) not in (None, ""):
            setattr(agent, attr, values[attr])
    if image:
        agent.image = image
    agent.engine = engine
    agent.full_clean()
    agent.save()
    audit_event_record(
        action="agent.created",
        company=company,
        actor=actor,
        target=agent,
        detail={
            "engine": agent.engine,
            "model": agent.model,
            "template": template.name if template else None,
            "own_key": has_own_key(agent),
        },
    )
    return agent


@transaction.atomic
def agent_update(*, company: Company, agent: Agent, actor: Actor, image=_UNSET, **changes: Any) -> Agent:
    """Change an agent. Secrets: ``None`` keeps the stored one, ``""`` removes it, text replaces it. Changing the
    engine clears the settings the new engine does not take (its keys too)."""
    _check_company(agent, company)
    unknown = set(changes) - set(TEXT_ATTRS) - set(ADVANCED_ATTRS) - {"engine", "is_active"}
    if unknown:
        raise ValidationError(f"Unknown agent setting(s): {', '.join(sorted(unknown))}.")
    changes = _normalized(changes)
    engine = changes.get("engine", agent.engine)
    values = {attr: getattr(agent, attr) for attr in (*TEXT_ATTRS, *ADVANCED_ATTRS)}
    values["engine"] = engine
    for attr, value in changes.items():
        if attr in SECRET_ATTRS and value is None:
            continue
        values[attr] = value
    if engine != agent.engine:
        # Another provider's keys must not travel with the agent to a new provider.
        for attr in SECRET_ATTRS:
            if changes.get(attr) is None:
                values[attr] = ""
    _raise(agent_settings_errors(values, company=company))
    model_changed = values.get("model") != agent.model or engine != agent.engine
    if model_changed and "input_price_per_million" not in changes and "output_price_per_million" not in changes:
        values["input_price_per_million"] = values["output_price_per_million"] = None
    values = _with_list_prices(values)
    used = set(engine_attrs(engine))
    changed = []
    for attr in (*TEXT_ATTRS, *ADVANCED_ATTRS, "engine", "is_active"):
        if attr == "is_active":
            new = changes.get("is_active", agent.is_active)
        elif attr == "engine":
            new = engine
        elif attr in AGENT_ENGINE_ATTRS and attr not in used:
            new = ""
        elif attr in ADVANCED_ATTRS:
            new = values.get(attr)
            if new is None and attr in ("max_messages", "temperature"):
                continue
        else:
            new = values.get(attr) or ""
        if getattr(agent, attr) != new:
            setattr(agent, attr, new)
            changed.append(attr)
    if image is not _UNSET:
        old_image = agent.image.name if agent.image else ""
        agent.image = image or ""
        if (agent.image.name if agent.image else "") != old_image:
            changed.append("image")
            if old_image:
                storage = agent.image.storage
                transaction.on_commit(lambda: storage.delete(old_image))
    if not changed:
        return agent
    agent.updated = timezone.now()
    agent.full_clean()
    agent.save()
    audit_event_record(action="agent.updated", company=company, actor=actor, target=agent, detail={"changed": changed})
    return agent


@transaction.atomic
def agent_delete(*, company: Company, agent: Agent, actor: Actor) -> None:
    """Soft delete: the agent leaves every list and nobody can use it, but its conversations stay readable.
    Defaults that pointed at it are cleared."""
    _check_company(agent, company)
    if agent.deleted_at is not None:
        return
    agent.deleted_at = timezone.now()
    agent.save(update_fields=["deleted_at"])
    cleared_users = UserDefaultAgent.objects.for_company(company).filter(agent=agent).delete()[0]
    CompanyProfile.objects.for_company(company).filter(default_agent=agent).update(default_agent=None)
    audit_event_record(
        action="agent.deleted",
        company=company,
        actor=actor,
        target=agent,
        detail={"user_defaults_cleared": cleared_users},
    )


def agent_check_connection(*, company: Company, agent: Agent, actor: Actor) -> ConnectionCheck:
    """Test connection: a one-token prompt through the real adapter. Returns the answer, latency and usage, or
    raises EngineError with the provider's reason (safe to show). Audited either way, without the message."""
    _check_company(agent, company)
    config = engine_config(
        agent, provider_credential_for(company=company, engine=agent.engine), read_timeout=CHECK_READ_TIMEOUT
    )

    async def check() -> ConnectionCheck:
        try:
            return await check_connection(config)
        finally:
            await close_client()  # this event loop ends with the call: close its connection pool with it

    try:
        # On an event loop of its own, never the server's: async_to_sync would run it on the ASGI server's loop
        # (a sync view's thread knows it), and closing that loop's pool would cut the answers streaming on it.
        result = asyncio.run(check())
    except EngineError as exc:
        audit_event_record(
            action="agent.connection_checked",
            company=company,
            actor=actor,
            target=agent,
            outcome=Outcome.FAILURE,
            detail={"engine": agent.engine, "error": exc.kind, "status": exc.status},
        )
        raise
    audit_event_record(
        action="agent.connection_checked",
        company=company,
        actor=actor,
        target=agent,
        detail={
            "engine": agent.engine,
            "latency_ms": result.latency_ms,
            "input_tokens": result.usage.input_tokens,
            "output_tokens": result.usage.output_tokens,
        },
    )
    return result


ERROR_EXPLANATIONS = {
    "auth": "The provider refused the credentials: the API key (or access key) is wrong, expired or not allowed.",
    "not_found": "The provider does not know this model or deployment (check the model, the deployment name, "
    "the region and the base URL).",
    "rate_limited": "The provider's rate limit or quota is used up.",
    "content_filtered": "The provider's content filter blocked the test prompt.",
    "timeout": "The provider did not answer in time (check the base URL, the region and the network).",
    "provider_error": "The provider answered with an error or with something that is not its API format.",
    "bad_config": "The agent's engine settings are incomplete.",
}


def explain_engine_error(exc: EngineError) -> str:
    """One plain sentence for an admin: what kind of problem, then the provider's own words."""
    line = ERROR_EXPLANATIONS.get(exc.kind, "The provider answered with an error.")
    if exc.kind == "rate_limited" and exc.retry_after:
        line += f" Retry in {exc.retry_after:g} s."
    status = f" (HTTP {exc.status})" if exc.status else ""
    return f"{line} Provider says{status}: {exc.message}" if exc.message else line


# --- files -------------------------------------------------------------------------------------------------------


@transaction.atomic
def agent_file_add(*, company: Company, agent: Agent, actor: Actor, upload: UploadedFile) -> AgentFile:
    _check_company(agent, company)
    limit = settings.AGENT_FILE_MAX_BYTES
    if not upload.size:
        raise ValidationError("The file is empty.", code="empty")
    if upload.size > limit:
        raise ValidationError(f"The file is larger than {limit // (1024 * 1024)} MB.", code="too_large")
    name = os.path.basename(upload.name or "file")[:255] or "file"
    content_type = (getattr(upload, "content_type", "") or mimetypes.guess_type(name)[0] or "")[:200]
    agent_file = AgentFile(
        company=company,
        agent=agent,
        name=name,
        size=upload.size,
        content_type=content_type,
        uploaded_by=actor.user if isinstance(actor.user, ApplicationUser) else None,
    )
    agent_file.file.save(name, upload, save=False)
    # A failed insert must not leave the stored bytes behind.
    stored, storage = agent_file.file.name, agent_file.file.storage
    try:
        agent_file.save()
    except Exception:
        storage.delete(stored)
        raise
    audit_event_record(
        action="agent.file_added",
        company=company,
        actor=actor,
        target=agent,
        detail={"file": name, "size": agent_file.size, "content_type": content_type},
    )
    return agent_file


@transaction.atomic
def agent_file_delete(*, company: Company, agent_file: AgentFile, actor: Actor) -> None:
    _check_company(agent_file, company)
    stored, storage = agent_file.file.name, agent_file.file.storage
    audit_event_record(
        action="agent.file_deleted",
        company=company,
        actor=actor,
        target=agent_file.agent,
        detail={"file": agent_file.name, "size": agent_file.size},
    )
    agent_file.delete()
    transaction.on_commit(lambda: storage.delete(stored))


# --- grants and defaults -----------------------------------------------------------------------------------------


def _check_grantable(agent: Agent, company: Company) -> None:
    if agent.company_id != company.pk:
        raise ValidationError(f"The agent {agent.name} belongs to another company.", code="company")
    if agent.is_deleted:
        raise ValidationError(f"The agent {agent.name} was deleted.", code="deleted")


@transaction.atomic
def agent_grant_group(*, company: Company, agent: Agent, group: Group, actor: Actor) -> bool:
    """Let the group's members use the agent. Returns whether a grant was added."""
    _check_grantable(agent, company)
    _check_company(group, company)
    try:
        with transaction.atomic():
            _, created = AgentGroupGrant.objects.get_or_create(company=company, agent=agent, group=group)
    except IntegrityError:
        created = False  # granted at the same moment by another request
    if created:
        audit_event_record(
            action="agent.granted_to_group", company=company, actor=actor, target=agent, detail={"group": group.name}
        )
    return created


@transaction.atomic
def agent_revoke_group(*, company: Company, agent: Agent, group: Group, actor: Actor) -> bool:
    _check_company(agent, company)
    deleted = AgentGroupGrant.objects.for_company(company).filter(agent=agent, group=group).delete()[0]
    if deleted:
        audit_event_record(
            action="agent.revoked_from_group", company=company, actor=actor, target=agent, detail={"group": group.name}
        )
    return bool(deleted)


@transaction.atomic
def agent_grant_user(*, company: Company, agent: Agent, user: ApplicationUser, actor: Actor) -> bool:
    _check_grantable(agent, company)
    if user.company_id != company.pk:
        raise ValidationError(f"{user.email} is not a user of the agent's company.", code="company")
    try:
        with transaction.atomic():
            _, created = AgentUserGrant.objects.get_or_create(company=company, agent=agent, user=user)
    except IntegrityError:
        created = False
    if created:
        audit_event_record(action="agent.granted_to_user", company=company, actor=actor, user=user, target=agent)
    return created


@transaction.atomic
def agent_revoke_user(*, company: Company, agent: Agent, user: ApplicationUser, actor: Actor) -> bool:
    _check_company(agent, company)
    deleted = AgentUserGrant.objects.for_company(company).filter(agent=agent, user=user).delete()[0]
    if deleted:
        audit_event_record(action="agent.revoked_from_user", company=company, actor=actor, user=user, target=agent)
    return bool(deleted)


def _grants_reconcile(*, company: Company, agents, grants, grant, revoke) -> None:
    """Grant the ``agents`` missing from ``grants`` (a group's or a user's) and revoke the granted ones not among
    them; grants of deleted agents stay for the history. The grant/revoke services record the audit events."""
    wanted = {agent.pk: agent for agent in agents}
    for agent in wanted.values():
        _check_grantable(agent, company)
    current = {row.agent_id: row.agent for row in grants.select_related("agent")}
    for pk in wanted.keys() - current.keys():
        grant(wanted[pk])
    for pk in current.keys() - wanted.keys():
        if not current[pk].is_deleted:
            revoke(current[pk])


@transaction.atomic
def group_set_agents(*, company: Company, group: Group, agents, actor: Actor) -> None:
    """Make ``agents`` exactly the (not deleted) agents granted to the group."""
    _check_company(group, company)
    _grants_reconcile(
        company=company,
        agents=agents,
        grants=group.agent_grants,
        grant=lambda agent: agent_grant_group(company=company, agent=agent, group=group, actor=actor),
        revoke=lambda agent: agent_revoke_group(company=company, agent=agent, group=group, actor=actor),
    )


@transaction.atomic
def user_set_agents(*, company: Company, user: ApplicationUser, agents, actor: Actor) -> None:
    """Make ``agents`` exactly the (not deleted) agents granted to the user directly."""
    if user.company_id != company.pk:
        raise ValidationError("That user belongs to another company.", code="company")
    _grants_reconcile(
        company=company,
        agents=agents,
        grants=user.agent_grants,
        grant=lambda agent: agent_grant_user(company=company, agent=agent, user=user, actor=actor),
        revoke=lambda agent: agent_revoke_user(company=company, agent=agent, user=user, actor=actor),
    )


@transaction.atomic
def user_set_default_agent(*, company: Company, user: ApplicationUser, agent: Agent | None, actor: Actor) -> None:
    """Set (or with None, remove) the user's default agent: it must be one they may use."""
    if user.company_id != company.pk:
        raise ValidationError("That user belongs to another company.", code="company")
    current = UserDefaultAgent.objects.filter(user=user).first()
    if agent is None:
        if current is not None:
            current.delete()
            audit_event_record(
                action="user.default_agent_removed", company=company, actor=actor, user=user, target=user
            )
        return
    _check_grantable(agent, company)
    if not agents_usable_by(user=user).filter(pk=agent.pk).exists():
        raise ValidationError(
            f"{user.email} may not use {agent.name}: grant it to them or to one of their groups first "
            "(and keep it active).",
            code="not_granted",
        )
    if current is not None and current.agent_id == agent.pk:
        return
    UserDefaultAgent.objects.update_or_create(user=user, defaults={"agent": agent, "company": company})
    audit_event_record(
        action="user.default_agent_set",
        company=company,
        actor=actor,
        user=user,
        target=agent,
        detail={"agent": agent.name},
    )


# --- company settings --------------------------------------------------------------------------------------------


@transaction.atomic
def company_profile_update(
    *, company: Company, actor: Actor, default_agent: Agent | None = _UNSET, **general: Any
) -> CompanyProfile:
    """General Information: the company's name, logo, contact email and time zone (companies' service) and its
    default agent (an active agent of the company, or None)."""
    if general:
        company_update_profile(company=company, actor=actor, **general)
    profile = company_profile_for(company=company)
    if default_agent is not _UNSET and profile.default_agent_id != getattr(default_agent, "pk", None):
        if default_agent is not None:
            _check_grantable(default_agent, company)
            if not default_agent.is_active:
                raise ValidationError(f"The agent {default_agent.name} is inactive.", code="inactive")
        profile.default_agent = default_agent
        profile.save(update_fields=["default_agent"])
        audit_event_record(
            action="company.default_agent_set",
            company=company,
            actor=actor,
            target=company,
            detail={"agent": default_agent.name if default_agent else None},
        )
    return profile


def credential_settings_errors(engine: str, values: dict) -> dict[str, list[str]]:
    """Field errors of a company's provider settings for ``engine`` (secrets None mean "keep")."""
    errors: dict[str, list[str]] = {}
    if values.get("base_url"):
        try:
            validate_http_url(values["base_url"])
        except ValidationError as exc:
            errors["base_url"] = exc.messages
    return errors


@transaction.atomic
def provider_credential_set(*, company: Company, engine: str, actor: Actor, **values: Any) -> ProviderCredential:
    """Create or change the company's credentials for ``engine`` (External Agent Provider Settings). Secrets:
    ``None`` keeps the stored one, ``""`` removes it."""
    if engine not in CREDENTIAL_ATTRS:
        raise ValidationError({"engine": [f"Unknown engine {engine!r}; choose one of {', '.join(CREDENTIAL_ATTRS)}."]})
    allowed = set(CREDENTIAL_ATTRS[engine])
    unknown = set(values) - set(AGENT_ENGINE_ATTRS)
    if unknown:
        raise ValidationError(f"Unknown setting(s): {', '.join(sorted(unknown))}.")
    credential = ProviderCredential.objects.for_company(company).filter(engine=engine).first()
    created = credential is None
    if created:
        credential = ProviderCredential(company=company, engine=engine)
    values = _normalized(values)
    _raise(credential_settings_errors(engine, values))
    changed = []
    for attr in allowed:
        value = values.get(attr, None if attr in SECRET_ATTRS else getattr(credential, attr))
        if value is None:
            continue
        if getattr(credential, attr) != value:
            setattr(credential, attr, value)
            changed.append(attr)
    if engine == "bedrock" and bool(credential.access_key_id) != bool(credential.secret_access_key):
        raise ValidationError({"access_key_id": ["Give the access key id and the secret access key together."]})
    if not changed and not created:
        return credential
    credential.updated = timezone.now()
    credential.full_clean()
    credential.save()
    audit_event_record(
        action="company.provider_settings_set",
        company=company,
        actor=actor,
        target=company,
        detail={"engine": engine, "changed": sorted(changed)},
    )
    return credential


@transaction.atomic
def provider_credential_delete(*, company: Company, credential: ProviderCredential, actor: Actor) -> None:
    _check_company(credential, company)
    audit_event_record(
        action="company.provider_settings_deleted",
        company=company,
        actor=actor,
        target=company,
        detail={"engine": credential.engine},
    )
    credential.delete()


# --- templates (server admins) -----------------------------------------------------------------------------------

TEMPLATE_ATTRS = (*GENERAL_ATTRS, *TEMPLATE_ENGINE_ATTRS, *ADVANCED_ATTRS)


def _template_values(values: dict) -> dict:
    unknown = set(values) - set(TEMPLATE_ATTRS) - {"engine"}
    if unknown:
        raise ValidationError(f"A default agent holds no keys or credentials: {', '.join(sorted(unknown))}.")
    values = _normalized(values)
    _raise(agent_settings_errors(values, company=None, template=True))
    values = _with_list_prices(values)
    used = set(engine_attrs(values["engine"]))
    for attr in TEMPLATE_ENGINE_ATTRS:
        if attr not in used:
            values[attr] = ""
    return values


@transaction.atomic
def agent_template_create(*, actor: Actor, name: str, engine: str, **values: Any) -> AgentTemplate:
    values = _template_values({"name": name, "engine": engine, **values})
    template = AgentTemplate(
        **{k: v for k, v in values.items() if v is not None or k not in ("max_messages", "temperature")}
    )
    template.full_clean()
    template.save()
    audit_event_record(
        action="agent_template.created", company=None, actor=actor, target=template, detail={"engine": engine}
    )
    return template


@transaction.atomic
def agent_template_update(*, template: AgentTemplate, actor: Actor, **changes: Any) -> AgentTemplate:
    values = {attr: getattr(template, attr) for attr in (*TEMPLATE_ATTRS, "engine")}
    values.update(changes)
    if ("model" in changes or "engine" in changes) and not (
        "input_price_per_million" in changes or "output_price_per_million" in changes
    ):
        values["input_price_per_million"] = values["output_price_per_million"] = None
    values = _template_values(values)
    changed = [attr for attr, value in values.items() if getattr(template, attr) != value]
    if not changed:
        return template
    for attr in changed:
        setattr(template, attr, values[attr])
    template.updated = timezone.now()
    template.full_clean()
    template.save()
    audit_event_record(
        action="agent_template.updated", company=None, actor=actor, target=template, detail={"changed": changed}
    )
    return template


@transaction.atomic
def agent_template_delete(*, template: AgentTemplate, actor: Actor) -> None:
    """The companies' copies stay (they are independent agents)."""
    audit_event_record(action="agent_template.deleted", company=None, actor=actor, target=template)
    template.delete()


@transaction.atomic
def agent_create_from_template(
    *, company: Company, template: AgentTemplate, actor: Actor, name: str | None = None
) -> Agent:
    """An independent copy of the template in ``company``, without keys (the company's provider settings apply
    until the admin gives it its own)."""
    values = {attr: getattr(template, attr) for attr in (*GENERAL_ATTRS, *TEMPLATE_ENGINE_ATTRS, *ADVANCED_ATTRS)}
    values["name"] = (name or template.name).strip()
    return agent_create(
        company=company, actor=actor, engine=template.engine, template=template, require_key=False, **values
    )


@transaction.atomic
def agent_template_publish(*, template: AgentTemplate, actor: Actor) -> int:
    """Publish into every company: each active company without a copy gets one now, and every new company gets
    one when it is created. Returns how many copies were made."""
    if not template.published:
        template.published = True
        template.published_at = timezone.now()
        template.save(update_fields=["published", "published_at"])
    made = 0
    for company in Company.objects.filter(is_active=True).exclude(agents_agent_set__template=template):
        agent_create_from_template(company=company, template=template, actor=actor)
        made += 1
    audit_event_record(
        action="agent_template.published", company=None, actor=actor, target=template, detail={"copies": made}
    )
    return made


def agent_templates_publish_into(*, company: Company, actor: Actor) -> int:
    """Copies of every published template for a new company (the receiver of company_created)."""
    made = 0
    for template in AgentTemplate.objects.filter(published=True).exclude(agents__company=company):
        agent_create_from_template(company=company, template=template, actor=actor)
        made += 1
    return made
