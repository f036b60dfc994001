"""The audit trail: who did what, to which object, from where, when. Never a secret, code or token."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.companies.models import Company, CompanyQuerySet


class ActorType(models.TextChoices):
    USER = "user", "User"
    CLIENT = "client", "API client"
    SYSTEM = "system", "System (command line)"
    ANONYMOUS = "anonymous", "Anonymous"


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"


class AuditEvent(models.Model):
    # SET_NULL everywhere: the trail outlives what it speaks of; the *_label fields keep a readable name.
    company = models.ForeignKey(Company, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=64, db_index=True, help_text="What happened, e.g. oauth.token.issued.")
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_client = models.ForeignKey(
        "oauth.APIUser", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    # The API client and the user the event concerns (for filtering), and its target object.
    client = models.ForeignKey("oauth.APIUser", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=254, blank=True)
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    trace_id = models.CharField(max_length=55, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["company", "-created"], name="audit_company_recent")]

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor_label or self.actor_type}"
