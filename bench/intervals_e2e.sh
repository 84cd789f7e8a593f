#!/usr/bin/env bash
# Benchmark: 90 days of a 400-agent centre (≈ 2.8 million call legs) from a generated UCCX db_cra
# on PostgreSQL, read over ODBC (unixODBC + psqlODBC) by `wfm-importer backfill intervals`,
# aggregated to 15-minute intervals and sent to wfm-hub (TLS). Reports the importer's wall time
# and peak RSS and the hub's peak RSS, and checks the hub's total of presented calls equals the
# number of CSQ queue rows in the database (counted by PostgreSQL itself).
#
# Targets (issue 3): under 60 s, importer RSS under 200 MiB.
#
# Usage: bench/intervals_e2e.sh
# Environment (all optional): DAYS=90 AGENTS=400 HUB_BACKEND=sqlite|postgres
#   PG_ADMIN_URL=postgres://postgres@127.0.0.1:5432 SKIP_BUILD=0 SAVE=1 CHUNK=1d CONCURRENCY=2
#   HR_DB=name   use an existing generated database (same DAYS/AGENTS; kept afterwards)
#   ODBC_EXTRA='ConnSettings={SET jit = off};'   extra psqlODBC options (PostgreSQL stand-in tuning)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
DAYS=${DAYS:-90}
AGENTS=${AGENTS:-400}
HUB_BACKEND=${HUB_BACKEND:-sqlite}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432}
SKIP_BUILD=${SKIP_BUILD:-0}
SAVE=${SAVE:-1}
CHUNK=${CHUNK:-1d}
CONCURRENCY=${CONCURRENCY:-2}
HR_DB=${HR_DB:-}
ODBC_EXTRA=${ODBC_EXTRA:-}
FROM=2026-01-05

if [ "$SKIP_BUILD" != 1 ]; then
  echo "building release binaries..." >&2
  cargo build --release --locked -q -p wfm-hub -p wfm-importer -p wfm-hrdb --bins
fi
bin=$root/target/release
work=$(mktemp -d /tmp/wfm-bench-intervals.XXXXXX)
suffix=$(python3 -c 'import secrets; print(secrets.token_hex(4))')
hr_db=${HR_DB:-"wfm_bench_hr_$suffix"}
hub_db=""
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  keep=""; [ -n "$HR_DB" ] && keep="$HR_DB"
  for db in "$hr_db" "$hub_db"; do
    [ "$db" = "$keep" ] && continue
    [ -n "$db" ] && psql "$PG_ADMIN_URL/postgres" -qAt -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
die() { echo "BENCH FAILED: $*" >&2; for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }; done >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

if [ -z "$HR_DB" ]; then
  psql "$PG_ADMIN_URL/postgres" -qAt -c "CREATE DATABASE $hr_db" >/dev/null || die "cannot create $hr_db"
  echo "generating $DAYS days x $AGENTS agents into PostgreSQL ($hr_db)..." >&2
  gen_start=$(date +%s.%N)
  "$bin/wfm-hrdb" generate --postgres "$PG_ADMIN_URL/$hr_db" --days "$DAYS" --agents "$AGENTS" --from "$FROM" >"$work/hrdb.log" 2>&1 || die "generator failed"
  gen_s=$(awk -v a="$gen_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
else
  gen_s="(existing database $HR_DB)"
fi

"$bin/wfm-hub" gen-cert --host localhost --out-cert "$work/cert.pem" --out-key "$work/key.pem" >/dev/null
token=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
printf '%s' "$token" >"$work/token"
case $HUB_BACKEND in
  sqlite) hub_url="sqlite://$work/hub.sqlite" ;;
  postgres) hub_db="wfm_bench_hub_$suffix"; psql "$PG_ADMIN_URL/postgres" -qAt -c "CREATE DATABASE $hub_db" >/dev/null; hub_url="$PG_ADMIN_URL/$hub_db" ;;
  *) die "HUB_BACKEND must be sqlite or postgres" ;;
