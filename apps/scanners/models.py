"""Scanner settings (company defaults and per-agent overrides) and the hits the scanners record.

Settings are stored as the JSON of the detector's settings class and validated by its ``from_dict`` on every
write (services.py) and again on every read (selectors.py), so a row edited by hand can never reach a scanner.

Hits live here rather than in chat: chat sits above scanners in the layering, so a hit names its chat message and
conversation by their public ids (indexed text columns) instead of a foreign key. The Scanner API records hits
with no message at all, and the monitoring issue reads them all from one table.
"""

from __future__ import annotations

from django.db import models

from apps.agents.models import Agent
from apps.companies.models import CompanyOwnedModel
from apps.scanners.detectors.base import SCANNER_NAMES

SCANNER_CHOICES = [(name, name) for name in SCANNER_NAMES]


class ScannerDefault(CompanyOwnedModel):
    """Admin > Agent Scanner Defaults: one row per company and scanner, once an admin saved it."""

    scanner = models.CharField(max_length=32, choices=SCANNER_CHOICES)
    enabled = models.BooleanField(default=True)
    settings = models.JSONField(default=dict, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "scanner"], name="scanners_default_unique")]
        ordering = ["scanner"]
        verbose_name = "agent scanner default"
        verbose_name_plural = "Agent Scanner Defaults"

    def __str__(self) -> str:
        return f"{self.scanner} default"


class AgentScannerOverride(CompanyOwnedModel):
    """An agent's own settings for one scanner; no row means the agent inherits the company default."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="scanner_overrides")
    scanner = models.CharField(max_length=32, choices=SCANNER_CHOICES)
    enabled = models.BooleanField(default=True)
    settings = models.JSONField(default=dict, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agent", "scanner"], name="scanners_override_unique")]
        ordering = ["scanner"]

    def __str__(self) -> str:
        return f"{self.scanner} override of {self.agent_id}"


class ScanHit(CompanyOwnedModel):
    """One scanner's non-"allow" verdict on one prompt, answer or file. Never holds the raw sensitive value:
    findings are types, offsets and scores; details are the detector's (PII details are counts only)."""

    class Source(models.TextChoices):
        API = "api", "Scanner API"
        CHAT = "chat", "chat"
        FILE = "file", "file upload"

    scanner = models.CharField(max_length=32, choices=SCANNER_CHOICES)
    direction = models.CharField(max_length=8)  # prompt | answer | file
    source = models.CharField(max_length=8, choices=Source.choices)
    action = models.CharField(max_length=8)  # the action taken: flag | redact | block
    score = models.FloatField()
    threshold = models.FloatField()
    findings = models.JSONField(default=list)  # [{type, start, end, score}]
    details = models.JSONField(default=dict)
    agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    message_public_id = models.CharField(max_length=36, blank=True, db_index=True)
    conversation_public_id = models.CharField(max_length=36, blank=True, db_index=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["company", "scanner", "created"], name="scanners_hit_company_scanner")]

    def __str__(self) -> str:
        return f"{self.scanner} {self.action}"
