#!/usr/bin/env bash
# Manual container check (minutes, so not part of .ci/run): builds the image with Podman through
# the shared container-check tool (local stand-ins for rust:1.95-bookworm and distroless), then
#   1. builds it (the shared tool's own run probes plain HTTP, which the image no longer serves:
#      its default is HTTPS with a self-signed certificate kept on the volume);
#   2. runs it on a fresh SQLite volume over HTTPS: /readyz answers, the HEALTHCHECK passes, PID 1
#      is not root; creates the seed's client with `oauthd client create` inside the
#      container, runs the seed's /token curl verbatim with -k, and stops it: exit code 0;
#   3. the same against PostgreSQL on the host (--network=host), the URL from a *_FILE secret.
# Prints the image size and the start-up time (container start to /readyz 200).
#
# usage: scripts/container-check.sh          (as root; CONTAINER_CHECK=path/to/container-check.sh,
#                                             PG_URL=postgres://postgres@127.0.0.1:5432 to override;
#                                             PORT_BASE=18080: loopback ports PORT_BASE, +363, +364)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CC=${CONTAINER_CHECK:-$ROOT/../shared/tools/container-check.sh}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PORT_BASE=${PORT_BASE:-18080}
HTTP_PORT=$PORT_BASE SQLITE_TLS_PORT=$((PORT_BASE + 363)) PG_TLS_PORT=$((PORT_BASE + 364))
TAG=localhost/oauthd:check
NAME=oauthd-check
SEED_ID=IZsIi6HDbB5e8VKdZAnUi_fZ3f8a
SEED_SECRET=Gm0bJ6oWV8fC5OQLLlC6jslACW8a
SEED_BASIC=SVpzSWk2SERiQjVlOFZLZFpBblVpX2ZaM2Y4YTpHbTBiSjZvV1Y4ZkM1T1FMTGxDNmpzbEFDVzhh

log() { printf '\n\033[1;32m== %s\033[0m\n' "$*" >&2; }
fail() { printf '\033[1;31mFAIL: %s\033[0m\n' "$*" >&2; exit 1; }

log "1. build"
"$CC" -t "$TAG" --no-run "$ROOT"
eval "$("$CC" --env-only)"
size=$(podman image inspect "$TAG" --format '{{.Size}}')
log "image size: $size bytes ($(( (size + 524288) / 1048576 )) MiB)"

cleanup() { podman rm -f -t 2 "$NAME" >/dev/null 2>&1 || true; }
trap cleanup EXIT

# exercise LABEL BASE_URL PODMAN_RUN_ARGS...: start, time /readyz, seed client + curl, stop.
exercise() {
  local label=$1 base=$2; shift 2
  cleanup
  local t0 t1
  t0=$(date +%s%N)
  podman run -d --name "$NAME" -e OAUTHD_TLS__SELF_SIGNED=true "$@" "$TAG" >/dev/null
  for _ in $(seq 1 300); do
    [ "$(curl -k -s -o /dev/null -w '%{http_code}' "$base/readyz" || true)" = 200 ] && break
    sleep 0.1
  done
  t1=$(date +%s%N)
  [ "$(curl -k -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ] \
    || { podman logs "$NAME"; fail "$label: /readyz does not answer"; }
  log "$label: start-up to /readyz 200 in $(( (t1 - t0) / 1000000 )) ms"
  local pid; pid=$(podman inspect "$NAME" --format '{{.State.Pid}}')
  local uid; uid=$(awk '/^Uid:/{print $2}' "/proc/$pid/status")
  [ "$uid" != 0 ] || fail "$label: runs as root"
  log "$label: PID 1 runs as uid $uid"
  printf '%s\n' "$SEED_SECRET" | podman exec -i "$NAME" oauthd client create --name seed \
    --client-id "$SEED_ID" --secret-stdin --grant-type client_credentials \
    --grant-type password --grant-type refresh_token --scope PRODUCTION >/dev/null
  log "$label: the seed's curl, verbatim with -k"
  local answer
  answer=$(curl -k -d "grant_type=client_credentials&scope=PRODUCTION" -H "Authorization: Basic $SEED_BASIC, Content-Type: application/x-www-form-urlencoded" "$base/token")
  echo "$answer"
  case $answer in *'"access_token":"oat_'*) ;; *) fail "$label: no token from /token";; esac
  podman exec "$NAME" oauthd healthcheck >/dev/null || fail "$label: oauthd healthcheck failed"
  podman logs "$NAME" 2>&1 | grep -o '"message":"TLS self-signed certificate generated","sha256":"[^"]*"' || true
  local s0 s1 code
  s0=$(date +%s%N)
  podman stop -t 30 "$NAME" >/dev/null
  s1=$(date +%s%N)
  code=$(podman inspect "$NAME" --format '{{.State.ExitCode}}')
  [ "$code" = 0 ] || { podman logs "$NAME"; fail "$label: exit code $code after SIGTERM"; }
  log "$label: SIGTERM -> exit 0 in $(( (s1 - s0) / 1000000 )) ms"
}

log "2. SQLite on a fresh volume, HTTPS"
podman volume rm -f oauthd-check-data >/dev/null 2>&1 || true
podman volume create oauthd-check-data >/dev/null
exercise sqlite "https://127.0.0.1:$SQLITE_TLS_PORT" \
  -p "127.0.0.1:$SQLITE_TLS_PORT:8443" -e OAUTHD_SERVER__LISTEN=0.0.0.0:8443 \
  -v oauthd-check-data:/var/lib/oauthd/data
podman volume rm -f oauthd-check-data >/dev/null

log "3. PostgreSQL on the host (--network=host), URL from OAUTHD_DATABASE__URL_FILE"
db=oauthd_container_check
psql -q "$PG_URL/postgres" -c "drop database if exists $db with (force)" -c "create database $db"
secrets=$(mktemp -d)
printf '%s/%s\n' "$PG_URL" "$db" > "$secrets/database_url"
chmod 755 "$secrets"; chmod 644 "$secrets/database_url"
exercise postgres "https://127.0.0.1:$PG_TLS_PORT" \
  --network=host -e "OAUTHD_SERVER__LISTEN=127.0.0.1:$PG_TLS_PORT" \
  -v "$secrets/database_url:/run/secrets/database_url:ro" \
  -e OAUTHD_DATABASE__URL_FILE=/run/secrets/database_url
psql -q "$PG_URL/postgres" -c "drop database if exists $db with (force)"
rm -rf "$secrets"

log "container check passed: $TAG, $(( (size + 524288) / 1048576 )) MiB"
