#!/usr/bin/env bash
# Roles, grants and the service's database on a fresh primary (docs/contracts.md "Data stores"). Run
# once by postgres-entrypoint.sh, as the postgres user, against the socket-only setup server; a standby
# gets all of this through pg_basebackup.
set -euo pipefail
: "${POSTGRES_DB:?}" "${REPLICATOR_PASSWORD:?}" "${APP_DB_PASSWORD:?}"

psql -v ON_ERROR_STOP=1 --username postgres --dbname postgres -Xq \
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
CREATE DATABASE :"db" OWNER app;
-- failover_lab.fenced_epoch: the fence marker the cells keep in postgresql.auto.conf (docs/fencing.md)
GRANT ALTER SYSTEM ON PARAMETER synchronous_standby_names, failover_lab.fenced_epoch TO app;
GRANT pg_monitor TO app;
SELECT format('ALTER SYSTEM SET synchronous_standby_names = %L', '"' || :'sync_standby' || '"')
WHERE :'sync_standby' <> '' \gexec

-- Function privileges belong to a database: grant them where the app connects, its own.
\connect :"db"
GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer) TO app;
GRANT EXECUTE ON FUNCTION pg_reload_conf() TO app;
SQL
