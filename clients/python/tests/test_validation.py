"""Arguments are checked at the call: a bad one raises ValueError naming the field."""
import datetime
import json
import math

import pytest

import orchlog

from conftest import sample_fields

TS = 1738324800_123456789  # 2025-01-31T12:00:00.123456789Z


@pytest.fixture
def c():
    # Nobody listens at this path: sending is not what these tests look at.
    client = orchlog.Client(socket="/nonexistent-dir/orchlog.sock", source="checkout-api")
    yield client
    client.close()


def enc(c, type_name, **kw):
    kw.setdefault("ts_ns", TS)
    return json.loads(c._encode(type_name, **kw))


def tool(c, **kw):
    args = dict(tool="crm", outcome="timeout", latency=30.0)
    args.update(kw)
    return enc(c, "tool_call", **args)


def test_the_contract_example_encodes_as_docs_ndjson_shows(c):
    line = c._encode_tool_call(tool="crm", outcome="timeout", latency=30.0, fallback=True, ts_ns=TS)
    assert line == (b'{"type":"tool_call","ts":"2025-01-31T12:00:00.123456789Z","source":"checkout-api",'
                    b'"tool":"crm","outcome":"timeout","latency_ns":30000000000,"fallback":true}\n')


@pytest.mark.parametrize("type_name", sorted(orchlog.TYPES))
def test_every_type_encodes_every_field(c, type_name):
    for variant in (0, 1):
        kwargs, expected = sample_fields(type_name, variant)
        event = enc(c, type_name, **kwargs)
        assert event.pop("type") == type_name and event.pop("source") == "checkout-api"
        assert event.pop("ts") == "2025-01-31T12:00:00.123456789Z"
        assert event == expected


@pytest.mark.parametrize("type_name", sorted(orchlog.TYPES))
def test_every_required_field_is_required(c, type_name):
    kwargs, _ = sample_fields(type_name)
    for f in orchlog.TYPES[type_name]["fields"]:
        if not f["required"]:
            continue
        given = {k: v for k, v in kwargs.items() if k.rstrip("_") not in (f["name"], f["name"][:-3])}
        with pytest.raises(ValueError, match=f'missing required field "{f["name"]}"'):
            c._encode(type_name, **given)
        with pytest.raises(ValueError, match=f'missing required field "{f["name"]}"'):
            getattr(c, type_name)(**given)  # the sending method checks the same way


def test_optional_fields_left_out_are_absent_from_the_line(c):
    assert tool(c) == {"type": "tool_call", "ts": "2025-01-31T12:00:00.123456789Z", "source": "checkout-api",
                       "tool": "crm", "outcome": "timeout", "latency_ns": 30_000_000_000}
    assert "fallback" not in tool(c, fallback=None)


def test_a_misspelled_field_is_an_error_naming_it_and_the_fields(c):
    with pytest.raises(ValueError) as e:
        c.tool_call(tol="crm", outcome="timeout", latency=1.0)
    assert "'tol'" in str(e.value) and "did you mean 'tool'" in str(e.value)
    assert "latency (seconds) or latency_ns" in str(e.value) and "fallback" in str(e.value)
    with pytest.raises(ValueError, match="no fields 'a', 'b'"):
        c.tool_call(tool="crm", outcome="timeout", latency=1.0, a=1, b=2)


def test_an_unknown_enum_value_names_the_allowed_ones(c):
    with pytest.raises(ValueError) as e:
        c.tool_call(tool="crm", outcome="timout", latency=1.0)
    msg = str(e.value)
    assert 'field "outcome"' in msg and "'timout'" in msg
    assert "success, error, timeout, short_circuited" in msg and "did you mean 'timeout'" in msg
    with pytest.raises(ValueError, match='field "outcome": expected one of .* got int 3'):
        c.tool_call(tool="crm", outcome=3, latency=1.0)
    with pytest.raises(ValueError, match='field "outcome"'):
        c.tool_call(tool="crm", outcome=["timeout"], latency=1.0)  # unhashable: still ValueError


