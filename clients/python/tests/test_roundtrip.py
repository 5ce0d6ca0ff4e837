"""What the client sends, the real orchlog takes: through `orchlog ingest` on stdin and
through the relay (`orchlog ingest --listen unix:PATH`), read back with `orchlog tail -o json`."""
import json
import os
import signal
import subprocess

import orchlog

from conftest import Receiver, sample_fields, wait_for

TS0 = 1738324800_000000001


def tail(orchlog_bin, directory):
    out = subprocess.run([orchlog_bin, "tail", "--from-start", "-o", "json", directory],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def every_event(c):
    """(encoded line, expected tail fields) for every type in two variants, plus a drop report."""
    out = []
    for variant in (0, 1):
        for i, t in enumerate(sorted(orchlog.TYPES)):
            kwargs, expected = sample_fields(t, variant)
            ts_ns = TS0 + 1000 * len(out)
            out.append((c._encode(t, ts_ns=ts_ns, **kwargs), dict(expected, type=t, ts_ns=ts_ns)))
    return out


def ts_text(ns):
    return orchlog._codegen.ts_text(ns)


def compare(read, sent, source):
    assert len(read) == len(sent)
    for got, want in zip(read, sent):
        want = dict(want)
        assert got.pop("source") == source
        assert got.pop("ts") == ts_text(want.pop("ts_ns"))
        assert isinstance(got.pop("seq"), int)
        assert got == want  # type and every field, value for value


def test_every_event_type_round_trips_through_orchlog_ingest_stdin(orchlog_bin, tmp_path):
    c = orchlog.Client(socket="/nonexistent/orchlog.sock", source="checkout-api")
    events = every_event(c)
    report = c._report(7)
    stdin = b"".join(line for line, _ in events) + report
    out = tmp_path / "worker-1"
    run = subprocess.run([orchlog_bin, "ingest", "--out", str(out)], input=stdin, capture_output=True)
    assert run.returncode == 0, run.stderr.decode()
    read = tail(orchlog_bin, str(out))
    dropped = read.pop()
    assert (dropped["type"], dropped["count"], dropped["reason"]) == ("events_dropped", 7, "client_dropped")
    compare(read, [want for _, want in events], "worker-1")  # stdin ingest: the directory names the source
    c.close()


def test_datagrams_captured_from_the_socket_are_what_ingest_takes(orchlog_bin, sockdir, tmp_path):
    r = Receiver(os.path.join(sockdir, "ingest.sock"))
    c = orchlog.Client(socket=r.path, source="checkout-api")
    c.tool_call(tool="crm", outcome="timeout", latency=30.0, fallback=True, ts_ns=TS0)
    c.llm_request(provider="openai", model="gpt-4o", key="key-1", outcome="rate_limited", input_tokens=1200,
                  output_tokens=0, latency=0.085, ratelimit_wait=0, ts_ns=TS0 + 1)
    stdin = b"".join(r.datagrams())
    run = subprocess.run([orchlog_bin, "ingest", "--out", str(tmp_path / "x")], input=stdin, capture_output=True)
    assert run.returncode == 0, run.stderr.decode()
    read = tail(orchlog_bin, str(tmp_path / "x"))
    assert [e["type"] for e in read] == ["tool_call", "llm_request"]
    assert read[0]["latency_ns"] == 30_000_000_000 and read[0]["fallback"] is True
    assert read[1]["latency_ns"] == 85_000_000 and read[1]["key"] == "key-1" and read[1]["outcome"] == "rate_limited"
    c.close()
    r.close()


def test_ingest_rejects_what_the_client_refuses(orchlog_bin, tmp_path):
    # The client's checks mirror ingest's: the same bad values ingest rejects line by line.
    bad = [b'{"type":"tool_call","tool":"crm","outcome":"timout","latency_ns":1}\n',
           b'{"type":"tool_call","tol":"crm","tool":"crm","outcome":"timeout","latency_ns":1}\n',
           b'{"type":"tool_call","tool":"crm","outcome":"timeout"}\n',
           b'{"type":"queue_sample","queue":"q","depth":-1,"capacity":1}\n',
           b'{"type":"queue_sample","queue":"q","depth":1.5,"capacity":1}\n',
           b'{"type":"tool_call","tool":"\\ud83d","outcome":"timeout","latency_ns":1}\n']
    run = subprocess.run([orchlog_bin, "ingest", "--out", str(tmp_path / "bad")], input=b"".join(bad),
                         capture_output=True)
    assert run.returncode == 1 and b"6 of 6 lines rejected" in run.stderr


class RunningRelay:
    """`orchlog ingest --listen unix:PATH --out ROOT`, stopped with SIGTERM (it reads what its
    socket holds first)."""

    def __init__(self, orchlog_bin, path, root):
        self.proc = subprocess.Popen([orchlog_bin, "ingest", "--listen", f"unix:{path}", "--out", str(root)],
                                     stderr=subprocess.PIPE)
        wait_for(lambda: os.path.exists(path) or self.proc.poll() is not None, what=f"the relay's socket {path}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        _, stderr = self.proc.communicate(timeout=30)
        text = stderr.decode(errors="replace")
        assert self.proc.returncode == 0, f"relay exit status {self.proc.returncode}: {text[-3000:]}"
        assert "rejected: 0 invalid, 0 past --max-sources, 0 unreadable" in text, text
        return text


# These two caught a relay bug while it was being written (labels lost or swapped on the
# relay's fast path, and events_dropped trapping it): the relay must store every field of
# every type exactly as the client sent it.
def test_every_event_type_round_trips_through_the_relay(orchlog_bin, sockdir, tmp_path):
    path = os.path.join(sockdir, "relay.sock")
    relay = RunningRelay(orchlog_bin, path, tmp_path / "root")
    sent = []
    try:
        c = orchlog.Client(socket=path, source="checkout-api")
        for variant in (0, 1):
            for t in sorted(orchlog.TYPES):
                if t == "events_dropped":
                    continue  # the next test
                kwargs, expected = sample_fields(t, variant)
                ts_ns = TS0 + 1000 * len(sent)
                getattr(c, t)(ts_ns=ts_ns, **kwargs)
                sent.append(dict(expected, type=t, ts_ns=ts_ns))
        c.close()
        assert c.dropped == 0
    finally:
        relay.stop()
    compare(tail(orchlog_bin, str(tmp_path / "root" / "checkout-api")), sent, "checkout-api")


def test_the_relay_writes_the_in_band_drop_report_into_the_clients_source(orchlog_bin, sockdir, tmp_path):
    path = os.path.join(sockdir, "relay.sock")
    late = orchlog.Client(socket=path, source="late-worker")
    for _ in range(4):
        late.tool_call(tool="crm", outcome="timeout", latency=1.0)  # the relay is not up yet
    relay = RunningRelay(orchlog_bin, path, tmp_path / "root")
    try:
        late.tool_call(tool="crm", outcome="success", latency=2.0)
        assert late.reported_dropped == 4
        late.close()
    finally:
        relay.stop()
    events = tail(orchlog_bin, str(tmp_path / "root" / "late-worker"))
    assert [(e["type"], e.get("count"), e.get("reason")) for e in events] == [
        ("events_dropped", 4, "client_dropped"), ("tool_call", None, None)]
    assert events[1]["latency_ns"] == 2_000_000_000 and events[1]["tool"] == "crm"
