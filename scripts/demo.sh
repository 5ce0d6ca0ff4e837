#!/usr/bin/env bash
# make demo: the reference orchestrator reproducing the incident (production-naive), the
# collector, and a local Prometheus loaded with alerts/, with the URLs to look at.
# ORCHLOG_DEMO_MODE=live runs the orchestrator's live mode instead of the simulation: real
# threads, wall-clock time, a real state store and real HTTP backends, which the orchestrator
# starts and stops itself (throwaway redis-server or PostgreSQL, reference-backends).
# Ctrl-C stops everything.
set -euo pipefail
bin=$1
dir=$2
port=${ORCHLOG_DEMO_PORT:-9478}
prom_port=${ORCHLOG_DEMO_PROMETHEUS_PORT:-9090}
scenario=${ORCHLOG_DEMO_SCENARIO:-production-naive}
mode=${ORCHLOG_DEMO_MODE:-simulated}
case "$mode" in
  simulated)
    speed=${ORCHLOG_DEMO_SPEED:-600}
    orchestrator_args=()
    pace="simulated time ×$speed" ;;
  live)
    speed=${ORCHLOG_DEMO_SPEED:-100}
    store=${ORCHLOG_DEMO_STORE:-redis}
    duration=${ORCHLOG_DEMO_DURATION:-600}
    orchestrator_args=(--live --state-store "$store" --duration "$duration")
    pace="live: $store, HTTP backends, wall-clock ×$speed for $duration s" ;;
  *)
    echo "demo: ORCHLOG_DEMO_MODE=$mode: give simulated (the default) or live" >&2
    exit 2 ;;
esac
# Further reference-orchestrator flags, e.g. ORCHLOG_DEMO_ARGS="--llm-url http://127.0.0.1:8000/v1 --llm-key KEY".
read -r -a extra_args <<< "${ORCHLOG_DEMO_ARGS:-}"
orchestrator_args+=("${extra_args[@]}")
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo
  echo "stopped. The logs stay in $dir (try: $bin/orchlog inspect $dir)."
}
# Ctrl-C or a kill is the demo's normal end (status 0); an error keeps its status.
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

"$bin/reference-orchestrator" --scenario "$scenario" --out "$dir" --speed "$speed" "${orchestrator_args[@]}" --quiet \
  --summary-json "$dir/$scenario.summary.json" > "$dir/orchestrator.out" 2>&1 &
pids+=($!)
"$bin/orchlog-collector" --log.dir "$dir" --checkpoint.file "$dir/collector.checkpoint" --web.listen-address ":$port" \
  2> "$dir/collector.err" &
pids+=($!)
prometheus_line="  prometheus:     (not installed)"
if command -v prometheus >/dev/null; then
  mkdir -p "$dir/prometheus"
  cat > "$dir/prometheus/prometheus.yml" <<YML
global:
  scrape_interval: 2s
  evaluation_interval: 2s
rule_files:
$(for f in "$root"/alerts/*.rules.yml; do echo "  - $f"; done)
scrape_configs:
  - job_name: orchlog
    static_configs:
      - targets: ['localhost:$port']
YML
  prometheus --config.file "$dir/prometheus/prometheus.yml" --storage.tsdb.path "$dir/prometheus/data" \
    --web.listen-address ":$prom_port" > "$dir/prometheus/prometheus.log" 2>&1 &
  pids+=($!)
  prometheus_line="  prometheus:     http://localhost:$prom_port/alerts (rules from alerts/, scraping the collector every 2 s)"
fi
for _ in $(seq 100); do curl -fs "http://localhost:$port/-/ready" >/dev/null 2>&1 && break; sleep 0.1; done
cat <<MSG

orchlog demo: reference orchestrator, scenario $scenario ($pace).
  metrics:        http://localhost:$port/metrics
  status page:    http://localhost:$port/
$prometheus_line
  live events:    $bin/orchlog tail -f $dir
  log summary:    $bin/orchlog inspect $dir
Press Ctrl-C to stop.

MSG
sleep 3
curl -s "http://localhost:$port/metrics" | grep -E '^orch_(state_lost_updates_total|llm_requests_total\{.*rate_limited)' | head -4 || true
wait
