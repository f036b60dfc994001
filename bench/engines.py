"""Engine adapter benchmark: what our code adds on top of the provider, per engine, on loopback.

Each engine's fake server runs in its own process (``python -m apps.engines.fakes``), so that this process's
CPU time (``time.process_time``) is the adapter's alone: HTTP client, stream parsing, events.

- Added latency to the first delta: our ``TextDelta`` in hand minus the fake writing that delta's frame
  (both ``time.perf_counter``, CLOCK_MONOTONIC, comparable across processes on Linux); p50/p99 over
  ``--requests`` sequential requests after a warm-up, the first delta alone on the wire.
- CPU time per 1,000 streamed deltas: burst (the fake writes the deltas back to back, as a fast model's
  tokens coalesce in the socket) and trickled (one delta per ~1 ms, so that every delta is its own read).

Targets: under 1 ms added to the first delta, under 20 ms CPU per 1,000 deltas, for every adapter.

``--decoders`` compares, in this process and without the network, the Bedrock event-stream decoder of the adapter
(``bedrock.FrameReader``) with botocore's ``EventStreamBuffer`` on the same 1,000 delta messages, fed one message
per read and all in one read (CPU ms, best of 30).

    make bench-engines                     # or: python bench/engines.py --requests 200 --json
    python bench/engines.py --decoders
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import aclosing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "airisk.settings_test")

from apps.engines.base import TextDelta  # noqa: E402
from apps.engines.fakes import WIRES, FakeEngineServer  # noqa: E402
from apps.engines.service import stream_answer  # noqa: E402
from apps.engines.transport import close_client  # noqa: E402

LATENCY_TARGET_MS = 1.0
CPU_TARGET_MS = 20.0
WARMUP = 20


class FakeProcess:
    def __init__(self, wire: str) -> None:
        self.wire = wire
        self.process = subprocess.Popen(
            [sys.executable, "-m", "apps.engines.fakes", "--wire", wire, "--port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
        )
        base_url = self.process.stdout.readline().strip()
        port = int(base_url.split(":")[2].split("/")[0])
        # An unstarted server object only to build the config that points at the process.
        self.config = FakeEngineServer(wire, port=port).config()
        self.origin = f"http://127.0.0.1:{port}"

    def control(self, path: str, payload: dict | None = None) -> object:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.origin + path, data=data, method="POST" if data else "GET")
        with urllib.request.urlopen(request, timeout=30) as response:  # loopback only
            return json.loads(response.read())

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


async def first_delta_latencies(fake: FakeProcess, requests: int) -> list[float]:
    fake.control("/_fake/script", {"text": "alpha beta gamma", "delay": 0.002})
    ours: list[float] = []
    for _ in range(requests + WARMUP):
        got_first = None
        async with aclosing(stream_answer(fake.config, instructions="Be brief.", history=(), prompt="Hi")) as events:
            async for event in events:
                if got_first is None and isinstance(event, TextDelta):
                    got_first = time.perf_counter()
        ours.append(got_first)
    theirs = [request["first_byte_at"] for request in fake.control("/_fake/requests")]
    added = [(mine - sent) * 1000.0 for mine, sent in zip(ours, theirs, strict=True)]
    return added[WARMUP:]


async def cpu_per_thousand(fake: FakeProcess, *, deltas: int, delay: float, requests: int) -> float:
    fake.control("/_fake/script", {"text": "tok " * deltas, "delay": delay})
    # One warm request (connection, imports), then the measured ones.
    for index in range(requests + 1):
        started = time.process_time()
        count = 0
        async with aclosing(stream_answer(fake.config, instructions="Be brief.", history=(), prompt="Hi")) as events:
            async for event in events:
                count += isinstance(event, TextDelta)
        spent = time.process_time() - started
        if count != deltas:
            raise RuntimeError(f"{fake.wire}: expected {deltas} deltas, got {count}")
        if index == 0:
            total = 0.0
        else:
            total += spent
    return total / requests / deltas * 1000.0 * 1000.0  # ms per 1,000 deltas


async def socket_floor(fake: FakeProcess, *, deltas: int, delay: float, requests: int) -> float:
    """CPU ms per 1,000 deltas of bare asyncio reading the same stream (no HTTP parsing, no adapter): what
    the wake-ups alone cost on this machine, to read the trickled figures against."""
    fake.control("/_fake/script", {"text": "tok " * deltas, "delay": delay})
    port = int(fake.origin.rsplit(":", 1)[1])
    body = json.dumps({"model": "m", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {fake.config.api_key}"
        f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    total = 0.0
    for index in range(requests + 1):
        started = time.process_time()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head + body)
        while await reader.read(65536):
            pass
        writer.close()
        if index:
            total += time.process_time() - started
    return total / requests / deltas * 1000.0 * 1000.0


def decoder_figures(repeats: int = 30) -> dict[str, float]:
    """CPU ms to decode the same 1,000 Bedrock delta messages (payload and headers, CRCs checked)."""
    from botocore.eventstream import EventStreamBuffer

    from apps.engines.bedrock import FrameReader
    from apps.engines.fakes import _BedrockEncoder

    messages = [_BedrockEncoder._event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "tok "}})] * 1000
    whole = b"".join(messages)

    def ours(pieces: list[bytes]) -> int:
        reader = FrameReader()
        return sum(len(reader.feed(piece)) for piece in pieces)

    def botocore(pieces: list[bytes]) -> int:
        buffer, count = EventStreamBuffer(), 0
        for piece in pieces:
            buffer.add_data(piece)
            count += sum(1 for message in buffer if message.headers is not None)
        return count

    figures = {}
    for name, decode in (("FrameReader", ours), ("botocore EventStreamBuffer", botocore)):
        for label, pieces in (("one message per read", messages), ("all in one read", [whole])):
            best = float("inf")
            for _ in range(repeats):
                started = time.process_time()
                assert decode(pieces) == 1000
                best = min(best, time.process_time() - started)
            figures[f"{name}, {label}"] = round(best * 1000.0, 2)
    return figures


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def run(args: argparse.Namespace) -> list[dict]:
    results = []
    for wire in args.wires:
        fake = FakeProcess(wire)
        try:
            latencies = await first_delta_latencies(fake, args.requests)
            burst = await cpu_per_thousand(fake, deltas=1000, delay=0.0, requests=args.cpu_requests)
            trickled = await cpu_per_thousand(fake, deltas=1000, delay=0.001, requests=max(args.cpu_requests // 4, 2))
            floor = await socket_floor(fake, deltas=1000, delay=0.001, requests=2) if wire == "openai" else None
        finally:
            await close_client()
            fake.close()
        results.append(
            {
                "engine": wire,
                "first_delta_added_ms_p50": round(statistics.median(latencies), 3),
                "first_delta_added_ms_p99": round(percentile(latencies, 0.99), 3),
                "cpu_ms_per_1000_deltas_burst": round(burst, 2),
                "cpu_ms_per_1000_deltas_trickled": round(trickled, 2),
                "bare_asyncio_ms_per_1000_trickled_reads": round(floor, 2) if floor is not None else None,
                "load_average": round(os.getloadavg()[0], 1),
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="Requests for the first-delta latency.")
    parser.add_argument("--cpu-requests", type=int, default=8, help="Requests of 1,000 deltas for the CPU time.")
    parser.add_argument("--wires", nargs="+", default=list(WIRES), choices=WIRES)
    parser.add_argument("--json", action="store_true", help="Print the results as JSON.")
    parser.add_argument("--decoders", action="store_true", help="Only compare the Bedrock event-stream decoders.")
    args = parser.parse_args()

    if args.decoders:
        figures = decoder_figures()
        if args.json:
            print(json.dumps(figures, indent=2))
        else:
            print("CPU ms to decode 1,000 Bedrock delta messages (best of 30):")
            for name, value in figures.items():
                print(f"  {name:<55}{value:>8.2f}")
        return

    results = asyncio.run(run(args))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; loopback, one request at a time, each fake in its own process; "
        f"{args.requests} requests for the latency"
    )
    header = ("engine", "added p50 ms", "added p99 ms", "CPU/1k burst", "CPU/1k trickled", "load", "ok")
    print(f"{header[0]:<14}{header[1]:>14}{header[2]:>14}{header[3]:>14}{header[4]:>17}{header[5]:>7}  {header[6]}")
    failed = False
    for row in results:
        # The CPU target is for the adapter's own work (burst); trickled adds one event-loop wake-up per delta.
        ok = row["first_delta_added_ms_p50"] < LATENCY_TARGET_MS and row["cpu_ms_per_1000_deltas_burst"] < CPU_TARGET_MS
        failed |= not ok
        print(
            f"{row['engine']:<14}{row['first_delta_added_ms_p50']:>14.3f}{row['first_delta_added_ms_p99']:>14.3f}"
            f"{row['cpu_ms_per_1000_deltas_burst']:>14.2f}{row['cpu_ms_per_1000_deltas_trickled']:>17.2f}"
            f"{row['load_average']:>7.1f}  {'yes' if ok else 'NO'}"
        )
    floor = next((r["bare_asyncio_ms_per_1000_trickled_reads"] for r in results if r["engine"] == "openai"), None)
    if floor is not None:
        print(
            f"bare asyncio reading the same trickled stream (no HTTP, no adapter): {floor:.2f} ms CPU per 1,000 reads"
        )
    print(
        f"targets: added first-delta latency < {LATENCY_TARGET_MS} ms, adapter CPU < {CPU_TARGET_MS} ms per "
        "1,000 deltas (ms = CPU milliseconds, time.process_time)"
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