@pytest.mark.parametrize("field,value,pattern", [
    ("depth", "12", r'field "depth": expected a whole number \(int\) in 0\.\.\.18446744073709551615, got str'),
    ("depth", -1, r'field "depth": expected a whole number in 0\.\.\.18446744073709551615, got -1'),
    ("depth", True, r'field "depth": expected a whole number .*got bool True'),
    ("depth", 1.5, r'field "depth": expected a whole number .*got 1\.5'),
    ("depth", math.inf, r'field "depth": .*got inf'),
    ("depth", math.nan, r'field "depth": .*got nan'),
    ("depth", 2**64, r'field "depth": .*got 18446744073709551616'),
    ("queue", 5, r'field "queue": expected a label \(str\), got int 5'),
    ("queue", b"q", r'field "queue": expected a label \(str\), got bytes'),
])
def test_wrong_kinds_of_value_are_errors_naming_field_and_type(c, field, value, pattern):
    args = dict(queue="requests", depth=4, capacity=10)
    args[field] = value
    with pytest.raises(ValueError, match=pattern):
        c.queue_sample(**args)


def test_numbers_accept_integral_floats_and_int_subclasses_like_ingest_does(c):
    import enum

    class Size(enum.IntEnum):
        BIG = 500

    event = enc(c, "queue_sample", queue="q", depth=4.0, capacity=Size.BIG)
    assert event["depth"] == 4 and event["capacity"] == 500
    assert '"depth":4,' in c._encode("queue_sample", queue="q", depth=4.0, capacity=1).decode()


def test_flags_are_booleans_only(c):
    assert tool(c, fallback=False)["fallback"] is False
    with pytest.raises(ValueError, match='field "fallback": expected True or False, got int 1'):
        c.tool_call(tool="crm", outcome="timeout", latency=1.0, fallback=1)


def test_durations_in_seconds_round_to_exact_nanoseconds(c):
    assert tool(c, latency=0.1)["latency_ns"] == 100_000_000
    assert tool(c, latency=30)["latency_ns"] == 30_000_000_000
    assert tool(c, latency=0)["latency_ns"] == 0
    assert tool(c, latency=1e-9)["latency_ns"] == 1
    # 1.001 s is 1000999999.9999999 ns as a float: truncating would lose a nanosecond.
    assert int(1.001 * 1e9) == 1_000_999_999
    assert tool(c, latency=1.001)["latency_ns"] == 1_001_000_000
    assert tool(c, latency=datetime.timedelta(milliseconds=1, microseconds=500))["latency_ns"] == 1_500_000
    assert tool(c, latency=18446744073)["latency_ns"] == 18446744073_000_000_000
    for seconds in (0.001, 0.25, 1.7, 12.345678901, 3600.5):
        assert tool(c, latency=seconds)["latency_ns"] == round(seconds * 1e9)


def test_durations_in_nanoseconds_pass_through(c):
    assert tool(c, latency=None, latency_ns=30_000_000_000)["latency_ns"] == 30_000_000_000
    assert tool(c, latency=None, latency_ns=2**64 - 1)["latency_ns"] == 2**64 - 1
    event = enc(c, "queue_rejection", queue="q", reason="full", retry_after_ns=7)
    assert event["retry_after_ns"] == 7


