"""The admin's autocomplete endpoint, refusing fields it cannot serve instead of failing.

Django's ``AutocompleteJsonView`` accepts any field whose ``remote_field`` names a registered model, reverse
relations included (``applicationuser.groups`` is the reverse side of ``Group.members``), and then calls
``get_limit_choices_to()``, which only forward fields have: a 500. Only forward relations can carry an
autocomplete widget, so anything else is refused like any other malformed request: 403.
"""

from __future__ import annotations

from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


class ForwardFieldAutocompleteJsonView(AutocompleteJsonView):
    def process_request(self, request: HttpRequest):
        term, model_admin, source_field, to_field_name = super().process_request(request)
        if not (getattr(source_field, "concrete", False) and hasattr(source_field, "get_limit_choices_to")):
            raise PermissionDenied
        return term, model_admin, source_field, to_field_name


def autocomplete_view(admin_site):
    """The view to route at ``admin/autocomplete/`` ahead of ``admin_site.urls``."""
    return admin_site.admin_view(ForwardFieldAutocompleteJsonView.as_view(admin_site=admin_site))
