#!/usr/bin/env bash
# Benchmark: delivery through the importer's outbox against the real hub (a `wfm-hub serve`
# process on loopback), next to the SAME batches POSTed directly without the outbox, in the same
# run; then the drain of a backlog (a share of one day of agent states of a 24,000-agent site)
# appended while the hub is down. Prints records/s and MB/s side by side, the outbox's cost in
# % of direct throughput (target < 20 %), drain time, conservation and importer RSS.
#
# Usage: bench/outbox_delivery.sh
# Environment (all optional): HUB_BACKEND=sqlite|postgres SKIP_BUILD=0 SAVE=1
#   OUTBOX_BENCH_RECORDS=200000 OUTBOX_BENCH_BATCH=500 OUTBOX_BENCH_AGENTS=24000
#   OUTBOX_BENCH_EVENTS_PER_AGENT=40 OUTBOX_BENCH_DAY_FRACTION=0.25 OUTBOX_BENCH_ROUNDS=3
#   WFM_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test (HUB_BACKEND=postgres)
set -euo pipefail
cd "$(dirname "$0")/.."
HUB_BACKEND=${HUB_BACKEND:-sqlite}
SKIP_BUILD=${SKIP_BUILD:-0}
SAVE=${SAVE:-1}
if [ "$SKIP_BUILD" != 1 ]; then
  echo "building release binaries..." >&2
  cargo build --release -q -p wfm-hub --bin wfm-hub
  cargo build --release -q -p wfm-importer --example outbox_delivery
fi
if [ "$HUB_BACKEND" = postgres ]; then
  export OUTBOX_BENCH_POSTGRES=1
  export WFM_TEST_POSTGRES_URL=${WFM_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
fi
out=$(mktemp)
{
  echo "# bench/outbox_delivery.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) HUB_BACKEND=$HUB_BACKEND"
  echo "# $(uname -srm); $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  target/release/examples/outbox_delivery target/release/wfm-hub
} 2>&1 | tee "$out"
if [ "$SAVE" = 1 ]; then
  mkdir -p bench/results
  dest=bench/results/outbox_delivery-$HUB_BACKEND-$(date -u +%Y%m%d-%H%M%S).txt
  cp "$out" "$dest"
  echo "saved $dest" >&2
fi
rm -f "$out"