@pytest.mark.parametrize("kw,pattern", [
    (dict(latency=1.0, latency_ns=1000), r'field "latency_ns": give latency= \(seconds\) or latency_ns= \(nanoseconds\), not both'),
    (dict(latency=-0.5), r'field "latency": expected seconds .*got -0\.5'),
    (dict(latency=math.inf), r'field "latency": expected a finite number of seconds for latency_ns, got inf'),
    (dict(latency=math.nan), r'field "latency": expected a finite number of seconds'),
    (dict(latency=True), r'field "latency": expected seconds \(int, float or timedelta\) for latency_ns, got bool'),
    (dict(latency="1s"), r'field "latency": expected seconds .*got str'),
    (dict(latency=1.9e10), r'field "latency": expected seconds in 0\.\.\.18446744074'),
    (dict(latency=datetime.timedelta(seconds=-1)), r'field "latency": expected seconds'),
    (dict(latency=None, latency_ns=-1), r'field "latency_ns": expected a whole number of nanoseconds in 0'),
    (dict(latency=None, latency_ns=1.5), r'field "latency_ns": expected a whole number of nanoseconds'),
    (dict(latency=None, latency_ns=2**64), r'field "latency_ns": expected a whole number of nanoseconds'),
    (dict(latency=None), r'missing required field "latency_ns" \(give latency= in seconds or latency_ns= in nanoseconds\)'),
])
def test_bad_durations_are_errors(c, kw, pattern):
    args = dict(tool="crm", outcome="timeout")
    args.update(kw)
    with pytest.raises(ValueError, match=pattern):
        c.tool_call(**args)


def test_optional_duration_both_forms_is_an_error(c):
    with pytest.raises(ValueError, match="not both"):
        c.queue_rejection(queue="q", reason="full", retry_after=1, retry_after_ns=1)


def test_timestamps(c):
    utc = datetime.timezone.utc
    when = datetime.datetime(2025, 1, 31, 12, 0, 0, 123456, tzinfo=utc)
    assert tool(c, ts_ns=None, ts=when)["ts"] == "2025-01-31T12:00:00.123456000Z"
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    assert tool(c, ts_ns=None, ts=when.astimezone(plus2))["ts"] == "2025-01-31T12:00:00.123456000Z"
    assert tool(c, ts_ns=None, ts=1738324800)["ts"] == "2025-01-31T12:00:00.000000000Z"
    assert tool(c, ts_ns=None, ts=1738324800.5)["ts"] == "2025-01-31T12:00:00.500000000Z"
    assert tool(c, ts_ns=0)["ts"] == "1970-01-01T00:00:00.000000000Z"
    assert tool(c, ts_ns=2**64 - 1)["ts"] == "2554-07-21T23:34:33.709551615Z"
    with pytest.raises(ValueError, match="naive datetime"):
        c.tool_call(tool="crm", outcome="timeout", latency=1.0, ts=datetime.datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="not both"):
        c.tool_call(tool="crm", outcome="timeout", latency=1.0, ts=1.0, ts_ns=1)
    with pytest.raises(ValueError, match="ts: out of range"):
        c.tool_call(tool="crm", outcome="timeout", latency=1.0, ts=-1.0)
    with pytest.raises(ValueError, match="ts_ns: expected nanoseconds since the epoch"):
        c.tool_call(tool="crm", outcome="timeout", latency=1.0, ts_ns=1.5)
    with pytest.raises(ValueError, match="ts: expected a datetime or epoch seconds"):
        c.tool_call(tool="crm", outcome="timeout", latency=1.0, ts="2025-01-31")


def test_the_default_timestamp_is_now(c):
    import time
    before = time.time_ns()
    event = json.loads(c._encode_tool_call(tool="crm", outcome="timeout", latency=1.0))
    after = time.time_ns()
    day, clock = event["ts"][:-1].split("T")
    stamp = datetime.datetime.fromisoformat(f"{day}T{clock[:15]}+00:00")
    ns = int(stamp.timestamp()) * 10**9 + int(clock.split(".")[1])
    assert before <= ns <= after


def test_labels_are_escaped_json_strings(c):
    for text in ['quote " backslash \\ newline \n tab \t', "é 😀 中文", "\x00\x1f", "", "\u2028"]:
        assert tool(c, tool=text)["tool"] == text
    with pytest.raises(ValueError, match='field "tool": not valid Unicode \\(a lone surrogate at index 1\\)'):
        c.tool_call(tool="a\ud83d", outcome="timeout", latency=1.0)


