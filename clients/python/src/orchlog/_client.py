"""The orchlog client: events as NDJSON datagrams to the relay's Unix socket.

The hot path (one generated method per event type, see _codegen.py) validates its
arguments, formats one NDJSON line and sends it with one non-blocking `sendto` on an
unconnected AF_UNIX datagram socket, so a relay restart (a new socket file at the same
path) is picked up by the next event without reconnecting. A send that fails for any
reason (no socket file, nobody listening, the socket full) drops the event and counts it;
the next datagram that gets through carries an `events_dropped` line with that count
before its event, so the loss reaches the log.
"""
import atexit
import os
import socket as _socket
import threading
import time
import weakref

from . import _codegen
from .schema import SCHEMA, TYPES

#: The longest socket path (bytes) a sockaddr_un holds with its terminating NUL.
MAX_SOCKET_PATH = 107
#: The longest source name the relay accepts, in bytes.
MAX_SOURCE_BYTES = 128
_SOURCE_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")

_clients = weakref.WeakSet()


def source_name_problem(name):
    """Why `name` cannot be a source (the relay's rule: 1-128 bytes of letters, digits,
    '.', '_' and '-', starting with a letter or digit; it names a directory), or None."""
    if not isinstance(name, str):
        return f"a source name is a str, not {type(name).__name__}"
    data = name.encode("utf-8", "surrogatepass")
    if not data:
        return "a source name cannot be empty"
    if len(data) > MAX_SOURCE_BYTES:
        return f"a source name is at most {MAX_SOURCE_BYTES} bytes (this one has {len(data)})"
    if not (chr(data[0]).isascii() and chr(data[0]).isalnum()):
        return "a source name starts with a letter or digit"
    if not all(c in _SOURCE_CHARS for c in data):
        return "a source name holds only letters, digits, '.', '_' and '-' (it names a directory)"
    return None


def _new_socket():
    """A non-blocking, unconnected AF_UNIX datagram socket, or None if one cannot be made."""
    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM)
    except OSError:
        return None
    sock.setblocking(False)
    return sock


class _NoSocket:
    """Stands in for a socket that could not be created (or after close): every send fails."""

    @staticmethod
    def sendto(data, address):
        raise OSError("no socket")

    @staticmethod
    def close():
        pass


