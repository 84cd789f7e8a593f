#!/usr/bin/env bash
# Benchmark: full first sync and no-change re-sync of a UCCE-scale directory
# (24,000 agents + 400 supervisors in 1,000 teams) from the UCCX + CUCM AXL emulators
# (2 ms injected latency per request, plain HTTP on loopback) into wfm-hub (TLS) on SQLite and on
# PostgreSQL. Reports wall time, the importer's own "reading sources" / "at the hub" split,
# requests made, and the peak RSS of the importer and of the hub. Checks the results are right.
#
# Usage: bench/sync_users.sh            (see bench/README.md)
# Environment (all optional):
#   AGENTS=24000 TEAMS=1000 SUPERVISORS=400 LATENCY_MS=2 BATCH_SIZE=200 (cucm.batch_size)
#   BACKENDS="sqlite postgres"   PG_ADMIN_URL=postgres://postgres@127.0.0.1:5432
#   VERIFY_REQUESTS=1   extra, untimed re-sync under strace counting the HTTP requests on the wire
#   SAVE=1              write the table to bench/results/sync_users-<date>.txt
#   SKIP_BUILD=0        1: use the existing target/release binaries
#   PERF=0              1: perf-record the hub during each run (reports in the work dir, kept)
#   KEEP=0              1: keep the work dir (logs) after the run
#   KEEP_DB=0           1: do not drop the PostgreSQL database (for EXPLAIN ANALYZE afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

AGENTS=${AGENTS:-24000}
TEAMS=${TEAMS:-1000}
SUPERVISORS=${SUPERVISORS:-400}
LATENCY_MS=${LATENCY_MS:-2}
BATCH_SIZE=${BATCH_SIZE:-200}
BACKENDS=${BACKENDS:-"sqlite postgres"}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432}
VERIFY_REQUESTS=${VERIFY_REQUESTS:-1}
SAVE=${SAVE:-1}
SKIP_BUILD=${SKIP_BUILD:-0}
PERF=${PERF:-0}
KEEP=${KEEP:-0}
KEEP_DB=${KEEP_DB:-0}
USERS=$((AGENTS + SUPERVISORS))

if [ "$SKIP_BUILD" != 1 ]; then
  echo "building release binaries..." >&2
  cargo build --release --locked -q -p wfm-hub -p wfm-importer -p wfm-emulators --bins
fi
bin=$root/target/release
work=$(mktemp -d /tmp/wfm-bench.XXXXXX)
pids=()
pg_db=""
hub_pid=""

cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$pg_db" ] && [ "$KEEP_DB" != 1 ]; then
    psql "$PG_ADMIN_URL/postgres" -qAt -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  if [ "$KEEP" = 1 ] || [ "$PERF" = 1 ]; then
    echo "work dir kept: $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

