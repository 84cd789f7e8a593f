#!/usr/bin/env bash
# Peer benchmark: 10 million CSQ-visit rows -> 15-minute queue intervals, wfm-intervals vs DuckDB.
#
# 1. generates one CSV (fixed seed) with the crate's `gen_legs` example (skipped if it exists),
# 2. runs our `aggregate_csv` example (release) and DuckDB (PyPI `duckdb`, SQL in
#    duckdb_intervals.py) on it, each under /usr/bin/time -v,
# 3. checks both interval tables are equal (compare.py) and prints wall time and peak RSS.
#
# Usage: bench/intervals/run.sh          (see bench/intervals/README.md)
# Environment (all optional):
#   ROWS=10000000 SEED=20260302   generator input
#   WORK=/tmp/wfm-intervals-bench where the CSVs go (the 10M file is ~800 MB; kept for re-runs)
#   RUNS=1                        runs of each tool (each one reported)
#   THREADS=2                     DuckDB threads
#   SAVE=1                        also write bench/intervals/results/intervals-<date>.txt
#   SKIP_BUILD=0                  1: use the existing release examples
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

ROWS=${ROWS:-10000000}
SEED=${SEED:-20260302}
WORK=${WORK:-/tmp/wfm-intervals-bench}
RUNS=${RUNS:-1}
THREADS=${THREADS:-2}
SAVE=${SAVE:-1}
SKIP_BUILD=${SKIP_BUILD:-0}

if [ "$SKIP_BUILD" != 1 ]; then
  echo "building release examples..." >&2
  cargo build --release --locked -q -p wfm-intervals --examples
fi
if ! python3 -c 'import duckdb' 2>/dev/null; then
  echo "installing duckdb from PyPI..." >&2
  python3 -m pip install --quiet duckdb
fi
bin=$root/target/release/examples
mkdir -p "$WORK"
legs=$WORK/legs-$ROWS-$SEED.csv
if [ ! -s "$legs" ]; then
  echo "generating $legs..." >&2
  "$bin/gen_legs" "$ROWS" "$SEED" > "$legs.tmp"
  mv "$legs.tmp" "$legs"
fi
size_mb=$(( $(stat -c %s "$legs") / 1048576 ))

# runs "$@" under /usr/bin/time -v; sets $wall (s, from the shell) and $rss (MiB)
measure() {
  local log=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -v "$@" 2> "$log"
  t1=$(date +%s.%N)
  wall=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%d", $2 / 1024}' "$log")
}

report=$WORK/report.txt
{
  echo "wfm-intervals peer benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD)"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%d GiB", $2/1048576}' /proc/meminfo); input $ROWS rows, seed $SEED, $size_mb MiB"
  echo "duckdb $(python3 -c 'import duckdb; print(duckdb.__version__)') ($THREADS threads); ours: 2 threads (parse | aggregate pipeline)"
  echo
  printf "%-8s %4s %8s %10s  %s\n" tool run "wall s" "peak MiB" "own timing"
} | tee "$report"

status=0
for run in $(seq 1 "$RUNS"); do
  measure "$WORK/ours.time" "$bin/aggregate_csv" "$legs" "$WORK/ours.csv"
  own=$(grep '^ours:' "$WORK/ours.time" | sed 's/^ours: //')
  printf "%-8s %4s %8s %10s  %s\n" ours "$run" "$wall" "$rss" "$own" | tee -a "$report"
  measure "$WORK/duckdb.time" python3 "$root/bench/intervals/duckdb_intervals.py" "$legs" "$WORK/duckdb.csv" "$THREADS"
  own=$(grep '^duckdb' "$WORK/duckdb.time" | sed 's/^duckdb [^:]*: //')
  printf "%-8s %4s %8s %10s  %s\n" duckdb "$run" "$wall" "$rss" "$own (wall includes python + import)" | tee -a "$report"
  if ! python3 "$root/bench/intervals/compare.py" "$WORK/ours.csv" "$WORK/duckdb.csv" | tee -a "$report"; then
    status=1
  fi
done

if [ "$SAVE" = 1 ]; then
  mkdir -p "$root/bench/intervals/results"
  cp "$report" "$root/bench/intervals/results/intervals-$(date -u +%Y%m%d-%H%M%S).txt"
fi
exit $status
