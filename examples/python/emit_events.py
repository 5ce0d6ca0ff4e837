#!/usr/bin/env python3
"""Log orchestrator events to orchlog from Python, with no library: pipe NDJSON into
`orchlog ingest` (format version 1, docs/ndjson.md). Standard library only.

    python3 examples/python/emit_events.py --out /tmp/orchlog/python-worker
    orchlog tail --from-start /tmp/orchlog/python-worker

Exit status: that of `orchlog ingest` (0 every event written, 1 a line rejected, 2 usage).
"""
import argparse
import json
import shutil
import subprocess
import sys
import time


def rfc3339(ns):
    """Nanoseconds since the epoch as RFC 3339 UTC with 9 fractional digits."""
    seconds, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".%09dZ" % frac


class OrchlogEmitter:
    """Writes events to one log directory through a long-lived `orchlog ingest` process.

    Keep one per process (a log directory has one writer). `emit` does not wait for the
    disk; if orchlog falls behind, the pipe fills and `emit` blocks: backpressure, not loss.
    """

    def __init__(self, out_dir, orchlog="orchlog"):
        self.proc = subprocess.Popen([orchlog, "ingest", "--out", out_dir],
                                     stdin=subprocess.PIPE, text=True, encoding="utf-8")

    def emit(self, type_, ts_ns=None, **fields):
        """One event: `type_` is an event type name, fields by name (labels as str,
        enumerations as their names, flags as bool, numbers and *_ns durations as int)."""
        event = {"type": type_, "ts": rfc3339(ts_ns if ts_ns is not None else time.time_ns())}
        event.update(fields)
        self.proc.stdin.write(json.dumps(event, separators=(",", ":")) + "\n")

    def close(self):
        """Ends the stream; orchlog flushes, syncs and closes the log. Returns its exit status."""
        self.proc.stdin.close()
        return self.proc.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="log (source) directory to write")
    parser.add_argument("--orchlog", default=shutil.which("orchlog") or "orchlog",
                        help="path of the orchlog binary (default: from PATH)")
    args = parser.parse_args()

    log = OrchlogEmitter(args.out, args.orchlog)
    start = time.time_ns()
    ms = 1_000_000

    # One invocation of a "support" agent, as a Python orchestrator would report it.
    log.emit("queue_sample", queue="requests", depth=42, capacity=500)
    log.emit("invocation_started", agent="support", invocation_id=1001)
    log.emit("state_read", shard="shard-3", key="account:17", version=7,
             read_source="cache", latency_ns=2 * ms)
    log.emit("llm_request", provider="openai", model="gpt-4o", key="key-1",
             outcome="rate_limited", input_tokens=1200, output_tokens=0,
             latency_ns=85 * ms, ratelimit_wait_ns=0)
    log.emit("key_rotation", provider="openai", **{"from": "key-1", "to": "key-2"},
             reason="rate_limited")
    log.emit("llm_request", provider="openai", model="gpt-4o", key="key-2",
             outcome="success", input_tokens=1200, output_tokens=310,
             latency_ns=1450 * ms, ratelimit_wait_ns=120 * ms)
    log.emit("tool_call", tool="crm", outcome="timeout", latency_ns=30_000 * ms, fallback=True)
    log.emit("breaker_transition", tool="crm", **{"from": "closed", "to": "open"})
    log.emit("state_write", shard="shard-3", key="account:17", base_version=7,
             new_version=8, outcome="committed", latency_ns=4 * ms, attempt=1)
    log.emit("invocation_finished", agent="support", outcome="success",
             duration_ns=(time.time_ns() - start) + 31_600 * ms, queue_wait_ns=250 * ms,
             invocation_id=1001, queue="requests")
    return log.close()


if __name__ == "__main__":
    sys.exit(main())
