"""From an agent (and its company's provider settings) to the engines' ``EngineConfig``."""

from __future__ import annotations

from apps.agents.engine_fields import CREDENTIAL_ATTRS, engine_attrs
from apps.agents.models import Agent, ProviderCredential
from apps.engines.base import EngineConfig

# What comes from the company as a whole when the agent has no key of its own.
CREDENTIALS = ("api_key", "access_key_id", "secret_access_key", "session_token", "organization")
# What comes from the company when the agent leaves it empty (the shared resource: endpoint, region, version).
RESOURCE = ("base_url", "api_version", "region")


def has_own_key(values) -> bool:
    get = values.get if isinstance(values, dict) else lambda name: getattr(values, name, "")
    return bool(get("api_key") or (get("access_key_id") and get("secret_access_key")))


def effective_engine_values(values: dict, credential: ProviderCredential | None) -> dict:
    """The engine settings an agent runs with: its own, completed by the company's provider settings."""
    engine = values["engine"]
    result = {attr: values.get(attr) or "" for attr in engine_attrs(engine)}
    if credential is None or credential.engine != engine:
        return result
    shared = CREDENTIAL_ATTRS.get(engine, ())
    if not has_own_key(values):
        for attr in CREDENTIALS:
            if attr in shared:
                result[attr] = getattr(credential, attr)
    for attr in RESOURCE:
        if attr in shared and not result.get(attr):
            result[attr] = getattr(credential, attr)
    return result


def engine_config(
    agent: Agent, credential: ProviderCredential | None, *, read_timeout: float | None = None
) -> EngineConfig:
    values = {"engine": agent.engine, **{attr: getattr(agent, attr) for attr in engine_attrs(agent.engine)}}
    effective = effective_engine_values(values, credential)
    extra = {"read_timeout": read_timeout} if read_timeout is not None else {}
    return EngineConfig(
        engine=agent.engine,
        temperature=float(agent.temperature),
        max_tokens=agent.max_tokens,
        **{attr: value for attr, value in effective.items() if attr in EngineConfig.__dataclass_fields__},
        **extra,
    )
