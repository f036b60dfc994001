"""The pages' forms. Choices of agents, groups, users and assignees come from the viewer's company only."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from apps.accounts.models import ApplicationUser, Group
from apps.companies.models import Company
from apps.monitoring.models import AlertRule, IssueStatus, Severity
from apps.monitoring.selectors import agent_choices, assignable_users, rule_list
from apps.monitoring.services import CONDITION_FIELDS, KIND_FIELDS, validate_rule

# Which fieldset of the rule form belongs to which condition kinds (the page shows only the chosen kind's).
FIELDSET_KINDS = {name: [kind for kind, names in KIND_FIELDS.items() if name in names] for name in CONDITION_FIELDS}


class UserChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: ApplicationUser) -> str:
        return f"{obj.name} <{obj.email}>" if obj.name else obj.email


class RuleForm(forms.ModelForm):
    users = UserChoiceField(queryset=ApplicationUser.objects.none(), required=False)
    webhook_url = forms.URLField(
        label="Webhook URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="http:// or https://. Each new issue is POSTed as JSON, signed with HMAC-SHA256.",
    )

    class Meta:
        model = AlertRule
        fields = [
            "name",
            "description",
            "kind",
            "severity",
            "enabled",
            "scanner",
            "min_score",
            "direction",
            "hit_action",
            "measure",
            "threshold",
            "period",
            "min_exchanges",
            "failure_count",
            "window_minutes",
            "login_key",
            "agents",
            "groups",
            "users",
            "notify_email",
            "webhook_url",
        ]
        labels = {
            "kind": "Condition",
            "min_score": "At least the risk score (0 to 1)",
            "direction": "On",
            "hit_action": "Action taken",
            "threshold": "Threshold",
            "min_exchanges": "At least this many exchanges in the period",
            "failure_count": "Failed logins",
            "window_minutes": "Within minutes",
            "login_key": "Counted per",
            "webhook_url": "Webhook URL",
        }
        help_texts = {
            "threshold": "Cost in USD or tokens for usage; a percentage of failed exchanges for the error rate.",
            "agents": "None chosen: all agents.",
            "groups": "None chosen (and no user): everybody.",
            "webhook_url": "http:// or https://. Each new issue is POSTed as JSON, signed with HMAC-SHA256.",
        }
        widgets = {
            "description": forms.TextInput(),
            "agents": forms.SelectMultiple(attrs={"size": 4}),
            "groups": forms.SelectMultiple(attrs={"size": 4}),
        }

    def __init__(self, *args, company: Company, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.company = company
        self.fields["agents"].queryset = agent_choices(company)
        self.fields["groups"].queryset = Group.objects.for_company(company).order_by("name")
        self.fields["users"].queryset = (
            ApplicationUser.objects.for_company(company).filter(is_active=True).order_by("email")
        )
        self.fields["users"].widget.attrs["size"] = 4
        self.fields["users"].help_text = "None chosen (and no group): everybody."
        for name in FIELDSET_KINDS:
            self.fields[name].required = False
            self.fields[name].widget.attrs["data-kinds"] = " ".join(FIELDSET_KINDS[name])
        self.fields["kind"].widget.attrs["data-rule-kind"] = "1"
        for name, empty in (("direction", "Any"), ("hit_action", "Any"), ("scanner", "Choose a scanner")):
            self.fields[name].choices = [("", empty), *[c for c in self.fields[name].choices if c[0]]]
            self.fields[name].help_text = ""

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        try:
            return validate_rule(self.company, data)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        return data


class IssueUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=IssueStatus.choices)
    severity = forms.ChoiceField(choices=Severity.choices)
    assignee = forms.ModelChoiceField(
        queryset=ApplicationUser.objects.none(), required=False, empty_label="Nobody", to_field_name="userid"
    )

    def __init__(self, *args, company: Company, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_users(company)
        self.fields["assignee"].label_from_instance = lambda user: user.email


class CommentForm(forms.Form):
    text = forms.CharField(label="Comment", max_length=10_000, widget=forms.Textarea(attrs={"rows": 3}))


class IssueFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("active", "Open or acknowledged"), ("", "Any status"), *IssueStatus.choices], required=False
    )
    severity = forms.ChoiceField(choices=[("", "Any severity"), *Severity.choices], required=False)
    rule = forms.ChoiceField(required=False)
    assignee = forms.ChoiceField(required=False)
    agent = forms.ChoiceField(required=False)

    def __init__(self, *args, company: Company, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rule"].choices = [("", "Any rule")] + [
            (r.public_id, r.name) for r in rule_list(company=company).only("public_id", "name")
        ]
        self.fields["assignee"].choices = [("", "Anyone"), ("none", "Nobody")] + [
            (u.userid, u.email) for u in assignable_users(company)
        ]
        self.fields["agent"].choices = [("", "Any agent")] + [(a.public_id, a.name) for a in agent_choices(company)]

    def filters(self) -> dict[str, str]:
        if not self.is_valid():
            return {"status": "active"}
        return {name: self.cleaned_data.get(name) or "" for name in self.fields}
