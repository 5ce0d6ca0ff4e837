#!/usr/bin/env bash
# Makes docs/status-page.png: the collector's status page (/) in headless Chromium, seven
# seconds into a production-naive run paced to span 20 s (a simulated day), sampled every
# 0.5 s. Usage: scripts/status-screenshot.sh [BIN_DIR] [OUT.png]   (needs `chromium`)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/.build/debug}
out=${2:-$root/docs/status-page.png}
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
"$bin/orchlog-collector" --log.dir "$dir/root" --web.listen-address 127.0.0.1:0 --status.sample-interval 0.5 2> "$dir/collector.err" &
pids+=($!)
port=
for _ in $(seq 100); do
  port=$(sed -n 's|.*serving http://[^:]*:\([0-9]*\)/.*|\1|p' "$dir/collector.err")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "status-screenshot: the collector did not start: $(cat "$dir/collector.err")" >&2; exit 1; }
"$bin/reference-orchestrator" --scenario production-naive --out "$dir/root" --duration 1d --speed 4320 --quiet > "$dir/orchestrator.out" 2>&1 &
pids+=($!)
sleep 7
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$dir/chromium" \
  --window-size=1400,560 --screenshot="$out" "http://127.0.0.1:$port/" 2> "$dir/chromium.err" >/dev/null
echo "status-screenshot: wrote $out"
