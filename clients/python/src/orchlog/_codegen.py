"""Builds the Client's per-event-type methods from the schema, once, at import.

Each event type gets two functions compiled from generated source: the public method
(validate, encode one NDJSON line, send it) and `_encode_<type>` (the same, returning the
line's bytes). The generated code checks each field with straight-line code specialised
to its kind — an `is str` test and a dict lookup for labels and enumerations, an `is int`
test and a range check for numbers, a check of the 32 lowercase hex digits for a trace id
(never cached: one per invocation) — and formats the line with one f-string. Anything off
the fast path (None, a subclass, a float where an int is usual, a bad value) goes to the
slow helpers in this module, which either normalise the value or raise ValueError naming
the event type, the field and what it accepts.
"""
import datetime
import difflib
import json
import keyword
import linecache
import math
import time

#: The largest number (and duration in nanoseconds) orchlog stores: 2**64 - 1.
U64 = 2**64 - 1
#: The largest encoded event line, newline included, in bytes. A datagram holds one event
#: and at most one in-band drop report (< 256 bytes), so it stays under 64 KiB. (orchlog
#: itself limits a line to 1 MiB and a relay datagram to 256 KiB; labels have no limit of
#: their own there.)
MAX_EVENT_BYTES = 60 * 1024
#: Labels longer than this (in characters) are not kept in the encoded-label cache.
_CACHE_LABEL_CHARS = 256
#: How many distinct labels the encoded-label cache keeps (labels are bounded sets).
_CACHE_ENTRIES = 4096

_encode_string = json.encoder.encode_basestring  # C version when available; non-ASCII kept
_label_cache = {}
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_KIND_TEXT = {
    "label": "a label (str)",
    "enum": "one of the listed names (str)",
    "flag": "True or False",
    "number": f"a whole number (int) in 0...{U64}",
    "trace_id": 'a W3C trace id (str): 32 lowercase hex digits, not all zeros ("" or None: none)',
}
_HEX = frozenset("0123456789abcdef")


class _Field:
    """One schema field as the generated code sees it."""

    def __init__(self, spec):
        self.name = spec["name"]
        self.kind = spec["kind"]
        self.required = bool(spec["required"])
        self.values = list(spec.get("values", ()))
        self.doc = spec.get("doc", "")
        # A field named like a Python keyword (`from`) is taken as `from_` (or `**{"from": …}`).
        self.param = self.name + "_" if keyword.iskeyword(self.name) else self.name
        self.seconds = None
        if self.kind == "duration":
            if not self.name.endswith("_ns"):
                raise RuntimeError(f"duration field {self.name!r} does not end in _ns")
            self.seconds = self.name[:-3]


def _what(value):
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _fail(type_name, field, why):
    return ValueError(f'{type_name}(): field "{field}": {why}')


# ---- slow paths the generated code calls (each returns the encoded value or raises) ----

def _missing(type_name, field, hint):
    raise ValueError(f'{type_name}(): missing required field "{field}" ({hint})')


def _label(type_name, field, value):
    """A label's JSON text; raises ValueError for None, a non-str or invalid Unicode."""
    if value is None:
        _missing(type_name, field, _KIND_TEXT["label"])
    if not isinstance(value, str):
        raise _fail(type_name, field, f"expected {_KIND_TEXT['label']}, got {_what(value)}")
    value = str.__str__(value)
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as error:
        raise _fail(type_name, field, f"not valid Unicode (a lone surrogate at index {error.start})") from None
    if size > MAX_EVENT_BYTES:
        raise _fail(type_name, field, f"a label of {size} bytes; an event is at most {MAX_EVENT_BYTES} bytes")
    text = _encode_string(value)
    if len(value) <= _CACHE_LABEL_CHARS and len(_label_cache) < _CACHE_ENTRIES:
        _label_cache[value] = text
    return text


def _trace_id(type_name, field, value):
    """A trace id's JSON text ("" for none), or ValueError naming the value and what is wrong
    (the same rules as orchlog's parser: uppercase digits and all zeros are refused)."""
    if value is None:
        _missing(type_name, field, _KIND_TEXT["trace_id"])
    if not isinstance(value, str):
        raise _fail(type_name, field, f"expected {_KIND_TEXT['trace_id']}, got {_what(value)}")
    value = str.__str__(value)
    if value == "":
        return '""'
    if len(value) != 32:
        raise _fail(type_name, field, f"trace id {value[:80]!r} is {len(value)} characters long; "
                    "a W3C trace id is 32 lowercase hex digits (\"\": none)")
    for i, c in enumerate(value):
        if c not in _HEX:
            if c in "ABCDEF":
                raise _fail(type_name, field, f"trace id {value!r} has an uppercase hex digit at offset {i}; "
                            "a W3C trace id is lowercase (write it lowercased)")
            raise _fail(type_name, field, f"trace id {value!r} has a character that is not a hex digit at offset {i}; "
                        "a W3C trace id is 32 lowercase hex digits")
    if value == "0" * 32:
        raise _fail(type_name, field, f"trace id {value!r} is all zeros, which W3C trace-context defines as invalid (\"\": none)")
    return f'"{value}"'


