#!/usr/bin/env sh
# Writes the two secret files compose.yaml mounts: a random PostgreSQL password and the database
# URL that embeds it. Run once from the repository root; an existing password is kept.
#
# Compose mounts file secrets as they are on the host (outside Swarm, uid/gid/mode are not
# applied), and oauthd runs as uid 65532: the files must be readable by it, so they are 0644
# inside a 0700 directory that keeps other host users out.
set -eu
cd "$(dirname "$0")/.."
umask 077
mkdir -p secrets
chmod 700 secrets
if [ ! -s secrets/postgres_password ]; then
  # Hex: nothing to percent-encode in the URL.
  od -An -N24 -tx1 /dev/urandom | tr -d ' \n' > secrets/postgres_password
  echo >> secrets/postgres_password
fi
printf 'postgres://oauthd:%s@postgres:5432/oauthd\n' "$(cat secrets/postgres_password)" > secrets/database_url
chmod 644 secrets/postgres_password secrets/database_url
echo "wrote secrets/postgres_password and secrets/database_url"
