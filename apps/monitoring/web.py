"""Monitoring's pages: the issue queue, an issue's page, the alert rules. For company admins and monitors
(apps.accounts.access); everything is looked up in the viewer's company, so another company's rule or issue is a
404. Thin: parse the form, call a selector or a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.access import MONITORING_ROLES, portal_roles_required
from apps.audit.services import Actor
from apps.monitoring import selectors, services
from apps.monitoring.forms import CommentForm, IssueFilterForm, IssueUpdateForm, RuleForm
from apps.monitoring.models import ACTIVE_STATUSES, AlertRule

ISSUES_PER_PAGE = 25
SECRET_SESSION_KEY = "monitoring-webhook-secret"

monitors_only = portal_roles_required(*MONITORING_ROLES)


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request)


# --- issues -----------------------------------------------------------------------------------------------------


@monitors_only
def issue_queue(request: HttpRequest) -> HttpResponse:
    company = request.user.company
    data = request.GET.copy()
    if "status" not in data:
        data["status"] = "active"
    form = IssueFilterForm(data, company=company)
    filters = form.filters()
    issues = selectors.issue_list(company=company, **filters)
    page = Paginator(issues, ISSUES_PER_PAGE).get_page(request.GET.get("page"))
    query = data.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "filtered": any(value for name, value in filters.items() if name != "status") or filters["status"] != "active",
        "has_rules": selectors.rule_list(company=company).exists(),
        "tab": "issues",
    }
    template = "monitoring/_issue_table.html" if request.htmx else "monitoring/issue_queue.html"
    return render(request, template, context)


def _issue_page(request: HttpRequest, issue, *, update_form=None, comment_form=None, status: int = 200):
    company = request.user.company
    context = {
        "issue": issue,
        "links": selectors.issue_links(issue)[:50],
        "excerpt": selectors.issue_excerpt(issue),
        "comments": issue.comments.select_related("author"),
        "changes": issue.changes.all(),
        "notifications": issue.notifications.all(),
        "update_form": update_form
        or IssueUpdateForm(
            company=company,
            initial={
                "status": issue.status,
                "severity": issue.severity,
                "assignee": issue.assignee.userid if issue.assignee_id else "",
            },
        ),
        "comment_form": comment_form or CommentForm(),
        "is_active": issue.status in ACTIVE_STATUSES,
        "tab": "issues",
    }
    return render(request, "monitoring/issue_detail.html", context, status=status)


@monitors_only
def issue_detail(request: HttpRequest, issue_id: str) -> HttpResponse:
    return _issue_page(request, selectors.get_issue_for_company(request.user.company, issue_id))


@monitors_only
@require_POST
def issue_update_view(request: HttpRequest, issue_id: str) -> HttpResponse:
    company = request.user.company
    issue = selectors.get_issue_for_company(company, issue_id)
    form = IssueUpdateForm(request.POST, company=company)
    if form.is_valid():
        try:
            changed = services.issue_update(
                company=company,
                actor=_actor(request),
                issue=issue,
                status=form.cleaned_data["status"],
                severity=form.cleaned_data["severity"],
                assignee=form.cleaned_data["assignee"],
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            if changed:
                messages.success(request, f"Issue updated: {', '.join(changed)}.")
            return redirect("monitoring:issue", issue_id=issue.public_id)
    return _issue_page(request, issue, update_form=form, status=400)


@monitors_only
@require_POST
def issue_comment_view(request: HttpRequest, issue_id: str) -> HttpResponse:
    company = request.user.company
    issue = selectors.get_issue_for_company(company, issue_id)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.issue_comment_add(
                company=company, actor=_actor(request), issue=issue, text=form.cleaned_data["text"]
            )
        except ValidationError as exc:
            form.add_error("text", exc.messages)
        else:
            messages.success(request, "Comment added.")
            return redirect(reverse("monitoring:issue", kwargs={"issue_id": issue.public_id}) + "#comments")
    return _issue_page(request, issue, comment_form=form, status=400)


# --- rules ------------------------------------------------------------------------------------------------------


def _show_secret_once(request: HttpRequest, rule: AlertRule, secret: str) -> None:
    if secret:
        request.session[SECRET_SESSION_KEY] = {"rule": rule.public_id, "name": rule.name, "secret": secret}


@monitors_only
def rule_list_view(request: HttpRequest) -> HttpResponse:
    company = request.user.company
    rules = selectors.rule_list(company=company)
    context = {"rules": rules, "new_secret": request.session.pop(SECRET_SESSION_KEY, None), "tab": "rules"}
    return render(request, "monitoring/rule_list.html", context)


def _rule_data(form: RuleForm) -> dict:
    return dict(form.cleaned_data)


def _rule_form_page(request: HttpRequest, form: RuleForm, rule, save, done: str) -> HttpResponse:
    """The rule form (new or edit): on a valid POST ``save(data)`` returns (rule, webhook secret or ""); the
    service's field errors go back onto the form."""
    if request.method == "POST" and form.is_valid():
        try:
            rule, secret = save(_rule_data(form))
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            _show_secret_once(request, rule, secret)
            messages.success(request, f"Alert rule “{rule.name}” {done}.")
            return redirect("monitoring:rules")
    return render(
        request,
        "monitoring/rule_form.html",
        {"form": form, "rule": rule, "tab": "rules"},
        status=400 if form.errors else 200,
    )