die() {
  echo "BENCH FAILED: $*" >&2
  for f in "$work"/*.log "$work"/*.out; do [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }; done >&2
  exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }
kib_to_mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
vm_hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
# Resets the process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0; needs ptrace rights).
reset_hwm() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || echo "warning: cannot reset VmHWM of $1; hub peak is since start" >&2; }

# Sum of the hub's wfm_hub_http_requests_total over the routes the importer uses (not the
# benchmark's own /metrics and /api/v1/users probes).
hub_requests() {
  curl -sf --cacert "$work/cert.pem" "https://localhost:$hub_port/metrics" |
    awk '/^wfm_hub_http_requests_total\{/ && !/route="\/metrics"/ && !/route="\/api\/v1\/users"/ && !/route="\/healthz"/ { n += $NF } END { print n + 0 }'
}
hub_total_users() {
  curl -sf --cacert "$work/cert.pem" -H "Authorization: Bearer $token" \
    "https://localhost:$hub_port/api/v1/users?limit=1" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'
}

# --- emulators ---------------------------------------------------------------------------------
uccx_port=$(free_port)
axl_port=$(free_port)
"$bin/wfm-emulator" all --agents "$AGENTS" --teams "$TEAMS" --supervisors "$SUPERVISORS" \
  --latency-ms "$LATENCY_MS" --port "$uccx_port" --axl-port "$axl_port" >"$work/emulator.log" 2>&1 &
pids+=($!)
up=0
for _ in $(seq 1 300); do
  if grep -q "press Ctrl-C" "$work/emulator.log" 2>/dev/null &&
    curl -s -o /dev/null "http://127.0.0.1:$axl_port/axl/" && curl -s -o /dev/null "http://127.0.0.1:$uccx_port/adminapi/team"; then
    up=1
    break
  fi
  sleep 0.1
done
[ "$up" = 1 ] || die "emulators did not come up"
echo "emulators up: $(head -n 1 "$work/emulator.log")" >&2

"$bin/wfm-hub" gen-cert --host localhost --out-cert "$work/cert.pem" --out-key "$work/key.pem" >/dev/null
token=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
printf '%s' "$token" >"$work/token"

# Requests the importer makes to the sources: UCCX resources + teams, then one AXL
# executeSQLQuery per batch of distinct user ids (no paging: a batch is below max rows).
source_requests=$((2 + (USERS + BATCH_SIZE - 1) / BATCH_SIZE))

rows=()    # result rows: backend run wall sources hub requests imp_rss hub_rss
phases=()  # hub-side detail rows
verify_notes=()

run_backend() {
  local backend=$1 url
  case $backend in
    sqlite) url="sqlite://$work/hub-sqlite/hub.sqlite"; mkdir -p "$work/hub-sqlite" ;;
    postgres)
      pg_db="wfm_bench_$(python3 -c 'import secrets; print(secrets.token_hex(4))')"
      createdb -d "$PG_ADMIN_URL/postgres" "$pg_db" 2>/dev/null ||
        psql "$PG_ADMIN_URL/postgres" -qAt -c "CREATE DATABASE $pg_db" >/dev/null || die "cannot create database $pg_db"
      url="$PG_ADMIN_URL/$pg_db"
      ;;
    *) die "unknown backend $backend" ;;
  esac
  hub_port=$(free_port)
  [ -f "$work/hub.kek" ] || head -c 32 /dev/urandom >"$work/hub.kek"  # encryption at rest (PostgreSQL needs a KEK)
  cat >"$work/hub-$backend.toml" <<TOML
[server]
bind = "127.0.0.1:$hub_port"
tls_cert = "$work/cert.pem"
tls_key = "$work/key.pem"
[storage]
url = "$url"
[log]
level = "info"
[encryption]
kek_file = "$work/hub.kek"
[[projects]]
id = "bench"
token_file = "$work/token"
roles = ["agent", "supervisor"]
TOML
  RUST_LOG=info,wfm_store=debug "$bin/wfm-hub" serve --config "$work/hub-$backend.toml" >"$work/hub-$backend.log" 2>&1 &
  hub_pid=$!
  pids+=($hub_pid)
  local ok=0
  for _ in $(seq 1 100); do
    curl -sf --cacert "$work/cert.pem" "https://localhost:$hub_port/healthz" >/dev/null 2>&1 && { ok=1; break; }
    sleep 0.1
  done
  [ "$ok" = 1 ] || die "hub ($backend) did not come up"

  cat >"$work/importer-$backend.toml" <<TOML
[importer]
data_dir = "$work/importer-$backend"
[hub]
url = "https://localhost:$hub_port"
project = "bench"
token_file = "$work/token"
ca_file = "$work/cert.pem"
timeout = "300s"
[sync]
max_disable_ratio = 0.2
role_equivalents = { agent = "agent", supervisor = "supervisor" }
[uccx]
scheme = "http"
allow_insecure_http = true
host = "127.0.0.1"
port = $uccx_port
username = "administrator"
password = "ciscopsdt"
[cucm]
scheme = "http"
allow_insecure_http = true
host = "127.0.0.1"
port = $axl_port
username = "axladmin"
password = "ciscopsdt"
version = "12.5"
batch_size = $BATCH_SIZE
TOML

  local run tag t0 t1 wall src hubt imp_rss hub_rss reqs_before reqs_after hub_reqs phase perf_pid
  for run in first resync; do
    tag="$backend-$run"
    reset_hwm "$hub_pid"
    reqs_before=$(hub_requests)
    perf_pid=""
    if [ "$PERF" = 1 ]; then
      perf record -F 499 -g -o "$work/perf-hub-$tag.data" -p "$hub_pid" >/dev/null 2>&1 &
      perf_pid=$!
      sleep 0.3
    fi
    t0=$(now)
    RUST_LOG=info /usr/bin/time -v -o "$work/time-$tag.txt" \
      "$bin/wfm-importer" --config "$work/importer-$backend.toml" sync users >"$work/importer-$tag.out" 2>&1 ||
      die "$tag: importer failed"
    t1=$(now)
    if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
    hub_rss=$(vm_hwm_kib "$hub_pid")
    reqs_after=$(hub_requests)
    hub_reqs=$((reqs_after - reqs_before))
    wall=$(sub "$t1" "$t0")
    read -r src hubt < <(sed -n 's/.*time: \([0-9.]*\)s reading sources, \([0-9.]*\)s at the hub.*/\1 \2/p' "$work/importer-$tag.out")
    [ -n "${src:-}" ] || die "$tag: no time line in the importer output"
    imp_rss=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$work/time-$tag.txt")
    if [ "$run" = first ]; then
      local total
      total=$(hub_total_users)
      [ "$total" = "$USERS" ] || die "$tag: hub has $total users, expected $USERS"
      grep -q "$USERS created" "$work/importer-$tag.out" || die "$tag: unexpected summary: $(grep users: "$work/importer-$tag.out")"
    else
      grep -q "0 created, 0 updated, 0 disabled, 0 re-enabled, $USERS unchanged" "$work/importer-$tag.out" ||
        die "$tag: re-sync changed something: $(grep users: "$work/importer-$tag.out")"
    fi
    rows+=("$backend $run $wall $src $hubt $((source_requests + hub_reqs)) $(kib_to_mib "$imp_rss") $(kib_to_mib "$hub_rss")")
    # The store's own split of the sync transaction (debug line of wfm_store, last one logged).
    phase=$(grep "directory sync stored" "$work/hub-$backend.log" | tail -n 1 |
      sed -E 's/\x1b\[[0-9;]*m//g' | grep -oE '(load|plan|write|commit)_ms=[0-9]+' | tr '\n' ' ')
    phases+=("$backend $run  ${phase:-n/a}  hub requests=$hub_reqs  importer user+sys=$(awk -F: '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.2f", u + s }' "$work/time-$tag.txt")s")
    src="" hubt=""
  done

  if [ "$VERIFY_REQUESTS" = 1 ]; then
    # Untimed extra no-change re-sync under strace: count the HTTP requests the importer writes to
    # the plain-HTTP sources (the hub is TLS: its count comes from its own request counter).
    reqs_before=$(hub_requests)
    strace -f -qq -e trace=write,writev,sendto,sendmsg -s 40 -o "$work/strace-$backend.txt" \
      "$bin/wfm-importer" --config "$work/importer-$backend.toml" sync users >"$work/importer-$backend-verify.out" 2>&1 ||
      die "$backend verify run failed"
    reqs_after=$(hub_requests)
    local uccx_seen axl_seen
    uccx_seen=$(grep -c 'GET /adminapi/' "$work/strace-$backend.txt" || true)
    axl_seen=$(grep -c 'POST /axl/' "$work/strace-$backend.txt" || true)
    verify_notes+=("$backend: on the wire UCCX $uccx_seen + AXL $axl_seen = $((uccx_seen + axl_seen)) source requests (computed $source_requests); hub counter +$((reqs_after - reqs_before))")
    [ "$((uccx_seen + axl_seen))" = "$source_requests" ] || echo "warning: request count mismatch on $backend" >&2
  fi

  kill "$hub_pid" 2>/dev/null || true
  wait "$hub_pid" 2>/dev/null || true
  if [ "$backend" = postgres ]; then
    if [ "$KEEP_DB" = 1 ]; then
      echo "database kept: $PG_ADMIN_URL/$pg_db" >&2
    else
      psql "$PG_ADMIN_URL/postgres" -qAt -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null || true
    fi
    pg_db=""
  fi
}

