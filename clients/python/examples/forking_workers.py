#!/usr/bin/env python3
"""The guide's fork example: a client made before fork works in every child on its own.

    python3 forking_workers.py [SOCKET]
"""
import sys

SOCKET = sys.argv[1] if len(sys.argv) > 1 else "/run/orchlog/ingest.sock"

# docs: begin fork
import multiprocessing
import os

from orchlog import Client

log = Client(socket=SOCKET, source="pool-worker")


def work(n):
    # In the child the client has its own socket, lock and counts (os.register_at_fork).
    log.invocation_started(agent="batch", invocation_id=n)
    log.invocation_finished(agent="batch", outcome="success", invocation_id=n, duration=0.002)
    return os.getpid()


if __name__ == "__main__":
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(work, range(8))
    log.worker_pool_sample(pool="batch", busy=0, size=2)
# docs: end fork
