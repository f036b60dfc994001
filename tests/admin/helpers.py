"""Helpers of the admin screen tests."""

from django.urls import reverse

from apps.audit.models import AuditEvent


def changelist(model_label: str) -> str:
    return reverse(f"admin:{model_label}_changelist")


def change_url(model_label: str, pk) -> str:
    return reverse(f"admin:{model_label}_change", args=[pk])


def add_url(model_label: str) -> str:
    return reverse(f"admin:{model_label}_add")


def delete_url(model_label: str, pk) -> str:
    return reverse(f"admin:{model_label}_delete", args=[pk])


def history_url(model_label: str, pk) -> str:
    return reverse(f"admin:{model_label}_history", args=[pk])


def action_post(client, model_label: str, action: str, pks, follow: bool = False, **extra):
    """Run a change-list action on ``pks`` as the admin's browser would."""
    data = {"action": action, "_selected_action": [str(pk) for pk in pks], "index": "0", **extra}
    return client.post(changelist(model_label), data, follow=follow)


def actions_recorded(company=None) -> list[str]:
    events = AuditEvent.objects.all() if company is None else AuditEvent.objects.filter(company=company)
    return list(events.order_by("id").values_list("action", flat=True))


def error_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []
