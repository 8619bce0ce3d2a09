#!/usr/bin/env bash
# Runs once, inside the official image's initdb step, on the primary of a fresh cell (a standby
# gets all of this through pg_basebackup). Roles and grants as in docs/contracts.md "Data stores".
set -euo pipefail
: "${POSTGRES_DB:?}" "${REPLICATOR_PASSWORD:?}" "${APP_DB_PASSWORD:?}"

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v db="$POSTGRES_DB" -v replicator_pw="$REPLICATOR_PASSWORD" -v app_pw="$APP_DB_PASSWORD" \
  -v sync_standby="${FAILOVER_LAB_SYNC_STANDBY:-}" <<'SQL'
CREATE ROLE replicator WITH LOGIN REPLICATION PASSWORD :'replicator_pw';
-- pg_rewind from this node (an old primary rejoining) needs these, not superuser.
GRANT EXECUTE ON FUNCTION pg_ls_dir(text, boolean, boolean) TO replicator;
GRANT EXECUTE ON FUNCTION pg_stat_file(text, boolean) TO replicator;
GRANT EXECUTE ON FUNCTION pg_read_binary_file(text) TO replicator;
GRANT EXECUTE ON FUNCTION pg_read_binary_file(text, bigint, bigint, boolean) TO replicator;
-- … and a CHECKPOINT on a just-promoted source first (pg_checkpoint: PostgreSQL 15+).
GRANT pg_checkpoint TO replicator;

CREATE ROLE app WITH LOGIN PASSWORD :'app_pw';
ALTER DATABASE :"db" OWNER TO app;
GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer) TO app;
GRANT EXECUTE ON FUNCTION pg_reload_conf() TO app;
GRANT ALTER SYSTEM ON PARAMETER synchronous_standby_names TO app;
GRANT pg_monitor TO app;

SELECT format('ALTER SYSTEM SET synchronous_standby_names = %L', '"' || :'sync_standby' || '"')
WHERE :'sync_standby' <> '' \gexec
SQL

# pg_hba: the superuser only over the unix socket (`docker exec … psql -U postgres`); replication and
# the app over the network with scram. The official image has already appended
# `host all all all scram-sha-256`; these lines go first so they win.
{
  echo "host all postgres all reject"
  echo "host replication replicator all scram-sha-256"
  cat "$PGDATA/pg_hba.conf"
} >"$PGDATA/pg_hba.conf.new"
mv "$PGDATA/pg_hba.conf.new" "$PGDATA/pg_hba.conf"
