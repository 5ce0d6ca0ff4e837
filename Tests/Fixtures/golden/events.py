#!/usr/bin/env python3
"""Writes events.ndjson and events-v3.ndjson: the inputs of the golden segments (Tests/Fixtures/golden/README.md).

Three chunks (each becomes its own block: make-golden.sh pauses between them): every one of the
14 event types in each, an events_dropped record of every reason, unicode and empty labels, and
numbers at the edges of each byte width (the byte planes' widths 1…8)."""
import json

edges = [0, 1, 127, 128, 255, 256, 65535, 65536, 2**24 - 1, 2**24, 2**32 - 1, 2**32,
         2**40, 2**48 - 1, 2**56 - 1, 2**56, 2**63, 2**64 - 1]
labels = ["", "a", "checkout-api", "模型-β", "café ☕", "emoji 🚀🚀", "tab\there", "quote\"back\\slash", "x" * 300]
base = 1_764_000_000_000_000_000  # 2025-11-24T16:00:00Z


def ts(ns):
    s, frac = divmod(ns, 1_000_000_000)
    import datetime
    t = datetime.datetime.fromtimestamp(s, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{t}.{frac:09d}Z"


# Trace ids of the nine invocation_started events of events-v3.ndjson (None: the field left
# out): the label form of format v3 stored any string, so uppercase, malformed and all-zero
# values are there too, as a writer before the binary form could write them.
traces = ["4bf92f3577b34da6a3ce929d0e0e4736", None, "", "00f067aa0ba902b700f067aa0ba902b7",
          "4BF92F3577B34DA6A3CE929D0E0E4736", "ffffffffffffffffffffffffffffffff", "not-a-trace-id",
          "00000000000000000000000000000000", "00000000000000000000000000000001"]


def chunk(c, with_traces=False):
    out = []
    n = lambda i: edges[(i + 5 * c) % len(edges)]
    lab = lambda i: labels[(i + 3 * c) % len(labels)]
    t = base + c * 1_000_000_000
    def ev(type_, **fields):
        nonlocal t
        t += 1_000 + len(out) * 977
        out.append({"type": type_, "ts": ts(t), **fields})
    for i in range(3):
        trace = traces[3 * c + i] if with_traces else None
        ev("invocation_started", agent=lab(i), invocation_id=n(i), **({} if trace is None else {"trace_id": trace}))
        ev("invocation_finished", agent=lab(i + 1), outcome=["success", "failure", "rejected", "timeout"][(i + c) % 4],
           duration_ns=n(i + 1), queue_wait_ns=n(i + 2), invocation_id=n(i), queue=lab(i + 2))
        ev("queue_sample", queue=lab(i), depth=n(i + 3), capacity=n(i + 4))
        ev("queue_rejection", queue=lab(i + 1), reason=["full", "shed", ""][i], retry_after_ns=n(i + 5))
        ev("worker_pool_sample", pool=lab(i + 4), busy=n(i + 6), size=n(i + 7))
        ev("state_read", shard=lab(i), key=lab(i + 5), version=n(i + 8), read_source=["cache", "store"][(i + c) % 2], latency_ns=n(i + 9))
        ev("state_write", shard=lab(i + 1), key=lab(i + 5), base_version=n(i + 10), new_version=n(i + 11),
           outcome=["committed", "conflict", "timeout", "error"][(i + c) % 4], latency_ns=n(i + 12), attempt=n(i + 13))
        ev("memory_flush", shard=lab(i + 2), pending=n(i + 14), latency_ns=n(i + 15), outcome=["success", "error", "timeout"][(i + c) % 3])
        ev("tool_call", tool=lab(i + 3), outcome=["success", "error", "timeout", "short_circuited"][(i + c) % 4],
           latency_ns=n(i + 16), fallback=(i + c) % 2 == 1)
        ev("breaker_transition", tool=lab(i + 3), **{"from": ["closed", "open", "half_open", "forced_open", "disabled"][(i + c) % 5],
                                                     "to": ["closed", "open", "half_open", "forced_open", "disabled"][(i + c + 1) % 5]})
        ev("llm_request", provider=lab(i + 4), model=lab(i + 6), key=lab(i + 7), outcome=["success", "rate_limited", "error", "timeout"][(i + c) % 4],
           input_tokens=n(i + 17), output_tokens=n(i), latency_ns=n(i + 1), ratelimit_wait_ns=n(i + 2))
        ev("ratelimiter_sample", limiter=lab(i + 5), available=n(i + 3), capacity=n(i + 4), waiting=n(i + 5), inflight=n(i + 6), concurrency_limit=n(i + 7))
        ev("key_rotation", provider=lab(i + 6), **{"from": lab(i + 7), "to": lab(i + 8)}, reason=lab(i))
    reasons = ["buffer_full", "disk_full", "io_error", "client_dropped", "invalid_event", "source_limit", "unreadable_datagram"]
    for r in reasons[c::3]:
        ev("events_dropped", count=n(reasons.index(r) + 1), reason=r)
    # Optional fields left out (stored as their zero values), and a timestamp that steps back.
    ev("llm_request", provider="p", model="m", outcome="success", input_tokens=1, output_tokens=2, latency_ns=3)
    ev("tool_call", tool="t", outcome="error", latency_ns=5)
    t -= 5_000_000
    ev("invocation_finished", agent="late", outcome="success", duration_ns=9, invocation_id=7)
    return out


# events.ndjson: the v2 segment's input; events-v3.ndjson: the same with trace ids, the v3
# segment's (written by the last writer of the label form of trace_id).
for name, with_traces in [("events.ndjson", False), ("events-v3.ndjson", True)]:
    with open(name, "w") as f:
        for c in range(3):
            for e in chunk(c, with_traces):
                f.write(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n")
            f.write("\n")  # a blank line: make-golden.sh's chunk boundary