esac
hub_port=$(free_port)
[ -f "$work/hub.kek" ] || head -c 32 /dev/urandom >"$work/hub.kek"  # encryption at rest (PostgreSQL needs a KEK)
cat >"$work/hub.toml" <<TOML
[server]
bind = "127.0.0.1:$hub_port"
tls_cert = "$work/cert.pem"
tls_key = "$work/key.pem"
[storage]
url = "$hub_url"
[log]
level = "warn"
[encryption]
kek_file = "$work/hub.kek"
[[projects]]
id = "bench"
token_file = "$work/token"
roles = ["agent"]
TOML
"$bin/wfm-hub" serve --config "$work/hub.toml" >"$work/hub.log" 2>&1 &
hub_pid=$!
pids+=($hub_pid)
for _ in $(seq 1 100); do curl -sf --cacert "$work/cert.pem" "https://localhost:$hub_port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

cat >"$work/importer.toml" <<TOML
[importer]
data_dir = "$work/importer"
[hub]
url = "https://localhost:$hub_port"
project = "bench"
token_file = "$work/token"
ca_file = "$work/cert.pem"
[[history]]
source_id = "uccx-hr"
dialect = "uccx"
connection_string = "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=5432;Database=$hr_db;Uid=postgres;Pwd=;UseDeclareFetch=1;Fetch=5000;$ODBC_EXTRA"
time_zone = "America/New_York"
chunk = "$CHUNK"
concurrency = $CONCURRENCY
TOML

to=$(python3 -c "import datetime; print((datetime.date.fromisoformat('$FROM') + datetime.timedelta(days=$DAYS)).isoformat())")
range_sql="startdatetime >= '$FROM' AND startdatetime < '$to'"
legs=$(psql "$PG_ADMIN_URL/$hr_db" -qAt -c "SELECT count(*) FROM contactcalldetail WHERE $range_sql")
queue_rows=$(psql "$PG_ADMIN_URL/$hr_db" -qAt -c "SELECT count(*) FROM contactqueuedetail WHERE targettype = 0 AND $range_sql")
echo "importing $legs legs ($queue_rows CSQ queue rows) $FROM .. $to ..." >&2
/usr/bin/time -v "$bin/wfm-importer" --config "$work/importer.toml" backfill intervals \
  --from "${FROM}T00:00:00Z" --to "${to}T00:00:00Z" >"$work/importer.out" 2>"$work/importer.log" || die "importer failed"
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.1f", s }' "$work/importer.log")
imp_rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$work/importer.log")
imp_cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.1f", u + s }' "$work/importer.log")
hub_rss=$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$hub_pid/status")
presented=$(curl -sf --cacert "$work/cert.pem" -H "Authorization: Bearer $token" \
  "https://localhost:$hub_port/api/v1/intervals?source=uccx-hr&from=${FROM}T00:00:00Z&to=${to}T00:00:00Z" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["totals"]["presented"], len(d["intervals"]))')
read -r hub_presented hub_intervals <<<"$presented"
[ "$hub_presented" = "$queue_rows" ] || die "hub has $hub_presented presented calls, the database $queue_rows CSQ queue rows"

report=$(cat <<TXT
intervals_e2e $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores; generator load (not timed below): ${gen_s} s; extra ODBC options: ${ODBC_EXTRA:-none}
days agents legs      queue_rows hub_backend concurrency intervals importer_wall_s importer_cpu_s importer_rss_MiB hub_rss_MiB
$DAYS   $AGENTS    $legs $queue_rows    $HUB_BACKEND      $CONCURRENCY           $hub_intervals      $wall            $imp_cpu          $imp_rss              $hub_rss
check: hub total presented = $hub_presented = CSQ queue rows entering the queue in the range (counted by PostgreSQL)
importer: $(tail -n 1 "$work/importer.out")
TXT
)
echo "$report"
if [ "$SAVE" = 1 ]; then
  mkdir -p bench/results
  echo "$report" >"bench/results/intervals_e2e-$(date -u +%Y%m%d-%H%M%S).txt"
fi
