#!/usr/bin/env python3
"""The guide's first example (docs/python.md, "Quick start"): one agent invocation.

    python3 quickstart.py [SOCKET]     (default /run/orchlog/ingest.sock)
"""
import sys

SOCKET = sys.argv[1] if len(sys.argv) > 1 else "/run/orchlog/ingest.sock"

# docs: begin quickstart
import time

from orchlog import Client

with Client(socket=SOCKET, source="checkout-api") as c:
    started = time.monotonic()
    c.invocation_started(agent="support", invocation_id=42)
    c.llm_request(provider="openai", model="gpt-4o", key="key-1", outcome="success",
                  input_tokens=1200, output_tokens=310, latency=0.85)
    c.tool_call(tool="crm", outcome="timeout", latency=30.0, fallback=True)
    c.state_write(shard="s1", key="ticket:42", base_version=6, new_version=7,
                  outcome="committed", latency_ns=2_400_000)
    c.invocation_finished(agent="support", outcome="success", invocation_id=42,
                          duration=time.monotonic() - started, queue="requests")
    print(f"{c.dropped} events dropped")
# docs: end quickstart
