"""Which settings each engine takes, as the admin forms and the commands present them.

The engines app owns the wire formats and the final word on a usable configuration (``validate_config``); this
module says how an admin enters one: the fields of each engine's "Engine Properties" section, their labels,
which are required, and which are secret (stored encrypted, write-only).
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.engines.base import ENGINE_CHOICES

ENGINE_LABELS = dict(ENGINE_CHOICES)


@dataclass(frozen=True)
class EngineField:
    name: str  # the attribute of Agent / ProviderCredential and of the engines' EngineConfig
    label: str
    help: str = ""
    required: bool = False
    secret: bool = False
    # A required field the company's External Agent Provider Settings may supply instead (an Azure resource).
    company_may_supply: bool = False


def _base_url(help_text: str, *, required: bool = False, label: str = "Base URL", company: bool = False):
    return EngineField("base_url", label, help_text, required=required, company_may_supply=company)


API_KEY_HELP = "Stored encrypted and never shown again. Leave empty to use the company's provider settings."

ENGINE_FIELDS: dict[str, tuple[EngineField, ...]] = {
    "azure-openai": (
        _base_url(
            "The resource endpoint, e.g. https://my-resource.openai.azure.com.",
            required=True,
            label="Endpoint",
            company=True,
        ),
        EngineField("deployment", "Deployment name", "The deployment in the Azure resource, e.g. gpt-4o-prod.", True),
        EngineField(
            "api_version",
            "API version",
            "e.g. 2024-10-21 for the classic deployments URL; leave empty for the v1 URL.",
            company_may_supply=True,
        ),
        EngineField(
            "model",
            "Base model",
            "The model the deployment runs, e.g. gpt-4o: it picks the list prices (Azure ignores it otherwise).",
        ),
        EngineField("api_key", "API key", API_KEY_HELP, secret=True),
    ),
    "openai": (
        EngineField("model", "Model", "e.g. gpt-4o-mini.", True),
        EngineField("api_key", "API key", API_KEY_HELP, secret=True),
        EngineField("organization", "Organization", "Optional OpenAI organization id (org-…)."),
        _base_url("Optional; default https://api.openai.com/v1 (with /v1), e.g. a proxy."),
    ),
    "mistral": (
        EngineField("model", "Model", "e.g. mistral-small-latest.", True),
        EngineField("api_key", "API key", API_KEY_HELP, secret=True),
        _base_url("Optional; default https://api.mistral.ai/v1 (with /v1)."),
    ),
    "google": (
        EngineField("model", "Model", "e.g. gemini-2.5-flash.", True),
        EngineField("api_key", "API key", API_KEY_HELP, secret=True),
        _base_url("Optional; default https://generativelanguage.googleapis.com (without the version)."),
    ),
    "llama": (
        _base_url(
            "An OpenAI-compatible server, with /v1: Ollama http://localhost:11434/v1, vLLM, llama.cpp, "
            "Meta's Llama API.",
            required=True,
        ),
        EngineField("model", "Model", "e.g. llama3.2.", True),
        EngineField("api_key", "API key", "Optional for a self-hosted server. " + API_KEY_HELP, secret=True),
    ),
    "bedrock": (
        EngineField("region", "Region", "e.g. us-east-1.", True, company_may_supply=True),
        EngineField("model", "Model id", "e.g. anthropic.claude-3-5-haiku-20241022-v1:0.", True),
        EngineField(
            "api_key", "Bedrock API key", "Either this, or an access key id and secret. " + API_KEY_HELP, secret=True
        ),
        EngineField("access_key_id", "Access key id", "AWS access key id (AKIA…), with the secret access key."),
        EngineField("secret_access_key", "Secret access key", "Stored encrypted and never shown again.", secret=True),
        EngineField("session_token", "Session token", "Optional, for temporary credentials.", secret=True),
        _base_url("Optional; default https://bedrock-runtime.{region}.amazonaws.com, e.g. a VPC endpoint."),
    ),
}

# Every setting an agent may hold for some engine; the ones the chosen engine does not use are cleared.
AGENT_ENGINE_ATTRS = (
    "model",
    "base_url",
    "deployment",
    "api_version",
    "region",
    "organization",
    "access_key_id",
    "api_key",
    "secret_access_key",
    "session_token",
)
SECRET_ATTRS = ("api_key", "secret_access_key", "session_token")
# What a template keeps ("everything but keys"): the credentials and the organization stay with each company.
TEMPLATE_ENGINE_ATTRS = ("model", "base_url", "deployment", "api_version", "region")

# The company's External Agent Provider Settings per engine: credentials and the shared resource settings.
CREDENTIAL_ATTRS: dict[str, tuple[str, ...]] = {
    "azure-openai": ("base_url", "api_version", "api_key"),
    "openai": ("api_key", "organization", "base_url"),
    "mistral": ("api_key", "base_url"),
    "google": ("api_key", "base_url"),
    "llama": ("api_key",),
    "bedrock": ("region", "api_key", "access_key_id", "secret_access_key", "session_token", "base_url"),
}
CREDENTIAL_FIELD_OVERRIDES = {
    "base_url": "Used by the agents that leave it empty.",
    "region": "Used by the agents that leave it empty.",
    "api_version": "Used by the agents that leave it empty.",
}


def engine_field(engine: str, name: str) -> EngineField | None:
    return next((field for field in ENGINE_FIELDS.get(engine, ()) if field.name == name), None)


def credential_fields(engine: str) -> tuple[EngineField, ...]:
    fields = []
    for name in CREDENTIAL_ATTRS[engine]:
        field = engine_field(engine, name)
        help_text = CREDENTIAL_FIELD_OVERRIDES.get(
            name, "Stored encrypted and never shown again." if field.secret else field.help
        )
        fields.append(EngineField(name, field.label, help_text, secret=field.secret))
    return tuple(fields)


def engine_attrs(engine: str) -> tuple[str, ...]:
    return tuple(field.name for field in ENGINE_FIELDS.get(engine, ()))
