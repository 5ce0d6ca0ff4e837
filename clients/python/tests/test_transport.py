"""Transport trouble never reaches the caller: drops are counted and reported in-band."""
import gc
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import weakref

import pytest

import orchlog

from conftest import Receiver, lines_of

EVENT = dict(tool="crm", outcome="timeout", latency=30.0, fallback=True)


def test_each_event_is_one_newline_terminated_datagram_naming_the_source(receiver, client):
    client.tool_call(**EVENT)
    client.queue_sample(queue="requests", depth=4, capacity=10)
    grams = receiver.datagrams()
    assert len(grams) == 2
    first, second = (json.loads(lines_of(g)[0]) for g in grams)
    assert len(lines_of(grams[0])) == 1 and first["type"] == "tool_call" and first["source"] == "test-src"
    assert first["latency_ns"] == 30_000_000_000 and first["fallback"] is True
    assert second["type"] == "queue_sample" and second["depth"] == 4
    assert client.dropped == 0


def test_no_socket_file_the_event_is_dropped_and_counted_without_an_exception(sockdir):
    c = orchlog.Client(socket=os.path.join(sockdir, "absent.sock"), source="s")
    for _ in range(100):
        assert c.tool_call(**EVENT) is None
    assert (c.dropped, c.unreported_dropped, c.reported_dropped) == (100, 100, 0)
    c.close()


def test_no_directory_either_is_a_drop_too():
    c = orchlog.Client(socket="/nonexistent-dir/orchlog.sock", source="s")
    c.tool_call(**EVENT)
    assert c.dropped == 1
    c.close()


def test_a_socket_file_nobody_listens_on_is_a_drop(sockdir):
    path = os.path.join(sockdir, "dead.sock")
    dead = Receiver(path)
    dead.close(unlink=False)  # the file stays, like a relay that crashed: ECONNREFUSED
    assert os.path.exists(path)
    c = orchlog.Client(socket=path, source="s")
    c.tool_call(**EVENT)
    c.tool_call(**EVENT)
    assert c.dropped == 2
    c.close()


def test_when_the_relay_comes_up_the_next_datagram_carries_the_drop_count_then_the_event(sockdir):
    path = os.path.join(sockdir, "ingest.sock")
    c = orchlog.Client(socket=path, source="checkout-api")
    for _ in range(5):
        c.tool_call(**EVENT)
    r = Receiver(path)
    c.queue_sample(queue="q", depth=1, capacity=2)
    c.queue_sample(queue="q", depth=2, capacity=2)
    grams = r.datagrams()
    assert len(grams) == 2
    report, event = (json.loads(x) for x in lines_of(grams[0]))
    assert set(report) == {"type", "ts", "source", "count", "reason"}
    assert report["type"] == "events_dropped" and report["count"] == 5
    assert report["reason"] == "client_dropped" and report["source"] == "checkout-api"
    assert event["type"] == "queue_sample" and event["depth"] == 1
    assert [json.loads(x)["depth"] for x in lines_of(grams[1])] == [2]  # reported once only
    assert (c.dropped, c.reported_dropped, c.unreported_dropped) == (5, 5, 0)
    c.close()
    r.close()


def test_a_failed_report_datagram_keeps_both_counted(sockdir):
    path = os.path.join(sockdir, "ingest.sock")
    c = orchlog.Client(socket=path, source="s")
    c.tool_call(**EVENT)  # dropped: nobody there
    c.tool_call(**EVENT)  # report + event fail together
    assert (c.dropped, c.unreported_dropped) == (2, 2)
    r = Receiver(path)
    c.tool_call(**EVENT)
    report, event = (json.loads(x) for x in lines_of(r.datagrams()[0]))
    assert report["count"] == 2 and event["type"] == "tool_call"
    c.close()
    r.close()


def test_a_relay_restart_at_the_same_path_is_picked_up_without_the_caller_doing_anything(sockdir):
    path = os.path.join(sockdir, "ingest.sock")
    first = Receiver(path)
    c = orchlog.Client(socket=path, source="s")
    c.tool_call(**EVENT)
    assert len(first.datagrams()) == 1
    first.close()  # relay stops; its socket file goes
    c.tool_call(**EVENT)
    second = Receiver(path)  # relay starts again: a new socket file
    c.tool_call(**EVENT)
    lines = [json.loads(x) for g in second.datagrams() for x in lines_of(g)]
    assert [e["type"] for e in lines] == ["events_dropped", "tool_call"] and lines[0]["count"] == 1
    c.close()
    second.close()


