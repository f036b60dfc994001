"""Benchmark of streamed chat answers (not a test): what AIRisk adds to the first token, and how many streams
one small server holds.

What it does:
 1. migrates the PostgreSQL database --database-url, seeds a company, a user, an API client, an agent on the
    development engine and --streams conversations (the seeded company is deleted at the end);
 2. starts the development engine (manage.py run_demo_llm) scripted to stream 50 deltas per answer, and the
    production server: gunicorn with --workers uvicorn workers (airisk.workers.UvicornWorker);
 3. latency: at each concurrency of --concurrency (default 1, 50, 200), --rounds rounds of that many
    simultaneous requests, first straight to the engine, then through POST /api/Chat/AskAgent; reports the time
    to the first delta, p50 and p99, of each, and the difference (what AIRisk adds), with the server's own
    phases from the Server-Timing header (auth, prepare) and the trailing run data (engine, store);
 4. capacity: --streams simultaneous AskAgent streams of slow answers (50 deltas, --slow-delay apart), every one
    read to its end; reports how many completed and the peak resident memory of the server processes.

    python bench/chat.py --database-url postgres://postgres@127.0.0.1:5432/bench_chat

A raw asyncio HTTP/1.1 client reads the streams, so that the client's own cost stays small next to the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from common import ensure_database

ROOT = Path(__file__).resolve().parent.parent
FIRST_ENGINE_TOKEN = re.compile(rb'"content":\s*"[^"]')
FIRST_DELTA = b"event: thread.message.delta"
DONE = b"event: done"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_chat")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2: the cores)")
    parser.add_argument("--concurrency", default="1,50,200")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per concurrency (default 5)")
    parser.add_argument("--delay", type=float, default=0.01, help="seconds between deltas, latency phase")
    parser.add_argument("--streams", type=int, default=1000, help="simultaneous streams, capacity phase")
    parser.add_argument("--slow-delay", type=float, default=0.2, help="seconds between deltas, capacity phase")
    parser.add_argument(
        "--scanners",
        choices=("off", "default"),
        default="off",
        help="off (the latency target's condition): every scanner disabled for the company; default: out of the box",
    )
    parser.add_argument("--port", type=int, default=0)
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(args: argparse.Namespace) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "airisk.settings",
        "DATABASE_URL": args.database_url,
        "CACHE_URL": args.cache_url,
        "SECRET_KEY": "bench-" + secrets.token_hex(32),
        "FIELD_ENCRYPTION_KEYS": os.environ.get(
            "FIELD_ENCRYPTION_KEYS", "YmVuY2gtb25seS1ub3QtYS1yZWFsLWtleS0wMTIzNDU="
        ),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "CHAT_RATE_PER_USER": "100000000/min",  # out of the way; the limit itself is tested in the suite
        "DB_POOL_MAX_SIZE": "20",
    }


def seed(env: dict[str, str], engine_url: str, conversations: int, scanners: str = "off") -> dict:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from decimal import Decimal

    from apps.accounts.services import user_create
    from apps.agents.models import Agent, AgentUserGrant
    from apps.audit.services import Actor
    from apps.chat.models import Conversation
    from apps.companies.services import company_create
    from apps.oauth.services import access_token_issue, api_client_create

    actor = Actor.system()
    slug = "bench-" + secrets.token_hex(4)
    company = company_create(name=f"Bench {slug}", slug=slug, actor=actor)
    user = user_create(company=company, email=f"user@{slug}.example", name="Bench user", actor=actor)
    client, _secret = api_client_create(
        company=company, name="Bench client", redirect_uris="https://localhost/cb", actor=actor
    )
    agent = Agent.objects.create(
        company=company,
        name="Bench agent",
        engine="llama",
        model="airisk-demo",
        base_url=engine_url,
        instructions="You are the benchmark's agent.",
        input_price_per_million=Decimal("1"),
        output_price_per_million=Decimal("2"),
    )
    AgentUserGrant.objects.create(company=company, agent=agent, user=user)
    Conversation.objects.bulk_create(
        [Conversation(company=company, user=user, agent=agent, title=f"Bench {n}") for n in range(conversations)]
    )
    if scanners == "off":
        from apps.scanners.models import ScannerDefault
        from apps.scanners.registry import SCANNERS

        ScannerDefault.objects.bulk_create(
            [
                ScannerDefault(company=company, scanner=name, enabled=False, settings=spec.default_settings().to_dict())
                for name, spec in SCANNERS.items()
            ]
        )
    ids = list(Conversation.objects.filter(company=company).values_list("public_id", flat=True))
    token = access_token_issue(client=client, user=user)[1]
    return {"company": company, "token": token, "conversations": ids}


def wait_until_up(port: int, path: str = "/healthz", timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"nothing answered on 127.0.0.1:{port}{path}")


async def post_stream(port: int, path: str, body: dict, headers: dict[str, str], first_marker) -> dict:
    """POST and read the streamed body to its end: time to the first marker, total, headers, body."""
    payload = json.dumps(body).encode()
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    head.append(f"Content-Length: {len(payload)}")
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as error:
        return {"first": None, "total": 0.0, "head": f"connect failed: {error}", "body": b""}
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
    await writer.drain()
    received, first = b"", None
    while chunk := await _read(reader):
        received += chunk
        if first is None and (
            first_marker.search(received) if hasattr(first_marker, "search") else first_marker in received
        ):
            first = time.perf_counter() - started
    total = time.perf_counter() - started
    writer.close()
    header_block, _, data = received.partition(b"\r\n\r\n")
    return {"first": first, "total": total, "head": header_block.decode("latin-1"), "body": data}


async def _read(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.read(65536)
    except ConnectionError:
        return b""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def phases_of(result: dict) -> dict[str, float]:
    phases = {}
    header = re.search(r"(?im)^server-timing:\s*(.+)$", result["head"])
    trailing = re.search(rb'"server_timing":"([^"]+)"', result["body"])
    for text in (header.group(1) if header else "", trailing.group(1).decode() if trailing else ""):
        for name, value in re.findall(r"(\w+);dur=([\d.]+)", text):
            phases[name] = float(value)
    return phases


async def engine_round(engine_port: int, n: int) -> list[dict]:
    body = {"model": "airisk-demo", "stream": True, "messages": [{"role": "user", "content": "Tell me about leave."}]}
    return await asyncio.gather(
        *(post_stream(engine_port, "/v1/chat/completions", body, {}, FIRST_ENGINE_TOKEN) for _ in range(n))
    )


async def airisk_round(port: int, token: str, conversations: list[str], n: int) -> list[dict]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    return await asyncio.gather(
        *(
            post_stream(
                port,
                "/api/Chat/AskAgent",
                {"conversationID": conversations[i], "text": "Tell me about leave."},
                headers,
                FIRST_DELTA,
            )
            for i in range(n)
        )
    )


def script_engine(engine_port: int, delay: float) -> None:
    body = json.dumps({"deltas": 50, "delay": delay, "input_tokens": -1}).encode()
    with socket.create_connection(("127.0.0.1", engine_port)) as sock:
        sock.sendall(
            b"POST /_fake/script HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        sock.recv(1024)


def rss_mb(root_pid: int, field: str = "VmRSS:", source: str = "status") -> float:
    """Resident memory of a process and its children (the gunicorn master and its workers). RSS counts pages the
    processes share once per process; ``pss_mb`` divides them among the sharers."""
    pids = [root_pid]
    children = Path(f"/proc/{root_pid}/task/{root_pid}/children")
    if children.exists():
        pids += [int(pid) for pid in children.read_text().split()]
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/{source}").read_text().splitlines():
                if line.startswith(field):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024


def pss_mb(root_pid: int) -> float:
    return rss_mb(root_pid, "Pss:", "smaps_rollup")


async def latency_phase(args, engine_port: int, port: int, seeded: dict) -> None:
    script_engine(engine_port, args.delay)
    print(f"\nTime to first delta, 50 deltas per answer {args.delay * 1000:.0f} ms apart, {args.rounds} rounds each")
    print("concurrent | engine p50 / p99 ms | AIRisk p50 / p99 ms | added p50 / p99 ms | phases p50 ms")
    for n in [int(x) for x in args.concurrency.split(",")]:
        engine, airisk = [], []
        await airisk_round(port, seeded["token"], seeded["conversations"], min(n, 5))  # warm the workers
        for _ in range(args.rounds):
            engine += await engine_round(engine_port, n)
            airisk += await airisk_round(port, seeded["token"], seeded["conversations"], n)
        failures = sum(r["first"] is None or DONE not in r["body"] for r in airisk)
        e = [r["first"] * 1000 for r in engine if r["first"] is not None]
        a = [r["first"] * 1000 for r in airisk if r["first"] is not None]
        phases: dict[str, list[float]] = {}
        for result in airisk:
            for name, value in phases_of(result).items():
                phases.setdefault(name, []).append(value)
        summary = ", ".join(
            f"{k} {statistics.median(v):.1f}" for k, v in phases.items() if k in ("auth", "prepare", "store")
        )
        print(
            f"{n:>10} | {percentile(e, 0.5):7.1f} / {percentile(e, 0.99):7.1f} | {percentile(a, 0.5):7.1f} / "
            f"{percentile(a, 0.99):7.1f} | {percentile(a, 0.5) - percentile(e, 0.5):6.1f} / "
            f"{percentile(a, 0.99) - percentile(e, 0.99):6.1f} | {summary}"
            + (f"  FAILED {failures}" if failures else "")
        )


async def capacity_phase(args, engine_port: int, port: int, seeded: dict, server_pid: int) -> None:
    script_engine(engine_port, args.slow_delay)
    idle, idle_pss = rss_mb(server_pid), pss_mb(server_pid)
    peak, peak_pss = idle, idle_pss
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak, peak_pss
        while not done.is_set():
            peak = max(peak, rss_mb(server_pid))
            peak_pss = max(peak_pss, pss_mb(server_pid))
            await asyncio.sleep(0.25)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    results = await airisk_round(port, seeded["token"], seeded["conversations"], args.streams)
    done.set()
    await sampler
    complete = sum(DONE in r["body"] and b"thread.run.completed" in r["body"] for r in results)
    outcomes: dict[str, int] = {}
    for r in results:
        if not (DONE in r["body"] and b"thread.run.completed" in r["body"]):
            status = r["head"].split("\r\n", 1)[0] or "no response"
            key = f"{status}{' run.failed' if b'thread.run.failed' in r['body'] else ''}"
            outcomes[key] = outcomes.get(key, 0) + 1
    if outcomes:
        print(
            "incomplete:",
            outcomes,
            "e.g.",
            next((r["body"][-300:] for r in results if b"thread.run.completed" not in r["body"]), b""),
        )
    print(
        f"\n{args.streams} simultaneous streams (50 deltas, {args.slow_delay * 1000:.0f} ms apart): "
        f"{complete} complete in {time.perf_counter() - started:.1f} s; "
        f"server RSS idle {idle:.0f} MB, peak {peak:.0f} MB (PSS {idle_pss:.0f} / {peak_pss:.0f} MB) "
        f"({args.workers} uvicorn workers + gunicorn master)"
    )


def main() -> None:
    args = parse_args()
    if urlsplit(args.database_url).scheme.startswith("postgres"):
        ensure_database(args.database_url)
    env = server_env(args)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"], env=env, check=True)
    engine_port, port = free_port(), args.port or free_port()
    engine = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_demo_llm", "--port", str(engine_port)], env=env, cwd=ROOT
    )
    seeded = seed(env, f"http://127.0.0.1:{engine_port}/v1", max(args.streams, 200), args.scanners)
    print(f"scanners {args.scanners}, {args.workers} uvicorn workers, load average {os.getloadavg()[0]:.1f}")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "airisk.asgi:application", "-k", "airisk.workers.UvicornWorker", "-w", str(args.workers),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--backlog", "4096"],
        env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        wait_until_up(port)
        time.sleep(0.5)
        asyncio.run(latency_phase(args, engine_port, port, seeded))
        if args.streams:
            asyncio.run(capacity_phase(args, engine_port, port, seeded, server.pid))
    finally:
        server.send_signal(signal.SIGTERM)
        engine.send_signal(signal.SIGTERM)
        server.wait(30)
        engine.wait(30)
        seeded["company"].delete()


if __name__ == "__main__":
    main()
