#!/usr/bin/env bash
# Checks the Prometheus rules and runs their unit tests with promtool.
#
#   scripts/check-alerts.sh        # from anywhere; exit 0 ok, 1 a check failed, 2 setup
#
# promtool comes with Debian's `prometheus` package.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! command -v promtool >/dev/null 2>&1; then
    echo "check-alerts: promtool not found (apt-get install prometheus)" >&2
    exit 2
fi

shopt -s nullglob
# Rule files are alerts/*.rules.yml, never alerts/*.yml: alerts/thresholds.example.yml
# is an `orchlog rules` thresholds file, not a rule file, and promtool would reject it.
rules=(alerts/*.rules.yml)
tests=(alerts/tests/*.yml)
if (( ${#rules[@]} == 0 )); then
    echo "check-alerts: no rule files alerts/*.rules.yml" >&2
    exit 1
fi
if (( ${#tests[@]} == 0 )); then
    echo "check-alerts: no rule tests alerts/tests/*.yml" >&2
    exit 1
fi

if ! promtool check rules "${rules[@]}"; then
    echo "check-alerts: promtool check rules failed" >&2
    exit 1
fi
if ! promtool test rules "${tests[@]}"; then
    echo "check-alerts: promtool test rules failed" >&2
    exit 1
fi
echo "check-alerts: ok (${#rules[@]} rule file(s), ${#tests[@]} test file(s))"
