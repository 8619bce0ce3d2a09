#!/usr/bin/env bash
# Postgres entrypoint for one cell in docker compose; wraps the official image's docker-entrypoint.sh.
#
# Decides what this node is before Postgres starts, from its data dir and its peer (the same
# service's Postgres in the other region, reached over the `replication` network):
#   empty data dir, bootstrap role standby, or the peer is a primary
#       -> pg_basebackup from the peer with a physical slot named after this region (dc_b) and
#          primary_conninfo application_name=<region> (docs/contracts.md "Data stores")
#   empty data dir, bootstrap role primary, peer not a primary
#       -> the official initdb path (+ initdb/10-failover-lab.sh: roles, grants, pg_hba)
#   data dir present, not a standby, and the peer IS a primary
#       -> this is an old primary coming back after a failover (`docker start` = the drill's restore):
#          pg_rewind from the peer (fresh pg_basebackup if that fails) and rejoin as its standby,
#          never as a second primary.
#   anything else -> start as is.
# Env: FAILOVER_LAB_REGION, FAILOVER_LAB_PEER_HOST, FAILOVER_LAB_BOOTSTRAP_ROLE (primary|standby),
#      REPLICATOR_PASSWORD, PGDATA. RUN_AS / NEXT_ENTRYPOINT / FAILOVER_LAB_PASSFILE exist so the
#      script can be exercised outside a container (test/compose-entrypoints.test.ts; defaults:
#      gosu postgres / docker-entrypoint.sh / ~postgres/.pgpass).
set -euo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
: "${FAILOVER_LAB_REGION:?}"
: "${FAILOVER_LAB_PEER_HOST:?}"
: "${FAILOVER_LAB_BOOTSTRAP_ROLE:?}"
: "${REPLICATOR_PASSWORD:?}"
PEER_PORT="${FAILOVER_LAB_PEER_PORT:-5432}"
RUN_AS="${RUN_AS:-gosu postgres}"
NEXT_ENTRYPOINT="${NEXT_ENTRYPOINT:-docker-entrypoint.sh}"
SLOT="${FAILOVER_LAB_REGION//-/_}" # dc-b -> dc_b: slot names allow only [a-z0-9_]
export PGPASSWORD="$REPLICATOR_PASSWORD"
PEER_CONN="host=$FAILOVER_LAB_PEER_HOST port=$PEER_PORT user=replicator dbname=postgres connect_timeout=2"

log() { echo "failover-lab postgres-entrypoint [$FAILOVER_LAB_REGION]: $*" >&2; }
as_pg() { $RUN_AS "$@"; }

# "t" when the peer answers and is a primary (not in recovery); anything else means no.
peer_is_primary() {
  [ "$(psql "$PEER_CONN" -XtAc 'SELECT NOT pg_is_in_recovery()' 2>/dev/null || true)" = "t" ]
}

wait_for_peer_primary() {
  log "waiting for the primary at $FAILOVER_LAB_PEER_HOST:$PEER_PORT"
  until peer_is_primary; do sleep 1; done
}

ensure_slot_on_peer() {
  psql "$PEER_CONN" -XtAq -v ON_ERROR_STOP=1 -v slot="$SLOT" <<'SQL'
SELECT pg_create_physical_replication_slot(:'slot')
WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = :'slot');
SQL
}

# Standby settings go to postgresql.auto.conf (last line wins; ALTER SYSTEM rewrites it cleanly).
# The password stays out of the data dir: libpq reads it from a 0600 passfile.
configure_as_standby() {
  local passfile="${FAILOVER_LAB_PASSFILE:-$(getent passwd postgres | cut -d: -f6)/.pgpass}"
  printf '%s:%s:*:replicator:%s\n' "$FAILOVER_LAB_PEER_HOST" "$PEER_PORT" "$REPLICATOR_PASSWORD" >"$passfile"
  chown postgres: "$passfile"
  chmod 0600 "$passfile"
  cat >>"$PGDATA/postgresql.auto.conf" <<CONF
primary_conninfo = 'host=$FAILOVER_LAB_PEER_HOST port=$PEER_PORT user=replicator application_name=$FAILOVER_LAB_REGION passfile=$passfile'
primary_slot_name = '$SLOT'
synchronous_standby_names = ''
CONF
  as_pg touch "$PGDATA/standby.signal"
}

base_backup() {
  log "pg_basebackup from $FAILOVER_LAB_PEER_HOST (slot $SLOT)"
  mkdir -p "$PGDATA"
  find "$PGDATA" -mindepth 1 -delete
  chown postgres: "$PGDATA"
  chmod 0700 "$PGDATA"
  ensure_slot_on_peer
  as_pg env PGPASSWORD="$REPLICATOR_PASSWORD" pg_basebackup -d "$PEER_CONN" -D "$PGDATA" -X stream -S "$SLOT" --checkpoint=fast
  configure_as_standby
}

rewind_old_primary() {
  log "the peer is primary and this data dir is not a standby: rewinding (old primary rejoins as standby)"
  ensure_slot_on_peer
  # A just-promoted peer may not have checkpointed yet: its control file would still show the old
  # timeline and pg_rewind would wrongly answer "no rewind required" (docs/facts.md).
  psql "$PEER_CONN" -XqAc CHECKPOINT
  if as_pg env PGPASSWORD="$REPLICATOR_PASSWORD" pg_rewind --target-pgdata="$PGDATA" --source-server="$PEER_CONN" --progress; then
    configure_as_standby
  else
    log "pg_rewind failed: taking a fresh base backup instead"
    base_backup
  fi
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ "$FAILOVER_LAB_BOOTSTRAP_ROLE" = standby ]; then
    wait_for_peer_primary
    base_backup
  elif peer_is_primary; then
    base_backup
  fi
elif [ ! -e "$PGDATA/standby.signal" ] && peer_is_primary; then
  rewind_old_primary
fi

exec $NEXT_ENTRYPOINT "$@"
