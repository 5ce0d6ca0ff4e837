#!/usr/bin/env bash
# Soak test (make soak): the reference orchestrator at 200× real time, a synthetic writer with
# small segments and a small retention limit, and the collector with a checkpoint, scraped every
# second for SECONDS (default 300, at most 600). Samples VmRSS and open fds of every process
# every 5 s and fails when:
#   - a scrape is not HTTP 200;
#   - the collector's or the synthetic writer's RSS or fds grow (last-quarter mean vs
#     second-quarter mean: > 16 MiB or > 4 fds); the slopes are reported for all three;
#   - retention leaks segments (the synthetic source holds more than its limit + one segment),
#     or the collector still holds deleted segments open once it has caught up;
#   - totals are not exact: every event the reference orchestrator wrote is ingested, LLM
#     tokens match its summary, and for the synthetic source ingested + lost-to-retention
#     equals what it emitted.
#
#   scripts/soak.sh [SECONDS] [BIN_DIR]        (BIN_DIR default .build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-300}
(( DURATION > 600 )) && DURATION=600
(( DURATION < 30 )) && DURATION=30
BIN=${2:-.build/release}
SPEED=200
RETENTION=$((2 << 20))
SEGMENT=$((256 << 10))
WORK=$(mktemp -d /tmp/orchlog-soak.XXXXXX)
ROOT=$WORK/root
mkdir -p "$ROOT"
GEN= REF= COL=
cleanup() {
  for p in $GEN $REF $COL; do kill -KILL "$p" 2>/dev/null || true; done
  [ -n "${SOAK_KEEP:-}" ] && echo "soak: kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "soak: FAIL: $*" >&2; status=1; }
status=0

"$BIN/orchlog" generate --out "$ROOT/synthetic" --rate 20000 --seed 7 --retention.bytes $RETENTION --segment.bytes $SEGMENT \
  --summary-json "$WORK/synthetic.json" 2>"$WORK/generate.err" &
GEN=$!
"$BIN/reference-orchestrator" --scenario production-hardened --out "$ROOT" --source reference --invocations-per-day 120000 \
  --speed $SPEED --duration $((DURATION * SPEED)) --seed 3 --summary-json "$WORK/reference.json" -q 2>"$WORK/reference.err" &
REF=$!
"$BIN/orchlog-collector" --web.listen-address 127.0.0.1:0 --log.dir "$ROOT" --checkpoint.file "$WORK/collector.checkpoint" \
  2>"$WORK/collector.err" &
COL=$!
PORT=
for _ in $(seq 100); do
  PORT=$(grep -oE 'serving http://[^:]+:[0-9]+' "$WORK/collector.err" | grep -oE '[0-9]+$' || true)
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "$PORT" ] || { cat "$WORK/collector.err" >&2; echo "soak: collector did not start" >&2; exit 1; }
URL=http://127.0.0.1:$PORT/metrics

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
metric() { awk -v k="$1" 'index($0, k" ") == 1 {print $NF}' "$WORK/last.prom" | head -1; }

echo "soak: ${DURATION}s; collector on :$PORT; work dir $WORK" >&2
printf 't\tcollector_rss_kib\tcollector_fds\tsynthetic_rss_kib\tsynthetic_fds\treference_rss_kib\treference_fds\tsynthetic_segments\n' > "$WORK/samples.tsv"
scrapes=0 bad=0 maxseg=0 lastlost=0
start=$(date +%s)
while kill -0 "$REF" 2>/dev/null; do
  now=$(( $(date +%s) - start ))
  (( now > DURATION + 120 )) && { fail "the reference orchestrator overran its duration"; break; }
  code=$(curl -s -o "$WORK/last.prom" -w '%{http_code}' --max-time 10 "$URL" || echo 000)
  scrapes=$((scrapes + 1))
  [ "$code" = 200 ] || { bad=$((bad + 1)); echo "soak: scrape $scrapes: HTTP $code" >&2; }
  if [ "$code" = 200 ]; then
    # Retention outrunning the collector is counted, not silent: say when it happens.
    lost=$(metric 'orchlog_collector_events_lost_total{source="synthetic"}')
    if [ "${lost:-0}" != "${lastlost:-0}" ]; then
      echo "soak: t=${now}s: ${lost} synthetic events deleted by retention before the collector read them (lag $(metric 'orchlog_collector_lag_seconds{source="synthetic"}') s)" >&2
      lastlost=$lost
    fi
  fi
  segs=$(ls "$ROOT/synthetic" | grep -c '\.olog$' || true)
  (( segs > maxseg )) && maxseg=$segs
  if (( scrapes % 5 == 1 )); then
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$now" "$(rss $COL)" "$(fds $COL)" "$(rss $GEN)" "$(fds $GEN)" "$(rss $REF)" "$(fds $REF)" "$segs" >> "$WORK/samples.tsv"
  fi
  sleep 1
