# PostgreSQL for the delivery and end-to-end tests. Sourced by .ci/run as root with
# `set -euo pipefail` active, so every command here must succeed or be guarded.
# Installs Debian's postgresql if missing, runs a private throw-away cluster (its own data
# directory and port, trust auth on loopback, fsync off: CI data is disposable), creates the
# test database and exports INTERCHANGE_TEST_PG_URL. Idempotent: a running cluster is reused.

_icpg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$_icpg_bin" ] || [ ! -x "$_icpg_bin/initdb" ]; then
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  _icpg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

_icpg_dir=${INTERCHANGE_CI_PG_DIR:-/tmp/interchange-ci-pg}
_icpg_port=${INTERCHANGE_CI_PG_PORT:-55432}

# Run as the postgres user when we are root (the server refuses to run as root).
_icpg_as() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if ! _icpg_as "$_icpg_bin/pg_ctl" -D "$_icpg_dir" status >/dev/null 2>&1; then
  if [ ! -s "$_icpg_dir/PG_VERSION" ]; then
    rm -rf "$_icpg_dir"
    mkdir -p "$_icpg_dir"
    chmod 700 "$_icpg_dir"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$_icpg_dir"; fi
    _icpg_as "$_icpg_bin/initdb" -D "$_icpg_dir" -A trust -U postgres -E UTF8 --no-sync \
      >"$_icpg_dir.initdb.log" 2>&1
  fi
  _icpg_as "$_icpg_bin/pg_ctl" -D "$_icpg_dir" -l "$_icpg_dir/server.log" -w -t 60 \
    -o "-p $_icpg_port -k $_icpg_dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null
fi

_icpg_psql() {
  "$_icpg_bin/psql" -X -q -h 127.0.0.1 -p "$_icpg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
}
if [ "$(_icpg_psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'interchange_test'")" != 1 ]; then
  _icpg_psql -c "CREATE DATABASE interchange_test"
fi

export INTERCHANGE_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:${_icpg_port}/interchange_test"
echo "ci: PostgreSQL ready at ${INTERCHANGE_TEST_PG_URL}"
unset -f _icpg_as _icpg_psql
unset _icpg_bin _icpg_dir _icpg_port
