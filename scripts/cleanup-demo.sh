#!/usr/bin/env bash
# Shows that the janitor keeps up on PostgreSQL: a fresh database with over a million dead token
# rows (and the families they belong to), one `oauthd cleanup` pass while a client_credentials loop
# hits /token on the same database, and the figures before and after. Not part of .ci/run.
#
#   scripts/cleanup-demo.sh                 # PG_URL=postgres://postgres@127.0.0.1:5432 by default
#   EXHAUSTED=300000 REVOKED=50000 LIVE=10000 scripts/cleanup-demo.sh   # the defaults
#
# Loopback only; every step is bounded by `timeout`; the database is dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
EXHAUSTED=${EXHAUSTED:-300000} # families: 1 expired access + 1 expired refresh head each
REVOKED=${REVOKED:-50000}      # revoked families: 2 access + 1 rotated refresh + 1 head each
LIVE=${LIVE:-10000}            # live families: 20 expired access + 2 rotated refresh + 1 live head
DB="oauthd_cleanup_demo_$$"
BIN=${BIN:-target/release/oauthd} # BIN=target/debug/oauthd skips the release build
WORK=$(mktemp -d)
SERVER_PID=""
LOAD_PID=""

psql_admin() { psql "$PG_URL/postgres" -v ON_ERROR_STOP=1 -qAtX "$@"; }
psql_db() { psql "$PG_URL/$DB" -v ON_ERROR_STOP=1 -qAtX "$@"; }

