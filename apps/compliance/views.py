"""The compliance pages: the search (form and results, the results also as an htmx partial), the export, one
conversation read in full, and the saved searches. Compliance officers only (``COMPLIANCE_ROLES``): a company
admin without the role gets the 403 page. Every query is scoped to ``request.user.company``; another company's
conversation or saved search is a 404.
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.access import COMPLIANCE_ROLES, portal_roles_required
from apps.audit.services import Actor
from apps.compliance import export, selectors, services
from apps.compliance.forms import SearchForm, has_criteria
from apps.compliance.selectors import ResultPage

PAGE_SIZE = 25
SEARCH_FIELDS = ("q", "user", "group", "agent", "date_from", "date_to", "hits", "flagged", "feedback", "order")
compliance_required = portal_roles_required(*COMPLIANCE_ROLES)


def format_cost(value: Decimal | None) -> str:
    """Dollars as the chat pages show them."""
    value = value or Decimal(0)
    if 0 < value < Decimal("0.0001"):
        return "< $0.0001"
    return f"${value:.4f}"


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        return 1


def _criteria_query(criteria: dict) -> str:
    return urlencode(criteria, doseq=True)


def _search(request: HttpRequest) -> dict:
    """The form and, when the query string names criteria and they are valid, one audited page of results."""
    company = request.user.company
    form = SearchForm(request.GET if has_criteria(request.GET) else None, company=company)
    context: dict = {"form": form, "results": None, "criteria_query": "", "tab": "search"}
    if not form.is_bound or not form.is_valid():
        return context
    criteria = form.criteria()
    page = selectors.search_page(company=company, criteria=criteria, page=_page_number(request), page_size=PAGE_SIZE)
    services.compliance_search_record(
        company=company,
        actor=Actor.from_request(request),
        criteria=criteria.as_dict(),
        page=page.page,
        results=page.total,
        channel="web",
    )
    context.update(results=page, criteria=criteria, criteria_query=_criteria_query(criteria.as_dict()))
    context["pages"] = _pager(page, context["criteria_query"])
    return context


def _pager(page: ResultPage, criteria_query: str) -> dict:
    base = reverse("compliance:index") + "?" + (criteria_query + "&" if criteria_query else "run=1&")
    return {
        "previous": f"{base}page={page.page - 1}" if page.has_previous else "",
        "next": f"{base}page={page.page + 1}" if page.has_next else "",
    }


@never_cache
@compliance_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    context = _search(request)
    context["saved"] = list(selectors.saved_search_list(company=request.user.company, user=request.user)[:50])
    return render(request, "compliance/index.html", context)


@never_cache
@compliance_required
@require_GET
def results(request: HttpRequest) -> HttpResponse:
    """The results partial for htmx (the address bar shows the search page's own URL, which reloads the same)."""
    if not request.htmx:
        return redirect(reverse("compliance:index") + ("?" + request.GET.urlencode() if request.GET else ""))
    context = _search(request)
    response = render(request, "compliance/_results.html", context)
    response["HX-Push-Url"] = reverse("compliance:index") + ("?" + request.GET.urlencode() if request.GET else "")
    return response


@compliance_required
@require_GET
def export_results(request: HttpRequest) -> HttpResponse:
    """The whole result as CSV or JSON Lines, streamed; audited before the first row."""
    company = request.user.company
    fmt = request.GET.get("format", "csv")
    form = SearchForm(request.GET, company=company)
    if fmt not in export.FORMATS or not form.is_valid():
        messages.error(request, "The export needs a valid search: correct the criteria and try again.")
        return redirect(reverse("compliance:index") + "?" + request.GET.urlencode())
    criteria = form.criteria()
    services.compliance_export_record(
        company=company, actor=Actor.from_request(request), criteria=criteria.as_dict(), fmt=fmt, channel="web"
    )
    rows = selectors.export_rows(company=company, criteria=criteria)
    response = StreamingHttpResponse(export.stream(fmt, rows), content_type=export.FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{export.filename(company, fmt)}"'
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@compliance_required
@require_GET
def conversation(request: HttpRequest, conversation_id: str) -> HttpResponse:
    company = request.user.company
    found = selectors.get_conversation_for_company(company, conversation_id)
    record = selectors.conversation_record(conversation=found)
    # The search that led here (the results link carries it), for the audit trail and the way back.
    search = QueryDict(mutable=True)
    for key, values in request.GET.lists():
        if key in SEARCH_FIELDS:
            search.setlist(key, [value[:500] for value in values[:20]])
    services.compliance_conversation_view_record(
        company=company,
        actor=Actor.from_request(request),
        conversation=found,
        criteria={key: values if len(values) > 1 else values[0] for key, values in search.lists()},
        channel="web",
    )
    rows = [
        {
            "message": message,
            "hits": record.hits_by_message.get(message.public_id, []),
            "cost": format_cost(message.cost),
        }
        for message in record.messages
    ]
    context = {
        "record": record,
        "conversation": found,
        "rows": rows,
        "cost": format_cost(found.total_cost),
        "back_query": search.urlencode(),
        "focus": request.GET.get("message", ""),
        "tab": "search",
    }
    return render(request, "compliance/conversation.html", context)


@never_cache
@compliance_required
def saved_searches(request: HttpRequest) -> HttpResponse:
    """GET: the list (mine and shared). POST: save the criteria in the form under a name."""
    company = request.user.company
    if request.method == "POST":
        form = SearchForm(request.POST, company=company)
        if not form.is_valid():
            messages.error(request, "The search has invalid criteria; correct them before saving it.")
            return redirect("compliance:index")
        try:
            search = services.saved_search_create(
                company=company,
                actor=Actor.from_request(request),
                owner=request.user,
                name=request.POST.get("name", ""),
                criteria=form.criteria().as_dict(),
                shared=request.POST.get("shared") == "on",
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(reverse("compliance:index") + "?" + _criteria_query(form.criteria().as_dict()))
        messages.success(request, f"Saved “{search.name}”. Run it again from Saved searches.")
        return redirect(reverse("compliance:index") + "?" + (_criteria_query(search.criteria) or "run=1"))
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    searches = list(selectors.saved_search_list(company=company, user=request.user))
    for search in searches:
        search.run_url = reverse("compliance:index") + "?" + (_criteria_query(search.criteria) or "run=1")
        search.summary = _summary(search.criteria)
    return render(request, "compliance/saved.html", {"searches": searches, "tab": "saved"})


def _summary(criteria: dict) -> str:
    names = {"q": "text", "date_from": "from", "date_to": "to", "hits": "hits"}
    parts = []
    for key, value in criteria.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        parts.append(f"{names.get(key, key)}: {shown}" if key != "flagged" else "flagged only")
    return " · ".join(parts) or "everything"


@compliance_required
@require_POST
def saved_search_delete(request: HttpRequest, search_id: str) -> HttpResponse:
    company = request.user.company
    search = selectors.get_saved_search_for_user(company, request.user, search_id, own=True)
    services.saved_search_delete(company=company, actor=Actor.from_request(request), search=search)
    messages.success(request, f"Deleted “{search.name}”.")
    return redirect("compliance:saved")


@compliance_required
@require_POST
def saved_search_share(request: HttpRequest, search_id: str) -> HttpResponse:
    company = request.user.company
    search = selectors.get_saved_search_for_user(company, request.user, search_id, own=True)
    shared = request.POST.get("shared") == "on"
    services.saved_search_update(company=company, actor=Actor.from_request(request), search=search, shared=shared)
    messages.success(
        request,
        f"“{search.name}” is {'shared with' if shared else 'no longer shared with'} the company's compliance officers.",
    )
    return redirect("compliance:saved")
