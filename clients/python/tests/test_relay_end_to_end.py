"""End to end: Python orchestrators through the real relay (`orchlog ingest --listen`) into
the log, counted by the real collector (`orchlog-collector --once`)."""
import asyncio
import collections
import gc
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from orchlog import Client

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir, os.pardir))


def binary(name):
    """$ORCHLOG_BIN_DIR/NAME (default: the repository's .build/debug); fails when missing."""
    path = os.path.join(os.environ.get("ORCHLOG_BIN_DIR") or os.path.join(REPO_ROOT, ".build", "debug"), name)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not found: build it (swift build) or set ORCHLOG_BIN_DIR")
    return path


class Relay:
    """`orchlog ingest --listen unix:SOCK --out ROOT` as a child process."""

    def __init__(self, sock, root, errpath):
        # Runs append to one file: look only at this run's lines.
        self.offset = os.path.getsize(errpath) if os.path.exists(errpath) else 0
        self.err = open(errpath, "ab")
        self.errpath = errpath
        self.proc = subprocess.Popen([binary("orchlog"), "ingest", "--listen", "unix:" + sock, "--out", root],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.monotonic() + 20
        while b"listening on" not in self.stderr_bytes()[self.offset:]:
            assert self.proc.poll() is None, self.stderr()
            assert time.monotonic() < deadline, "the relay did not start: " + self.stderr()
            time.sleep(0.02)

    def stderr_bytes(self):
        with open(self.errpath, "rb") as f:
            return f.read()

    def stderr(self):
        return self.stderr_bytes().decode(errors="replace")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        self.err.close()
        return rc

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=60)
        self.err.close()


def log_events(root):
    """Every event in the log under ROOT, as `orchlog tail -o json` prints them."""
    out = subprocess.run([binary("orchlog"), "tail", "--from-start", "-o", "json", root],
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line]


def collector_once(root):
    """`orchlog-collector --once`: {(name, frozenset(labels)): value}."""
    out = subprocess.run([binary("orchlog-collector"), "--log.dir", root, "--once"],
                         capture_output=True, text=True, check=True).stdout
    series = {}
    for line in out.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        series[(m.group(1), labels)] = float(m.group(3))
    return series


def total(series, name, **match):
    """The sum of NAME's series whose labels include MATCH."""
    want = set(match.items())
    return sum(v for (n, labels), v in series.items() if n == name and want <= labels)


@pytest.fixture
def workdir():
    path = tempfile.mkdtemp(prefix="olrelay-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


# ---- 4 processes × (2 threads + an asyncio task), 200,000 events ----

PROCESSES = 4
EVENTS_PER_EMITTER = 200_000 // (PROCESSES * 3) + 1  # 16,667 × 12 emitters ≥ 200,000
KINDS = ("invocation_started", "tool_call", "llm_request", "invocation_finished")


def emit_one(c, kind, i):
    if kind == "invocation_started":
        c.invocation_started(agent="planner", invocation_id=i)
    elif kind == "tool_call":
        c.tool_call(tool="crm", outcome="timeout" if i % 7 == 0 else "success", latency=0.001 * (i % 50), fallback=i % 7 == 0)
    elif kind == "llm_request":
        c.llm_request(provider="openai", model="gpt-4o", outcome="success", input_tokens=100 + i % 10,
                      output_tokens=20, latency_ns=1_000_000 + i)
    else:
        c.invocation_finished(agent="planner", outcome="success", duration=0.25, invocation_id=i)


def emitter(c, n, counts, lock, pace):
    local = collections.Counter()
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        emit_one(c, kind, i)
        local[kind] += 1
        if i % 10 == 9:
            pace()
    with lock:
        counts.update(local)


def worker(sock, index, results):
    c = Client(socket=sock, source=f"worker-{index}")
    counts, lock = collections.Counter(), threading.Lock()
    threads = [threading.Thread(target=emitter, args=(c, EVENTS_PER_EMITTER, counts, lock, lambda: time.sleep(0.005)))
               for _ in range(2)]
    for t in threads:
        t.start()

    async def task():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        tick = asyncio.ensure_future(ticker())
        for i in range(EVENTS_PER_EMITTER):
            kind = KINDS[i % len(KINDS)]
            emit_one(c, kind, i)
            with lock:
                counts[kind] += 1
            if i % 10 == 9:
                await asyncio.sleep(0.005)
        tick.cancel()
        return ticks

    ticks = asyncio.run(task())
    for t in threads:
        t.join()
    c.close()
    results.put((index, dict(counts), c.dropped, c.reported_dropped, ticks))


def test_four_processes_of_threads_and_asyncio_tasks_are_counted_exactly(workdir):
    sock, root = os.path.join(workdir, "ingest.sock"), os.path.join(workdir, "root")
    relay = Relay(sock, root, os.path.join(workdir, "relay.err"))
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(sock, i, results)) for i in range(PROCESSES)]
    for p in procs:
        p.start()
    got = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert relay.stop() == 0, relay.stderr()

    series = collector_once(root)
    emitted_total = dropped_total = 0
    for index, counts, dropped, reported, ticks in sorted(got):
        source = f"worker-{index}"
        emitted = sum(counts.values())
        assert emitted == 3 * EVENTS_PER_EMITTER
        assert ticks > 10, "the asyncio loop kept running while the task emitted"
        assert reported == dropped, "close() reported every drop in-band"
        # Per source, what the collector read plus what the client dropped is what was emitted;
        # the in-band drop reports are events too.
        ingested = total(series, "orchlog_collector_events_ingested_total", source=source)
        reports = len([e for e in log_events(os.path.join(root, source)) if e["type"] == "events_dropped"])
        assert ingested - reports + dropped == emitted, (source, ingested, reports, dropped, emitted)
        assert total(series, "orch_events_dropped_total", source=source, reason="client_dropped") == dropped
        if dropped == 0:
            assert total(series, "orch_invocations_total", source=source) == counts["invocation_finished"]
            assert total(series, "orch_tool_calls_total", source=source) == counts["tool_call"]
            assert total(series, "orch_tool_calls_total", source=source, outcome="timeout") == \
                sum(1 for i in range(EVENTS_PER_EMITTER) if i % 4 == 1 and i % 7 == 0) * 3
            assert total(series, "orch_llm_requests_total", source=source) == counts["llm_request"]
        emitted_total += emitted
        dropped_total += dropped
    assert emitted_total >= 200_000
    print(f"\n{emitted_total} events from {PROCESSES} processes, {dropped_total} dropped by clients")
    # Nothing was rejected by the relay.
    assert total(series, "orch_events_dropped_total", source="orchlog-relay") == 0


