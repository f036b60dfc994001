"""The element form: every field of every kind; the template shows only the chosen kind's (services.ELEMENT_FIELDS),
and the service validates and resets the rest."""

from __future__ import annotations

from django import forms

from apps.accounts.models import ApplicationUser, Group
from apps.agents.models import Agent
from apps.companies.models import Company
from apps.dashboards.models import (
    Category,
    Channel,
    ChartType,
    Interval,
    MapMeasure,
    Measure,
    Period,
    Split,
    Subject,
)

WIDTHS = [(1, "A quarter of the row"), (2, "Half the row"), (3, "Three quarters"), (4, "The whole row")]


def _optional(choices) -> list[tuple[str, str]]:
    return [("", "—"), *[(value, label) for value, label in choices if value]]


class DashboardForm(forms.Form):
    name = forms.CharField(max_length=120, label="Name")
    shared = forms.BooleanField(
        required=False, label="Share with the company (admins, monitors and compliance officers can see it)"
    )


class ElementForm(forms.Form):
    title = forms.CharField(max_length=120)
    width = forms.TypedChoiceField(choices=WIDTHS, coerce=int, initial=2)
    period = forms.ChoiceField(choices=Period.choices, initial=Period.LAST_30)
    start_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    end_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To (included)")
    agent = forms.ModelChoiceField(Agent.objects.none(), required=False, to_field_name="public_id", empty_label="Any")
    group = forms.ModelChoiceField(Group.objects.none(), required=False, empty_label="Any")
    user = forms.ModelChoiceField(
        ApplicationUser.objects.none(), required=False, to_field_name="userid", empty_label="Anyone"
    )
    channel = forms.ChoiceField(choices=Channel.choices, required=False)
    subject = forms.ChoiceField(choices=Subject.choices, required=False, label="Top")
    measure = forms.ChoiceField(choices=_optional(Measure.choices), required=False, label="Measure")
    limit = forms.IntegerField(min_value=3, max_value=25, initial=10, required=False, label="N (3 to 25)")
    chart_type = forms.ChoiceField(choices=ChartType.choices, required=False, label="Chart")
    interval = forms.ChoiceField(choices=_optional(Interval.choices), required=False, label="Over time")
    split = forms.ChoiceField(choices=Split.choices, required=False, label="Split")
    category = forms.ChoiceField(choices=_optional(Category.choices), required=False, label="Share by")
    map_measure = forms.ChoiceField(choices=MapMeasure.choices, required=False, label="Show")

    # What the element shows first, then when, then its filters, then its width.
    field_order = [
        *("title", "chart_type", "subject", "measure", "limit", "interval", "split", "category", "map_measure"),
        *("period", "start_date", "end_date", "agent", "group", "user", "channel", "width"),
    ]

    def __init__(self, *args, company: Company, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = Agent.objects.for_company(company).alive().order_by("name")
        self.fields["group"].queryset = Group.objects.for_company(company).order_by("name")
        self.fields["user"].queryset = ApplicationUser.objects.for_company(company).order_by("name", "email")
        self.fields["user"].label_from_instance = lambda user: user.name or user.email

    def service_values(self) -> dict:
        values = dict(self.cleaned_data)
        if values.get("limit") is None:
            values["limit"] = 10
        return values
