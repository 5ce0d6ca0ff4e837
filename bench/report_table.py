#!/usr/bin/env python3
"""Turns `orchlog-bench --json` output into the Markdown table BENCHMARKS.md carries:
one row per figure with its median, spread (p10–p90 over runs), target and verdict, and the
stricter goal (beyond the issue's target) and its verdict where the figure has one.
Usage: orchlog-bench --json > run.json; bench/report_table.py run.json
"""
import json
import sys


def fmt(x):
    if isinstance(x, str):
        return x
    a = abs(x)
    if a == 0:
        return "0"
    if a >= 1e6:
        return f"{x / 1e6:.2f} M"
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 0.1:
        return f"{x:.3g}"
    return f"{x:.2g}"


def main():
    report = json.load(open(sys.argv[1]))
    m = report["machine"]
    print(f"Run on {m['cpus']} CPUs ({m['cpuModel']}), {m['memoryBytes'] >> 20} MiB, Linux {m['kernel']}"
          f"{' — QUICK (not for quoting)' if report['quick'] else ''}.\n")
    print("| benchmark | figure | median | p10 – p90 (runs) | target | met | stricter goal | met |")
    print("|---|---|---:|---|---|---|---|---|")
    for b in report["benchmarks"]:
        for f in b["figures"]:
            s = f["stats"]
            spread = f"{fmt(s['p10'])} – {fmt(s['p90'])} ({s['runs']})" if s["runs"] > 1 else "1 run"
            target = f"{f['target']['direction']} {fmt(f['target']['value'])}" if f.get("target") else ""
            met = {True: "yes", False: "**no**", None: ""}[f.get("met")]
            goal = f"{f['goal']['direction']} {fmt(f['goal']['value'])}" if f.get("goal") else ""
            goal_met = {True: "yes", False: "**no**", None: ""}[f.get("goalMet")]
            print(f"| {b['name']} | `{f['name']}` | {fmt(s['median'])} {f['unit']} | {spread} | {target} | {met} | {goal} | {goal_met} |")
        for note in b.get("notes", []):
            if note.startswith("error"):
                print(f"| {b['name']} | {note} | | | | | | |")


if __name__ == "__main__":
    main()
