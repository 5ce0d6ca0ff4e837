#!/usr/bin/env bash
# make demo: an event source and the collector, with the URLs to look at. Ctrl-C stops both.
set -euo pipefail
bin=$1
dir=$2
port=${ORCHLOG_DEMO_PORT:-9478}
mkdir -p "$dir"
pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo
  echo "stopped. The logs stay in $dir (inspect them: $bin/orchlog inspect $dir)."
}
trap cleanup INT TERM EXIT

if [ -x "$bin/reference-orchestrator" ] && "$bin/reference-orchestrator" --help 2>/dev/null | grep -q -- --scenario; then
  "$bin/reference-orchestrator" --scenario "${ORCHLOG_DEMO_SCENARIO:-llm-rate-limit-saturation}" --out "$dir/orchestrator" --speed "${ORCHLOG_DEMO_SPEED:-60}" \
    > "$dir/orchestrator.out" 2>&1 &
else
  "$bin/orchlog" generate --out "$dir/generator" --rate 2000 > "$dir/generator.out" 2>&1 &
fi
pids+=($!)
"$bin/orchlog-collector" --log.dir "$dir" --checkpoint.file "$dir/collector.checkpoint" --web.listen-address ":$port" \
  2> "$dir/collector.err" &
pids+=($!)
for _ in $(seq 50); do curl -fs "http://localhost:$port/-/ready" >/dev/null 2>&1 && break; sleep 0.1; done
cat <<MSG

orchlog demo is running.
  metrics:        http://localhost:$port/metrics
  landing page:   http://localhost:$port/
  live events:    $bin/orchlog tail -f $dir
  log summary:    $bin/orchlog inspect $dir
Press Ctrl-C to stop.
MSG
curl -s "http://localhost:$port/metrics" | grep -E '^orch_invocations_total' | head -5 || true
wait
