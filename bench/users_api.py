"""Benchmark of ListUsers (not a test): requests/s and p50/p99 latency for a company of 10,000 users.

What it does:
 1. creates (once) its own PostgreSQL database (--database-url, default .../bench_users) and migrates it;
 2. seeds a company of --users users (bulk insert, unusable passwords) in 25 groups, each user in two, and an
    API client with a generic access token; an existing seed of the same size is reused (--reseed to redo it);
 3. starts gunicorn (--workers sync workers, default 4) on 127.0.0.1:--port;
 4. checks one response (200, --page-size users, totalCount), warms up, then runs wrk (--connections keep-alive
    connections, default 8) against GET /api/Users/ListUsers?pageSize=50 for each --pages entry;
 5. prints requests/s, p50 and p99 per page, and stops gunicorn.

    python bench/users_api.py                                  # 10,000 users, pages 1 and 100, 15 s each
    python bench/users_api.py --duration 5 --pages 1           # a quick check

Needs wrk (apt-get install -y wrk) and gunicorn (requirements/prod.txt). Sync gunicorn workers close every
connection after the response, so wrk reconnects per request; that is part of what is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from common import ensure_database

ROOT = Path(__file__).resolve().parent.parent
COMPANY_SLUG = "bench-users"
SECRET_KEY = "bench-users-secret-key-not-for-production-0123456789abcdef"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_users")
    parser.add_argument("--port", type=int, default=8201)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--pages", default="1,100", help="Comma-separated pages to measure, each for --duration.")
    parser.add_argument("--duration", type=int, default=15, help="Seconds of wrk per page.")
    parser.add_argument("--warmup", type=int, default=3, help="Seconds of wrk before measuring.")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads.")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers.")
    parser.add_argument("--reseed", action="store_true", help="Delete and seed the company again.")
    return parser.parse_args()


def server_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="airisk.settings",
        DEBUG="false",
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
        CONN_MAX_AGE="600",
        DB_POOL="false",  # the figures in docs/users-api.md were measured with persistent connections
    )
    return env


def seed(users: int, reseed: bool) -> str:
    """Seed (or reuse) the benchmark company; return a generic access token of its client."""
    import django

    django.setup()
    from django.db import transaction
    from django.utils import timezone

    from apps.accounts.models import ApplicationUser, Group, new_userid
    from apps.companies.models import Company
    from apps.oauth import crypto
    from apps.oauth.models import APIUser
    from apps.oauth.services import access_token_issue

    company = Company.objects.filter(slug=COMPANY_SLUG).first()
    if company is not None and (reseed or ApplicationUser.objects.filter(company=company).count() != users):
        company.delete()
        company = None
    if company is None:
        started = time.perf_counter()
        with transaction.atomic():
            company = Company.objects.create(name="Bench Users Inc.", slug=COMPANY_SLUG)
            groups = Group.objects.bulk_create(Group(company=company, name=f"Team {i:02d}") for i in range(25))
            base = timezone.now() - timezone.timedelta(days=365)
            people = ApplicationUser.objects.bulk_create(
                (
                    ApplicationUser(
                        company=company,
                        userid=new_userid(),
                        email=f"person{i:05d}@bench-users.example",
                        name=f"Person {i:05d}",
                        password="!bench-unusable",  # an unusable password hash: no portal login
                        role_admin=i == 0,
                        created=base + timezone.timedelta(seconds=i),
                    )
                    for i in range(users)
                ),
                batch_size=2000,
            )
            through = Group.members.through
            through.objects.bulk_create(
                (
                    through(group_id=groups[(i + k) % len(groups)].id, applicationuser_id=person.id)
                    for i, person in enumerate(people)
                    for k in (0, 7)
                ),
                batch_size=5000,
            )
        print(f"seeded {users} users in {time.perf_counter() - started:.1f}s")
    else:
        print(f"reusing the seeded company of {users} users")
    client = APIUser.objects.filter(company=company).first() or APIUser.objects.create(
        company=company,
        name="bench",
        client_id=crypto.new_client_id(),
        secret_hash=crypto.hash_secret(crypto.new_secret()),
        redirect_uris="https://localhost/callback",
    )
    return access_token_issue(client=client, user=None)[1]


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not answer {url} within {timeout}s")


def check_response(url: str, token: str, page_size: int, users: int) -> None:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read())
    if len(body["data"]) != min(page_size, users) or body["totalCount"] != users:
        raise SystemExit(f"unexpected answer: {len(body['data'])} users, totalCount {body['totalCount']}")


_LATENCY = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(url: str, token: str, args: argparse.Namespace, duration: int) -> dict:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = {pct: float(value) * _UNITS[unit] for pct, value, unit in _LATENCY.findall(output)}
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors:.*", output)
    return {
        "rps": rps,
        "p50_ms": latency.get("50"),
        "p99_ms": latency.get("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(0) if socket_errors else "",
    }


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    if not gunicorn.exists():
        raise SystemExit("gunicorn is not installed: pip install -r requirements/prod.txt")
    env = server_env(args.database_url)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))

    ensure_database(args.database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    token = seed(args.users, args.reseed)

    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [
            str(gunicorn),
            "airisk.wsgi:application",
            "-w",
            str(args.workers),
            "-k",
            "sync",
            "-b",
            f"127.0.0.1:{args.port}",
            # Its default control socket path is shared by every gunicorn of this user on the machine.
            "--no-control-socket",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    results = []
    try:
        wait_for(f"{base}/healthz")
        pages = [int(page) for page in args.pages.split(",") if page.strip()]
        for page in pages:
            url = f"{base}/api/Users/ListUsers?pageSize={args.page_size}&page={page}"
            check_response(url, token, args.page_size, args.users)
            if args.warmup:
                run_wrk(url, token, args, args.warmup)
            results.append((page, run_wrk(url, token, args, args.duration)))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    print()
    print(
        f"ListUsers, {args.users} users, pageSize={args.page_size}: gunicorn {args.workers} sync workers, "
        f"PostgreSQL, wrk {args.connections} connections x {args.duration}s"
    )
    print(f"{'page':>6} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for page, result in results:
        print(
            f"{page:>6} {result['rps']:>11.1f} {result['p50_ms']:>8.2f} {result['p99_ms']:>8.2f} "
            f"{result['non_2xx']:>8}  {result['socket_errors']}"
        )


if __name__ == "__main__":
    main()
