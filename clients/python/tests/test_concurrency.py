"""Threads, fork and asyncio."""
import asyncio
import json
import os
import socket
import threading
import time

import orchlog

from conftest import Receiver, lines_of


class Drainer:
    """Reads a receiver in a thread, counting event lines by type and reported drops."""

    def __init__(self, receiver):
        self.receiver = receiver
        self.by_type = {}
        self.reported = 0
        self.seen = []
        self.last = time.monotonic()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.receiver.sock.settimeout(0.05)
        while not self.stop.is_set():
            try:
                data = self.receiver.sock.recv(1 << 17)
            except socket.timeout:
                continue
            self.last = time.monotonic()
            for line in lines_of(data):
                event = json.loads(line)
                self.by_type[event["type"]] = self.by_type.get(event["type"], 0) + 1
                if event["type"] == "events_dropped":
                    self.reported += event["count"]
                else:
                    self.seen.append(event)

    def finish(self, idle=0.5):
        while time.monotonic() - self.last < idle:
            time.sleep(0.05)
        self.stop.set()
        self.thread.join()


def test_eight_threads_every_event_is_received_or_counted_as_dropped(sockdir):
    r = Receiver(os.path.join(sockdir, "ingest.sock"), rcvbuf=1 << 20)
    drainer = Drainer(r)
    c = orchlog.Client(socket=r.path, source="threads")
    threads, per_thread = 8, 5000
    start = threading.Barrier(threads)

    def work(n):
        start.wait()
        for i in range(per_thread):
            c.invocation_started(agent=f"agent-{n}", invocation_id=n * per_thread + i)

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    c.close()  # sends the last drop report, if any
    drainer.finish()
    received = drainer.by_type.get("invocation_started", 0)
    assert received + c.dropped == threads * per_thread
    print(f"threads: {received} received, {c.dropped} dropped, {c.reported_dropped} reported")
    assert drainer.reported == c.reported_dropped
    ids = [e["invocation_id"] for e in drainer.seen]
    assert len(set(ids)) == len(ids) == received  # no line torn or sent twice
    r.close()


def test_a_forked_child_emits_through_its_own_socket_with_its_own_counts(sockdir):
    path = os.path.join(sockdir, "ingest.sock")
    c = orchlog.Client(socket=path, source="forks")
    for _ in range(3):
        c.tool_call(tool="crm", outcome="error", latency=0.1)  # parent: 3 dropped, unreported
    r = Receiver(path)
    parent_sock = c._sock
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.close(read_end)
            fresh = c._sock is not parent_sock and c.dropped == 0 and c.unreported_dropped == 0
            for i in range(5):
                c.queue_sample(queue="child", depth=i, capacity=10)
            os.write(write_end, json.dumps({"fresh": fresh, "dropped": c.dropped,
                                            "lock_free": c._lock.acquire(blocking=False)}).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as f:
        child = json.loads(f.read())
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert child == {"fresh": True, "dropped": 0, "lock_free": True}
    child_lines = [json.loads(x) for g in r.datagrams() for x in lines_of(g)]
    assert [e["type"] for e in child_lines] == ["queue_sample"] * 5  # the parent's drops are not the child's
    assert c._sock is parent_sock and (c.dropped, c.unreported_dropped) == (3, 3)
    c.tool_call(tool="crm", outcome="success", latency=0.1)
    parent_lines = [json.loads(x) for g in r.datagrams() for x in lines_of(g)]
    assert [(e["type"], e.get("count")) for e in parent_lines] == [("events_dropped", 3), ("tool_call", None)]
    c.close()
    r.close()


def test_a_forked_child_whose_relay_is_down_counts_its_own_drops(sockdir):
    c = orchlog.Client(socket=os.path.join(sockdir, "absent.sock"), source="forks")
    c.tool_call(tool="crm", outcome="error", latency=0.1)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            c.tool_call(tool="crm", outcome="error", latency=0.1)
            c.tool_call(tool="crm", outcome="error", latency=0.1)
            code = 0 if c.dropped == 2 else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert c.dropped == 1
    c.close()


def test_emitting_from_a_coroutine_with_the_relay_down_does_not_block_the_loop(sockdir):
    c = orchlog.Client(socket=os.path.join(sockdir, "absent.sock"), source="aio")
    full = Receiver(os.path.join(sockdir, "full.sock"), rcvbuf=4096)  # never read
    c_full = orchlog.Client(socket=full.path, source="aio")
    ticks = []

    async def ticker(stop):
        while not stop.is_set():
            ticks.append(time.monotonic())
            await asyncio.sleep(0.001)

    span = []

    async def emitter():
        span.append(time.monotonic())
        for batch in range(200):
            for _ in range(50):
                c.llm_request(provider="openai", model="gpt-4o", outcome="rate_limited",
                              input_tokens=10, output_tokens=0, latency=0.085)
                c_full.llm_request(provider="openai", model="gpt-4o", outcome="success",
                                   input_tokens=10, output_tokens=5, latency=0.085)
            await asyncio.sleep(0)
        span.append(time.monotonic())

    async def main():
        stop = asyncio.Event()
        tick = asyncio.ensure_future(ticker(stop))
        await asyncio.sleep(0.005)
        await asyncio.wait_for(emitter(), timeout=60)  # a blocking send would never return
        await asyncio.sleep(0.005)
        stop.set()
        await tick

    asyncio.run(main())
    assert c.dropped == 10_000
    assert c_full.dropped > 0
    assert any(span[0] < t < span[1] for t in ticks)  # the ticker kept ticking while events went out
    c.close()
    c_full.close()
    full.close()
