#!/usr/bin/env bash
# Peers, side by side in one run (`make bench-peers`):
#   1. mtail (Debian) counting the same events, written as NDJSON, by type and outcome
#      (bench/mtail/orchlog.mtail), versus orchlog-collector on the binary log: events/s from
#      handing the events over until /metrics shows all of them;
#   2. bytes on disk: NDJSON, NDJSON gzipped (gzip -6), orchlog segments;
#   3. Python prometheus_client generate_latest versus orchlog's renderer on the same
#      10,000-series set (bench/prometheus_client_render.py, orchlog-bench --only render).
# Usage: bench/peers.sh [BIN_DIR]   (BIN_DIR holds orchlog, orchlog-collector, orchlog-bench;
# default .build/release). PEER_EVENTS sets the event count (default 1,000,000).
set -euo pipefail

BIN=$(cd "${1:-.build/release}" && pwd)
EVENTS=${PEER_EVENTS:-1000000}
HERE=$(cd "$(dirname "$0")" && pwd)

if ! command -v mtail >/dev/null; then
    echo "peers: installing mtail" >&2
    apt-get update -qq && apt-get install -y -qq mtail >/dev/null
fi
if ! python3 -c 'import prometheus_client' 2>/dev/null; then
    echo "peers: installing prometheus_client" >&2
    python3 -m pip install -q prometheus_client