def test_a_huge_label_is_an_error_naming_the_field_and_the_limit(c):
    with pytest.raises(ValueError) as e:
        c.tool_call(tool="x" * (1 << 20), outcome="timeout", latency=1.0)
    assert 'field "tool"' in str(e.value) and str(orchlog.MAX_EVENT_BYTES) in str(e.value)
    # Several labels each under the limit but together over it: the biggest is named.
    with pytest.raises(ValueError, match=f'field "model": the event is .* over the limit of {orchlog.MAX_EVENT_BYTES}'):
        c.llm_request(provider="p" * 20000, model="m" * 30000, key="k" * 15000, outcome="success",
                      input_tokens=1, output_tokens=1, latency=1.0)
    assert len(c._encode_tool_call(tool="x" * 60000, outcome="timeout", latency=1.0)) <= orchlog.MAX_EVENT_BYTES


def test_keyword_named_fields_are_taken_with_a_trailing_underscore_or_by_dict(c):
    a = enc(c, "breaker_transition", tool="crm", from_="closed", to="open")
    b = enc(c, "breaker_transition", tool="crm", to="open", **{"from": "closed"})
    assert a == b and a["from"] == "closed" and a["to"] == "open"
    with pytest.raises(ValueError, match="given both"):
        c.breaker_transition(tool="crm", from_="closed", to="open", **{"from": "closed"})
    with pytest.raises(ValueError, match='missing required field "from"'):
        c.key_rotation(provider="openai", to="key-2")


def test_emit_by_type_name(c):
    assert c.emit("tool_call", tool="crm", outcome="success", latency=0.5) is None
    with pytest.raises(ValueError, match="no event type 'tool_cal'"):
        c.emit("tool_cal", tool="crm")


@pytest.mark.parametrize("source,pattern", [
    ("", "cannot be empty"), ("-x", "starts with a letter or digit"), ("a/b", "only letters, digits"),
    ("a" * 129, "at most 128 bytes"), ("é", "starts with a letter or digit"), (5, "is a str"),
])
def test_bad_source_names_are_refused_at_construction(source, pattern):
    with pytest.raises(ValueError, match=pattern):
        orchlog.Client(socket="/tmp/x.sock", source=source)


def test_a_socket_path_too_long_for_sockaddr_un_is_refused():
    with pytest.raises(ValueError, match="1 to 107 bytes"):
        orchlog.Client(socket="/tmp/" + "x" * 110, source="a")
    orchlog.Client(socket="/" + "x" * 106, source="a").close()


def test_validation_errors_raise_even_when_the_relay_is_down_and_are_not_counted(c):
    with pytest.raises(ValueError):
        c.tool_call(tool="crm", outcome="nope", latency=1.0)
    assert c.dropped == 0


def test_trace_ids_are_32_lowercase_hex_digits_or_empty(c):
    t = "4bf92f3577b34da6a3ce929d0e0e4736"
    assert enc(c, "invocation_started", agent="a", invocation_id=1, trace_id=t)["trace_id"] == t
    assert enc(c, "invocation_started", agent="a", invocation_id=1, trace_id="")["trace_id"] == ""
    assert "trace_id" not in enc(c, "invocation_started", agent="a", invocation_id=1)


@pytest.mark.parametrize("value, pattern", [
    ("4BF92F3577B34DA6A3CE929D0E0E4736", r'"trace_id".*uppercase hex digit at offset 1.*lowercase'),
    ("4bf92f3577b34da6a3ce929d0e0e473", r'"trace_id".*31 characters long'),
    ("4bf92f3577b34da6a3ce929d0e0e473g", r'"trace_id".*not a hex digit at offset 31'),
    ("0" * 32, r'"trace_id".*all zeros'),
    (7, r'"trace_id".*W3C trace id \(str\).*got int 7'),
])
def test_a_bad_trace_id_is_an_error_naming_it(c, value, pattern):
    with pytest.raises(ValueError, match=pattern):
        c._encode("invocation_started", agent="a", invocation_id=1, trace_id=value)
