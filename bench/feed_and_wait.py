#!/usr/bin/env python3
"""Runs a command that hands events to a daemon, then polls the daemon's /metrics until the
sum of the samples of one metric reaches a total. Prints one JSON object: seconds from the
command's start until the total was seen, and the number of polls. Used by bench/peers.sh.
"""
import argparse
import json
import re
import subprocess
import sys
import time
import urllib.request


def total(url, pattern):
    with urllib.request.urlopen(url, timeout=5) as response:
        body = response.read().decode()
    return sum(float(m.group(1)) for m in pattern.finditer(body))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--metric", required=True, help="regex matching a sample line up to its value, e.g. 'foo_total\\{[^}]*\\}'")
    parser.add_argument("--total", type=float, required=True)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    pattern = re.compile(r"^" + args.metric + r" ([0-9.e+]+)$", re.M)
    start = time.perf_counter()
    subprocess.run(args.command[1:] if args.command[:1] == ["--"] else args.command, check=True)
    polls = 0
    seen = 0.0
    while time.perf_counter() - start < args.timeout:
        polls += 1
        seen = total(args.url, pattern)
        if seen >= args.total:
            print(json.dumps({"seconds": time.perf_counter() - start, "polls": polls, "seen": seen}))
            return 0
        time.sleep(args.interval)
    print(f"feed_and_wait: timed out after {args.timeout} s with {seen} of {args.total}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
