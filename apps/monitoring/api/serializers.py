"""Input and output serializers of the Monitoring API (camelCase on the wire, like the rest of the API).

Inputs are strict (unknown fields named, JSON types checked); agents, groups, users and assignees are looked up
in the token's company by the view, so another company's ids are "not found". Outputs are plain dicts built from
prefetched objects."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.monitoring.models import (
    ConditionKind,
    Direction,
    HitAction,
    IssueStatus,
    LoginKey,
    Period,
    Severity,
    UsageMeasure,
)
from apps.scanners.models import SCANNER_CHOICES
from apps.users_api.serializers import (
    PageQuerySerializer,
    StrictCharField,
    StrictInputSerializer,
    StrictIntegerField,
)

# Wire name -> model field of a rule.
RULE_FIELDS = {
    "name": "name",
    "description": "description",
    "condition": "kind",
    "severity": "severity",
    "enabled": "enabled",
    "scanner": "scanner",
    "minScore": "min_score",
    "direction": "direction",
    "action": "hit_action",
    "measure": "measure",
    "threshold": "threshold",
    "period": "period",
    "minExchanges": "min_exchanges",
    "failureCount": "failure_count",
    "windowMinutes": "window_minutes",
    "loginKey": "login_key",
    "notifyEmail": "notify_email",
    "webhookUrl": "webhook_url",
}


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class RuleInputSerializer(StrictInputSerializer):
    """A rule. On create, `name`, `condition` and `severity` are required and the condition's own fields too;
    on update (PATCH) every field is optional. Fields of other conditions are reset."""

    name = StrictCharField(max_length=120)
    description = StrictCharField(max_length=500, required=False, allow_blank=True)
    condition = serializers.ChoiceField(choices=ConditionKind.values)
    severity = serializers.ChoiceField(choices=Severity.values)
    enabled = StrictBooleanField(required=False, default=True)
    scanner = serializers.ChoiceField(choices=[c[0] for c in SCANNER_CHOICES], required=False, allow_blank=True)
    minScore = serializers.FloatField(required=False, min_value=0, max_value=1, help_text="scanner_hit: 0 to 1.")
    direction = serializers.ChoiceField(choices=Direction.values, required=False, allow_blank=True)
    action = serializers.ChoiceField(choices=HitAction.values, required=False, allow_blank=True)
    measure = serializers.ChoiceField(choices=UsageMeasure.values, required=False, allow_blank=True)
    threshold = serializers.DecimalField(
        max_digits=18,
        decimal_places=6,
        required=False,
        allow_null=True,
        help_text="usage: USD or tokens; error_rate: a percentage.",
    )
    period = serializers.ChoiceField(choices=Period.values, required=False, allow_blank=True)
    minExchanges = StrictIntegerField(required=False, min_value=1)
    failureCount = StrictIntegerField(required=False, min_value=2)
    windowMinutes = StrictIntegerField(required=False, min_value=1, max_value=1440)
    loginKey = serializers.ChoiceField(choices=LoginKey.values, required=False, allow_blank=True)
    agents = serializers.ListField(child=StrictCharField(max_length=36), required=False, help_text="Agent ids.")
    groups = serializers.ListField(child=StrictIntegerField(), required=False, help_text="Group ids.")
    users = serializers.ListField(child=StrictCharField(max_length=36), required=False, help_text="userids.")
    notifyEmail = StrictBooleanField(required=False)
    webhookUrl = StrictCharField(max_length=500, required=False, allow_blank=True, help_text="http(s) URL or empty.")


class RuleOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    condition = serializers.ChoiceField(choices=ConditionKind.values)
    severity = serializers.ChoiceField(choices=Severity.values)
    enabled = serializers.BooleanField()
    scanner = serializers.CharField()
    minScore = serializers.FloatField()
    direction = serializers.CharField()
    action = serializers.CharField()
    measure = serializers.CharField()
    threshold = serializers.CharField(allow_null=True)
    period = serializers.CharField()
    minExchanges = serializers.IntegerField()
    failureCount = serializers.IntegerField()
    windowMinutes = serializers.IntegerField()
    loginKey = serializers.CharField()
    agents = serializers.ListField(child=serializers.CharField())
    groups = serializers.ListField(child=serializers.IntegerField())
    users = serializers.ListField(child=serializers.CharField())
    notifyEmail = serializers.BooleanField()
    webhookUrl = serializers.CharField()
    hasWebhookSecret = serializers.BooleanField()
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField()


class RuleCreatedSerializer(RuleOutputSerializer):
    webhookSecret = serializers.CharField(
        required=False, help_text="Only in the answer that generated it (a rule with a webhook): keep it now."
    )


def rule_representation(rule) -> dict[str, Any]:
    return {
        "id": rule.public_id,
        **{wire: getattr(rule, name) for wire, name in RULE_FIELDS.items() if wire not in ("condition", "threshold")},
        "condition": rule.kind,
        "threshold": None if rule.threshold is None else str(rule.threshold),
        "agents": [a.public_id for a in rule.agents.all()],
        "groups": [g.pk for g in rule.groups.all()],
        "users": [u.userid for u in rule.users.all()],
        "hasWebhookSecret": bool(rule.webhook_secret),
        "created": rule.created,
        "updated": rule.updated,
    }


class RulePageSerializer(serializers.Serializer):
    data = RuleOutputSerializer(many=True)
    page = serializers.IntegerField()
    pageSize = serializers.IntegerField()
    totalCount = serializers.IntegerField()
    totalPages = serializers.IntegerField()


class IssueListQuerySerializer(PageQuerySerializer):
    status = serializers.ChoiceField(
        choices=["active", *IssueStatus.values], required=False, help_text="`active`: open or acknowledged."
    )
    severity = serializers.ChoiceField(choices=Severity.values, required=False)
    rule = StrictCharField(required=False, max_length=36, help_text="A rule id.")
    assignee = StrictCharField(required=False, max_length=36, help_text="A userid, or `none` for unassigned.")
    agent = StrictCharField(required=False, max_length=36, help_text="An agent id.")


class IssueUpdateSerializer(StrictInputSerializer):
    status = serializers.ChoiceField(choices=IssueStatus.values, required=False)
    severity = serializers.ChoiceField(choices=Severity.values, required=False)
    assignee = StrictCharField(
        required=False, allow_null=True, max_length=36, help_text="A monitor's or admin's userid; null: nobody."
    )


class CommentInputSerializer(StrictInputSerializer):
    text = StrictCharField(max_length=10_000)


class _Ref(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class LinkSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["scanHit", "exchange", "auditEvent", "event"])
    ref = serializers.IntegerField(allow_null=True, help_text="The ScanHit, UsageRecord or AuditEvent number.")
    message = serializers.CharField(allow_null=True)
    conversation = serializers.CharField(allow_null=True)
    summary = serializers.CharField()
    occurred = serializers.DateTimeField()


class CommentSerializer(serializers.Serializer):
    author = serializers.CharField()
    text = serializers.CharField()
    created = serializers.DateTimeField()


class ChangeSerializer(serializers.Serializer):
    actor = serializers.CharField()
    field = serializers.CharField()
    before = serializers.CharField()
    after = serializers.CharField()
    created = serializers.DateTimeField()


class NotificationSerializer(serializers.Serializer):
    channel = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    responseStatus = serializers.IntegerField(allow_null=True)
    lastError = serializers.CharField()
    sentAt = serializers.DateTimeField(allow_null=True)


class IssueOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.values)
    status = serializers.ChoiceField(choices=IssueStatus.values)
    condition = serializers.ChoiceField(choices=ConditionKind.values)
    rule = _Ref(allow_null=True)
    ruleName = serializers.CharField()
    assignee = serializers.CharField(allow_null=True, help_text="userid")
    agent = _Ref(allow_null=True)
    user = serializers.CharField(allow_null=True, help_text="userid of the person concerned")
    conversation = serializers.CharField(allow_null=True)
    count = serializers.IntegerField()
    detail = serializers.DictField()
    firstSeen = serializers.DateTimeField()
    lastSeen = serializers.DateTimeField()
    created = serializers.DateTimeField()


class IssueDetailSerializer(IssueOutputSerializer):
    links = LinkSerializer(many=True)
    comments = CommentSerializer(many=True)
    history = ChangeSerializer(many=True)
    notifications = NotificationSerializer(many=True)


class IssuePageSerializer(serializers.Serializer):
    data = IssueOutputSerializer(many=True)
    page = serializers.IntegerField()
    pageSize = serializers.IntegerField()
    totalCount = serializers.IntegerField()
    totalPages = serializers.IntegerField()


def issue_representation(issue) -> dict[str, Any]:
    return {
        "id": issue.public_id,
        "title": issue.title,
        "severity": issue.severity,
        "status": issue.status,
        "condition": issue.kind,
        "rule": {"id": issue.rule.public_id, "name": issue.rule.name} if issue.rule_id else None,
        "ruleName": issue.rule_name,
        "assignee": issue.assignee.userid if issue.assignee_id else None,
        "agent": {"id": issue.agent.public_id, "name": issue.agent.name} if issue.agent_id else None,
        "user": issue.subject_user.userid if issue.subject_user_id else None,
        "conversation": issue.conversation_public_id or None,
        "count": issue.hit_count,
        "detail": issue.detail,
        "firstSeen": issue.first_seen,
        "lastSeen": issue.last_seen,
        "created": issue.created,
    }


def _link(link) -> dict[str, Any]:
    if link.scan_hit_id:
        kind, ref = "scanHit", link.scan_hit_id
    elif link.usage_record_id:
        kind, ref = "exchange", link.usage_record_id
    elif link.audit_event_id:
        kind, ref = "auditEvent", link.audit_event_id
    else:
        kind, ref = "event", None
    return {
        "kind": kind,
        "ref": ref,
        "message": link.message_public_id or None,
        "conversation": link.conversation_public_id or None,
        "summary": link.summary,
        "occurred": link.occurred,
    }


def issue_detail_representation(issue) -> dict[str, Any]:
    return {
        **issue_representation(issue),
        "links": [_link(link) for link in issue.links.all()[:50]],
        "comments": [{"author": c.author_label, "text": c.text, "created": c.created} for c in issue.comments.all()],
        "history": [
            {"actor": c.actor_label, "field": c.field, "before": c.before, "after": c.after, "created": c.created}
            for c in issue.changes.all()
        ],
        "notifications": [
            {
                "channel": n.channel,
                "status": n.status,
                "attempts": n.attempts,
                "responseStatus": n.response_status,
                "lastError": n.last_error,
                "sentAt": n.sent_at,
            }
            for n in issue.notifications.all()
        ],
    }