class Client:
    """Sends orchlog events from this process to the relay (`orchlog ingest --listen unix:PATH`).

    `Client(socket="/run/orchlog/ingest.sock", source="checkout-api")`, then one method per
    event type, named as the type, with keyword arguments named as its NDJSON fields:
    `c.tool_call(tool="crm", outcome="timeout", latency=30.0, fallback=True)`.

    A bad argument raises ValueError at the call. Transport trouble never does: an event
    that cannot be sent is dropped, counted in `dropped` and reported in-band with the
    next event that gets through. Thread-safe and fork-safe; no method blocks.

    Raises ValueError when `socket` is too long for a Unix socket address or `source` is
    not a name the relay accepts.
    """

    __slots__ = ("_address", "_path", "_source", "_src", "_sock", "_lock", "_dropped",
                 "_unreported", "_reported", "_closed", "__weakref__")

    def __init__(self, *, socket, source):
        path = os.fspath(socket)
        if not isinstance(path, str):
            path = os.fsdecode(path)
        address = os.fsencode(path)
        if not address or len(address) > MAX_SOCKET_PATH or b"\0" in address:
            raise ValueError(f"Client: socket {path!r}: a Unix socket path of 1 to "
                             f"{MAX_SOCKET_PATH} bytes without NUL (this one has {len(address)})")
        problem = source_name_problem(source)
        if problem:
            raise ValueError(f"Client: source {source!r}: {problem}")
        self._path = path
        self._address = address
        self._source = source
        self._src = f'"source":"{source}"'
        self._closed = False
        self._reset()
        _clients.add(self)

    def _reset(self):
        """Fresh socket, lock and counters (at construction and in a forked child)."""
        self._lock = threading.Lock()
        self._sock = _new_socket() or _NoSocket()
        self._dropped = 0
        self._unreported = 0
        self._reported = 0

    # ---- what the caller can read ----

    @property
    def socket_path(self):
        """The relay's socket path."""
        return self._path

    @property
    def source(self):
        """The source every event names (the relay writes it into ROOT/<source>/)."""
        return self._source

    @property
    def dropped(self):
        """Events this client could not deliver, in total since it was made (or forked)."""
        return self._dropped

    @property
    def reported_dropped(self):
        """How many of `dropped` were reported in-band in an `events_dropped` line that was sent."""
        return self._reported

    @property
    def unreported_dropped(self):
        """Dropped events not yet reported (the next datagram that gets through carries them)."""
        return self._unreported

    @property
    def closed(self):
        """True after close(): events are then dropped (and counted)."""
        return self._closed

    def __repr__(self):
        return (f"Client(socket={self._path!r}, source={self._source!r}, dropped={self._dropped}, "
                f"reported_dropped={self._reported})")

    # ---- generic entry points ----

    def emit(self, type, **fields):
        """The method named `type` (an event type) with `fields`: `c.emit("tool_call", tool=…)`.
        Raises ValueError for an unknown type or a bad field."""
        if type not in TYPES:
            raise ValueError(f"no event type {type!r} (types: {', '.join(TYPES)})")
        getattr(self, type)(**fields)

    def _encode(self, type, **fields):
        """The NDJSON line (bytes, newline-terminated) the method `type` would send."""
        if type not in TYPES:
            raise ValueError(f"no event type {type!r} (types: {', '.join(TYPES)})")
        return getattr(self, "_encode_" + type)(**fields)

    # ---- transport slow paths ----

    def _drop(self):
        with self._lock:
            self._dropped += 1
            self._unreported += 1

    def _send_slow(self, line):
        """Sends `line` after the drop report (one datagram); on failure both stay counted."""
        with self._lock:
            count = self._unreported
            if self._closed or not count:
                data = line
                count = 0
            else:
                if isinstance(self._sock, _NoSocket):
                    self._sock = _new_socket() or self._sock
                data = self._report(count) + line
            try:
                self._sock.sendto(data, self._address)
            except OSError:
                self._dropped += 1
                self._unreported += 1
            else:
                self._unreported -= count
                self._reported += count

    def _report(self, count):
        """The in-band drop report: one events_dropped line (bytes) for `count` events."""
        return (f'{{"type":"events_dropped","ts":"{_codegen.ts_text(time.time_ns())}",{self._src},'
                f'"count":{count},"reason":"client_dropped"}}\n').encode()

    def flush(self):
        """Sends a pending drop report on its own (one `events_dropped` line), if there is one
        and the relay takes it. Returns True when nothing is left unreported. Never raises for
        transport trouble, never blocks."""
        with self._lock:
            count = self._unreported
            if not count or self._closed:
                return not count
            if isinstance(self._sock, _NoSocket):
                self._sock = _new_socket() or self._sock
            try:
                self._sock.sendto(self._report(count), self._address)
            except OSError:
                return False
            self._unreported -= count
            self._reported += count
            return not self._unreported

    def close(self):
        """Sends the pending drop report (if any, best effort), then closes the socket.
        Events emitted afterwards are dropped and counted. Safe to call more than once;
        also called at interpreter exit for every client still alive."""
        if self._closed:
            return
        self.flush()
        with self._lock:
            self._closed = True
            sock, self._sock = self._sock, _NoSocket()
        sock.close()
        _clients.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


for _name, _fn in _codegen.build(SCHEMA).items():
    setattr(Client, _name, _fn)
del _name, _fn


def _after_fork_in_child():
    # The child gets its own socket, an unlocked lock and zero counts: the parent reports
    # its own drops, the child's are its own.
    for client in list(_clients):
        if not client._closed:
            old = client._sock
            client._reset()
            try:
                old.close()
            except OSError:
                pass


def _close_all_at_exit():
    for client in list(_clients):
        try:
            client.close()
        except Exception:  # noqa: BLE001 - never fail interpreter exit over telemetry
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_all_at_exit)
