"""Where the time of one authenticated request goes (not a test; run on demand).

Calls the project's WSGI application in-process, as a gunicorn sync worker does, with DEBUG off, on the
database of DATABASE_URL (PostgreSQL for figures that mean something). It seeds a company of 50 users, an API
client and a generic token (idempotent), then for each path prints the mean time per request, the queries per
request, and, with --profile, cProfile's top functions by cumulative time for the first path.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sbs_airisk SECRET_KEY=x..x \
        .venv/bin/python bench/profile_request.py --requests 2000 --profile \
        /healthz /api/oauth2/me "/api/Users/ListUsers?pageSize=50"

"Layers" splits one request's time: the middleware stack (the full request minus the view), DRF's dispatch
(authentication, permissions, negotiation, rendering) and the view body, measured by timing each piece with the
others stubbed out of the count. The numbers are per process; a gunicorn worker adds its HTTP parsing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "airisk.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("ALLOWED_HOSTS", "*")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")


def seed() -> str:
    """A company of 50 users, a client and a generic token; returns the token's JWT."""
    from apps.accounts.models import ApplicationUser
    from apps.companies.models import Company
    from apps.oauth.models import APIUser
    from apps.oauth.services import access_token_issue

    company, _ = Company.objects.get_or_create(slug="profile", defaults={"name": "Profile"})
    missing = 50 - ApplicationUser.objects.filter(company=company).count()
    stamp = time.time_ns()
    ApplicationUser.objects.bulk_create(
        [ApplicationUser(company=company, email=f"p{i}-{stamp}@profile.test", name=f"P {i}") for i in range(missing)]
    )
    client = APIUser.objects.filter(company=company).first() or APIUser.objects.create(
        company=company, name="Profile", secret_hash="0" * 64, redirect_uris="https://localhost/callback"
    )
    _, jwt_value = access_token_issue(client=client, user=None)
    return jwt_value


def environ_for(path: str, token: str) -> dict:
    parts = urlsplit(path)
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def call(app, path: str, token: str) -> int:
    status = []
    body = app(environ_for(path, token), lambda s, h, exc_info=None: status.append(s))
    b"".join(body)
    if hasattr(body, "close"):
        body.close()
    return int(status[0].split()[0])


def layers(token: str, n: int) -> None:
    """CPU per call of the pieces of an authenticated ListUsers(50), each measured on its own."""
    from django.http import QueryDict
    from rest_framework.renderers import JSONRenderer

    from apps.accounts.selectors import user_api_page
    from apps.oauth import token_cache
    from apps.oauth.models import AccessToken
    from apps.oauth.tokens import decode_access_token
    from apps.users_api.serializers import UserListQuerySerializer, user_representations

    claims = decode_access_token(token)
    company = token_cache.access_token_row(claims.jti).company
    rows, _ = user_api_page(company=company, offset=0, limit=50)
    body = {"data": user_representations(rows)}
    query = QueryDict("pageSize=50")

    def row_uncached():  # the query access_token_row makes when its memory has no fresh row
        AccessToken.objects.select_related("client", "company", "user").get(jti=claims.jti)

    pieces = {
        "JWT verify (PyJWT, uncached)": lambda: decode_access_token(token),
        "JWT verify (remembered text)": lambda: token_cache.verified_claims(token),
        "token row query (uncached)": row_uncached,
        "token row (remembered)": lambda: token_cache.access_token_row(claims.jti),
        "query parameters (DRF serializer)": lambda: UserListQuerySerializer.from_query(query).validated_data,
        "page of 50 users (1 query)": lambda: user_api_page(company=company, offset=0, limit=50),
        "representations of 50 users": lambda: user_representations(rows),
        "JSON rendering": lambda: JSONRenderer().render(body),
    }
    for name, piece in pieces.items():
        for _ in range(20):
            piece()
        c0 = time.process_time()
        for _ in range(n):
            piece()
        print(f"  {name:40s} {(time.process_time() - c0) / n * 1e6:7.0f} us CPU")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--profile", action="store_true", help="cProfile the first path")
    ap.add_argument("--top", type=int, default=35)
    ap.add_argument("--sort", default="cumulative", help="cProfile sort key: cumulative, tottime, ...")
    ap.add_argument("--layers", action="store_true", help="CPU of each layer of an authenticated ListUsers")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    token = seed()
    from airisk.wsgi import application as app  # as gunicorn loads it (objects frozen out of the GC)

    for path in args.paths:
        for _ in range(50):
            assert call(app, path, token) == 200, path
        queries: list[str] = []

        def record(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        # execute_wrapper rather than CaptureQueriesContext: request_started clears the connection's query log.
        with connection.execute_wrapper(record):
            call(app, path, token)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(args.requests):
            call(app, path, token)
        wall = (time.perf_counter() - t0) / args.requests * 1e6
        cpu = (time.process_time() - c0) / args.requests * 1e6
        print(f"{path:40s} {wall:7.0f} us wall {cpu:7.0f} us CPU per request  {len(queries):2d} queries")
        for sql in queries:
            print(f"    {sql[:150]}")
    if args.layers:
        layers(token, args.requests)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            call(app, args.paths[0], token)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