@monitors_only
@require_http_methods(["GET", "POST"])
def rule_create_view(request: HttpRequest) -> HttpResponse:
    company = request.user.company
    form = RuleForm(request.POST or None, company=company, initial={"kind": request.GET.get("kind", "scanner_hit")})

    def save(data):
        return services.alert_rule_create(company=company, actor=_actor(request), data=data)

    return _rule_form_page(request, form, None, save, "created")


@monitors_only
@require_http_methods(["GET", "POST"])
def rule_edit_view(request: HttpRequest, rule_id: str) -> HttpResponse:
    company = request.user.company
    rule = selectors.get_rule_for_company(company, rule_id)
    form = RuleForm(request.POST or None, instance=rule, company=company)

    def save(data):
        stored = selectors.get_rule_for_company(company, rule_id)  # the form's instance holds unsaved changes
        return services.alert_rule_update(company=company, actor=_actor(request), rule=stored, data=data)

    return _rule_form_page(request, form, rule, save, "saved")


@monitors_only
@require_POST
def rule_toggle_view(request: HttpRequest, rule_id: str) -> HttpResponse:
    company = request.user.company
    rule = selectors.get_rule_for_company(company, rule_id)
    services.alert_rule_set_enabled(company=company, actor=_actor(request), rule=rule, enabled=not rule.enabled)
    messages.success(request, f"Alert rule “{rule.name}” {'enabled' if rule.enabled else 'disabled'}.")
    return redirect("monitoring:rules")


@monitors_only
@require_POST
def rule_secret_view(request: HttpRequest, rule_id: str) -> HttpResponse:
    company = request.user.company
    rule = selectors.get_rule_for_company(company, rule_id)
    if not rule.webhook_url:
        messages.error(request, "This rule has no webhook.")
        return redirect("monitoring:rules")
    _show_secret_once(
        request, rule, services.alert_rule_rotate_secret(company=company, actor=_actor(request), rule=rule)
    )
    messages.success(request, f"New webhook secret for “{rule.name}”; the old one no longer verifies.")
    return redirect("monitoring:rules")


@monitors_only
@require_http_methods(["GET", "POST"])
def rule_delete_view(request: HttpRequest, rule_id: str) -> HttpResponse:
    company = request.user.company
    rule = selectors.get_rule_for_company(company, rule_id)
    if request.method == "POST":
        services.alert_rule_delete(company=company, actor=_actor(request), rule=rule)
        messages.success(request, f"Alert rule “{rule.name}” deleted; its issues stay in the queue.")
        return redirect("monitoring:rules")
    return render(request, "monitoring/rule_delete.html", {"rule": rule, "issues": rule.issues.count(), "tab": "rules"})
