"""Shared fixtures: the orchlog binary, short socket directories, datagram receivers."""
import json
import keyword
import os
import shutil
import socket
import tempfile
import time

import pytest

import orchlog

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.normpath(os.path.join(HERE, os.pardir))
REPO_ROOT = os.path.normpath(os.path.join(PACKAGE_ROOT, os.pardir, os.pardir))


def orchlog_binary():
    """$ORCHLOG_BIN_DIR/orchlog (default: the repository's .build/debug)."""
    bin_dir = os.environ.get("ORCHLOG_BIN_DIR") or os.path.join(REPO_ROOT, ".build", "debug")
    return os.path.join(bin_dir, "orchlog")


@pytest.fixture
def orchlog_bin():
    """The orchlog binary; a test that needs it fails (never skips) when it is missing."""
    path = orchlog_binary()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"orchlog binary not found at {path}: build it (swift build) or set ORCHLOG_BIN_DIR")
    return path


@pytest.fixture
def sockdir():
    """A short temporary directory (socket paths must stay under 108 bytes)."""
    path = tempfile.mkdtemp(prefix="olpy-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Receiver:
    """An AF_UNIX datagram socket bound at `path`: stands in for the relay."""

    def __init__(self, path, rcvbuf=None):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind(path)

    def datagrams(self, wait=0.5, idle=0.2):
        """Every datagram that arrives until none has for `idle` s (the first wait: `wait` s)."""
        out = []
        timeout = wait
        while True:
            self.sock.settimeout(timeout)
            try:
                out.append(self.sock.recv(1 << 17))
            except socket.timeout:
                return out
            timeout = idle

    def events(self, **kw):
        """The JSON objects of every line received (see datagrams)."""
        return [json.loads(line) for d in self.datagrams(**kw) for line in lines_of(d)]

    def close(self, unlink=True):
        self.sock.close()
        if unlink and os.path.exists(self.path):
            os.unlink(self.path)


def lines_of(datagram):
    """A datagram's NDJSON lines (each must end with a newline)."""
    assert datagram.endswith(b"\n"), datagram[-80:]
    return datagram[:-1].split(b"\n")


@pytest.fixture
def receiver(sockdir):
    r = Receiver(os.path.join(sockdir, "ingest.sock"))
    yield r
    r.close()


@pytest.fixture
def client(receiver):
    c = orchlog.Client(socket=receiver.path, source="test-src")
    yield c
    c.close()


def sample_fields(type_name, variant=0):
    """Valid keyword arguments for every field of `type_name` (optional ones included),
    and the values `orchlog tail -o json` should print for them."""
    kwargs, expected = {}, {}
    for i, f in enumerate(orchlog.TYPES[type_name]["fields"]):
        name, kind = f["name"], f["kind"]
        param = name + "_" if keyword.iskeyword(name) else name
        if kind == "label":
            value = f"{name}-{variant}-é \"q\""
            kwargs[param], expected[name] = value, value
        elif kind == "enum":
            value = f["values"][(i + variant) % len(f["values"])]
            kwargs[param], expected[name] = value, value
        elif kind == "trace_id":
            value = "4bf92f3577b34da6a3ce929d0e0e47%02x" % (i + variant)
            kwargs[param], expected[name] = value, value
        elif kind == "flag":
            kwargs[param] = expected[name] = variant == 0
        elif kind == "number":
            kwargs[param] = expected[name] = 2**64 - 1 if variant == 1 else 1000 * i + 7
        elif kind == "duration":
            if (i + variant) % 2:
                kwargs[name[:-3]] = 0.25 + i
                expected[name] = round((0.25 + i) * 1e9)
            else:
                kwargs[name] = expected[name] = 123_456_789 * (i + 1)
    return kwargs, expected


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