for b in $BACKENDS; do
  echo "running $b..." >&2
  run_backend "$b"
done

# --- report ------------------------------------------------------------------------------------
cpu=$(awk -F: '/model name/ { sub(/^ /, "", $2); print $2; exit }' /proc/cpuinfo)
report() {
  echo "sync_users benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- crates 2>/dev/null || echo '+dirty')"
  echo "machine: $(nproc) cores, $cpu, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $(psql "$PG_ADMIN_URL/postgres" -qAt -c 'SHOW server_version' 2>/dev/null | sed 's/^/PostgreSQL /')"
  echo "data: $AGENTS agents + $SUPERVISORS supervisors = $USERS users, $TEAMS teams; emulator latency ${LATENCY_MS} ms/request; cucm.batch_size $BATCH_SIZE"
  echo "requests = $source_requests source (2 UCCX + $((source_requests - 2)) AXL batches) + hub requests (hub's wfm_hub_http_requests_total delta)"
  echo
  printf '%-9s %-7s %7s %9s %7s %9s %13s %9s\n' backend run "wall s" "sources s" "hub s" requests "importer MiB" "hub MiB"
  local r
  for r in "${rows[@]}"; do
    # shellcheck disable=SC2086
    printf '%-9s %-7s %7s %9s %7s %9s %13s %9s\n' $r
  done
  echo
  echo "hub store phases (wfm_store debug line) and importer CPU:"
  for r in "${phases[@]}"; do echo "  $r"; done
  if [ "${#verify_notes[@]}" -gt 0 ]; then
    echo "request count check (extra untimed no-change re-sync under strace):"
    for r in "${verify_notes[@]}"; do echo "  $r"; done
  fi
  echo "targets: first sync <= 5 s, no-change re-sync <= 2 s, importer peak RSS <= 150 MiB"
  for r in "${rows[@]}"; do
    # shellcheck disable=SC2086
    set -- $r
    local lim=5
    [ "$2" = resync ] && lim=2
    echo "  $1 $2: wall $3 s $(awk -v w="$3" -v l="$lim" 'BEGIN { print (w <= l) ? "<= " l " s MET" : "> " l " s MISSED" }'), importer $7 MiB $(awk -v m="$7" 'BEGIN { print (m <= 150) ? "MET" : "MISSED" }')"
  done
}
out=$(report)
echo "$out"
if [ "$SAVE" = 1 ]; then
  mkdir -p "$root/bench/results"
  f="$root/bench/results/sync_users-$(date -u +%Y%m%d-%H%M%S).txt"
  echo "$out" >"$f"
  echo "written: ${f#"$root"/}" >&2
fi
