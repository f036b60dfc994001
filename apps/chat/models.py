"""Conversations with agents, their messages, their files, and one usage row per AI answer.

Nothing here is ever hard-deleted by a user: hiding a conversation (``removed_from_history``) keeps the record
for compliance. Costs are Decimal USD computed at the agent's prices of the moment the answer was given, and
the unit prices used are stored beside them so that a later price change never rewrites history.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.agents.models import Agent, AgentFile
from apps.companies.models import CompanyOwnedModel
from apps.core.fields import EncryptedTextField
from apps.documents.models import Document

COST_FIELD = {"max_digits": 18, "decimal_places": 8, "default": Decimal(0)}
PRICE_FIELD = {"max_digits": 12, "decimal_places": 6, "default": Decimal(0)}


def new_public_id() -> str:
    return str(uuid.uuid4())


class MessageType(models.TextChoices):
    USER = "User", "User"
    AI = "AI", "AI"
    SYSTEM = "System", "System"


class MessageStatus(models.TextChoices):
    COMPLETED = "completed", "Completed"
    INCOMPLETE = "incomplete", "Incomplete"
    FAILED = "failed", "Failed"
    IN_PROGRESS = "in_progress", "In progress"


class ExchangeOutcome(models.TextChoices):
    """How an exchange ended, as the usage record keeps it for monitoring and dashboards."""

    COMPLETED = "completed", "Completed"
    INCOMPLETE = "incomplete", "Incomplete (stopped or cut)"
    FAILED = "failed", "Failed (engine error)"
    BLOCKED = "blocked", "Blocked by a scanner"


class Feedback(models.TextChoices):
    LIKE = "Like", "Like"
    DISLIKE = "Dislike", "Dislike"


class Conversation(CompanyOwnedModel):
    public_id = models.CharField("id", max_length=36, unique=True, default=new_public_id, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    # RESTRICT (like PROTECT, but a whole company can still be deleted): agents are soft-deleted, and a
    # conversation must always be able to name its agent.
    agent = models.ForeignKey(Agent, on_delete=models.RESTRICT, related_name="conversations")
    title = models.CharField(max_length=300, blank=True)
    metadata = models.JSONField(default=list, blank=True, help_text="What the client sent (the mobile client: a list).")
    removed_from_history = models.BooleanField(default=False)
    has_flag = models.BooleanField(default=False)
    # The PII scanner's placeholders of this conversation ("[EMAIL_1]" -> the original), JSON, encrypted at rest:
    # it holds the very values the engine must never see. Consistent placeholders across turns need it kept.
    redaction_map = EncryptedTextField(editable=False)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    total_tokens = models.PositiveBigIntegerField(default=0)
    prompt_cost = models.DecimalField(**COST_FIELD)
    completion_cost = models.DecimalField(**COST_FIELD)
    total_cost = models.DecimalField(**COST_FIELD)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now, editable=False)
    last_updated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_updated", "-id"]
        indexes = [models.Index(fields=["company", "user", "-last_updated"], name="chat_conv_user_recent")]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.public_id[:8]}"


class Message(CompanyOwnedModel):
    public_id = models.CharField("id", max_length=36, unique=True, default=new_public_id, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    message_type = models.CharField(max_length=8, choices=MessageType.choices)
    text = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=MessageStatus.choices, default=MessageStatus.COMPLETED)
    incomplete_reason = models.CharField(max_length=40, blank=True)
    feedback = models.CharField(max_length=8, choices=Feedback.choices, null=True, blank=True)
    finish_reason = models.CharField(max_length=40, blank=True, help_text="The engine's finish reason, normalized.")
    provider_finish_reason = models.CharField(max_length=80, blank=True)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cached_tokens = models.PositiveBigIntegerField(default=0)
    usage_estimated = models.BooleanField(default=False, help_text="The provider reported no usage: estimated.")
    input_price_per_million = models.DecimalField(**PRICE_FIELD)
    output_price_per_million = models.DecimalField(**PRICE_FIELD)
    input_cost = models.DecimalField(**COST_FIELD)
    output_cost = models.DecimalField(**COST_FIELD)
    cost = models.DecimalField(**COST_FIELD)
    first_token_ms = models.FloatField(null=True, blank=True)
    total_ms = models.FloatField(null=True, blank=True)
    error_kind = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    citations = models.JSONField(default=list, blank=True)
    attachments = models.JSONField(default=list, blank=True, help_text="Files this message added: id and name.")
    run_id = models.CharField(max_length=40, blank=True)
    created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created", "id"]
        indexes = [models.Index(fields=["conversation", "created"], name="chat_message_order")]

    def __str__(self) -> str:
        return f"{self.message_type}: {self.text[:40]}"


class ConversationFile(CompanyOwnedModel):
    """A document attached to one conversation: its passages are context for every later prompt."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="files")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created", "id"]


class AgentDocument(CompanyOwnedModel):
    """The extracted text of an agent's file (AgentFile keeps the bytes, the document its passages). Made when
    a file is added over the Chat API, or on the first prompt after an admin uploaded it on the agent's page."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    agent_file = models.OneToOneField(AgentFile, on_delete=models.CASCADE, related_name="+", null=True, blank=True)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    error = models.CharField(max_length=300, blank=True, help_text="Why the text could not be extracted.")
    created = models.DateTimeField(default=timezone.now, editable=False)


class UsageRecord(CompanyOwnedModel):
    """One row per prompt that reached the pipeline's scanners: an answer (completed, incomplete or failed) or a
    prompt a scanner blocked. Monitoring, compliance and dashboards read these: who, which agent, from which
    country, how it ended, whether a scanner flagged it, tokens and cost."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    agent = models.ForeignKey(Agent, on_delete=models.RESTRICT, related_name="+")
    # Null for ChatWithAgent one-offs, which keep no conversation.
    conversation = models.ForeignKey(Conversation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cached_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(**COST_FIELD)
    estimated = models.BooleanField(default=False)
    channel = models.CharField(max_length=8, default="api")
    outcome = models.CharField(max_length=12, choices=ExchangeOutcome.choices, default=ExchangeOutcome.COMPLETED)
    error_kind = models.CharField(max_length=40, blank=True, help_text="The engine error's kind, when it failed.")
    flagged = models.BooleanField(
        default=False, help_text="A scanner flagged, redacted or blocked the prompt or answer."
    )
    # The caller's country (ISO 3166-1 alpha-2) as the geographic scanner resolves it; empty when internal/unknown.
    country = models.CharField(max_length=2, blank=True)
    created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [models.Index(fields=["company", "created"], name="chat_usage_company_time")]
