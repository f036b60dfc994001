"""The search criteria as a form: the search page, saved searches and the API all read them through it, so that
the three agree on names, limits and what another company's id means (not a choice: 400 in the API)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from apps.accounts.models import ApplicationUser, Group
from apps.agents.models import Agent
from apps.chat.models import Feedback
from apps.companies.models import Company
from apps.compliance.search import MAX_QUERY_CHARS
from apps.compliance.selectors import ORDER_NEWEST, ORDER_RANK, Criteria
from apps.scanners.models import SCANNER_CHOICES

ORDER_CHOICES = [(ORDER_NEWEST, "Newest first"), (ORDER_RANK, "Best match first")]
FIELDS = ("q", "user", "group", "agent", "date_from", "date_to", "hits", "flagged", "feedback", "order")


class SearchForm(forms.Form):
    q = forms.CharField(
        label="Text",
        required=False,
        max_length=MAX_QUERY_CHARS,
        strip=True,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": 'refund "credit card" contract*'}),
    )
    user = forms.ModelChoiceField(
        queryset=ApplicationUser.objects.none(), required=False, to_field_name="userid", empty_label="Any user"
    )
    group = forms.ModelChoiceField(queryset=Group.objects.none(), required=False, empty_label="Any group")
    agent = forms.ModelChoiceField(
        queryset=Agent.objects.none(), required=False, to_field_name="public_id", empty_label="Any agent"
    )
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    hits = forms.MultipleChoiceField(
        label="Scanner hits", choices=SCANNER_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    flagged = forms.BooleanField(label="Flagged only", required=False)
    feedback = forms.ChoiceField(choices=[("", "Any feedback"), *Feedback.choices], required=False, label="Feedback")
    order = forms.ChoiceField(choices=ORDER_CHOICES, required=False, label="Order")

    def __init__(self, *args, company: Company | None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = ApplicationUser.objects.filter(company=company).order_by("email")
        self.fields["user"].label_from_instance = lambda user: user.email
        self.fields["group"].queryset = Group.objects.for_company(company).order_by("name")
        self.fields["agent"].queryset = Agent.objects.for_company(company).order_by("name")

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise ValidationError({"date_to": "The end date is before the start date."})
        return data

    def criteria(self) -> Criteria:
        data = self.cleaned_data
        return Criteria(
            text=data.get("q") or "",
            user=data.get("user"),
            group=data.get("group"),
            agent=data.get("agent"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            hits=tuple(data.get("hits") or ()),
            flagged=bool(data.get("flagged")),
            feedback=data.get("feedback") or "",
            order=data.get("order") or ORDER_NEWEST,
        )


def has_criteria(data) -> bool:
    """True when the query string names any criterion (the page then shows results)."""
    return any(data.get(name) for name in FIELDS) or "run" in data


def form_errors(form: forms.Form) -> dict[str, list[str]]:
    return {name: [str(message) for message in messages] for name, messages in form.errors.items()}
