#!/usr/bin/env python3
"""Detection at real pace (make test-detection; issue 23).

Every fault scenario of the reference orchestrator at `--speed 1` (12,000 and 120,000
invocations a day), plus pilot and production-hardened, all in parallel. Each run has its own
temp dir, its own orchlog-collector and its own real Prometheus (free loopback ports) that
scrapes every 5 s and evaluates the shipped alerts/orchlog.rules.yml, unmodified, every 5 s.
The script polls each Prometheus' /api/v1/alerts every 5 s and records every alert episode:
when it went pending (Prometheus' activeAt), when it was first seen firing, when it was gone
again, relative to the fault's onset and end. It writes a markdown table and the JSON of every
episode, and exits 1 when a target is missed:

  - a fault run's own failure-mode alert (a rule of its failure mode's group) goes pending
    <= 2 min after onset and fires <= 5 min after onset at 12,000/day, <= 3 min at 120,000/day;
  - no alert of another failure mode's group goes pending in a fault run;
  - pilot and production-hardened fire no alert at all;
  - every alert that went pending is gone <= 10 min after the fault ends.

Each Prometheus starts with --history (default 3d) of healthy traffic backfilled, as a Prometheus
that has scraped the orchestrator for days would hold it: the SLO rules' long windows (1h to 3d)
then hold what they hold in production instead of only the run's own minutes. The history is the
run's scenario without its fault (production-hardened, or pilot) at the same rate and daily
profile, simulated hour by hour for the hours before the run, each hour's counters read by
`orchlog-collector --once`; it covers the families the SLO rules read (orch_invocations_total,
orch_invocation_duration_seconds, orch_llm_cost_usd_total), one sample a minute, the same series
(job, instance, source) the live scrape writes, through `promtool tsdb create-blocks-from
openmetrics`. `--history 0` runs without it (a Prometheus started with the orchestrator).

  scripts/test-detection.py [--bin-dir .build/debug] [--out data/detection] [--duration 1800]
                            [--fault-start 600] [--fault-duration 600] [--only RUN,...] [--keep]
                            [--history 3d]

Only the Python standard library; prometheus from scripts/deps.sh.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES = os.path.join(ROOT, "alerts", "orchlog.rules.yml")
INTERVAL = 5  # scrape, evaluation and poll interval, seconds

# The failure modes: each fault scenario's own rule group.
MODE_GROUPS = {"orchlog.state": "state", "orchlog.memory": "memory", "orchlog.tools": "tools", "orchlog.llm": "llm"}
FAULTS = {"tool-outage": "tools", "llm-quota-cut": "llm", "hot-key-contention": "state", "memory-slowdown": "memory"}
# (scenario, invocations per day)
RUNS = [(s, 12_000) for s in FAULTS] + [(s, 120_000) for s in FAULTS] + [
    ("pilot", 600), ("production-hardened", 12_000), ("production-hardened", 120_000)]
TARGETS = {12_000: (120, 300), 120_000: (None, 180)}  # rate -> (pending, firing) seconds after onset
RESOLVE_WITHIN = 600
# The families the SLO recording rules read over windows longer than a run (their history).
HISTORY_FAMILIES = ("orch_invocations_total", "orch_invocation_duration_seconds_bucket",
                    "orch_invocation_duration_seconds_count", "orch_invocation_duration_seconds_sum",
                    "orch_llm_cost_usd_total")
HISTORY_STEP = 60  # seconds between backfilled samples


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


class Run:
    def __init__(self, scenario, rate, args):
        self.scenario, self.rate = scenario, rate
        self.name = "%s@%d" % (scenario, rate)
        self.source = "%s-%d" % (scenario, rate)
        self.fault = scenario in FAULTS
        self.dir = tempfile.mkdtemp(prefix="orchlog-detection-%s-" % self.source)
        self.args = args
        self.procs = {}
        self.episodes = {}  # key -> list of episode dicts (the last one maybe open)
        self.t0 = None
        self.alert_groups = {}

    def log(self, name):
        return open(os.path.join(self.dir, name + ".log"), "w")

    def start_servers(self):
        root = os.path.join(self.dir, "root")
        os.makedirs(root)
        port = self.collector_port = free_port()
        self.procs["collector"] = subprocess.Popen(
            [os.path.join(self.args.bin_dir, "orchlog-collector"), "--web.listen-address", "127.0.0.1:%d" % port,
             "--log.dir", root], stdout=subprocess.DEVNULL, stderr=self.log("collector"))

    @property
    def history_base(self):
        """The scenario whose healthy traffic is this run's history: the run's own without its fault."""
        return "pilot" if self.scenario == "pilot" else "production-hardened"

    def backfill(self, history):
        """Writes the history (hour -> {series: counter value at the hour's end}) into the run's TSDB."""
        tsdb = os.path.join(self.dir, "tsdb")
        path = os.path.join(self.dir, "history.om")
        instance = "127.0.0.1:%d" % self.collector_port
        with open(path, "w") as f:
            for family in HISTORY_FAMILIES:
                series = sorted({k for _, values in history for k in values if k.startswith(family + "{")})
                if not series:
                    continue
                f.write("# TYPE %s unknown\n" % family)
                for key in series:
                    labels = key[len(family) + 1:-1]
                    labels = re.sub(r'(^|,)source="[^"]*"', r'\1source="%s"' % self.source, labels)
                    # Bucket bounds as the live scrape stores them: Prometheus asks the collector
                    # for OpenMetrics, whose bounds are canonical floats (le="60.0", not "60").
                    labels = re.sub(r'(^|,)le="([^"+]+)"', lambda m: '%sle="%r"' % (m.group(1), float(m.group(2))), labels)
                    name = '%s{job="orchlog",instance="%s",%s}' % (family, instance, labels)
                    total = 0.0
                    for (start, end), values in history:
                        inc = values.get(key, 0.0)
                        for t in range(start + HISTORY_STEP, end + 1, HISTORY_STEP):
                            f.write("%s %r %d\n" % (name, total + inc * (t - start) / (end - start), t))
                        total += inc
            f.write("# EOF\n")
        r = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", path, tsdb],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise SystemExit("detection: backfill of %s failed: %s" % (self.name, r.stderr[-2000:]))
        os.remove(path)

    def start_prometheus(self):
        port = self.collector_port
        self.prom_port = free_port()
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: %ds\n  evaluation_interval: %ds\nrule_files:\n  - %s\n"
                    "scrape_configs:\n  - job_name: orchlog\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
                    % (INTERVAL, INTERVAL, json.dumps(RULES), port))
        self.procs["prometheus"] = subprocess.Popen(
            ["prometheus", "--config.file", config, "--storage.tsdb.path", os.path.join(self.dir, "tsdb"),
             "--web.listen-address", "127.0.0.1:%d" % self.prom_port],
            stdout=subprocess.DEVNULL, stderr=self.log("prometheus"))

    def prom(self, path):
        return get_json("http://127.0.0.1:%d%s" % (self.prom_port, path))

    def wait_ready(self, deadline):
        while time.time() < deadline:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise SystemExit("detection: %s of %s exited (%s/%s.log)" % (name, self.name, self.dir, name))
            try:
                groups = self.prom("/api/v1/rules")["data"]["groups"]
                targets = self.prom("/api/v1/targets")["data"]["activeTargets"]
                if groups and targets and targets[0]["health"] == "up":
                    for g in groups:
                        for r in g["rules"]:
                            if r["type"] == "alerting":
                                self.alert_groups[r["name"]] = g["name"]
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise SystemExit("detection: Prometheus of %s not ready (%s)" % (self.name, self.dir))

    def start_orchestrator(self, t0):
        self.t0 = t0
        a = self.args
        cmd = [os.path.join(a.bin_dir, "reference-orchestrator"), "--scenario", self.scenario, "--out",
               os.path.join(self.dir, "root"), "--source", self.source, "--speed", "1", "--duration", str(a.duration),
               "--start-time", str(t0), "--quiet", "--summary-json", os.path.join(self.dir, "summary.json")]
        cmd += ["--invocations-per-day", str(self.rate)]
        if self.fault:
            cmd += ["--fault-start", str(a.fault_start), "--fault-duration", str(a.fault_duration)]
        self.command = " ".join(["reference-orchestrator"] + cmd[1:])
        self.procs["orchestrator"] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log("orchestrator"))

    def poll(self, now):
        try:
            alerts = self.prom("/api/v1/alerts")["data"]["alerts"]
        except (OSError, ValueError, KeyError) as e:
            print("detection: %s: poll failed: %s" % (self.name, e), file=sys.stderr)
            return
        seen = set()
        for al in alerts:
            labels = dict(al["labels"])
            name = labels.pop("alertname")
            key = name + "{" + ",".join("%s=%s" % kv for kv in sorted(labels.items())) + "}"
            seen.add(key)
            eps = self.episodes.setdefault(key, [])
            active = parse_time(al["activeAt"])
            if not eps or eps[-1]["resolved"] is not None:
                eps.append({"alert": name, "labels": labels, "group": self.alert_groups.get(name, "?"),
                            "pending": active, "firing": None, "resolved": None})
            if al["state"] == "firing" and eps[-1]["firing"] is None:
                eps[-1]["firing"] = now
        for key, eps in self.episodes.items():
            if key not in seen and eps[-1]["resolved"] is None:
                eps[-1]["resolved"] = now

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        if not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def parse_duration(text):
    m = re.fullmatch(r"(\d+)([smhd]?)", text)
    if not m:
        raise argparse.ArgumentTypeError("a duration: seconds, or 90m, 6h, 3d")
    return int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def history_hour(a, scenario, rate, start, seed, work):
    """One hour of healthy traffic from `start`: {series: counter value} of the history families."""
    d = tempfile.mkdtemp(prefix="hour-", dir=work)
    r = subprocess.run([os.path.join(a.bin_dir, "reference-orchestrator"), "--scenario", scenario, "--out", d,
                        "--source", "history", "--duration", "1h", "--start-time", str(start), "--seed", str(seed),
                        "--invocations-per-day", str(rate), "--quiet"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit("detection: history of %s@%d failed: %s" % (scenario, rate, r.stderr[-2000:]))
    r = subprocess.run([os.path.join(a.bin_dir, "orchlog-collector"), "--log.dir", d, "--once"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit("detection: history of %s@%d: collector failed: %s" % (scenario, rate, r.stderr[-2000:]))
    shutil.rmtree(d, ignore_errors=True)
    values = {}
    for line in r.stdout.splitlines():
        if line.startswith(HISTORY_FAMILIES):
            key, _, value = line.rpartition(" ")
            values[key] = float(value)
    return values


def histories(runs, a, end):
    """(scenario, rate) -> [((start, end), values)] for the hours before `end`, simulated in parallel."""
    wanted = sorted({(r.history_base, r.rate) for r in runs})
    hours = a.history // 3600
    work = tempfile.mkdtemp(prefix="orchlog-detection-history-")
    try:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            jobs = {(s, rate, h): pool.submit(history_hour, a, s, rate, end - (hours - h) * 3600, 1000 + h, work)
                    for s, rate in wanted for h in range(hours)}
            return {(s, rate): [((end - (hours - h) * 3600, end - (hours - h - 1) * 3600), jobs[(s, rate, h)].result())
                                for h in range(hours)] for s, rate in wanted}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def parse_time(text):
    # 2026-12-03T11:20:41.123456789Z (nanoseconds: Python takes microseconds).
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?Z", text)
    if not m:
        return time.time()
    import calendar
    whole = calendar.timegm(tuple(int(m.group(i)) for i in range(1, 7)))
    return whole + (float(m.group(7)) if m.group(7) else 0)


def evaluate(run, a):
    """The run's row: relative times (s) and the targets it misses."""
    onset = run.t0 + a.fault_start
    end = onset + a.fault_duration
    eps = [e for es in run.episodes.values() for e in es]
    rel = lambda t, base: None if t is None else round(t - base)
    row = {"run": run.name, "scenario": run.scenario, "rate": run.rate, "source": run.source, "command": run.command,
           "episodes": [dict(e, pending=rel(e["pending"], onset), firing=rel(e["firing"], onset),
                             resolved_after_fault_end=rel(e["resolved"], end), resolved=None) for e in eps],
           "misses": []}
    for e in row["episodes"]:
        e.pop("resolved")
    miss = row["misses"]
    if run.fault:
        mode = FAULTS[run.scenario]
        own = [e for e in row["episodes"] if MODE_GROUPS.get(e["group"]) == mode]
        pend = [e["pending"] for e in own if e["pending"] is not None]
        fire = [e["firing"] for e in own if e["firing"] is not None]
        row["own_pending"] = min(pend) if pend else None
        row["own_firing"] = min(fire) if fire else None
        row["own_first"] = min(own, key=lambda e: e["firing"] if e["firing"] is not None else 1e9)["alert"] if fire else None
        limit_pending, limit_firing = TARGETS.get(run.rate, TARGETS[12_000])
        if row["own_firing"] is None:
            miss.append("own %s alert never fired" % mode)
        else:
            if row["own_firing"] > limit_firing:
                miss.append("own alert fired at +%ds (target <= %ds)" % (row["own_firing"], limit_firing))
            if limit_pending is not None and (row["own_pending"] is None or row["own_pending"] > limit_pending):
                miss.append("own alert pending at +%ss (target <= %ds)" % (row["own_pending"], limit_pending))
        if any(p < -INTERVAL for p in pend):
            miss.append("own alert pending before the onset (%+ds)" % min(pend))
        for e in row["episodes"]:
            if e["group"] in MODE_GROUPS and MODE_GROUPS[e["group"]] != mode:
                miss.append("other failure mode: %s pending" % e["alert"])
    else:
        for e in row["episodes"]:
            if e["firing"] is not None:
                miss.append("%s fired" % e["alert"])
    for e in row["episodes"]:
        r = e["resolved_after_fault_end"]
        if r is None or r > RESOLVE_WITHIN:
            miss.append("%s not resolved <= %ds after the fault ended" % (e["alert"], RESOLVE_WITHIN))
    return row


def fmt(v):
    return "—" if v is None else "%+d s" % v


def markdown(rows, a):
    out = ["Measured by `make test-detection` (`scripts/test-detection.py`): each run at `--speed 1 --duration %d`,"
           " fault from %d s to %d s (`--fault-start %d --fault-duration %d`), its own collector and Prometheus"
           " (scrape and evaluation every %d s) with `alerts/orchlog.rules.yml` unmodified, %s. Times are relative to the"
           " fault's onset; \"resolved\" is relative to the fault's end." % (
               a.duration, a.fault_start, a.fault_start + a.fault_duration, a.fault_start, a.fault_duration, INTERVAL,
               "started with %d h of the scenario's healthy traffic backfilled (`--history`)" % (a.history // 3600)
               if a.history >= 3600 else "started empty with the orchestrator (`--history 0`)"), "",
           "| run | own alert pending | own alert firing (first) | own resolved after fault end | other failure modes | other alerts (pending → firing → resolved) | targets |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        eps = r["episodes"]
        if r["scenario"] in FAULTS:
            mode = FAULTS[r["scenario"]]
            own = [e for e in eps if MODE_GROUPS.get(e["group"]) == mode]
            others = [e for e in eps if e["group"] in MODE_GROUPS and MODE_GROUPS[e["group"]] != mode]
            rest = [e for e in eps if e["group"] not in MODE_GROUPS]
            resolved = [e["resolved_after_fault_end"] for e in own]
            own_res = "—" if not own else ("not resolved" if None in resolved else fmt(max(resolved)))
            first = "%s (`%s`)" % (fmt(r["own_firing"]), r["own_first"]) if r["own_firing"] is not None else "**none**"
            cells = [fmt(r["own_pending"]), first, own_res]
        else:
            others, rest = [e for e in eps if e["group"] in MODE_GROUPS], [e for e in eps if e["group"] not in MODE_GROUPS]
            cells = ["—", "—", "—"]
        def lst(es):
            """Per alert name: episodes, first pending, first firing, last resolution after the fault's end."""
            out, names = [], []
            for e in es:
                if e["alert"] not in names:
                    names.append(e["alert"])
            for n in names:
                mine = [e for e in es if e["alert"] == n]
                fired = [e["firing"] for e in mine if e["firing"] is not None]
                res = [e["resolved_after_fault_end"] for e in mine]
                out.append("`%s`%s pending %s, %s, %s" % (
                    n, "" if len(mine) == 1 else " ×%d" % len(mine), fmt(min(e["pending"] for e in mine)),
                    "firing %s" % fmt(min(fired)) if fired else "never firing",
                    "not resolved" if None in res else "resolved %s after the end" % fmt(max(res))))
            return "—" if not out else "; ".join(out)
        misses = []
        for m in r["misses"]:
            if m not in misses:
                misses.append(m)
        cells += [lst(others), lst(rest), "met" if not misses else "**missed**: " + "; ".join(misses)]
        out.append("| %s at %s/day | %s |" % (r["scenario"], "{:,}".format(r["rate"]), " | ".join(cells)))
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin-dir", default=os.path.join(ROOT, ".build", "debug"))
    p.add_argument("--out", default=os.path.join(ROOT, "data", "detection"))
    p.add_argument("--duration", type=int, default=1800)
    p.add_argument("--fault-start", type=int, default=600)
    p.add_argument("--fault-duration", type=int, default=600)
    p.add_argument("--only", default="", help="comma-separated runs (scenario or scenario@rate)")
    p.add_argument("--keep", action="store_true", help="keep each run's temp dir (its Prometheus TSDB)")
    p.add_argument("--history", type=parse_duration, default=3 * 86400,
                   help="healthy history backfilled before each run (whole hours; 0: none; default 3d)")
    a = p.parse_args()
    if shutil.which("prometheus") is None:
        raise SystemExit("detection: prometheus is not installed (scripts/deps.sh installs it)")
    # SIGTERM (and SIGINT, even where a background job ignores it) stops every run cleanly.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(130))
    runs = [Run(s, r, a) for s, r in RUNS]
    if a.only:
        wanted = a.only.split(",")
        runs = [r for r in runs if r.name in wanted or r.scenario in wanted]
    try:
        for r in runs:
            r.start_servers()
        if a.history >= 3600:
            started = time.time()
            end = int(started) - 60
            hist = histories(runs, a, end)
            for r in runs:
                r.backfill(hist[(r.history_base, r.rate)])
            print("detection: %d h of history backfilled in %.0f s" % (a.history // 3600, time.time() - started),
                  file=sys.stderr)
        for r in runs:
            r.start_prometheus()
        deadline = time.time() + 120
        for r in runs:
            r.wait_ready(deadline)
        t0 = int(time.time()) + 1
        time.sleep(max(0, t0 - time.time()))
        for r in runs:
            r.start_orchestrator(t0)
        print("detection: %d runs started at %s, %d s each; fault %d–%d s" % (
            len(runs), time.strftime("%H:%M:%S", time.localtime(t0)), a.duration, a.fault_start, a.fault_start + a.fault_duration),
            file=sys.stderr)
        last_report = 0
        while any(r.procs["orchestrator"].poll() is None for r in runs):
            now = time.time()
            for r in runs:
                r.poll(now)
            if now - last_report >= 60:
                last_report = now
                active = sorted({"%s:%s" % (r.source, e["alert"]) for r in runs for es in r.episodes.values()
                                 for e in es[-1:] if e["resolved"] is None})
                print("detection: +%d s, active: %s" % (now - t0, ", ".join(active) or "none"), file=sys.stderr)
            time.sleep(max(0, INTERVAL - (time.time() - now)))
        for r in runs:
            status = r.procs["orchestrator"].returncode
            if status != 0:
                raise SystemExit("detection: orchestrator of %s exited %d (%s/orchestrator.log)" % (r.name, status, r.dir))
        rows = [evaluate(r, a) for r in runs]
    finally:
        for r in runs:
            r.stop()
        if a.keep:
            print("detection: kept " + " ".join(r.dir for r in runs), file=sys.stderr)
    os.makedirs(a.out, exist_ok=True)
    table = markdown(rows, a)
    with open(os.path.join(a.out, "detection.md"), "w") as f:
        f.write(table)
    with open(os.path.join(a.out, "detection.json"), "w") as f:
        json.dump({"duration": a.duration, "fault_start": a.fault_start, "fault_duration": a.fault_duration,
                   "interval": INTERVAL, "runs": rows}, f, indent=2)
    print(table)
    missed = [r["run"] for r in rows if r["misses"]]
    print("detection: %s (%s)" % ("targets met" if not missed else "targets missed by " + ", ".join(missed),
                                  os.path.join(a.out, "detection.md")), file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
