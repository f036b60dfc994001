"""Benchmark of streamed chat answers (not a test): what AIRisk adds to the first token, and how many streams
one small server holds.

What it does:
 1. migrates the PostgreSQL database --database-url, seeds a company, a user, an API client, an agent on the
    development engine and --streams conversations (the seeded company is deleted at the end);
 2. starts the development engine (manage.py run_demo_llm) scripted to stream 50 deltas per answer, and the
    production server: gunicorn with --workers uvicorn workers (airisk.workers.UvicornWorker);
 3. latency, at each concurrency N of --concurrency (default 1, 50, 200), first straight to the engine, then
    through POST /api/Chat/AskAgent, in one or both ways of arriving (--arrivals, default both):
    - steady: N virtual users, each in a closed loop (send, read the stream to its end, send the next at once),
      their first requests spread over one answer's length; after --warmup seconds, every request started in the
      next --duration seconds is measured, so that about N streams are open all the time (a steady load of N
      concurrent users, the way proxy overheads such as LiteLLM's are published). Also reports the arrival rate
      and the CPU used in the window by the server processes, the engine, this client, the databases (every
      PostgreSQL and Redis process of the machine) and the whole machine;
    - burst: --rounds rounds of N requests sent in the same millisecond (a spike: the last of the N waits for
      the other N-1 to be prepared);
    reports the time to the first delta, p50 and p99, of the engine and of AIRisk, and what AIRisk adds: the
    difference of the two distributions' percentiles, and, paired per request, AIRisk's first delta minus the
    engine's first token as the server saw it (the `first_token` of the trailing run data), with the server's
    own phases from the Server-Timing header (auth, prepare) and the trailing run data (first_token, store);
 4. capacity: --streams simultaneous AskAgent streams of slow answers (50 deltas, --slow-delay apart), every one
    read to its end; reports how many completed and the peak resident memory of the server processes.

    python bench/chat.py --database-url postgres://postgres@127.0.0.1:5432/bench_chat
    python bench/chat.py --arrivals steady --duration 20 --streams 0   # steady load only, no capacity phase

A raw asyncio HTTP/1.1 client reads the streams, so that the client's own cost stays small next to the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
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
    parser.add_argument(
        "--arrivals",
        choices=("both", "steady", "burst"),
        default="both",
        help="steady: N users in closed loops; burst: rounds of N simultaneous requests; both (default)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="burst: rounds per concurrency (default 5)")
    parser.add_argument("--warmup", type=float, default=5.0, help="steady: seconds before measuring (default 5)")
    parser.add_argument("--duration", type=float, default=15.0, help="steady: seconds measured (default 15)")
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
    parser.add_argument(
        "--dump", default="", help="write every AIRisk request's first delta (ms) and phases here, as JSON lines"
    )
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


def script_engine(engine_port: int, delay: float, deltas: int = 50) -> None:
    body = json.dumps({"deltas": deltas, "delay": delay, "input_tokens": -1}).encode()
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


def stat_cpu_seconds(stat: str) -> float:
    """User plus system CPU time in a process's ``/proc/PID/stat`` line."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15 of proc(5))


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes have used so far (children that ended not counted)."""
    total = 0.0
    for pid in pids:
        try:
            total += stat_cpu_seconds(Path(f"/proc/{pid}/stat").read_text())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


DATABASE_PROCESSES = ("postgres", "redis-server")


def database_cpu() -> dict[int, float]:
    """CPU seconds so far of each of PostgreSQL's processes (the postmaster and every backend, whichever database it
    serves) and Redis's, by their command name: on the benchmark machine they share the cores with the server, the
    engine and this client."""
    seconds = {}
    for path in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = path.read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if stat.split("(", 1)[1].rsplit(")", 1)[0] in DATABASE_PROCESSES:
            seconds[int(path.parent.name)] = stat_cpu_seconds(stat)
    return seconds


def speed_reference() -> float:
    """Milliseconds this machine's Python takes for a fixed loop (best of 3): the benchmark machines of this
    project differed up to twice in speed from one day to the next, and every figure of this bench scales with it."""
    best = float("inf")
    for _ in range(3):
        started, total = time.perf_counter(), 0
        for i in range(5_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return best * 1000


def tree(root_pid: int) -> list[int]:
    children = Path(f"/proc/{root_pid}/task/{root_pid}/children")
    return [root_pid] + ([int(pid) for pid in children.read_text().split()] if children.exists() else [])


def machine_busy() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine so far (every process: ours and the others' work)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])
    idle = values[3] + values[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


class CpuWindow:
    """CPU used between ``start()`` and ``stop()``, in cores (1.0 = one core busy the whole window)."""

    def __init__(self, pids: dict[str, list[int]]):
        self.pids = pids

    def _read(self) -> dict[str, float]:
        busy, total = machine_busy()
        return {
            **{name: cpu_seconds(p) for name, p in self.pids.items()},
            "client": sum(os.times()[:2]),
            "machine": busy,
            "machine_total": total,
            "wall": time.perf_counter(),
        }

    def start(self) -> None:
        self.before = self._read()
        self.databases_before = database_cpu()

    def stop(self) -> dict[str, float]:
        after = self._read()
        databases_after = database_cpu()
        wall = after["wall"] - self.before["wall"]
        seconds = {name: after[name] - self.before[name] for name in after if name != "wall"}
        # Per process: a backend opened in the window counts whole, one that ended in it is left out (its last
        # reading is gone), instead of its earlier CPU being subtracted from the others'.
        seconds["databases"] = sum(cpu - self.databases_before.get(pid, 0.0) for pid, cpu in databases_after.items())
        used = {name: value / wall for name, value in seconds.items()}
        cores = used.pop("machine_total")
        used["machine"] = used["machine"] / cores * (os.cpu_count() or 1) if cores else 0.0
        used["server_seconds"] = seconds.get("server", 0.0)
        used["databases_seconds"] = seconds["databases"]
        return used


async def closed_loop(n: int, warmup: float, duration: float, stagger: float, request, cpu: CpuWindow) -> dict:
    """N users, each sending the next request as soon as the last one's stream ended. The results of the requests
    started within [warm-up end, warm-up end + duration]; in-flight requests at the window's end are read to
    their end and counted (their start was inside the window)."""
    begin = time.perf_counter()
    window_start, window_end = begin + warmup, begin + warmup + duration
    results: list[dict] = []

    async def user(i: int) -> None:
        await asyncio.sleep(random.uniform(0, stagger))
        while (now := time.perf_counter()) < window_end:
            result = await request(i)
            if now >= window_start:
                results.append(result)

    async def sample() -> dict:
        await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
        cpu.start()
        await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
        return cpu.stop()

    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(user(i) for i in range(n)))
    return {"results": results, "cpu": await sampler, "rate": len(results) / duration}


def engine_request(engine_port: int):
    body = {"model": "airisk-demo", "stream": True, "messages": [{"role": "user", "content": "Tell me about leave."}]}
    return lambda i: post_stream(engine_port, "/v1/chat/completions", body, {}, FIRST_ENGINE_TOKEN)


def airisk_request(port: int, token: str, conversations: list[str]):
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    return lambda i: post_stream(
        port,
        "/api/Chat/AskAgent",
        {"conversationID": conversations[i], "text": "Tell me about leave."},
        headers,
        FIRST_DELTA,
    )


def summarize(n: int, engine: list[dict], airisk: list[dict]) -> tuple[str, dict]:
    """One table row: engine and AIRisk first delta, added (difference of percentiles; paired per request), phases."""
    failures = sum(r["first"] is None or DONE not in r["body"] for r in airisk)
    e = [r["first"] * 1000 for r in engine if r["first"] is not None]
    a = [r["first"] * 1000 for r in airisk if r["first"] is not None]
    phases: dict[str, list[float]] = {}
    paired: list[float] = []
    for result in airisk:
        found = phases_of(result)
        for name, value in found.items():
            phases.setdefault(name, []).append(value)
        if result["first"] is not None and "first_token" in found:
            paired.append(result["first"] * 1000 - found["first_token"])
    if DUMP:
        with open(DUMP, "a") as out:
            for result in airisk:
                first = result["first"] * 1000 if result["first"] is not None else None
                out.write(json.dumps({"n": n, "first": first, **phases_of(result)}) + "\n")
    summary = ", ".join(
        f"{k} {statistics.median(v):.1f}"
        for k in ("auth", "prepare", "first_token", "write", "store")
        if (v := phases.get(k))
    )
    figures = {
        "engine": (percentile(e, 0.5), percentile(e, 0.99)),
        "airisk": (percentile(a, 0.5), percentile(a, 0.99)),
        "paired": (percentile(paired, 0.5), percentile(paired, 0.99)) if paired else (float("nan"),) * 2,
    }
    row = (
        f"{n:>10} | {len(e):>5} / {len(airisk):>5} | {figures['engine'][0]:6.1f} / {figures['engine'][1]:6.1f} | "
        f"{figures['airisk'][0]:7.1f} / {figures['airisk'][1]:7.1f} | "
        f"{figures['airisk'][0] - figures['engine'][0]:6.1f} / {figures['airisk'][1] - figures['engine'][1]:6.1f} | "
        f"{figures['paired'][0]:6.1f} / {figures['paired'][1]:6.1f} | {summary}"
        + (f"  FAILED {failures}" if failures else "")
    )
    return row, figures


HEADER = (
    "concurrent | requests eng / AIRisk | engine p50 / p99 | AIRisk p50 / p99 | added p50 / p99 | "
    "paired p50 / p99 | phases p50 ms"
)


async def steady_phase(args, engine_port: int, port: int, seeded: dict, pids: dict[str, list[int]]) -> None:
    script_engine(engine_port, args.delay)
    stagger = 50 * args.delay
    print(
        f"\nSteady: N users in closed loops, {args.warmup:.0f} s warm-up, {args.duration:.0f} s measured; first delta "
        f"(ms), 50 deltas per answer {args.delay * 1000:.0f} ms apart"
    )
    print(HEADER)
    loads: list[str] = []
    for n in [int(x) for x in args.concurrency.split(",")]:
        load = os.getloadavg()[0]
        cpu = CpuWindow(pids)
        engine = await closed_loop(n, args.warmup, args.duration, stagger, engine_request(engine_port), cpu)
        airisk = await closed_loop(
            n,
            args.warmup,
            args.duration,
            stagger,
            airisk_request(port, seeded["token"], seeded["conversations"]),
            cpu,
        )
        row, _ = summarize(n, engine["results"], airisk["results"])
        print(row)
        used, eused = airisk["cpu"], engine["cpu"]
        requests = max(1, len(airisk["results"]))
        per_request = used["server_seconds"] * 1000 / requests
        database_ms = used["databases_seconds"] * 1000 / requests
        loads.append(
            f"{n:>10} | load {load:4.1f} | engine alone {engine['rate']:6.1f} req/s, engine {eused['engine']:.2f} "
            f"cores, machine {eused['machine']:.2f} | AIRisk {airisk['rate']:6.1f} req/s: server "
            f"{used['server']:.2f} cores ({per_request:.1f} ms/request), engine {used['engine']:.2f}, client "
            f"{used['client']:.2f}, databases {used['databases']:.2f} ({database_ms:.1f} ms/request), machine "
            f"{used['machine']:.2f} of {os.cpu_count()}"
        )
    print(
        "CPU in the measured window (cores busy on average; databases: PostgreSQL's and Redis's processes; machine: "
        "every process, ours and others'):"
    )
    print("\n".join(loads))


async def burst_phase(args, engine_port: int, port: int, seeded: dict) -> None:
    script_engine(engine_port, args.delay)
    print(
        f"\nBurst: {args.rounds} rounds of N simultaneous requests; first delta (ms), 50 deltas per answer "
        f"{args.delay * 1000:.0f} ms apart"
    )
    print(HEADER)
    for n in [int(x) for x in args.concurrency.split(",")]:
        engine, airisk = [], []
        load = os.getloadavg()[0]
        await airisk_round(port, seeded["token"], seeded["conversations"], min(n, 5))  # warm the workers
        for _ in range(args.rounds):
            engine += await engine_round(engine_port, n)
            airisk += await airisk_round(port, seeded["token"], seeded["conversations"], n)
        row, _ = summarize(n, engine, airisk)
        print(f"{row} (load {load:.1f})")


async def latency_phase(args, engine_port: int, port: int, seeded: dict, pids: dict[str, list[int]]) -> None:
    print(
        "added: AIRisk's percentile minus the engine's (the engine measured alone, the same way); paired: per "
        "request, AIRisk's first delta minus the engine's first token as the server saw it"
    )
    if args.arrivals in ("both", "steady"):
        await steady_phase(args, engine_port, port, seeded, pids)
    if args.arrivals in ("both", "burst"):
        await burst_phase(args, engine_port, port, seeded)


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


DUMP = ""


def main() -> None:
    global DUMP
    args = parse_args()
    DUMP = args.dump
    if urlsplit(args.database_url).scheme.startswith("postgres"):
        ensure_database(args.database_url)
    env = server_env(args)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"], env=env, check=True)
    engine_port, port = free_port(), args.port or free_port()
    engine = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_demo_llm", "--port", str(engine_port)], env=env, cwd=ROOT
    )
    seeded = seed(env, f"http://127.0.0.1:{engine_port}/v1", max(args.streams, 200), args.scanners)
    print(
        f"scanners {args.scanners}, {args.workers} uvicorn workers, load average {os.getloadavg()[0]:.1f}, "
        f"speed reference {speed_reference():.0f} ms (a fixed Python loop: lower is faster)"
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "airisk.asgi:application", "-k", "airisk.workers.UvicornWorker", "-w", str(args.workers),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--backlog", "4096"],
        env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        wait_until_up(port)
        time.sleep(0.5)
        pids = {"server": tree(server.pid), "engine": [engine.pid]}
        asyncio.run(latency_phase(args, engine_port, port, seeded, pids))
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