fi
for tool in orchlog orchlog-collector orchlog-bench; do
    [[ -x "$BIN/$tool" ]] || { echo "peers: $BIN/$tool not found (run make release)" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/orchlog-peers-XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # URL: wait up to 20 s for it to answer
    for _ in $(seq 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "peers: $1 did not answer" >&2; return 1
}
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$1" "$2"; }

echo "peers: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $EVENTS events of the generate mix"

# The events: one binary log, and the same events as NDJSON.
"$BIN/orchlog" generate --out "$WORK/stage/bench" --events "$EVENTS" --fsync never --summary-json "$WORK/summary.json" 2>/dev/null
TOTAL=$(json "$WORK/summary.json" 'd["events"]')
"$BIN/orchlog" tail --from-start -o json "$WORK/stage/bench" > "$WORK/events.ndjson"
LINES=$(wc -l < "$WORK/events.ndjson")
[[ "$LINES" == "$TOTAL" ]] || { echo "peers: NDJSON has $LINES lines, the log $TOTAL events" >&2; exit 1; }

# Bytes on disk.
NDJSON_BYTES=$(stat -c %s "$WORK/events.ndjson")
GZIP_BYTES=$(gzip -6 -c "$WORK/events.ndjson" | wc -c)
OLOG_BYTES=$(cat "$WORK"/stage/bench/*.olog | wc -c)
echo
echo "bytes on disk ($TOTAL events)"
printf '  %-28s %12s bytes  %6.2f bytes/event\n' "NDJSON" "$NDJSON_BYTES" "$(python3 -c "print($NDJSON_BYTES/$TOTAL)")"
printf '  %-28s %12s bytes  %6.2f bytes/event\n' "NDJSON, gzip -6" "$GZIP_BYTES" "$(python3 -c "print($GZIP_BYTES/$TOTAL)")"
printf '  %-28s %12s bytes  %6.2f bytes/event\n' "orchlog segments" "$OLOG_BYTES" "$(python3 -c "print($OLOG_BYTES/$TOTAL)")"
echo "  ratio NDJSON / orchlog: $(ratio "$NDJSON_BYTES" "$OLOG_BYTES")×   NDJSON gzipped / orchlog: $(ratio "$GZIP_BYTES" "$OLOG_BYTES")×"

# mtail: tails an empty file; the NDJSON is appended at once; wait for its counters.
MTAIL_PORT=$(free_port)
mkdir -p "$WORK/mtail"
: > "$WORK/mtail/events.ndjson"
mtail --progs "$HERE/mtail" --logs "$WORK/mtail/events.ndjson" --address 127.0.0.1 --port "$MTAIL_PORT" \
    --logtostderr 2> "$WORK/mtail.err" &
PIDS+=($!)
wait_http "http://127.0.0.1:$MTAIL_PORT/metrics"
sleep 1
MTAIL=$(python3 "$HERE/feed_and_wait.py" --url "http://127.0.0.1:$MTAIL_PORT/metrics" \
    --metric 'orchlog_events_total\{[^}]*\}' --total "$TOTAL" -- \
    sh -c "cat '$WORK/events.ndjson' >> '$WORK/mtail/events.ndjson'")
MTAIL_S=$(python3 -c "import json; print(json.loads('$MTAIL')['seconds'])")

# orchlog-collector: follows an empty root; the finished source directory is moved in at once.
COLLECTOR_PORT=$(free_port)
mkdir -p "$WORK/root"
"$BIN/orchlog-collector" --log.dir "$WORK/root" --web.listen-address "127.0.0.1:$COLLECTOR_PORT" 2> "$WORK/collector.err" &
PIDS+=($!)
wait_http "http://127.0.0.1:$COLLECTOR_PORT/-/ready"
sleep 1
COLLECTOR=$(python3 "$HERE/feed_and_wait.py" --url "http://127.0.0.1:$COLLECTOR_PORT/metrics" \
    --metric 'orchlog_collector_events_ingested_total\{source="bench"\}' --total "$TOTAL" -- \
    mv "$WORK/stage/bench" "$WORK/root/bench")
COLLECTOR_S=$(python3 -c "import json; print(json.loads('$COLLECTOR')['seconds'])")

MTAIL_RATE=$(python3 -c "print(round($TOTAL/$MTAIL_S))")
COLLECTOR_RATE=$(python3 -c "print(round($TOTAL/$COLLECTOR_S))")
INGEST_RATIO=$(ratio "$COLLECTOR_RATE" "$MTAIL_RATE")
echo
echo "ingest: events handed over → all counted on /metrics"
printf '  %-28s %8.3f s  %12s events/s\n' "mtail (NDJSON)" "$MTAIL_S" "$MTAIL_RATE"
printf '  %-28s %8.3f s  %12s events/s\n' "orchlog-collector (binary)" "$COLLECTOR_S" "$COLLECTOR_RATE"
echo "  ratio orchlog-collector / mtail: ${INGEST_RATIO}×  (target ≥ 20×: $(python3 -c "print('MET' if $INGEST_RATIO >= 20 else 'MISSED')"))"

# Rendering 10,000 series: prometheus_client vs orchlog's renderer.
python3 "$HERE/prometheus_client_render.py" --series 10000 > "$WORK/python.json"
"$BIN/orchlog-bench" --only render --json > "$WORK/ours.json" 2>/dev/null
ours() { json "$WORK/ours.json" "[f['stats']['median'] for b in d['benchmarks'] for f in b['figures'] if f['name']=='$1'][0]"; }
OURS_TEXT=$(ours render_10000_text_ms)
OURS_OM=$(ours render_10000_openmetrics_ms)
PY_TEXT=$(json "$WORK/python.json" 'd["text"]["median_ms"]')
PY_OM=$(json "$WORK/python.json" 'd["openmetrics"]["median_ms"]')
TEXT_RATIO=$(ratio "$PY_TEXT" "$OURS_TEXT")
OM_RATIO=$(ratio "$PY_OM" "$OURS_OM")
echo
echo "render 10,000 series ($(json "$WORK/python.json" 'd["series"]') sample lines), median of 21 runs"
printf '  %-36s %13s  %13s\n' "" "text 0.0.4" "OpenMetrics"
printf '  %-36s %10.3f ms  %10.3f ms\n' "prometheus_client generate_latest" "$PY_TEXT" "$PY_OM"
printf '  %-36s %10.3f ms  %10.3f ms\n' "orchlog MetricRegistry.render" "$OURS_TEXT" "$OURS_OM"
echo "  ratio prometheus_client / orchlog: text ${TEXT_RATIO}×, OpenMetrics ${OM_RATIO}×  (target ≥ 10×: $(python3 -c "print('MET' if min($TEXT_RATIO, $OM_RATIO) >= 10 else 'MISSED')"))"