done
wait "$REF" || fail "reference-orchestrator exited with $?"
kill -TERM "$GEN"
wait "$GEN" || fail "generate exited with $?: $(tail -2 "$WORK/generate.err")"

ref_events=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events"])' "$WORK/reference.json")
ref_tokens=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["llm"]["tokens_input"])' "$WORK/reference.json")
syn_events=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events"])' "$WORK/synthetic.json")
caught=0
for _ in $(seq 120); do
  curl -s -o "$WORK/last.prom" "$URL" || true
  r=$(metric 'orchlog_collector_events_ingested_total{source="reference"}')
  s=$(metric 'orchlog_collector_events_ingested_total{source="synthetic"}')
  l=$(metric 'orchlog_collector_events_lost_total{source="synthetic"}')
  if [ "${r:-0}" = "$ref_events" ] && [ "$(( ${s:-0} + ${l:-0} ))" = "$syn_events" ]; then caught=1; break; fi
  sleep 0.5
done
(( caught )) || fail "totals: reference ingested ${r:-0} of $ref_events; synthetic ingested ${s:-0} + lost ${l:-0} of $syn_events"
tokens=$(awk 'index($0, "orch_llm_tokens_total{source=\"reference\",") == 1 && /type="input"/ {s += $NF} END {printf "%.0f\n", s}' "$WORK/last.prom")
[ "$tokens" = "$ref_tokens" ] || fail "input tokens: collector $tokens, orchestrator summary $ref_tokens"
deleted=$(ls -l "/proc/$COL/fd" 2>/dev/null | grep -c '(deleted)' || true)
(( deleted == 0 )) || fail "the collector holds $deleted deleted files open after catching up"
bytes=$(du -sb "$ROOT/synthetic" | cut -f1)
nsegs=$(ls "$ROOT/synthetic" | grep -c '\.olog$' || true)
newest=$(ls "$ROOT/synthetic" | grep '\.olog$' | sort | tail -1 | sed 's/^0*//; s/\.olog$//')
deleted_segments=$(( ${newest:-0} - nsegs ))
(( deleted_segments > 0 )) || fail "retention deleted no segments (the soak did not exercise it)"
(( bytes <= RETENTION + 2 * SEGMENT )) || fail "synthetic source holds $bytes bytes (retention $RETENTION + segment $SEGMENT)"
(( bad == 0 )) || fail "$bad of $scrapes scrapes were not HTTP 200"
kill -TERM "$COL"; wait "$COL" || fail "collector exited with $?"
COL=

# Slopes (least squares over samples after the first 20%) and last-quarter vs second-quarter growth.
report=$(awk -F'\t' -v dur="$DURATION" '
  NR == 1 { for (i = 2; i <= NF; i++) name[i] = $i; cols = NF; next }
  { n++; t[n] = $1; for (i = 2; i <= cols; i++) v[i, n] = $i }
  END {
    from = int(n * 0.2) + 1
    for (i = 2; i <= cols - 1; i++) {
      sx = sy = sxx = sxy = m = 0
      for (k = from; k <= n; k++) { x = t[k] / 60; y = v[i, k]; sx += x; sy += y; sxx += x * x; sxy += x * y; m++ }
      slope = (m > 1 && (m * sxx - sx * sx) != 0) ? (m * sxy - sx * sy) / (m * sxx - sx * sx) : 0
      q2 = q4 = c2 = c4 = 0
      for (k = 1; k <= n; k++) {
        if (k > n / 4 && k <= n / 2) { q2 += v[i, k]; c2++ }
        if (k > 3 * n / 4) { q4 += v[i, k]; c4++ }
      }
      growth = (c2 && c4) ? q4 / c4 - q2 / c2 : 0
      printf "%s slope_per_min=%.1f growth=%.1f first=%s last=%s\n", name[i], slope, growth, v[i, from], v[i, n]
    }
  }' "$WORK/samples.tsv")
echo "$report" >&2
check() {  # name limit
  g=$(echo "$report" | awk -v k="$1" '$1 == k { sub("growth=", "", $3); print $3 }')
  awk -v g="$g" -v l="$2" 'BEGIN { exit !(g <= l) }' || fail "$1 grew by $g (limit $2)"
}
check collector_rss_kib 16384
check collector_fds 4
check synthetic_rss_kib 16384
check synthetic_fds 4
echo "soak: ${DURATION}s, $scrapes scrapes ($bad not 200), reference $ref_events events ingested exactly, synthetic ${s:-0} ingested + ${l:-0} lost to retention = $syn_events emitted, retention deleted $deleted_segments synthetic segments (at most $maxseg on disk, $bytes bytes at the end)" >&2
[ -n "${SOAK_SAMPLES:-}" ] && cp "$WORK/samples.tsv" "$SOAK_SAMPLES"
(( status == 0 )) && echo "soak: ok" >&2
exit $status
