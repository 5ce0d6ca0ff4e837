#!/usr/bin/env python3
"""The guide's "Errors and drops" example: a mistake raises, transport trouble counts.

    python3 errors_and_drops.py [SOCKET]
"""
import sys

SOCKET = sys.argv[1] if len(sys.argv) > 1 else "/run/orchlog/ingest.sock"

# docs: begin errors
from orchlog import Client

c = Client(socket=SOCKET, source="checkout-api")
try:
    c.tool_call(tool="crm", outcome="timed_out", latency=1.5)
except ValueError as error:
    print(error)
    # tool_call(): field "outcome": 'timed_out' is not one of success, error, timeout,
    # short_circuited; did you mean 'timeout'?

c.tool_call(tool="crm", outcome="timeout", latency=1.5)  # never raises for the transport
print(f"dropped {c.dropped}, of which reported in-band {c.reported_dropped}")
c.close()  # sends a pending drop report, if the relay takes it
# docs: end errors
