"""The examples run against a receiver socket, and docs/python.md shows them as they are."""
import json
import keyword
import os
import re
import subprocess
import sys

import pytest

import orchlog

from conftest import PACKAGE_ROOT, REPO_ROOT, Receiver, lines_of

EXAMPLES = os.path.join(PACKAGE_ROOT, "examples")
GUIDE = os.path.join(REPO_ROOT, "docs", "python.md")

# example file -> (source it names, event types it sends, in order or as a multiset)
EXPECTED = {
    "quickstart.py": ("checkout-api", ["invocation_started", "llm_request", "tool_call", "state_write",
                                       "invocation_finished"]),
    "errors_and_drops.py": ("checkout-api", ["tool_call"]),
    "asyncio_agent.py": ("async-worker", ["tool_call"] * 30 + ["queue_sample"]),
    "forking_workers.py": ("pool-worker", ["invocation_started", "invocation_finished"] * 8 + ["worker_pool_sample"]),
}


def run_example(name, socket_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, os.path.join(EXAMPLES, name), socket_path],
                          capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_sends_its_events(name, sockdir):
    r = Receiver(os.path.join(sockdir, "ingest.sock"), rcvbuf=1 << 20)
    run = run_example(name, r.path)
    assert run.returncode == 0, run.stderr
    events = [json.loads(x) for g in r.datagrams() for x in lines_of(g)]
    source, types = EXPECTED[name]
    assert {e["source"] for e in events} == {source}
    assert sorted(e["type"] for e in events) == sorted(types)
    for e in events:  # every line is a complete event of its type
        fields = {f["name"] for f in orchlog.TYPES[e["type"]]["fields"]}
        assert set(e) - {"type", "ts", "source"} <= fields
    r.close()


def test_examples_with_the_relay_down_still_exit_zero(sockdir):
    run = run_example("quickstart.py", os.path.join(sockdir, "absent.sock"))
    assert run.returncode == 0 and run.stdout.strip() == "5 events dropped"
    run = run_example("errors_and_drops.py", os.path.join(sockdir, "absent.sock"))
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "tool_call(): field \"outcome\": 'timed_out' is not one of success, error, timeout, short_circuited; "
        "did you mean 'timeout'?",
        "dropped 1, of which reported in-band 0"]


def test_every_example_region_is_in_the_guide_verbatim():
    with open(GUIDE, encoding="utf-8") as f:
        guide = f.read()
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    regions = 0
    for name in sorted(os.listdir(EXAMPLES)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(EXAMPLES, name), encoding="utf-8") as f:
            text = f.read()
        found = re.findall(r"# docs: begin (\w+)\n(.*?)# docs: end \1\n", text, re.S)
        assert found, f"{name} has no docs region"
        for label, body in found:
            regions += 1
            assert body in blocks, f"docs/python.md lacks the {label!r} block of examples/{name} as it is"
    assert regions == len(EXPECTED)


def test_the_swift_guide_shows_the_quickstart_verbatim():
    """docs/instrumenting.md's Python section is the quickstart region, as the tests run it."""
    with open(os.path.join(EXAMPLES, "quickstart.py"), encoding="utf-8") as f:
        body = re.search(r"# docs: begin quickstart\n(.*?)# docs: end quickstart\n", f.read(), re.S).group(1)
    with open(os.path.join(REPO_ROOT, "docs", "instrumenting.md"), encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    assert blocks == [body]


def method_table():
    """The guide's table of methods, from the schema (what the test expects the guide to hold)."""
    rows = ["| method | keyword arguments (**bold**: required) |", "|---|---|"]
    for t in orchlog.SCHEMA["types"]:
        args = []
        for f in t["fields"]:
            if f["kind"] == "duration":
                text = f"`{f['name'][:-3]}`/`{f['name']}`"
            elif keyword.iskeyword(f["name"]):
                text = f"`{f['name']}_`"
            else:
                text = f"`{f['name']}`"
            if f["kind"] == "enum":
                text += " (" + ", ".join(f["values"]) + ")"
            args.append(f"**{text}**" if f["required"] else text)
        rows.append(f"| `{t['name']}` | {', '.join(args)} |")
    return "\n".join(rows) + "\n"


def test_the_guides_method_table_matches_the_schema():
    with open(GUIDE, encoding="utf-8") as f:
        guide = f.read()
    table = method_table()
    assert table in guide, "docs/python.md's method table is stale; it should read:\n" + table
