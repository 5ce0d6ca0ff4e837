#!/usr/bin/env python3
"""The guide's asyncio example: emit from coroutines directly; sends never block the loop.

    python3 asyncio_agent.py [SOCKET]
"""
import sys

SOCKET = sys.argv[1] if len(sys.argv) > 1 else "/run/orchlog/ingest.sock"

# docs: begin asyncio
import asyncio
import time

from orchlog import Client

log = Client(socket=SOCKET, source="async-worker")


async def call_tool(name):
    started = time.monotonic()
    await asyncio.sleep(0.01)  # the real tool call
    log.tool_call(tool=name, outcome="success", latency=time.monotonic() - started)


async def main():
    await asyncio.gather(*(call_tool(f"tool-{i % 3}") for i in range(30)))
    log.queue_sample(queue="requests", depth=0, capacity=500)


asyncio.run(main())
# docs: end asyncio
