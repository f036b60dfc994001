"""The dashboards' pages (/dashboards/): thin views over selectors and services.

Every page needs the admin, monitor or compliance role (else 403) and sees only the person's company: another
company's dashboard, or someone else's private one, is a 404. Changing a dashboard needs to be its owner (403).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.access import DASHBOARD_ROLES, portal_roles_required
from apps.audit.services import Actor
from apps.dashboards import selectors, services
from apps.dashboards.data import element_data
from apps.dashboards.forms import WIDTHS, DashboardForm, ElementForm
from apps.dashboards.models import Dashboard, Element, ElementKind

dashboard_page = portal_roles_required(*DASHBOARD_ROLES)

KIND_HELP = {
    ElementKind.TOP_N: "The users, agents, groups or scanner kinds with the most messages, tokens, cost or hits.",
    ElementKind.CHART: "A measure over time (line or bar, split by agent or user), or a share by category (doughnut).",
    ElementKind.TOTALS: "Conversations, messages, tokens, cost, flagged messages and active users, with the change "
    "against the previous period.",
    ElementKind.MAP: "A world map of prompts or blocked prompts by the caller's country.",
}


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request)


def _dashboard(request: HttpRequest, public_id: str) -> Dashboard:
    return selectors.get_dashboard_for(company=request.user.company, user=request.user, public_id=public_id)


def _owned_dashboard(request: HttpRequest, public_id: str) -> Dashboard:
    dashboard = _dashboard(request, public_id)
    services.ensure_owner(dashboard, request.user)
    return dashboard


def _owned_element(request: HttpRequest, dashboard: Dashboard, element_id: str) -> Element:
    element = selectors.get_element_for(company=request.user.company, user=request.user, public_id=element_id)
    if element.dashboard_id != dashboard.pk:
        raise Http404("No such element on this dashboard.")
    return element


@require_GET
@dashboard_page
def dashboard_list(request: HttpRequest) -> HttpResponse:
    visible = list(selectors.dashboards_visible(company=request.user.company, user=request.user))
    mine = [d for d in visible if d.owner_id == request.user.pk]
    shared = [d for d in visible if d.owner_id != request.user.pk]
    return render(
        request,
        "dashboards/index.html",
        {"mine": mine, "shared": shared, "form": DashboardForm(), "starter": services.STARTER_LAYOUT},
    )


@require_POST
@dashboard_page
def dashboard_create(request: HttpRequest) -> HttpResponse:
    form = DashboardForm(request.POST)
    if form.is_valid():
        dashboard = services.dashboard_create(
            company=request.user.company,
            actor=_actor(request),
            owner=request.user,
            name=form.cleaned_data["name"],
            shared=form.cleaned_data["shared"],
        )
        messages.success(request, f"Dashboard “{dashboard.name}” created. Add its first element.")
        return redirect("dashboards:detail", dashboard.public_id)
    visible = list(selectors.dashboards_visible(company=request.user.company, user=request.user))
    context = {
        "mine": [d for d in visible if d.owner_id == request.user.pk],
        "shared": [d for d in visible if d.owner_id != request.user.pk],
        "form": form,
        "starter": services.STARTER_LAYOUT,
    }
    return render(request, "dashboards/index.html", context, status=400)


@require_POST
@dashboard_page
def dashboard_create_starter(request: HttpRequest) -> HttpResponse:
    dashboard = services.dashboard_create_starter(
        company=request.user.company, actor=_actor(request), owner=request.user
    )
    messages.success(request, f"Dashboard “{dashboard.name}” created from the starter layout.")
    return redirect("dashboards:detail", dashboard.public_id)


@require_GET
@dashboard_page
def dashboard_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    dashboard = _dashboard(request, public_id)
    elements = list(selectors.elements_of(dashboard))
    return render(
        request,
        "dashboards/dashboard.html",
        {
            "dashboard": dashboard,
            "elements": elements,
            "is_owner": dashboard.owner_id == request.user.pk,
            "settings_form": DashboardForm(initial={"name": dashboard.name, "shared": dashboard.shared}),
            "kinds": [(kind.value, kind.label, KIND_HELP[kind]) for kind in ElementKind],
            "world_url": static("vendor/world-atlas-2.0.2/countries-110m.json"),
        },
    )


@require_POST
@dashboard_page
def dashboard_settings(request: HttpRequest, public_id: str) -> HttpResponse:
    dashboard = _owned_dashboard(request, public_id)
    form = DashboardForm(request.POST)
    if form.is_valid():
        services.dashboard_update(
            company=request.user.company,
            actor=_actor(request),
            dashboard=dashboard,
            name=form.cleaned_data["name"],
            shared=form.cleaned_data["shared"],
        )
        messages.success(request, "Dashboard saved.")
    else:
        messages.error(request, "Give the dashboard a name (at most 120 characters).")
    return redirect("dashboards:detail", dashboard.public_id)


@require_POST
@dashboard_page
def dashboard_delete(request: HttpRequest, public_id: str) -> HttpResponse:
    dashboard = _owned_dashboard(request, public_id)
    name = dashboard.name
    services.dashboard_delete(company=request.user.company, actor=_actor(request), dashboard=dashboard)
    messages.success(request, f"Dashboard “{name}” deleted.")
    return redirect("dashboards:index")


def _element_form_page(request, dashboard, form, kind, element=None, status=200) -> HttpResponse:
    visible = set(services.COMMON_FIELDS) | set(services.ELEMENT_FIELDS[kind])
    return render(
        request,
        "dashboards/element_form.html",
        {
            "dashboard": dashboard,
            "element": element,
            "form": form,
            "kind": kind,
            "kind_label": ElementKind(kind).label,
            "kind_help": KIND_HELP[kind],
            "kinds": [(k.value, k.label) for k in ElementKind],
            "visible": visible,
            "fields": [form[name] for name in form.fields if name in visible],
        },
        status=status,
    )


def _apply_service_errors(form: ElementForm, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@require_http_methods(["GET", "POST"])
@dashboard_page
def element_create(request: HttpRequest, public_id: str) -> HttpResponse:
    dashboard = _owned_dashboard(request, public_id)
    kind = request.GET.get("kind") or request.POST.get("kind") or ElementKind.TOP_N
    if kind not in ElementKind.values:
        kind = ElementKind.TOP_N
    company = request.user.company
    if request.method == "GET":
        initial = {"title": f"{ElementKind(kind).label}", "chart_type": "line", "subject": "users"}
        return _element_form_page(request, dashboard, ElementForm(company=company, initial=initial), kind)
    form = ElementForm(request.POST, company=company)
    if form.is_valid():
        try:
            element = services.element_create(
                company=company, actor=_actor(request), dashboard=dashboard, kind=kind, **form.service_values()
            )
        except ValidationError as exc:
            _apply_service_errors(form, exc)
        else:
            messages.success(request, f"Element “{element.title}” added.")
            return redirect(reverse("dashboards:detail", args=[dashboard.public_id]) + f"#element-{element.public_id}")
    return _element_form_page(request, dashboard, form, kind, status=400)


def _element_initial(element: Element) -> dict:
    initial = {name: getattr(element, name) for name in services.EDITABLE_FIELDS}
    initial["agent"] = element.agent.public_id if element.agent_id else None
    initial["user"] = element.user.userid if element.user_id else None
    initial["group"] = element.group_id
    return initial


@require_http_methods(["GET", "POST"])
@dashboard_page
def element_edit(request: HttpRequest, public_id: str, element_id: str) -> HttpResponse:
    dashboard = _owned_dashboard(request, public_id)
    element = _owned_element(request, dashboard, element_id)
    company = request.user.company
    if request.method == "GET":
        form = ElementForm(company=company, initial=_element_initial(element))
        return _element_form_page(request, dashboard, form, element.kind, element)
    form = ElementForm(request.POST, company=company)
    if form.is_valid():
        try:
            services.element_update(company=company, actor=_actor(request), element=element, **form.service_values())
        except ValidationError as exc:
            _apply_service_errors(form, exc)
        else:
            messages.success(request, f"Element “{element.title}” saved.")
            return redirect(reverse("dashboards:detail", args=[dashboard.public_id]) + f"#element-{element.public_id}")
    return _element_form_page(request, dashboard, form, element.kind, element, status=400)


@require_POST
@dashboard_page
def element_remove(request: HttpRequest, public_id: str, element_id: str) -> HttpResponse:
    dashboard = _owned_dashboard(request, public_id)
    element = _owned_element(request, dashboard, element_id)
    title = element.title
    services.element_delete(company=request.user.company, actor=_actor(request), element=element)
    messages.success(request, f"Element “{title}” removed.")
    return redirect("dashboards:detail", dashboard.public_id)


@require_POST
@dashboard_page
def element_move(request: HttpRequest, public_id: str, element_id: str) -> HttpResponse:
    """Move up or down one place (buttons), or to a place (drag and drop sends ``to``)."""
    dashboard = _owned_dashboard(request, public_id)
    element = _owned_element(request, dashboard, element_id)
    siblings = list(dashboard.elements.order_by("position", "id").values_list("pk", flat=True))
    current = siblings.index(element.pk)
    direction = request.POST.get("direction")
    if direction in ("up", "down"):
        to = current - 1 if direction == "up" else current + 1
    else:
        try:
            to = int(request.POST.get("to", ""))
        except ValueError:
            to = current
    services.element_move(company=request.user.company, actor=_actor(request), element=element, to=to)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"position": max(0, min(len(siblings) - 1, to))})
    return redirect(reverse("dashboards:detail", args=[dashboard.public_id]) + f"#element-{element.public_id}")


@require_POST
@dashboard_page
def element_resize(request: HttpRequest, public_id: str, element_id: str) -> HttpResponse:
    dashboard = _owned_dashboard(request, public_id)
    element = _owned_element(request, dashboard, element_id)
    try:
        width = int(request.POST.get("width", ""))
    except ValueError:
        width = 0
    if width in dict(WIDTHS):
        services.element_update(company=request.user.company, actor=_actor(request), element=element, width=width)
    return redirect(reverse("dashboards:detail", args=[dashboard.public_id]) + f"#element-{element.public_id}")


@require_GET
@dashboard_page
def element_data_json(request: HttpRequest, element_id: str) -> JsonResponse:
    element = selectors.get_element_for(company=request.user.company, user=request.user, public_id=element_id)
    return JsonResponse(element_data(element))