def _enum(type_name, field, value, names):
    """An enumeration value's JSON text (`names` maps name -> JSON text) or ValueError."""
    allowed = ", ".join(names)
    if value is None:
        _missing(type_name, field, f"one of {allowed}")
    if isinstance(value, str):
        text = names.get(str.__str__(value))
        if text is not None:
            return text
        close = difflib.get_close_matches(str(value), list(names), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise _fail(type_name, field, f"{str(value)!r} is not one of {allowed}{hint}")
    raise _fail(type_name, field, f"expected one of {allowed} (str), got {_what(value)}")


def _flag(type_name, field, value):
    if value is None:
        _missing(type_name, field, _KIND_TEXT["flag"])
    raise _fail(type_name, field, f"expected True or False, got {_what(value)}")


def _whole(type_name, field, value, unit=""):
    """A whole number in 0...U64 from an int or an integral float, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(type_name, field, f"expected a whole number{unit} (int) in 0...{U64}, got {_what(value)}")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise _fail(type_name, field, f"expected a whole number{unit} in 0...{U64}, got {value!r}")
    number = int(value)
    if not 0 <= number <= U64:
        raise _fail(type_name, field, f"expected a whole number{unit} in 0...{U64}, got {number}")
    return number


def _number(type_name, field, value):
    if value is None:
        _missing(type_name, field, _KIND_TEXT["number"])
    return _whole(type_name, field, value)


def _seconds(type_name, field, value, required):
    """Nanoseconds from seconds (int, float or timedelta) given as `field` minus `_ns`."""
    name = field[:-3]
    if value is None:
        if required:
            _missing(type_name, field, f"give {name}= in seconds or {field}= in nanoseconds")
        return None
    if isinstance(value, datetime.timedelta):
        ns = (value.days * 86400 + value.seconds) * 1_000_000_000 + value.microseconds * 1000
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(type_name, name, f"expected seconds (int, float or timedelta) for {field}, got {_what(value)}")
    elif isinstance(value, float) and not math.isfinite(value):
        raise _fail(type_name, name, f"expected a finite number of seconds for {field}, got {value!r}")
    elif isinstance(value, int):
        ns = int(value) * 1_000_000_000
    else:
        ns = round(value * 1e9)
    if not 0 <= ns <= U64:
        raise _fail(type_name, name, f"expected seconds in 0...{U64 / 1e9:.0f} for {field}, got {value!r}")
    return ns


def _nanoseconds(type_name, field, seconds, value):
    """`field` (`*_ns`) given directly: whole nanoseconds; giving the seconds name too is an error."""
    if seconds is not None:
        raise _fail(type_name, field, f"give {field[:-3]}= (seconds) or {field}= (nanoseconds), not both")
    return _whole(type_name, field, value, " of nanoseconds")


def _alias(type_name, field, given, extra):
    """`**{"from": v}` for a field named like a keyword, taken as its `from_` parameter."""
    value = extra.pop(field)
    if given is not None:
        raise _fail(type_name, field, f"given both as {field}_= and as {field!r}")
    return value


def _unknown(type_name, extra, fields):
    names = []
    for f in fields:
        names.append(f"{f.seconds} (seconds) or {f.name}" if f.seconds else f.param)
    known = [f.param for f in fields] + [f.seconds for f in fields if f.seconds] + ["ts", "ts_ns"]
    bad = sorted(extra)
    close = difflib.get_close_matches(bad[0], known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"{type_name}(): no field{'s' if len(bad) > 1 else ''} {', '.join(map(repr, bad))}"
                     f"{hint} (its fields: {', '.join(names)}; and ts or ts_ns)")


def _when(type_name, ts, ts_ns):
    """The event time in nanoseconds since the epoch from ts (datetime or seconds) or ts_ns."""
    if ts is not None and ts_ns is not None:
        raise ValueError(f"{type_name}(): give ts= (datetime or epoch seconds) or ts_ns=, not both")
    if ts_ns is not None:
        if isinstance(ts_ns, bool) or not isinstance(ts_ns, int):
            raise ValueError(f"{type_name}(): ts_ns: expected nanoseconds since the epoch (int), got {_what(ts_ns)}")
        ns = int(ts_ns)
    elif isinstance(ts, datetime.datetime):
        if ts.tzinfo is None or ts.utcoffset() is None:
            raise ValueError(f"{type_name}(): ts: a naive datetime is ambiguous; give an aware one "
                             "(datetime.now(timezone.utc)) or epoch seconds")
        delta = ts - _EPOCH
        ns = (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    elif isinstance(ts, (int, float)) and not isinstance(ts, bool):
        if isinstance(ts, float) and not math.isfinite(ts):
            raise ValueError(f"{type_name}(): ts: expected finite epoch seconds, got {ts!r}")
        ns = int(ts) * 1_000_000_000 if isinstance(ts, int) else round(ts * 1e9)
    else:
        raise ValueError(f"{type_name}(): ts: expected a datetime or epoch seconds (int or float), got {_what(ts)}")
    if not 0 <= ns <= U64:
        raise ValueError(f"{type_name}(): ts: out of range: a log stores times from "
                         "1970-01-01T00:00:00Z to 2554-07-21T23:34:33.709551615Z")
    return ns


def _too_big(type_name, line, labels):
    sizes = {name: len(value.encode("utf-8")) for name, value in labels.items() if isinstance(value, str)}
    biggest = max(sizes, key=sizes.get) if sizes else "?"
    raise _fail(type_name, biggest, f"the event is {len(line)} bytes encoded, over the limit of "
                f"{MAX_EVENT_BYTES} bytes per event (this label has {sizes.get(biggest, 0)} bytes)")


# (whole seconds, "YYYY-MM-DDTHH:MM:SS") of the last timestamp formatted: one tuple, so a
# thread reads both halves of one consistent pair.
_ts_box = [(-1, "")]


def ts_text(ns):
    """Nanoseconds since the epoch as orchlog's RFC 3339 UTC text (9 fractional digits)."""
    s = ns // 1000000000
    p = _ts_box[0]
    if p[0] != s:
        p = _ts_prefix(s)
    return f"{p[1]}.{ns % 1000000000:09d}Z"


def _ts_prefix(seconds):
    pair = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    _ts_box[0] = pair
    return pair


# ---- the generated source ----

def _doc(t, fields):
    lines = [t.get("summary", ""), "", "Keyword arguments (NDJSON field names):", ""]
    for f in fields:
        need = "required" if f.required else "optional"
        if f.seconds:
            kind = f"duration: {f.seconds}= seconds (int, float, timedelta) or {f.name}= int nanoseconds"
        elif f.kind == "enum":
            kind = "enum: " + ", ".join(f.values)
        else:
            kind = f.kind
        alias = f" (the NDJSON field {f.name!r})" if f.param != f.name else ""
        lines.append(f"  {f.param}{alias}: {kind}; {need}. {f.doc}")
    lines += ["  ts: datetime (aware) or epoch seconds; or ts_ns: int. Default: now.", "",
              "Raises ValueError (naming the field) for a bad argument; never for transport."]
    return "\n".join(lines)


def _source(t, fields, send):
    tn = t["name"]
    params = []
    for f in fields:
        if f.seconds:
            params += [f"{f.seconds}=None", f"{f.name}=None"]
        else:
            params.append(f"{f.param}=None")
    name = tn if send else f"_encode_{tn}"
    body = [f"def {name}(self, *, {', '.join(params + ['ts=None', 'ts_ns=None'])}, **_x):",
            "    if _x:"]
    aliased = [f for f in fields if f.param != f.name]
    for f in aliased:
        body += [f"        if {f.name!r} in _x:",
                 f"            {f.param} = _alias({tn!r}, {f.name!r}, {f.param}, _x)"]
    if aliased:
        body += ["        if _x:", f"            _unknown({tn!r}, _x, _F_{tn})"]
    else:
        body += [f"        _unknown({tn!r}, _x, _F_{tn})"]
    parts = []
    for i, f in enumerate(fields):
        p, v, key = f.param, f"v{i}", f'"{f.name}":'
        ind = "    "
        if not f.required:
            body += [f"    if {(f.seconds + ' is None and ' + f.name) if f.seconds else p} is None:",
                     f"        {v} = ''", "    else:"]
            ind = "        "
        if f.kind == "label":
            body += [f"{ind}{v} = _lget({p}) if {p}.__class__ is str else None",
                     f"{ind}if {v} is None:", f"{ind}    {v} = _label({tn!r}, {f.name!r}, {p})"]
        elif f.kind == "enum":
            body += [f"{ind}{v} = _E{i}_{tn}.get({p}) if {p}.__class__ is str else None",
                     f"{ind}if {v} is None:", f"{ind}    {v} = _enum({tn!r}, {f.name!r}, {p}, _E{i}_{tn})"]
        elif f.kind == "trace_id":
            body += [f"{ind}{v} = _trace_id({tn!r}, {f.name!r}, {p})"]
        elif f.kind == "flag":
            body += [f"{ind}if {p} is True:", f"{ind}    {v} = 'true'",
                     f"{ind}elif {p} is False:", f"{ind}    {v} = 'false'",
                     f"{ind}else:", f"{ind}    {v} = _flag({tn!r}, {f.name!r}, {p})"]
        elif f.kind == "number":
            body += [f"{ind}if {p}.__class__ is int and 0 <= {p} <= {U64}:", f"{ind}    {v} = {p}",
                     f"{ind}else:", f"{ind}    {v} = _number({tn!r}, {f.name!r}, {p})"]
        elif f.kind == "duration":
            s, n = f.seconds, f.name
            body += [f"{ind}if {n} is None:",
                     f"{ind}    if {s}.__class__ is float and 0.0 <= {s} <= 1.8e10:",
                     f"{ind}        {v} = round({s} * 1e9)",
                     f"{ind}    elif {s}.__class__ is int and 0 <= {s} <= 18446744073:",
                     f"{ind}        {v} = {s} * 1000000000",
                     f"{ind}    else:",
                     f"{ind}        {v} = _seconds({tn!r}, {n!r}, {s}, True)",
                     f"{ind}elif {s} is None and {n}.__class__ is int and 0 <= {n} <= {U64}:",
                     f"{ind}    {v} = {n}",
                     f"{ind}else:",
                     f"{ind}    {v} = _nanoseconds({tn!r}, {n!r}, {s}, {n})"]
        else:
            raise RuntimeError(f"{tn}.{f.name}: unknown kind {f.kind!r}")
        if f.required:
            parts.append(f",{key}{{{v}}}")
        else:
            body.append(f"{ind}{v} = f',{key}{{{v}}}'")
            parts.append(f"{{{v}}}")
    labels = ", ".join(f"{f.name!r}: {f.param}" for f in fields if f.kind == "label")
    body += ["    if ts is None and ts_ns is None:", "        n = _time_ns()", "    else:",
             f"        n = _when({tn!r}, ts, ts_ns)",
             "    s = n // 1000000000", "    p = _ts_box[0]", "    if p[0] != s:", "        p = _ts_prefix(s)",
             "    b = f'{{\"type\":\"" + tn + "\",\"ts\":\"{p[1]}.{n % 1000000000:09d}Z\",{self._src}"
             + "".join(parts) + "}}\\n'.encode()",
             f"    if len(b) > {MAX_EVENT_BYTES}:", f"        _too_big({tn!r}, b, {{{labels}}})"]
    if send:
        body += ["    if self._unreported:", "        return self._send_slow(b)",
                 "    try:", "        self._sock.sendto(b, self._address)",
                 "    except OSError:", "        self._drop()"]
    else:
        body.append("    return b")
    return "\n".join(body) + "\n"


def build(schema):
    """{name: function} for every event type: the public method and `_encode_<type>`."""
    namespace = {
        "_lget": _label_cache.get, "_label": _label, "_enum": _enum, "_flag": _flag, "_trace_id": _trace_id,
        "_number": _number, "_seconds": _seconds, "_nanoseconds": _nanoseconds,
        "_alias": _alias, "_unknown": _unknown, "_when": _when, "_too_big": _too_big,
        "_ts_box": _ts_box, "_ts_prefix": _ts_prefix, "_time_ns": time.time_ns,
    }
    functions = {}
    for t in schema["types"]:
        fields = [_Field(spec) for spec in t["fields"]]
        taken = {"ts", "ts_ns", "self"}
        for f in fields:
            for p in filter(None, (f.param, f.seconds)):
                if p in taken:
                    raise RuntimeError(f"{t['name']}: parameter {p!r} would be taken twice")
                taken.add(p)
        namespace[f"_F_{t['name']}"] = fields
        for i, f in enumerate(fields):
            if f.kind == "enum":
                namespace[f"_E{i}_{t['name']}"] = {v: json.dumps(v) for v in f.values}
        for send in (True, False):
            text = _source(t, fields, send)
            filename = f"<orchlog generated {t['name'] if send else '_encode_' + t['name']}>"
            linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
            exec(compile(text, filename, "exec"), namespace)
            fn = namespace[t["name"] if send else f"_encode_{t['name']}"]
            fn.__doc__ = _doc(t, fields)
            fn.__module__ = "orchlog"
            functions[fn.__name__] = fn
    return functions
