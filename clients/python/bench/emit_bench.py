#!/usr/bin/env python3
"""Emit latency of the orchlog Python client, beside the floor of a bare json.dumps.

    python3 clients/python/bench/emit_bench.py [--events N] [--rounds R]

Binds its own AF_UNIX datagram receiver in a temporary directory (a large SO_RCVBUF, drained
by a child process), then times, one call at a time with perf_counter_ns:

- emit:       c.tool_call(tool="crm", outcome="timeout", latency=30.0, fallback=True)
              (validate, encode, non-blocking sendto: the whole cost to the caller)
- encode:     the same call's encoding only (Client._encode_tool_call), no send
- sendto:     a bare non-blocking sendto of the same bytes (the syscall's share)
- json_dumps: json.dumps of the same event as a dict (the floor the target is set against)
- relay_down: c.tool_call(...) with no socket file at the path (the drop path: a failed
              sendto of the event with the drop report, under the client's lock)
- lock:       taking and releasing the client's lock alone (uncontended)

Calls go in bursts of 128 with a 2 ms pause after each (see timed()). Rounds alternate the
measurements so drift in the machine affects them alike; each figure
is over all rounds. Prints one JSON object: per measurement median_ns, p99_ns, and
emit/json_dumps ratios; plus whether the 10 us median / 50 us p99 target is met.
"""
import argparse
import gc
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time

try:
    import orchlog
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "src"))
    import orchlog


DRAINER = """
import socket, sys
r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
r.bind(sys.argv[1])
print("ready", flush=True)
lines = 0
while True:
    data = r.recv(1 << 17)
    if data == b"STOP":
        break
    lines += data.count(b"\\n")
print(lines)
"""


def percentile(sorted_ns, q):
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))]


def timed(fn, n, out, burst=128, pause=0.002):
    """Times `n` calls of `fn`, one at a time, in bursts of `burst` calls with a `pause` (s)
    after each: an orchestrator emits in bursts, and a burst stays inside the socket's
    queue (net.unix.max_dgram_qlen, 512 by default) so the calls timed are sends that get
    through, not drops because the Python drainer fell behind."""
    clock = time.perf_counter_ns
    burst = burst or n
    for start in range(0, n, burst):
        for _ in range(min(burst, n - start)):
            t0 = clock()
            fn()
            out.append(clock() - t0)
        time.sleep(pause)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000, help="calls per measurement per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--burst", type=int, default=128,
                        help="calls between 2 ms pauses (0: no pauses; the drainer may fall behind)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="orchlog-bench-") as tmp:
        path = os.path.join(tmp, "ingest.sock")
        # The receiver drains in its own process (as the relay would), so it does not
        # compete with the measured calls for the GIL.
        drainer = subprocess.Popen([sys.executable, "-c", DRAINER, path], stdout=subprocess.PIPE, text=True)
        drainer.stdout.readline()  # "ready"
        c = orchlog.Client(socket=path, source="checkout-api")
        down = orchlog.Client(socket=os.path.join(tmp, "absent.sock"), source="checkout-api")
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        raw.setblocking(False)
        line = c._encode_tool_call(tool="crm", outcome="timeout", latency=30.0, fallback=True)
        address = os.fsencode(path)
        event = {"type": "tool_call", "ts": "2025-01-31T12:00:00.123456789Z", "source": "checkout-api",
                 "tool": "crm", "outcome": "timeout", "latency_ns": 30000000000, "fallback": True}

        def rawsend():
            try:
                raw.sendto(line, address)
            except OSError:
                pass

        lock = c._lock

        def lock_cycle():  # what the drop and report paths add (the sent path takes no lock)
            with lock:
                pass

        cases = {
            "emit": lambda: c.tool_call(tool="crm", outcome="timeout", latency=30.0, fallback=True),
            "encode": lambda: c._encode_tool_call(tool="crm", outcome="timeout", latency=30.0, fallback=True),
            "sendto": rawsend,
            "json_dumps": lambda: json.dumps(event),
            "relay_down": lambda: down.tool_call(tool="crm", outcome="timeout", latency=30.0, fallback=True),
            "lock": lock_cycle,
        }
        samples = {name: [] for name in cases}
        for fn in cases.values():  # warm up
            timed(fn, 2000, [], args.burst)
        gc.disable()
        try:
            for _ in range(args.rounds):
                for name, fn in cases.items():
                    timed(fn, args.events, samples[name], args.burst)
                    time.sleep(0.01)  # let the drainer catch up
        finally:
            gc.enable()
        time.sleep(0.3)
        raw.sendto(b"STOP", address)
        received = int(drainer.communicate(timeout=30)[0])

    result = {"python": platform.python_version(), "implementation": platform.python_implementation(),
              "calls_per_measurement": args.events * args.rounds, "burst": args.burst}
    for name, values in samples.items():
        values.sort()
        result[name] = {"median_ns": percentile(values, 0.5), "p99_ns": percentile(values, 0.99)}
    floor = result["json_dumps"]
    result["ratio_emit_to_json_dumps"] = {
        "median": round(result["emit"]["median_ns"] / floor["median_ns"], 2),
        "p99": round(result["emit"]["p99_ns"] / floor["p99_ns"], 2),
    }
    result["emit_dropped"] = c.dropped
    result["received_lines"] = received
    result["target_met"] = result["emit"]["median_ns"] <= 10_000 and result["emit"]["p99_ns"] <= 50_000
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
