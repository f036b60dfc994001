"""Admin > Agent Scanner Defaults (the company's settings of the eight scanners) and each agent's Advanced
Settings > Scanners (override or inherit, per scanner), both with a server-side preview box.

One page per company or agent, one small form per scanner (enabled + the detector's settings as JSON, validated
by the detector: re2's reason for a bad pattern, the accepted range of a threshold, the unknown codes). The
preview runs the saved configuration on sample text and shows each scanner's verdict with the findings marked.
No JavaScript is needed: every action is a plain POST (CSRF-protected) that renders the page again.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.agents.models import Agent
from apps.companies.admin import admin_actor, is_server_admin
from apps.companies.models import Company
from apps.scanners.detectors.base import ScanContext
from apps.scanners.models import ScannerDefault
from apps.scanners.pipeline import PipelineResult, scan_text
from apps.scanners.registry import AI_SCANNERS, GENERAL_SCANNERS, SCANNERS
from apps.scanners.selectors import agent_override_rows, company_scanner_rows, scanner_settings_for
from apps.scanners.services import (
    agent_scanner_override_clear,
    agent_scanner_override_set,
    scanner_default_set,
)

ADMIN_MEDIA = forms.Media(css={"all": ["scanners/admin.css"]})
PREVIEW_MAX_CHARS = 20_000


class ScannerSettingsForm(forms.Form):
    enabled = forms.BooleanField(required=False)
    settings = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "cols": 70, "spellcheck": "false", "class": "scanner-json"}),
        required=False,
        help_text="The scanner's settings as a JSON object; a setting left out keeps its default.",
    )

    def __init__(self, *args: Any, scanner: str, **kwargs: Any) -> None:
        super().__init__(*args, prefix=scanner, **kwargs)
        self.scanner = scanner
        self.fields["settings"].widget.attrs["aria-label"] = f"{SCANNERS[scanner].label} settings (JSON)"

    def clean_settings(self) -> dict[str, Any]:
        raw = (self.cleaned_data.get("settings") or "").strip() or "{}"
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
        if not isinstance(data, dict):
            raise ValidationError("The settings must be a JSON object: { ... }.")
        try:
            SCANNERS[self.scanner].parse(data)
        except (ValueError, TypeError) as exc:
            raise ValidationError(str(exc)) from None
        return data


class PreviewForm(forms.Form):
    text = forms.CharField(
        max_length=PREVIEW_MAX_CHARS,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70, "placeholder": "Sample text to scan"}),
    )
    direction = forms.ChoiceField(choices=[("prompt", "prompt"), ("answer", "answer")], initial="prompt")


def highlighted(text: str, outcome: PipelineResult) -> list[dict[str, Any]]:
    """The text cut into plain and marked pieces (findings merged where they overlap), for the template."""
    spans = sorted(
        (f.start, f.end, f"{r.scanner}: {f.type}")
        for r in outcome.results
        for f in r.findings
        if 0 <= f.start < f.end <= len(text) and not (f.start == 0 and f.end == len(text))
    )
    pieces: list[dict[str, Any]] = []
    cursor = 0
    for start, end, label in spans:
        if end <= cursor:
            if pieces and pieces[-1]["mark"]:
                pieces[-1]["label"] += f"; {label}"
            continue
        start = max(start, cursor)
        if start > cursor:
            pieces.append({"text": text[cursor:start], "mark": False})
        pieces.append({"text": text[start:end], "mark": True, "label": label})
        cursor = end
    if cursor < len(text):
        pieces.append({"text": text[cursor:], "mark": False})
    return pieces


def scanner_groups(forms_by_name: dict[str, ScannerSettingsForm], extra: dict[str, dict]) -> list[dict[str, Any]]:
    return [
        {
            "title": title,
            "scanners": [{"name": n, "spec": SCANNERS[n], "form": forms_by_name[n], **extra.get(n, {})} for n in names],
        }
        for title, names in (("AI Scanners", AI_SCANNERS), ("General Scanners", GENERAL_SCANNERS))
    ]


def initial_form(scanner: str, enabled: bool, settings: dict[str, Any]) -> ScannerSettingsForm:
    return ScannerSettingsForm(
        scanner=scanner, initial={"enabled": enabled, "settings": json.dumps(settings, indent=2, sort_keys=True)}
    )


@admin.register(ScannerDefault)
class ScannerDefaultAdmin(admin.ModelAdmin):
    """Not a list of rows: the changelist is the Agent Scanner Defaults page of the admin's company."""

    @property
    def media(self):
        return super().media + ADMIN_MEDIA

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_urls(self):
        return [
            path("", self.admin_site.admin_view(self.defaults_view), name="scanners_scannerdefault_changelist"),
            path(
                "agent/<int:agent_pk>/",
                self.admin_site.admin_view(self.agent_view),
                name="scanners_agent_scanners",
            ),
        ]

    # --- whose settings ---

    def company_for(self, request: HttpRequest) -> Company | None:
        if not self.has_change_permission(request):
            raise PermissionDenied
        if is_server_admin(request):
            pk = request.POST.get("company") or request.GET.get("company")
            return Company.objects.filter(pk=pk).first() if pk and str(pk).isdigit() else None
        return request.user.company

    def agent_for(self, request: HttpRequest, agent_pk: int) -> Agent:
        if not self.has_change_permission(request):
            raise PermissionDenied
        agents = Agent.objects.alive()
        if not is_server_admin(request):
            agents = agents.for_company(request.user.company)
        agent = agents.filter(pk=agent_pk).first()
        if agent is None:
            raise Http404("No such agent.")  # another company's agent too
        return agent

    def page_context(self, request: HttpRequest, title: str) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "opts": self.opts, "title": title, "media": self.media}

    def preview(self, request: HttpRequest, settings_map: dict) -> dict[str, Any]:
        if request.method != "POST" or "_preview" not in request.POST:
            return {"preview_form": PreviewForm()}
        form = PreviewForm(request.POST)
        if not form.is_valid():
            return {"preview_form": form}
        text, direction = form.cleaned_data["text"], form.cleaned_data["direction"]
        # The admin's own sample: nothing is recorded, and the placeholders map is thrown away.
        outcome = scan_text(settings_map, text, ScanContext(direction=direction, client_ip=None))
        return {"preview_form": form, "preview": outcome, "pieces": highlighted(text, outcome)}

    # --- Admin > Agent Scanner Defaults ---

    def defaults_view(self, request: HttpRequest):
        company = self.company_for(request)
        context = self.page_context(request, "Agent Scanner Defaults")
        if company is None:
            context["companies"] = Company.objects.filter(is_active=True).order_by("name")
            return TemplateResponse(request, "admin/scanners/pick_company.html", context)
        rows = company_scanner_rows(company)
        effective = {name: spec.default_settings().to_dict() for name, spec in SCANNERS.items()}
        enabled = {name: True for name in SCANNERS}
        for name, row in rows.items():
            effective[name], enabled[name] = row.settings, row.enabled
        forms_by_name = {n: initial_form(n, enabled[n], effective[n]) for n in SCANNERS}
        saved = request.method == "POST" and request.POST.get("_save") in SCANNERS
        if saved:
            name = request.POST["_save"]
            form = ScannerSettingsForm(request.POST, scanner=name)
            if form.is_valid():
                scanner_default_set(
                    company=company,
                    actor=admin_actor(request),
                    scanner=name,
                    enabled=form.cleaned_data["enabled"],
                    settings=form.cleaned_data["settings"],
                )
                self.message_user(request, f"Saved the {SCANNERS[name].label} defaults.", messages.SUCCESS)
                return HttpResponseRedirect(self.here(request, company) + f"#scanner-{name}")
            forms_by_name[name] = form
        extra = {n: {"customised": n in rows} for n in SCANNERS}
        context.update(
            company=company,
            server_admin=is_server_admin(request),
            groups=scanner_groups(forms_by_name, extra),
            agents=Agent.objects.alive().for_company(company).order_by("name"),
            **self.preview(request, scanner_settings_for(company)),
        )
        return TemplateResponse(request, "admin/scanners/defaults.html", context)

    def here(self, request: HttpRequest, company: Company) -> str:
        url = reverse("admin:scanners_scannerdefault_changelist")
        return f"{url}?company={company.pk}" if is_server_admin(request) else url

    # --- the agent's Advanced Settings > Scanners ---

    def agent_view(self, request: HttpRequest, agent_pk: int):
        agent = self.agent_for(request, agent_pk)
        company = agent.company
        overrides = agent_override_rows(company, agent)
        inherited = scanner_settings_for(company)
        company_rows = company_scanner_rows(company)
        forms_by_name = {}
        for name, spec in SCANNERS.items():
            row = overrides.get(name)
            if row is not None:
                forms_by_name[name] = initial_form(name, row.enabled, row.settings)
            else:
                settings = inherited[name].to_dict() if name in inherited else spec.default_settings().to_dict()
                forms_by_name[name] = initial_form(name, name in inherited, settings)
        if request.method == "POST" and (request.POST.get("_save") in SCANNERS or request.POST.get("_inherit")):
            actor = admin_actor(request)
            url = reverse("admin:scanners_agent_scanners", args=[agent.pk])
            name = request.POST.get("_inherit")
            if name in SCANNERS:
                agent_scanner_override_clear(company=company, actor=actor, agent=agent, scanner=name)
                self.message_user(
                    request, f"{SCANNERS[name].label} now inherits the company default.", messages.SUCCESS
                )
                return HttpResponseRedirect(url + f"#scanner-{name}")
            name = request.POST["_save"]
            form = ScannerSettingsForm(request.POST, scanner=name)
            if form.is_valid():
                agent_scanner_override_set(
                    company=company,
                    actor=actor,
                    agent=agent,
                    scanner=name,
                    enabled=form.cleaned_data["enabled"],
                    settings=form.cleaned_data["settings"],
                )
                self.message_user(request, f"Saved this agent's {SCANNERS[name].label} settings.", messages.SUCCESS)
                return HttpResponseRedirect(url + f"#scanner-{name}")
            forms_by_name[name] = form
        extra = {n: {"overridden": n in overrides, "company_customised": n in company_rows} for n in SCANNERS}
        context = self.page_context(request, f"Scanners: {agent.name}")
        context.update(
            agent=agent,
            company=company,
            groups=scanner_groups(forms_by_name, extra),
            **self.preview(request, scanner_settings_for(company, agent)),
        )
        return TemplateResponse(request, "admin/scanners/agent.html", context)