cleanup() {
  [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  psql_admin -c "drop database if exists \"$DB\" with (force)" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$BIN" = target/release/oauthd ]; then
  echo "== building the release binary"
  cargo build --release --quiet
fi
export OAUTHD_DATABASE__URL="$PG_URL/$DB"
export RUST_LOG=warn

psql_admin -c "create database \"$DB\""
"$BIN" migrate >/dev/null
# A cheap argon2id cost for the demo client, so the load loop measures the database, not hashing.
CLIENT=$(OAUTHD_SECURITY__ARGON2_MEMORY_KIB=8192 OAUTHD_SECURITY__ARGON2_ITERATIONS=1 "$BIN" client create --name demo --grant-type client_credentials --grant-type refresh_token --scope DEMO --json)
CLIENT_ID=$(jq -r .client_id <<<"$CLIENT")
CLIENT_SECRET=$(jq -r .client_secret <<<"$CLIENT")

NOW=$(date +%s)
OLD=$((NOW - 3 * 86400)) # issued three days ago, dead for two: far past the 1 h retention
echo "== inserting rows (dead ones first, as they would be: older rows)"
time psql_db <<SQL
-- Exhausted grants: access and refresh head both expired.
insert into grant_family (family_id, client_id, grant_type, scope, created_at)
  select 'x' || i, '$CLIENT_ID', 'client_credentials', 'DEMO', $OLD from generate_series(1, $EXHAUSTED) i;
insert into token (token_digest, kind, family_id, scope, issued_at, expires_at)
  select sha256(('xa' || i)::bytea), 'access', 'x' || i, 'DEMO', $OLD, $OLD + 3600
  from generate_series(1, $EXHAUSTED) i;
insert into token (token_digest, kind, family_id, scope, issued_at, expires_at)
  select sha256(('xr' || i)::bytea), 'refresh', 'x' || i, 'DEMO', $OLD, $OLD + 86400
  from generate_series(1, $EXHAUSTED) i;
-- Revoked grants (reuse detected or revoked by the client), rotated once.
insert into grant_family (family_id, client_id, grant_type, scope, created_at, revoked_at)
  select 'r' || i, '$CLIENT_ID', 'client_credentials', 'DEMO', $OLD, $OLD + 600
  from generate_series(1, $REVOKED) i;
insert into token (token_digest, kind, family_id, scope, issued_at, expires_at, revoked_at, consumed_at)
  select sha256(('r' || k || '.' || i)::bytea), case when k in ('a1', 'a2') then 'access' else 'refresh' end,
         'r' || i, 'DEMO', $OLD, $OLD + 3600,
         case when k = 'a1' then $OLD + 300 end, case when k = 'r1' then $OLD + 300 end
  from generate_series(1, $REVOKED) i, unnest(array['a1', 'a2', 'r1', 'r2']) k;
-- Live grants with a long history: 20 expired access tokens and 2 rotated refresh tokens (kept:
-- reuse detection needs them) behind a live head.
insert into grant_family (family_id, client_id, grant_type, scope, created_at)
  select 'l' || i, '$CLIENT_ID', 'client_credentials', 'DEMO', $OLD from generate_series(1, $LIVE) i;
insert into token (token_digest, kind, family_id, scope, issued_at, expires_at, revoked_at)
  select sha256(('la' || j || '.' || i)::bytea), 'access', 'l' || i, 'DEMO', $OLD, $OLD + 3600, $OLD + 60
  from generate_series(1, $LIVE) i, generate_series(1, 20) j;
insert into token (token_digest, kind, family_id, scope, issued_at, expires_at, consumed_at)
  select sha256(('lr' || j || '.' || i)::bytea), 'refresh', 'l' || i, 'DEMO', $OLD, $OLD + 86400, $OLD + 60
  from generate_series(1, $LIVE) i, generate_series(1, 2) j;
insert into token (token_digest, kind, family_id, scope, issued_at, expires_at)
  select sha256(('lh' || i)::bytea), 'refresh', 'l' || i, 'DEMO', $NOW, $NOW + 14 * 86400
  from generate_series(1, $LIVE) i;
vacuum analyze;
SQL

figures() {
  psql_db -F ' ' <<SQL
select 'tokens', count(*) from token;
select 'families', count(*) from grant_family;
select 'token_heap_and_indexes_bytes', pg_total_relation_size('token');
select 'token_n_live_tup', n_live_tup from pg_stat_user_tables where relname = 'token';
select 'kept_rotated_refresh_of_live_families', count(*) from token where consumed_at is not null and family_id like 'l%';
SQL
}
echo "== before"
figures | tee "$WORK/before"

CUTOFF=$((NOW - 3600))
echo "== query plans of the janitor's statements (cutoff = now - retention)"
psql_db <<SQL
explain select token_digest from token where kind = 'access' and expires_at <= $CUTOFF order by expires_at limit 1000;
explain select family_id from grant_family where revoked_at <= $CUTOFF
  union all select family_id from grant_family where expires_at <= $CUTOFF
  union all select h.family_id from token h
    where h.kind = 'refresh' and h.consumed_at is null and h.expires_at <= $CUTOFF
    and (select max(u.expires_at) from token u
         where u.family_id = h.family_id and u.consumed_at is null) <= $CUTOFF
  limit 1000;
explain delete from token where token_digest in (select token_digest from token
  where family_id in ('x1', 'x2', 'x3') and (kind = 'access' or consumed_at is not null) limit 1000);
SQL

echo "== serving on 127.0.0.1 (janitor off: the pass is run by hand below)"
OAUTHD_JANITOR__ENABLED=false OAUTHD_SERVER__LISTEN=127.0.0.1:0 OAUTHD_LOG__FORMAT=json RUST_LOG=info \
  "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
ADDRESS=""
for _ in $(seq 1 100); do
  ADDRESS=$(grep -m1 'oauthd listening' "$WORK/server.log" | jq -r .address 2>/dev/null || true)
  [ -n "$ADDRESS" ] && break
  sleep 0.1
done
[ -n "$ADDRESS" ] || { echo "server did not start" >&2; cat "$WORK/server.log" >&2; exit 1; }

# One request at a time, each one's status and total time on a line, until stopped (at most 15 min).
load() {
  local end=$((SECONDS + 900))
  while [ $SECONDS -lt $end ]; do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 10 \
      -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials "http://$ADDRESS/token" || echo "000 10"
  done
}
load >"$WORK/load-idle" &
LOAD_PID=$!
sleep 5
kill "$LOAD_PID"; wait "$LOAD_PID" 2>/dev/null || true
load >"$WORK/load" &
LOAD_PID=$!
sleep 1

echo "== oauthd cleanup, while /token is under load"
START=$(date +%s.%N)
timeout 900 "$BIN" cleanup --json | tee "$WORK/report"
END=$(date +%s.%N)
sleep 1
kill "$LOAD_PID"; wait "$LOAD_PID" 2>/dev/null || true
LOAD_PID=""
echo "pass wall time: $(awk "BEGIN { printf \"%.1f\", $END - $START }") s"

stats() {
  sort -k2 -n "$1" | awk '{ n++; if ($1 == 200) ok++; t[n] = $2 }
    END { printf "%d requests, %d answered 200, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
          n, ok, t[int(n * 0.5) + 1] * 1000, t[int(n * 0.99) + 1] * 1000, t[n] * 1000 }'
}
echo "== /token before the pass (5 s idle):  $(stats "$WORK/load-idle")"
echo "== /token during the pass:             $(stats "$WORK/load")"

echo "== after (plain VACUUM: the space is reusable by new rows; VACUUM FULL would return it)"
psql_db -c "vacuum analyze token" -c "vacuum analyze grant_family"
figures | tee "$WORK/after"

echo "== a second pass finds nothing"
"$BIN" cleanup --json