# ---- the relay killed with SIGKILL while a client emits, and restarted ----

def test_relay_killed_and_restarted_loses_only_what_clients_count(workdir):
    sock, root, errpath = os.path.join(workdir, "ingest.sock"), os.path.join(workdir, "root"), os.path.join(workdir, "relay.err")
    relay = Relay(sock, root, errpath)
    c = Client(socket=sock, source="checkout-api")
    pause = threading.Event()
    paused = threading.Event()
    stop = threading.Event()
    sent = [0]
    slowest = [0.0]

    def run():
        i = 0
        while not stop.is_set():
            if pause.is_set():
                paused.set()
                time.sleep(0.001)
                continue
            gc_was = gc.isenabled()
            gc.disable()
            t0 = time.perf_counter()
            c.tool_call(tool="crm", outcome="success", latency_ns=i)
            slowest[0] = max(slowest[0], time.perf_counter() - t0)
            if gc_was:
                gc.enable()
            sent[0] += 1
            i += 1
            if i % 50 == 0:
                time.sleep(0.002)

    t = threading.Thread(target=run)
    t.start()
    try:
        time.sleep(1.0)
        # Before the kill, let the relay write what it has received (what it holds at a kill
        # is lost unseen by any client: docs/python.md), then kill it and go on emitting.
        pause.set()
        paused.wait(5)
        before = sent[0]
        deadline = time.monotonic() + 20
        while len(log_events(root + "/checkout-api")) < before:
            assert time.monotonic() < deadline, "the relay did not write what it received"
            time.sleep(0.05)
        relay.kill()
        assert os.path.exists(sock), "a killed relay leaves its socket file"
        dropped_before = c.dropped
        pause.clear()
        time.sleep(1.0)
        assert c.dropped > dropped_before, "events sent while the relay is down are dropped and counted"
        relay = Relay(sock, root, errpath)  # replaces the stale socket
        time.sleep(1.0)
    finally:
        stop.set()
        t.join()
    c.close()
    assert relay.stop() == 0, relay.stderr()

    events = log_events(root + "/checkout-api")
    calls = [e for e in events if e["type"] == "tool_call"]
    reports = [e for e in events if e["type"] == "events_dropped"]
    assert c.dropped > 0 and c.reported_dropped == c.dropped
    assert len(calls) + c.dropped == sent[0], (len(calls), c.dropped, sent[0])
    # Every call that got through is there once, in order.
    got = [e["latency_ns"] for e in calls]
    assert got == sorted(set(got))
    assert sum(r["count"] for r in reports) == c.dropped and all(r["reason"] == "client_dropped" for r in reports)
    series = collector_once(root)
    assert total(series, "orch_events_dropped_total", source="checkout-api", reason="client_dropped") == c.dropped
    assert total(series, "orch_tool_calls_total", source="checkout-api") == len(calls)
    assert slowest[0] <= 0.010, f"an emit took {slowest[0] * 1e3:.2f} ms"
    print(f"\n{sent[0]} emitted, {c.dropped} dropped while the relay was down, slowest emit {slowest[0] * 1e6:.0f} µs")
