"""The package's schema is exactly what the orchlog binary prints, and every type has its method."""
import inspect
import json
import keyword
import os
import subprocess
import sys

import orchlog
from orchlog import schema

from conftest import PACKAGE_ROOT


def test_schema_module_equals_orchlog_schema_json(orchlog_bin):
    out = subprocess.run([orchlog_bin, "schema", "-o", "json"], check=True, capture_output=True, text=True).stdout
    assert json.loads(out) == schema.SCHEMA
    assert schema.NDJSON_VERSION == json.loads(out)["ndjson_version"]


def test_generator_check_finds_no_drift(orchlog_bin):
    tool = os.path.join(PACKAGE_ROOT, "tools", "generate_schema.py")
    run = subprocess.run([sys.executable, tool, "--check", "--orchlog", orchlog_bin], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_generator_check_fails_against_a_different_schema(tmp_path):
    fake = tmp_path / "orchlog"
    doc = {"ndjson_version": 1, "types": schema.SCHEMA["types"][:1]}
    (tmp_path / "schema.json").write_text(json.dumps(doc))
    fake.write_text(f"#!/bin/sh\ncat '{tmp_path / 'schema.json'}'\n")
    fake.chmod(0o755)
    tool = os.path.join(PACKAGE_ROOT, "tools", "generate_schema.py")
    run = subprocess.run([sys.executable, tool, "--check", "--orchlog", str(fake)], capture_output=True, text=True)
    assert run.returncode == 1 and "differs" in run.stderr


def test_client_dropped_is_a_reason_events_dropped_takes():
    reason = [f for f in schema.TYPES["events_dropped"]["fields"] if f["name"] == "reason"][0]
    assert "client_dropped" in reason["values"]
    assert [f["name"] for f in schema.TYPES["events_dropped"]["fields"]] == ["count", "reason"]


def test_every_schema_type_has_a_method_named_after_it_taking_its_fields():
    assert len(schema.SCHEMA["types"]) >= 14
    for t in schema.SCHEMA["types"]:
        method = getattr(orchlog.Client, t["name"])
        params = inspect.signature(method).parameters
        expected = ["self"]
        for f in t["fields"]:
            name = f["name"] + "_" if keyword.iskeyword(f["name"]) else f["name"]
            if f["kind"] == "duration":
                assert f["name"].endswith("_ns") and f["unit"] == "ns"
                expected += [f["name"][:-3], f["name"]]
            else:
                expected.append(name)
        expected += ["ts", "ts_ns", "_x"]
        assert list(params) == expected, t["name"]
        assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for n, p in params.items() if n != "self")
        assert t["summary"] in method.__doc__
        assert callable(getattr(orchlog.Client, "_encode_" + t["name"]))


def test_no_stray_methods_beyond_the_schema():
    generated = {n for n in vars(orchlog.Client) if n in schema.TYPES or n.startswith("_encode_")}
    assert generated == set(schema.TYPES) | {"_encode_" + n for n in schema.TYPES}
