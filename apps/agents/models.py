"""AI agents and who may use them.

An Agent is a configured assistant of one company on one LLM engine. Its provider keys are encrypted at rest
(``EncryptedTextField``) and write-only in every screen. Agents are granted to groups and to users; each user
may have a default agent, and so may the company. Server admins keep AgentTemplates ("Default Agents"):
everything of an agent but its keys, copied into companies on request or published into every company.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from apps.accounts.models import Group
from apps.companies.models import CompanyOwnedModel, CompanyQuerySet
from apps.core.fields import EncryptedTextField
from apps.core.validators import validate_http_url, validate_image_upload
from apps.engines.base import ENGINE_CHOICES

MAX_MESSAGES_RANGE = (1, 200)
TEMPERATURE_RANGE = (0.0, 2.0)
PRICE_FIELD = {
    "max_digits": 12,
    "decimal_places": 6,
    "null": True,
    "blank": True,
    "validators": [MinValueValidator(Decimal(0))],
}


def new_public_id() -> str:
    return str(uuid.uuid4())


def agent_image_path(instance: Agent, filename: str) -> str:
    return f"agents/{instance.public_id}/image/{filename}"


def agent_file_path(instance: AgentFile, filename: str) -> str:
    # A random directory per file: two uploads of "report.pdf" never collide, and names are not guessable.
    return f"agents/{instance.agent.public_id}/files/{uuid.uuid4().hex}/{filename}"


class AgentSettings(models.Model):
    """What an agent and a template share: everything but the company, the keys and the credentials."""

    # General Settings
    name = models.CharField(max_length=150, help_text="How users see the agent, e.g. 'HR assistant'.")
    description = models.TextField(blank=True, help_text="What the agent is for; shown in the agent list.")
    instructions = models.TextField(
        blank=True,
        help_text="The system prompt: sent with every prompt, whatever the Max Messages window.",
    )
    greeting = models.CharField(max_length=300, blank=True, help_text="The first words a user sees when a chat starts.")
    greeting_description = models.TextField(blank=True, help_text="A longer text under the greeting.")
    suggested_prompts = models.TextField(blank=True, help_text="Prompts offered when a chat starts, one per line.")
    # Engine Properties (which of these an engine uses: apps/agents/engine_fields.py)
    engine = models.CharField(max_length=32, choices=ENGINE_CHOICES)
    model = models.CharField(max_length=200, blank=True)
    base_url = models.CharField("base URL", max_length=500, blank=True, validators=[validate_http_url])
    deployment = models.CharField(max_length=200, blank=True)
    api_version = models.CharField("API version", max_length=40, blank=True)
    region = models.CharField(max_length=40, blank=True)
    # Advanced Settings > Usage
    max_messages = models.PositiveSmallIntegerField(
        default=20,
        validators=[MinValueValidator(MAX_MESSAGES_RANGE[0]), MaxValueValidator(MAX_MESSAGES_RANGE[1])],
        help_text="How many earlier messages of the conversation go with each prompt (1 to 200). The instructions "
        "always go.",
    )
    temperature = models.FloatField(
        "LLM temperature",
        default=0.7,
        validators=[MinValueValidator(TEMPERATURE_RANGE[0]), MaxValueValidator(TEMPERATURE_RANGE[1])],
        help_text="0 (focused, repeatable) to 2 (varied).",
    )
    max_tokens = models.PositiveIntegerField(
        "maximum answer tokens",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(1_000_000)],
        help_text="The longest answer, in tokens; empty: the model's own limit.",
    )
    input_price_per_million = models.DecimalField(
        "input price per million tokens (USD)",
        **PRICE_FIELD,
        help_text="Empty: the provider's list price for the model, when known. 0 for a self-hosted model.",
    )
    output_price_per_million = models.DecimalField(
        "output price per million tokens (USD)",
        **PRICE_FIELD,
        help_text="Empty: the provider's list price for the model, when known. 0 for a self-hosted model.",
    )
    created = models.DateTimeField(default=timezone.now, editable=False)
    updated = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def suggested_prompt_list(self) -> list[str]:
        return [line.strip() for line in self.suggested_prompts.splitlines() if line.strip()]


class AgentQuerySet(CompanyQuerySet):
    def alive(self) -> AgentQuerySet:
        """Not deleted (deleted agents stay for the history of their conversations)."""
        return self.filter(deleted_at__isnull=True)

    def usable(self) -> AgentQuerySet:
        return self.alive().filter(is_active=True)


class AgentTemplate(AgentSettings):
    """A server-wide agent without keys (Server Admin > Default Agents)."""

    published = models.BooleanField(
        "published to every company",
        default=False,
        help_text="Every company, existing and new, gets its own copy of this agent (once).",
    )
    published_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "default agent"
        verbose_name_plural = "default agents (templates)"


class Agent(AgentSettings, CompanyOwnedModel):
    public_id = models.CharField(
        "id", max_length=36, unique=True, default=new_public_id, editable=False, help_text="Public identifier."
    )
    image = models.FileField(
        upload_to=agent_image_path,
        blank=True,
        validators=[validate_image_upload],
        help_text="PNG, JPEG, GIF or WebP, at most 2 MB; shown next to the agent's answers.",
    )
    is_active = models.BooleanField(
        "active", default=True, help_text="An inactive agent is kept but nobody can chat with it."
    )
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    template = models.ForeignKey(
        AgentTemplate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="agents",
        help_text="The default agent this one was copied from.",
    )
    # Credentials of its own (else the company's External Agent Provider Settings apply).
    organization = models.CharField(max_length=200, blank=True)
    access_key_id = models.CharField("access key id", max_length=128, blank=True)
    api_key = EncryptedTextField("API key")
    secret_access_key = EncryptedTextField()
    session_token = EncryptedTextField()

    objects = AgentQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "agent"
        verbose_name_plural = "AI agents"
        indexes = [models.Index(fields=["company", "deleted_at", "is_active"], name="agents_agent_usable")]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class AgentFile(CompanyOwnedModel):
    """A document the agent always has as context (the chat reads its text)."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(upload_to=agent_file_path, max_length=500)
    name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "file"

    def __str__(self) -> str:
        return self.name


