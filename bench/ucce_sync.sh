#!/usr/bin/env bash
# Benchmark (issue 7): full sync of 24,000 UCCE agents (+ supervisors) through ConfigAPI paging
# (resultsPerPage 100, so 240+ agent pages) from the UCCE emulator with 2 ms injected latency per
# request, into wfm-hub on SQLite, at several page-fetch concurrencies. Prints wall time, the
# importer's "reading sources" / "at the hub" split, requests, and the importer's peak RSS.
#
# Usage: bench/ucce_sync.sh   (env: AGENTS=24000 TEAMS=1000 SUPERVISORS=400 LATENCY_MS=2
#                              CONCURRENCY="1 4 8" SKIP_BUILD=0 SAVE=1)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
AGENTS=${AGENTS:-24000}; TEAMS=${TEAMS:-1000}; SUPERVISORS=${SUPERVISORS:-400}
LATENCY_MS=${LATENCY_MS:-2}; CONCURRENCY=${CONCURRENCY:-"1 4 8"}; SAVE=${SAVE:-1}
USERS=$((AGENTS + SUPERVISORS))
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --locked -q -p wfm-hub -p wfm-importer -p wfm-emulators --bins
bin=$root/target/release
work=$(mktemp -d /tmp/wfm-ucce-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

ucce_port=$(free_port)
"$bin/wfm-emulator" ucce --agents "$AGENTS" --teams "$TEAMS" --supervisors "$SUPERVISORS" \
  --latency-ms "$LATENCY_MS" --port "$ucce_port" >"$work/emulator.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "press Ctrl-C" "$work/emulator.log" 2>/dev/null && break; sleep 0.1; done

results=()
for conc in $CONCURRENCY; do
  hub_port=$(free_port)
  rm -rf "$work/hub" && mkdir -p "$work/hub"
  "$bin/wfm-hub" gen-cert --host localhost --out-cert "$work/cert.pem" --out-key "$work/key.pem" >/dev/null
  token=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  cat >"$work/hub.toml" <<TOML
[server]
bind = "127.0.0.1:$hub_port"
tls_cert = "$work/cert.pem"
tls_key = "$work/key.pem"
[storage]
url = "sqlite://$work/hub/hub.sqlite"
[log]
level = "warn"
[[projects]]
id = "bench"
token = "$token"
roles = ["agent", "supervisor"]
TOML
  "$bin/wfm-hub" serve --config "$work/hub.toml" >"$work/hub.log" 2>&1 &
  hub_pid=$!
  pids+=($hub_pid)
  for _ in $(seq 1 100); do curl -sf --cacert "$work/cert.pem" "https://localhost:$hub_port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  cat >"$work/importer.toml" <<TOML
[hub]
url = "https://localhost:$hub_port"
project = "bench"
token = "$token"
ca_file = "$work/cert.pem"
[sync.role_equivalents]
agent = "agent"
supervisor = "supervisor"
[[ucce]]
source_id = "ucce"
scheme = "http"
allow_insecure_http = true
host = "127.0.0.1"
port = $ucce_port
username = "administrator@example.com"
password = "ciscopsdt"
page_size = 100
concurrency = $conc
TOML
  for run in first resync; do
    start=$(date +%s.%N)
    /usr/bin/time -v "$bin/wfm-importer" --config "$work/importer.toml" sync users >"$work/out.txt" 2>"$work/time.txt" || { cat "$work/out.txt" "$work/time.txt" >&2; exit 1; }
    end=$(date +%s.%N)
    wall=$(python3 -c "print(f'{$end - $start:.2f}')")
    rss=$(awk '/Maximum resident set size/ {printf "%d", $6/1024}' "$work/time.txt")
    split=$(grep -o 'time: [0-9.]*s reading sources, [0-9.]*s at the hub' "$work/out.txt" | sed 's/time: //')
    src=$(sed 's/s reading.*//' <<<"$split"); hubs=$(sed 's/.*sources, //; s/s at the hub//' <<<"$split")
    if [ "$run" = first ]; then grep -q "$USERS created" "$work/out.txt" || { cat "$work/out.txt" >&2; echo "first sync did not create $USERS users" >&2; exit 1; }
    else grep -q "$USERS unchanged" "$work/out.txt" || { cat "$work/out.txt" >&2; echo "re-sync was not a no-op" >&2; exit 1; }; fi
    results+=("$(printf '%-11s %-7s %7s %9s %7s %8s %12s' "$conc" "$run" "$wall" "$src" "$hubs" "$(( (USERS + 99) / 100 + (TEAMS + 99) / 100 + 1 ))" "$rss")")
  done
  kill "$hub_pid"; wait "$hub_pid" 2>/dev/null || true
done

table=$(
  echo "UCCE ConfigAPI sync: $AGENTS agents + $SUPERVISORS supervisors = $USERS users, $TEAMS teams, ${LATENCY_MS} ms/request, resultsPerPage 100, hub on SQLite; $(nproc) cores; $(git rev-parse --short HEAD)"
  printf '%-11s %-7s %7s %9s %7s %8s %12s\n' concurrency run "wall s" "sources s" "hub s" requests "importer MiB"
  printf '%s\n' "${results[@]}"
  echo "requests = agent pages + team pages + 1 skill-group page (computed from the page size; each page one request when nothing fails)"
)
echo "$table"
if [ "$SAVE" = 1 ]; then
  mkdir -p bench/results
  echo "$table" >"bench/results/ucce_sync-$(date +%Y%m%d-%H%M%S).txt"
fi
