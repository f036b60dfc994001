"""Password reset by email, in the admin's look: Django's views, with the user named in links by the public
userid (never the integer pk) and the new password set through the audited service."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.urls import reverse_lazy
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from apps.accounts.models import ApplicationUser
from apps.accounts.services import user_for_password_link, user_set_password
from apps.audit.services import Actor


class UseridPasswordResetForm(PasswordResetForm):
    """Django's form (no hint whether the address exists; only active users with a password get a mail),
    with the link naming the user by userid."""

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs) -> None:
        context["uid"] = urlsafe_base64_encode(force_bytes(context["user"].userid))
        super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


class AuditedSetPasswordForm(SetPasswordForm):
    request: HttpRequest | None = None

    def save(self, commit: bool = True) -> ApplicationUser:
        actor = Actor.from_request(self.request, user=self.user) if self.request is not None else Actor(user=self.user)
        return user_set_password(user=self.user, password=self.cleaned_data["new_password1"], actor=actor)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = AuditedSetPasswordForm
    success_url = reverse_lazy("password_reset_complete")

    def get_user(self, uidb64: str) -> ApplicationUser | None:
        return user_for_password_link(uidb64)

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        form.request = self.request
        return form


def _in_admin(view_class, **initkwargs):
    """A view served under /admin/ with the admin's header and title, like the admin's own pages."""

    def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        request.current_app = admin.site.name
        # No sidebar: the person is not logged in, it would only say there is nothing to see.
        context = {**admin.site.each_context(request), "is_nav_sidebar_enabled": False}
        return view_class.as_view(extra_context=context, **initkwargs)(request, *args, **kwargs)

    return view


password_reset = _in_admin(
    auth_views.PasswordResetView, form_class=UseridPasswordResetForm, success_url=reverse_lazy("password_reset_done")
)
password_reset_done = _in_admin(auth_views.PasswordResetDoneView)
password_reset_confirm = _in_admin(PasswordResetConfirmView)
password_reset_complete = _in_admin(auth_views.PasswordResetCompleteView)