class AgentGroupGrant(CompanyOwnedModel):
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="group_grants")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="agent_grants")
    created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agent", "group"], name="agents_group_grant_once")]


class AgentUserGrant(CompanyOwnedModel):
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="user_grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_grants")
    created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agent", "user"], name="agents_user_grant_once")]


class UserDefaultAgent(CompanyOwnedModel):
    """The agent a user's chat opens with (Users > Setting a Default Agent)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="default_agent_choice")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")


class CompanyProfile(CompanyOwnedModel):
    """Admin > Company > General Information: the company's own fields (name, logo, contact, time zone) are
    edited on this screen too; this row holds what the agents app adds to them."""

    default_agent = models.ForeignKey(
        Agent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The agent of users who have no default of their own (when they may use it).",
    )

    class Meta:
        verbose_name = "company"
        verbose_name_plural = "company — general information"
        constraints = [models.UniqueConstraint(fields=["company"], name="agents_company_profile_once")]

    def __str__(self) -> str:
        return self.company.name


class ProviderCredential(CompanyOwnedModel):
    """Admin > Company > External Agent Provider Settings: the credentials an engine's agents use when they
    have no key of their own."""

    engine = models.CharField(max_length=32, choices=ENGINE_CHOICES)
    base_url = models.CharField("base URL", max_length=500, blank=True, validators=[validate_http_url])
    api_version = models.CharField("API version", max_length=40, blank=True)
    region = models.CharField(max_length=40, blank=True)
    organization = models.CharField(max_length=200, blank=True)
    access_key_id = models.CharField("access key id", max_length=128, blank=True)
    api_key = EncryptedTextField("API key")
    secret_access_key = EncryptedTextField()
    session_token = EncryptedTextField()
    updated = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["engine"]
        verbose_name = "external agent provider setting"
        verbose_name_plural = "external agent provider settings"
        constraints = [models.UniqueConstraint(fields=["company", "engine"], name="agents_credential_per_engine")]

    def __str__(self) -> str:
        return dict(ENGINE_CHOICES).get(self.engine, self.engine)

    @property
    def has_key(self) -> bool:
        return bool(self.api_key or (self.access_key_id and self.secret_access_key))
