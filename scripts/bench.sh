#!/usr/bin/env bash
# The benchmark matrix of BENCHMARKS.md: oauthd on PostgreSQL (a fresh database, durable commits)
# and on SQLite (a temporary file), each workload at each client count, and — in the same run — pgbench of
# the raw transactions beneath them, so each oauthd figure prints beside its ratio to what the
# database itself does. Loopback only; bounded in time (about 3 minutes at the defaults).
# Not part of `cargo test` or .ci/run.
#
#   scripts/bench.sh                     # everything
#   DURATION=5s CONCURRENCY=16 BACKENDS="postgres" scripts/bench.sh
#   DURATION=5s BACKENDS=postgres WORKLOADS=stuffing scripts/bench.sh   # the credential-stuffing run only
#
# The stuffing workload (in "all" too) runs legitimate refreshes at RATE per second alone for DURATION,
# then for DURATION again beside FLOOD_CONCURRENCY workers sending wrong client secrets and wrong
# passwords, and reports what the legitimate traffic keeps (80 % is the bar) and the server's memory peak.
#
# Environment: DURATION (10s), CONCURRENCY ("16 64": each count runs every workload), BACKENDS ("postgres sqlite"), WORKLOADS ("all"),
# RATE (200 legitimate refreshes/s in the stuffing run), FLOOD_CONCURRENCY (64),
# PGBENCH_CLIENTS (8), PG_URL (postgres://postgres@127.0.0.1:5432), PORT (18080),
# LOG_FILTER (info, the server default), OUT (a directory for logs and results; a temporary one).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-16 64}
FIRST_CONCURRENCY=${CONCURRENCY%% *}
BACKENDS=${BACKENDS:-postgres sqlite}
WORKLOADS=${WORKLOADS:-all}
RATE=${RATE:-200}
FLOOD_CONCURRENCY=${FLOOD_CONCURRENCY:-64}
PGBENCH_CLIENTS=${PGBENCH_CLIENTS:-8}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18080}
LOG_FILTER=${LOG_FILTER:-info}
OUT=${OUT:-$(mktemp -d /tmp/oauthd-bench.XXXXXX)}
SECS=${DURATION%s}
case "$SECS" in *[!0-9]*) echo "DURATION must be whole seconds, e.g. 10s" >&2; exit 2 ;; esac
DB="oauthd_bench_$$"
PGDB="oauthd_pgbench_$$"
SERVER_PID=""
mkdir -p "$OUT"

for tool in jq pgbench psql curl timeout; do
  command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
cleanup() {
  stop_server
  psql -q "$PG_URL/postgres" -c "drop database if exists $DB with (force)" \
       -c "drop database if exists $PGDB with (force)" >/dev/null 2>&1 || true
  rm -rf "$OUT/sqlite"
}
trap cleanup EXIT

echo "== building (release; the server binary is the one built with the bench, so one build serves both)"
cargo bench --bench load --no-run --message-format=json 2>"$OUT/build.err" >"$OUT/build.json" \
  || { cat "$OUT/build.err" >&2; exit 1; }
artifact() { jq -r --arg n "$1" 'select(.reason == "compiler-artifact" and .target.name == $n and .executable != null) | .executable' "$OUT/build.json" | tail -n1; }
LOAD=$(artifact load)
OAUTHD=$(artifact oauthd)
[ -x "$LOAD" ] && [ -x "$OAUTHD" ] || { echo "could not find the built load generator and server" >&2; exit 1; }
COMMIT=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src benches Cargo.toml || echo "+dirty")

echo "== machine: $(nproc) cores, $(free -m | awk '/Mem:/ {print $2}') MiB, $(uname -r), $(psql -Atq "$PG_URL/postgres" -c 'show server_version'), commit $COMMIT"
echo "   PostgreSQL synchronous_commit=$(psql -Atq "$PG_URL/postgres" -c 'show synchronous_commit') fsync=$(psql -Atq "$PG_URL/postgres" -c 'show fsync')"
echo "   load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the box skews every figure)"
echo "   results and logs in $OUT"

# ---------------------------------------------------------------- pgbench: the database's own limit
pgbench_run() { # name clients file -> tps
  local name=$1 clients=$2 file=$3
  local tps
  tps=$(timeout $((SECS + 60)) pgbench -n -M prepared -c "$clients" -j 2 -T "$SECS" -f "$file" "$PG_URL/$PGDB" 2>"$OUT/pgbench-$name.err" \
        | tee "$OUT/pgbench-$name.log" | awk '/^tps = / {print $3; exit}')
  echo "${tps:-0}"
}

