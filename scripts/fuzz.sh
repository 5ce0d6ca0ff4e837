#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/targets/*) with AddressSanitizer and runs each for a fixed
# time from its seed corpus (fuzz/corpus/<target>/, kept in the repo; new inputs go to the
# scratch directory, not the repo). A crash leaves its input in $OUT/<target>/ and fails the run.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]        (make fuzz FUZZ_SECONDS=60)
#
# Needs nothing beyond the Swift toolchain: it ships libFuzzer and the ASan runtime
# (usr/lib/clang/*/lib/linux/libclang_rt.{fuzzer,asan}-x86_64.a); no libclang-rt package.
# SwiftPM's `--sanitize fuzzer --sanitize address` links libFuzzer, but passes swiftc two
# separate -sanitize= flags and swiftc 6.3 compiles with only the last (address): no coverage
# instrumentation, and libFuzzer finds nothing. The explicit -sanitize-coverage below restores
# it (check: libFuzzer prints "Loaded 1 modules (N inline 8-bit counters)" with N in the
# thousands, and the corpus grows).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(fuzz-block-decoder fuzz-segment-reader fuzz-web-config fuzz-accept fuzz-ndjson)
SCRATCH=${FUZZ_SCRATCH:-.build-fuzz}
OUT=${FUZZ_OUT:-$SCRATCH/out}
SWIFT=${SWIFT:-swift}

for t in "${TARGETS[@]}"; do
  ORCHLOG_FUZZ=1 $SWIFT build -c debug --scratch-path "$SCRATCH" --sanitize fuzzer --sanitize address \
    -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table --product "$t" 2>&1 \
    | grep -v "ld.gold: warning: Cannot export local symbol" || true
  [ -x "$SCRATCH/debug/$t" ] || { echo "fuzz: $t did not build" >&2; exit 1; }
done

status=0
for t in "${TARGETS[@]}"; do
  mkdir -p "$OUT/$t/corpus" "$OUT/$t/artifacts"
  max_len=4096
  case "$t" in fuzz-segment-reader|fuzz-block-decoder) max_len=65536 ;; esac
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s (seed corpus fuzz/corpus/$t, $(ls fuzz/corpus/$t | wc -l) files)" >&2
  # Swift's own crash backtracer would hold the terminal; libFuzzer reports crashes itself.
  if ! SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
       "$SCRATCH/debug/$t" -max_total_time="$SECONDS_PER_TARGET" -max_len="$max_len" -rss_limit_mb=2048 \
       -timeout=10 -print_final_stats=1 -artifact_prefix="$OUT/$t/artifacts/" \
       "$OUT/$t/corpus" "fuzz/corpus/$t" > "$OUT/$t/log" 2>&1; then
    echo "fuzz: $t FOUND A CRASH: $(ls "$OUT/$t/artifacts")" >&2
    tail -40 "$OUT/$t/log" >&2
    status=1
  fi
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|INFO: Loaded 1 modules)|cov: .*DONE|DONE" "$OUT/$t/log" | tail -4 >&2 || true
done
exit $status
