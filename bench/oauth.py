"""Benchmark of the OAuth2 hot paths (not a test): token exchanges/s and authenticated GETs/s, p50/p99.

What it does:
 1. migrates the PostgreSQL database given by --database-url and seeds a fresh company with 50 users and an
    API client (services, as the product does; the secret stays hashed with HMAC-SHA256);
 2. starts gunicorn (4 sync workers) on 127.0.0.1:--port with the rate limits raised out of the way;
 3. pre-mints authorization codes through GET /api/oauth2 (the real authorize endpoint);
 4. runs wrk (8 keep-alive connections) against POST /api/oauth2/Token, a Lua script feeding every request a
    distinct code, then against GET --path with a generic bearer token;
 5. prints a table, stops gunicorn and deletes the seeded company (cascading to its rows).

    python bench/oauth.py --database-url postgres://postgres@127.0.0.1:5432/bench --duration 10
    python bench/oauth.py --path /api/oauth2/me          # before the Users API exists

Needs wrk (apt-get install -y wrk) and gunicorn (requirements/prod.txt). Sync gunicorn workers close every
connection after the response, so wrk reconnects per request; that is part of what is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from common import ensure_database

ROOT = Path(__file__).resolve().parent.parent
REDIRECT_URI = "https://localhost/callback"

# A distinct code per request: each wrk thread takes every n-th line of the codes file.
EXCHANGE_LUA = r"""
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  codes = {}
  local nthreads = tonumber(args[2])
  local i = 0
  for line in io.lines(args[1]) do
    if i % nthreads == id then table.insert(codes, line) end
    i = i + 1
  end
  next_code = 1
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  prefix = args[3]
end

function request()
  local code = codes[next_code] or "exhausted"
  next_code = next_code + 1
  return wrk.format(nil, nil, nil, prefix .. "&code=" .. code)
end
"""

# Prints the summary as one JSON line that the script parses.
DONE_LUA = r"""
function done(summary, latency, requests)
  io.write(string.format(
    '\nBENCH_JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_oauth"),
        help="PostgreSQL database to use (migrated; the seeded company is deleted at the end).",
    )
    parser.add_argument("--cache-url", default="locmemcache://bench", help="CACHE_URL of the server (e.g. Redis).")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads.")
    parser.add_argument("--duration", type=int, default=10, help="Seconds per phase.")
    parser.add_argument("--codes", type=int, default=0, help="Codes to pre-mint (default: 600 per second of run).")
    parser.add_argument("--path", default="/api/Users/ListUsers", help="Authenticated GET to measure.")
    return parser.parse_args()


def server_env(args: argparse.Namespace) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "airisk.settings",
        "DATABASE_URL": args.database_url,
        "CACHE_URL": args.cache_url,
        "SECRET_KEY": "bench-" + secrets.token_hex(32),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        # Sync gunicorn workers, as measured in docs/oauth2.md: persistent connections rather than the ASGI pool.
        "DB_POOL": "false",
        # Out of the way of the measurement; the limits themselves are tested in the suite.
        "OAUTH_TOKEN_RATE_PER_IP": "100000000/min",
        "OAUTH_TOKEN_RATE_PER_CLIENT": "100000000/min",
        # Codes are minted before the exchange phase starts; they must outlive the minting.
        "AUTH_CODE_LIFETIME_SECONDS": "900",
    }