RAW_ROTATE=0; RAW_ISSUE=0; RAW_LOOKUP=0
if [[ " $BACKENDS " == *" postgres "* ]]; then
  echo "== pgbench: raw transactions on the real schema (migrations/postgres), $PGBENCH_CLIENTS clients, $DURATION"
  psql -q "$PG_URL/postgres" -c "create database $PGDB" >/dev/null
  OAUTHD_DATABASE__URL="$PG_URL/$PGDB" "$OAUTHD" migrate >/dev/null 2>&1
  psql -q "$PG_URL/$PGDB" >/dev/null <<'SQL'
insert into client values ('pgbench', 'pgbench', 'x', 1, 'client_credentials refresh_token', 'PRODUCTION', 'PRODUCTION', 0, 0);
insert into grant_family (family_id, client_id, grant_type, scope, created_at) values ('pgbench', 'pgbench', 'client_credentials', 'PRODUCTION', 0);
insert into token (token_digest, kind, family_id, scope, issued_at, expires_at)
  select sha256(int8send(i)), 'refresh', 'pgbench', 'PRODUCTION', 0, 4102444800 from generate_series(1, 300000) i;
vacuum analyze;
SQL
  cat > "$OUT/rotate.sql" <<'SQL'
\set id random(1, 300000)
BEGIN;
UPDATE token SET consumed_at = 1, successor_digest = sha256(uuid_send(gen_random_uuid())) WHERE token_digest = sha256(int8send(:id)) AND kind = 'refresh' AND consumed_at IS NULL AND revoked_at IS NULL;
INSERT INTO token (token_digest, kind, family_id, scope, issued_at, expires_at) VALUES (sha256(uuid_send(gen_random_uuid())), 'access', 'pgbench', 'PRODUCTION', 1, 4102444800);
INSERT INTO token (token_digest, kind, family_id, scope, issued_at, expires_at) VALUES (sha256(uuid_send(gen_random_uuid())), 'refresh', 'pgbench', 'PRODUCTION', 1, 4102444800);
END;
SQL
  cat > "$OUT/issue.sql" <<'SQL'
\set f random(1, 1000000000)
BEGIN;
INSERT INTO grant_family (family_id, client_id, grant_type, scope, created_at) VALUES (md5(random()::text || :f), 'pgbench', 'client_credentials', 'PRODUCTION', 1);
INSERT INTO token (token_digest, kind, family_id, scope, issued_at, expires_at) VALUES (sha256(uuid_send(gen_random_uuid())), 'access', 'pgbench', 'PRODUCTION', 1, 4102444800);
END;
SQL
  cat > "$OUT/lookup.sql" <<'SQL'
\set id random(1, 300000)
SELECT t.token_digest, t.kind, t.expires_at, t.revoked_at, f.client_id, f.revoked_at FROM token t JOIN grant_family f ON f.family_id = t.family_id WHERE t.token_digest = sha256(int8send(:id));
SQL
  RAW_ROTATE=$(pgbench_run rotate "$PGBENCH_CLIENTS" "$OUT/rotate.sql")
  RAW_ISSUE=$(pgbench_run issue "$FIRST_CONCURRENCY" "$OUT/issue.sql")
  RAW_LOOKUP=$(pgbench_run lookup "$FIRST_CONCURRENCY" "$OUT/lookup.sql")
  printf '   rotation (1 UPDATE + 2 INSERTs, %s clients): %8.0f tps\n' "$PGBENCH_CLIENTS" "$RAW_ROTATE"
  printf '   issue (INSERT family + token, %s clients):    %8.0f tps\n' "$FIRST_CONCURRENCY" "$RAW_ISSUE"
  printf '   lookup (SELECT token join family, %s clients): %7.0f tps\n' "$FIRST_CONCURRENCY" "$RAW_LOOKUP"
  psql -q "$PG_URL/postgres" -c "drop database if exists $PGDB with (force)" >/dev/null
fi

