"""The Content-Security-Policy on every response (no inline script is allowed to run), pages built to live
with it (no inline <script> or style), and the project-wide templates in templates/."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.template import Context, Template
from django.template.loader import get_template
from django.urls import reverse

from tests.admin.conftest import logged_in

ROOT = Path(settings.BASE_DIR)


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def inline_scripts(html: str) -> list[str]:
    """<script> elements without a src (an inline script) and on*="" handler attributes."""
    tags = re.findall(r"<script\b[^>]*>", html, flags=re.I)
    handlers = re.findall(r"\son[a-z]+\s*=", html, flags=re.I)
    return [tag for tag in tags if "src=" not in tag] + handlers


@pytest.mark.parametrize(
    "path", ["/admin/login/", "/api/docs", "/healthz", "/no-such-page", "/admin/password_reset/", "/api/schema"]
)
def test_every_response_carries_a_policy_that_refuses_inline_scripts(client, db, path):
    response = client.get(path)

    directives = policy(response)
    assert directives["script-src"][0] == "'self'"
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in directives["style-src"]


@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:index"),
        reverse("admin:oauth_apiuser_changelist"),
        reverse("admin:oauth_apiuser_add"),
        reverse("admin:accounts_applicationuser_changelist"),
        reverse("admin:accounts_applicationuser_add"),
        reverse("admin:accounts_group_add"),
        reverse("admin:audit_auditevent_changelist"),
        reverse("admin:oauth_accesstoken_changelist"),
        reverse("admin:password_change"),
    ],
)
def test_admin_pages_have_no_inline_script(admin_user, url):
    response = logged_in(admin_user).get(url)

    assert response.status_code == 200
    assert inline_scripts(response.content.decode()) == []


def test_the_one_time_secret_page_loads_its_copy_button_script_from_a_file(admin_user):
    response = logged_in(admin_user).post(
        reverse("admin:oauth_apiuser_add"), {"name": "CSP check", "redirect_uris": "https://app.example.com/cb"}
    )

    html = response.content.decode()
    assert 'id="copy-secret"' in html
    assert inline_scripts(html) == []
    assert re.search(r'<script src="/static/oauth/copy_secret\.js"', html)
    assert finders.find("oauth/copy_secret.js")


def test_api_docs_page_has_no_inline_script_or_style_and_its_start_up_script_is_a_file(client, db):
    page = client.get("/api/docs").content.decode()
    script = client.get("/api/docs", {"script": ""})

    assert inline_scripts(page) == []
    assert "<style" not in page
    assert script.status_code == 200
    assert "SwaggerUIBundle(" in script.content.decode()


def test_project_templates_live_in_the_top_level_templates_directory():
    for name in ["base.html", "400.html", "403.html", "404.html", "500.html", "admin/base_site.html"]:
        origin = Path(get_template(name).origin.name)
        assert origin.is_relative_to(ROOT / "templates"), name


def test_base_layout_has_header_user_menu_and_one_branded_stylesheet(admin_user, rf):
    request = rf.get("/")
    request.user = admin_user
    html = get_template("base.html").render({"user": admin_user}, request)

    assert re.findall(r'rel="stylesheet" href="([^"]+)"', html) == ["/static/css/portal.css"]
    assert 'class="site-header"' in html
    assert "AIRisk" in html
    assert 'class="user-menu"' in html
    assert admin_user.email in html
    assert 'href="/admin/"' in html  # an admin gets the way to the web admin
    assert inline_scripts(html) == []
    assert "style=" not in html
    portal_css = Path(finders.find("css/portal.css")).read_text()
    assert re.search(r"--brand-primary:\s*#[0-9a-f]{6}", portal_css)


def test_base_layout_without_a_user_has_no_user_menu(rf):
    html = get_template("base.html").render({}, rf.get("/"))

    assert 'class="user-menu"' not in html
    assert 'class="site-header"' in html


def test_error_page_of_a_web_path_is_the_branded_page(client, db):
    response = client.get("/no-such-page")

    html = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in html
    assert "/static/css/portal.css" in html


def test_server_error_page_renders_without_any_context():
    html = Template('{% include "500.html" %}').render(Context())

    assert "Something went wrong on our side" in html
    assert "/static/css/portal.css" in html


def test_admin_is_branded(client, db):
    html = client.get(reverse("admin:login")).content.decode()

    assert "/static/css/admin-brand.css" in html
    assert "/static/img/airisk-mark.svg" in html
    assert "<title>Log in | AIRisk admin</title>" in html
    assert finders.find("css/admin-brand.css")
    assert finders.find("img/airisk-mark.svg")


def test_no_template_has_a_multi_line_short_comment():
    """Django's {# #} ends on its line: one spread over two lines is printed on the page. Use {% comment %}."""
    from pathlib import Path

    from django.conf import settings

    root = Path(settings.BASE_DIR)
    offenders = []
    for template in [*root.glob("templates/**/*.html"), *root.glob("apps/*/templates/**/*.html")]:
        for number, line in enumerate(template.read_text().splitlines(), 1):
            start = line.find("{#")
            if start != -1 and "#}" not in line[start:]:
                offenders.append(f"{template.relative_to(root)}:{number}")
    assert offenders == []
