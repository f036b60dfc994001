"""The project's URLs plus views that fail on purpose (a 500, a body read), for the error-page tests."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from airisk.urls import handler400, handler403, handler404, handler500
from airisk.urls import urlpatterns as project_urlpatterns


def fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


def read_body(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(len(request.body)))


def form_post(request: HttpRequest) -> HttpResponse:  # not CSRF-exempt
    return HttpResponse("ok")


urlpatterns = [
    path("api/test/fail", fail),
    path("api/test/read-body", read_body),
    path("api/test/form", form_post),
    path("test/fail", fail),
    path("test/read-body", read_body),
    *project_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