def test_a_full_socket_never_blocks_and_drops_are_exact(sockdir):
    path = os.path.join(sockdir, "full.sock")
    r = Receiver(path, rcvbuf=4096)  # never read while the events go out
    c = orchlog.Client(socket=path, source="s")
    attempts = 10_000
    done = threading.Event()

    def emit_all():
        for i in range(attempts):
            c.state_read(shard="s1", key="k", version=i, read_source="cache", latency_ns=1)
        done.set()

    worker = threading.Thread(target=emit_all, daemon=True)
    worker.start()
    worker.join(60)  # a blocking send would hang here forever
    assert done.is_set(), "emitting onto a full socket blocked"
    assert c.dropped > 0
    lines = [json.loads(x) for g in r.datagrams(wait=0.2, idle=0.1) for x in lines_of(g)]
    events = [e for e in lines if e["type"] == "state_read"]
    assert len(events) + c.dropped == attempts
    assert sum(e["count"] for e in lines if e["type"] == "events_dropped") == c.reported_dropped
    assert len({e["version"] for e in events}) == len(events)
    c.close()
    r.close()


def test_close_sends_the_pending_drop_report_on_its_own(sockdir):
    path = os.path.join(sockdir, "ingest.sock")
    c = orchlog.Client(socket=path, source="s")
    for _ in range(3):
        c.tool_call(**EVENT)
    r = Receiver(path)
    c.close()
    grams = r.datagrams()
    assert len(grams) == 1
    (report,) = (json.loads(x) for x in lines_of(grams[0]))
    assert report["type"] == "events_dropped" and report["count"] == 3 and report["reason"] == "client_dropped"
    assert c.closed and c.reported_dropped == 3
    c.tool_call(**EVENT)  # after close: dropped, counted, nothing sent
    assert c.dropped == 4 and r.datagrams(wait=0.1) == []
    c.close()  # twice is fine
    r.close()


def test_close_with_nothing_dropped_sends_nothing(receiver):
    c = orchlog.Client(socket=receiver.path, source="s")
    c.close()
    assert receiver.datagrams(wait=0.1) == []


def test_flush_reports_pending_drops_when_the_relay_takes_them(sockdir):
    path = os.path.join(sockdir, "ingest.sock")
    c = orchlog.Client(socket=path, source="s")
    assert c.flush() is True
    c.tool_call(**EVENT)
    assert c.flush() is False  # still down: the count stays pending
    r = Receiver(path)
    assert c.flush() is True
    assert [json.loads(x)["count"] for g in r.datagrams() for x in lines_of(g)] == [1]
    c.close()
    r.close()


def test_the_context_manager_closes_and_reports(sockdir):
    path = os.path.join(sockdir, "ingest.sock")
    with orchlog.Client(socket=path, source="s") as c:
        c.tool_call(**EVENT)
        r = Receiver(path)
    assert c.closed
    assert [json.loads(x)["type"] for g in r.datagrams() for x in lines_of(g)] == ["events_dropped"]
    r.close()


def test_at_exit_a_live_client_sends_its_pending_drop_report(sockdir, tmp_path):
    path = os.path.join(sockdir, "ingest.sock")
    script = tmp_path / "exit.py"
    script.write_text(textwrap.dedent(f"""
        import sys, orchlog
        c = orchlog.Client(socket={path!r}, source="exiting")
        for _ in range(4):
            c.tool_call(tool="crm", outcome="error", latency=0.5)
        print(c.dropped, flush=True)
        sys.stdin.readline()  # the test binds the receiver, then lets the process end
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert proc.stdout.readline().strip() == "4"
    r = Receiver(path)
    proc.communicate("go\n", timeout=30)
    assert proc.returncode == 0
    events = [json.loads(x) for g in r.datagrams() for x in lines_of(g)]
    assert events == [dict(events[0], type="events_dropped", source="exiting", count=4, reason="client_dropped")]
    r.close()


def test_clients_can_be_garbage_collected():
    c = orchlog.Client(socket="/tmp/absent-orchlog.sock", source="s")
    ref = weakref.ref(c)
    del c
    gc.collect()
    assert ref() is None


def test_sends_are_non_blocking_on_an_unconnected_socket(client):
    assert client._sock.getblocking() is False
    assert client._sock.type == socket.SOCK_DGRAM and client._sock.family == socket.AF_UNIX
    with pytest.raises(OSError):  # ENOTCONN: every send names the path (sendto)
        client._sock.getpeername()