def seed(env: dict[str, str]) -> dict:
    """Company, 50 users and a client, through the services. Runs in this process."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from apps.accounts.services import user_create
    from apps.audit.services import Actor
    from apps.companies.services import company_create
    from apps.oauth.services import api_client_create

    actor = Actor.system()
    slug = "bench-" + secrets.token_hex(4)
    company = company_create(name=f"Bench {slug}", slug=slug, actor=actor)
    for i in range(50):
        user_create(company=company, email=f"user{i}@{slug}.example", name=f"Bench user {i}", actor=actor)
    client, secret = api_client_create(company=company, name="Bench client", redirect_uris=REDIRECT_URI, actor=actor)
    return {"company": company, "client_id": client.client_id, "client_secret": secret}


def wait_until_up(base: str, timeout: float = 30) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer on {base}/healthz within {timeout:.0f}s")


def mint_codes(base: str, client_id: str, count: int) -> list[str]:
    import requests

    def mint_batch(n: int) -> list[str]:
        with requests.Session() as session:
            codes = []
            for _ in range(n):
                response = session.get(
                    f"{base}/api/oauth2",
                    params={"client_id": client_id, "redirect_uri": REDIRECT_URI},
                    allow_redirects=False,
                    timeout=10,
                )
                if response.status_code != 302:
                    raise SystemExit(f"authorize answered {response.status_code}: {response.text[:200]}")
                codes.append(parse_qs(urlsplit(response.headers["Location"]).query)["code"][0])
            return codes

    batches = [count // 4 + (1 if i < count % 4 else 0) for i in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        return [code for batch in pool.map(mint_batch, batches) for code in batch]


def run_wrk(args: argparse.Namespace, url: str, script: str, script_args: list[str], headers: list[str]) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script + DONE_LUA)
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "-s", handle.name]
    for header in headers:
        command += ["-H", header]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    os.unlink(handle.name)
    line = next(line for line in output.splitlines() if line.startswith("BENCH_JSON "))
    result = json.loads(line.removeprefix("BENCH_JSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def main() -> None:
    args = parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("--database-url must be a PostgreSQL URL")
    for tool in ("wrk",):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (apt-get install -y {tool})")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = server_env(args)
    base = f"http://127.0.0.1:{args.port}"

    print(f"migrating {args.database_url} ...", flush=True)
    ensure_database(args.database_url)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"], env=env, check=True)
    seeded = seed(env)
    server = subprocess.Popen(
        [str(gunicorn), "airisk.wsgi:application", "-w", str(args.workers), "-k", "sync",
         "-b", f"127.0.0.1:{args.port}", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        wait_until_up(base)
        import requests

        count = args.codes or 600 * args.duration
        print(f"minting {count} authorization codes through GET /api/oauth2 ...", flush=True)
        codes = mint_codes(base, seeded["client_id"], count + 1)
        with tempfile.NamedTemporaryFile("w", suffix=".codes", delete=False) as handle:
            handle.write("\n".join(codes[1:]) + "\n")
        prefix = f"client_id={seeded['client_id']}&client_secret={seeded['client_secret']}"

        token = requests.post(f"{base}/api/oauth2/Token", data=f"{prefix}&code={codes[0]}", timeout=10,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        token.raise_for_status()
        bearer = f"Authorization: Bearer {token.json()['access_token']}"
        probe = requests.get(f"{base}{args.path}", headers={"Authorization": bearer.split(": ", 1)[1]}, timeout=10)
        if probe.status_code != 200:
            raise SystemExit(f"GET {args.path} answered {probe.status_code}; pass --path /api/oauth2/me")

        print(f"phase 1: POST /api/oauth2/Token for {args.duration}s ...", flush=True)
        exchange = run_wrk(args, f"{base}/api/oauth2/Token", EXCHANGE_LUA, [handle.name, str(args.threads), prefix], [])
        os.unlink(handle.name)
        print(f"phase 2: GET {args.path} for {args.duration}s ...", flush=True)
        get = run_wrk(args, f"{base}{args.path}", "", [], [bearer, "Accept: application/json"])
    finally:
        server.terminate()
        server.wait(timeout=30)
        seeded["company"].delete()

    rows = [("POST /api/oauth2/Token (exchange)", exchange), (f"GET {args.path}", get)]
    print()
    print(f"gunicorn {args.workers} sync workers, PostgreSQL, wrk {args.threads} threads / {args.connections} "
          f"connections, {args.duration}s per phase, cache {args.cache_url.split(':')[0]}")  # fmt: skip
    print(f"{'endpoint':<40} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'non-2xx':>8} {'errors':>7}")
    for name, r in rows:
        print(
            f"{name:<40} {r['rps']:>9.1f} {r['p50_us'] / 1000:>8.1f} {r['p99_us'] / 1000:>8.1f} "
            f"{r['requests']:>9} {r['non2xx']:>8} {r['errors']:>7}"
        )
    if exchange["requests"] > count:
        print(f"note: the exchange phase used more requests than the {count} codes minted; raise --codes")


if __name__ == "__main__":
    main()