# ---------------------------------------------------------------- oauthd
run_backend() { # backend clients
  local backend=$1 clients=$2 url
  case "$backend" in
    postgres)
      psql -q "$PG_URL/postgres" -c "drop database if exists $DB with (force)" -c "create database $DB" >/dev/null
      url="$PG_URL/$DB" ;;
    sqlite)
      rm -rf "$OUT/sqlite"; mkdir -p "$OUT/sqlite"
      url="sqlite://$OUT/sqlite/oauthd.db" ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
  OAUTHD_DATABASE__URL="$url" OAUTHD_SERVER__LISTEN="127.0.0.1:$PORT" OAUTHD_LOG__FILTER="$LOG_FILTER" \
    "$OAUTHD" serve >"$OUT/server-$backend.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break
    sleep 0.1
  done
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "oauthd did not start; see $OUT/server-$backend.log" >&2; exit 1; }
  echo "== oauthd on $backend (pid $SERVER_PID), $clients clients, $DURATION per workload"
  timeout $((SECS * 10 + 120)) "$LOAD" --url "http://127.0.0.1:$PORT" --database-url "$url" \
    --workload "$WORKLOADS" --concurrency "$clients" --duration "$DURATION" \
    --rate "$RATE" --flood-concurrency "$FLOOD_CONCURRENCY" \
    --server-pid "$SERVER_PID" --label "$backend" | tee "$OUT/load-$backend-$clients.log"
  echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  # What the server says it did with the flood: wrong passwords checked (each an argon2id
  # verification) or refused by the login throttle unchecked, and failed client authentications.
  curl -fs "http://127.0.0.1:$PORT/metrics" \
    | grep -E '^oauthd_(login_failures|login_throttled|client_auth_failures)_total ' \
    | sed 's/^/   server counter: /' | tee "$OUT/counters-$backend-$clients.txt" || true
  grep -c 'database is locked\|SQLITE_BUSY' "$OUT/server-$backend.log" | sed 's/^/   server log lines mentioning SQLITE_BUSY: /' || true
  stop_server
}
for backend in $BACKENDS; do for clients in $CONCURRENCY; do run_backend "$backend" "$clients"; done; done

# ---------------------------------------------------------------- summary
echo
echo "== summary (commit $COMMIT; ratio = oauthd ok/s over the raw PostgreSQL transaction's tps, same run)"
printf '%-9s %-19s %4s %9s %8s %8s %8s %9s  %-24s %s\n' backend workload c ok/s p50_ms p99_ms max_ms "RSS MiB" "ratio" errors
cat "$OUT"/load-*.log | grep '^{"workload":' | while read -r line; do
  w=$(jq -r .workload <<<"$line"); b=$(jq -r .label <<<"$line"); rps=$(jq -r .rps <<<"$line"); c=$(jq -r .concurrency <<<"$line")
  case "$w" in
    refresh) raw=$RAW_ROTATE; what="rotation" ;;
    client_credentials) raw=$RAW_ISSUE; what="issue" ;;
    introspect) raw=$RAW_LOOKUP; what="lookup" ;;
    *) raw=$RAW_ROTATE; what="rotation" ;;
  esac
  ratio=$(awk -v a="$rps" -v b="$raw" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
  printf '%-9s %-19s %4s %9.0f %8.2f %8.2f %8.2f %9s  %-24s %s\n' "$b" "$w" "$c" "$rps" \
    "$(jq -r .p50_ms <<<"$line")" "$(jq -r .p99_ms <<<"$line")" "$(jq -r .max_ms <<<"$line")" \
    "$(jq -r '(.server_hwm_kib // 0) / 1024 | floor' <<<"$line")" "$ratio x $what ($(printf '%.0f' "$raw"))" "$(jq -c .errors <<<"$line")"
done

if cat "$OUT"/load-*.log | grep -q '^{"stuffing":'; then
  echo
  echo "== credential stuffing: legitimate refreshes at $RATE/s, alone and beside $FLOOD_CONCURRENCY flood workers (bar: keep 80 %)"
  printf '%-9s %4s %9s %9s %6s %9s %9s %9s  %-10s %s\n' backend c alone/s flooded/s kept p99_alone p99_flood "peak MiB" flood/s "flood answers"
  cat "$OUT"/load-*.log | grep '^{"stuffing":' | jq -r '.stuffing | [.label, .concurrency, .alone_rps, .flooded_rps, .kept * 100,
      .alone_p99_ms, .flooded_p99_ms, ((.server_hwm_kib // 0) / 1024 | floor), .flood_rps, (.flood_by_status | tostring)] | @tsv' |
  while IFS=$'\t' read -r b c alone flooded kept p99a p99f peak frps answers; do
    printf '%-9s %4s %9.0f %9.0f %5.0f%% %9.2f %9.2f %9s  %-10.0f %s\n' "$b" "$c" "$alone" "$flooded" "$kept" "$p99a" "$p99f" "$peak" "$frps" "$answers"
  done
fi
