#!/usr/bin/env bash
# Postgres entrypoint for one cell in docker compose (the project's own image: Debian's postgresql-15).
#
# Decides what this node is before Postgres starts, from its data dir and its peer (the same
# service's Postgres in the other region, reached over the `replication` network):
#   empty data dir, bootstrap role standby, or the peer is a primary
#       -> pg_basebackup from the peer with a physical slot named after this region (dc_b) and
#          primary_conninfo application_name=<region> (docs/contracts.md "Data stores")
#   empty data dir, bootstrap role primary, peer not a primary
#       -> initdb, then roles, grants and the database (init-primary.sh) on a socket-only setup server
#   data dir present, not a standby, and the peer IS a primary: two nodes out of recovery. "The peer
#   answers and is not in recovery" does not say which one the router made the primary: after
#   freeze -> failover -> thaw the old primary is alive and out of recovery too, and rebuilding the
#   newer node from it deletes every write since the failover (docs/fencing.md). The durable marks
#   of the control plane decide instead (which_primary):
#     the peer carries a fence marker (the router or its lease fenced it)
#       -> the peer is not the primary: start as is, never rebuilt from it;
#     this node carries a fence marker, or the peer is on a newer timeline (promoted after this
#     node's last promotion: this is the old primary, killed before a fence reached it)
#       -> its forked rows (committed after the fork, keys the peer lacks) exported to quarantine
#          from a private start (quarantine_forked_rows), then pg_rewind from the peer (fresh
#          pg_basebackup if that fails) and rejoin as its standby;
#     neither (two unfenced primaries, the peer not newer)
#       -> refuse to start, and say why: an operator asks the router (GET /admin/status) which
#          region is the primary and rebuilds the other one.
#   anything else -> start as is.
# Messaging active-active (FAILOVER_LAB_TOPOLOGY=active-active, docs/active-active.md): both regions
# are primaries, each for its own origin's table; an empty data dir is initdb'd (wal_level logical),
# a present one starts as it is (a restored region keeps its unreplicated tail, which the other
# region's subscription then replays). Once both regions' migrations made their publications, this
# node runs FAILOVER_LAB_SUBSCRIPTION_SQL (the statement the lab runs too) to receive the other
# region's writes. The topology is recorded on the volume: the other one is refused on the same data.
# Settings every node shares live in the data dir's postgresql.conf (written at initdb, copied by
# pg_basebackup and pg_rewind): pg_rewind's single-user crash recovery reads only that, and without
# wal_log_hints there it refuses to rewind.
# Env: FAILOVER_LAB_REGION, FAILOVER_LAB_PEER_HOST, FAILOVER_LAB_BOOTSTRAP_ROLE (primary|standby),
#      REPLICATOR_PASSWORD, and for initdb POSTGRES_PASSWORD, POSTGRES_DB, APP_DB_PASSWORD,
#      FAILOVER_LAB_SYNC_STANDBY; for the quarantine FAILOVER_LAB_FORK_KEYS (`table:key …`, the
#      contract's FORK_KEYS), POSTGRES_DB, POSTGRES_PASSWORD, APP_DB_PASSWORD. RUN_AS,
#      FAILOVER_LAB_SOCKET_DIR, FAILOVER_LAB_PASSFILE, FAILOVER_LAB_QUARANTINE_DIR and FAILOVER_LAB_EXEC
#      exist so the script can run outside a container (test/compose-entrypoints.test.ts).
set -euo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
: "${FAILOVER_LAB_REGION:?}"
: "${FAILOVER_LAB_PEER_HOST:?}"
: "${FAILOVER_LAB_BOOTSTRAP_ROLE:?}"
: "${REPLICATOR_PASSWORD:?}"
PEER_PORT="${FAILOVER_LAB_PEER_PORT:-5432}"
RUN_AS="${RUN_AS:-setpriv --reuid=postgres --regid=postgres --init-groups}"
SOCKET_DIR="${FAILOVER_LAB_SOCKET_DIR:-/var/run/postgresql}"
# Beside the data dir, on the same volume (the image mounts the postgres home, PGDATA's parent):
# a recreated container keeps it. It is also rewritten at every standby start (below).
PASSFILE="${FAILOVER_LAB_PASSFILE:-$(dirname "$PGDATA")/.pgpass}"
SLOT="${FAILOVER_LAB_REGION//-/_}" # dc-b -> dc_b: slot names allow only [a-z0-9_]
export PGPASSWORD="$REPLICATOR_PASSWORD"
PEER_CONN="host=$FAILOVER_LAB_PEER_HOST port=$PEER_PORT user=replicator dbname=postgres connect_timeout=2"
TOPOLOGY="${FAILOVER_LAB_TOPOLOGY:-active-passive}"
TOPOLOGY_FILE="$(dirname "$PGDATA")/topology"

log() { echo "failover-lab postgres-entrypoint [$FAILOVER_LAB_REGION]: $*" >&2; }
as_pg() { $RUN_AS "$@"; }

# "t" when the peer answers and is a primary (not in recovery); anything else means no. Bounded: a
# frozen peer accepts the TCP connection and then never answers.
peer_is_primary() {
  [ "$(timeout 5 psql "$PEER_CONN" -XtAc 'SELECT NOT pg_is_in_recovery()' 2>/dev/null || true)" = "t" ]
}

# The peer's fence epoch (failover_lab.fenced_epoch, docs/fencing.md), empty when it carries none.
peer_fence_epoch() {
  timeout 5 psql "$PEER_CONN" -XtAc "SELECT coalesce(current_setting('failover_lab.fenced_epoch', true), '')" 2>/dev/null || true
}

# This node's fence epoch from its own data dir (ALTER SYSTEM writes it there; the last line wins).
own_fence_epoch() {
  sed -n "s/^failover_lab\.fenced_epoch = '\([0-9]*\)'$/\1/p" "$PGDATA/postgresql.auto.conf" 2>/dev/null | tail -n 1
}

# The timeline the peer writes on now (IDENTIFY_SYSTEM over a replication connection: current, not the
# last checkpoint's, which lags a promotion).
peer_timeline() {
  timeout 5 psql "$PEER_CONN replication=true" -XtAc IDENTIFY_SYSTEM 2>/dev/null | cut -d'|' -f2 || true
}

# This node's latest timeline: a promotion writes <timeline>.history into pg_wal at once, before its
# checkpoint updates the control file.
own_timeline() {
  local latest=1 f n
  for f in "$PGDATA"/pg_wal/*.history; do
    [ -e "$f" ] || continue
    n=$((16#$(basename "$f" .history)))
    [ "$n" -gt "$latest" ] && latest=$n
  done
  echo "$latest"
}

# Two nodes out of recovery: "keep", "rewind", or "refuse: <why>" (see the header).
which_primary() {
  local peer_fence own_fence peer_tl own_tl
  peer_fence="$(peer_fence_epoch)"
  own_fence="$(own_fence_epoch)"
  peer_tl="$(peer_timeline)"
  own_tl="$(own_timeline)"
  if [ -n "$peer_fence" ]; then
    echo "keep: the peer is fenced (epoch $peer_fence): it is not the primary, this node is not rebuilt from it"
  elif [ -n "$own_fence" ]; then
    echo "rewind: this node is fenced (epoch $own_fence) and the peer is an unfenced primary"
  elif [ -n "$peer_tl" ] && [ "$peer_tl" -gt "$own_tl" ]; then
    echo "rewind: the peer was promoted after this node (timeline $peer_tl > $own_tl)"
  else
    echo "refuse: the peer is an unfenced primary on timeline ${peer_tl:-unknown} and this node is one on timeline $own_tl; ask the router (GET /admin/status) which region is the primary and rebuild the other"
  fi
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

# libpq reads the replication password from a 0600 passfile; it never goes into the data dir.
write_passfile() {
  printf '%s:%s:*:replicator:%s\n' "$FAILOVER_LAB_PEER_HOST" "$PEER_PORT" "$REPLICATOR_PASSWORD" >"$PASSFILE"
  chown postgres: "$PASSFILE"
  chmod 0600 "$PASSFILE"
}

# Standby settings go to postgresql.auto.conf (last line wins; ALTER SYSTEM rewrites it cleanly).
configure_as_standby() {
  write_passfile
  cat >>"$PGDATA/postgresql.auto.conf" <<CONF
primary_conninfo = 'host=$FAILOVER_LAB_PEER_HOST port=$PEER_PORT user=replicator application_name=$FAILOVER_LAB_REGION passfile=$PASSFILE'
primary_slot_name = '$SLOT'
synchronous_standby_names = ''
CONF
  as_pg touch "$PGDATA/standby.signal"
}

empty_data_dir() {
  mkdir -p "$PGDATA"
  find "$PGDATA" -mindepth 1 -delete
  chown postgres: "$PGDATA"
  chmod 0700 "$PGDATA"
}

base_backup() {
  log "pg_basebackup from $FAILOVER_LAB_PEER_HOST (slot $SLOT)"
  empty_data_dir
  ensure_slot_on_peer
  # PGPASSWORD is exported above: the password travels in the environment, never on argv
  as_pg pg_basebackup -d "$PEER_CONN" -D "$PGDATA" -X stream -S "$SLOT" --checkpoint=fast
  configure_as_standby
}

# Where an old primary's forked rows go: on the volume beside the data dir (a recreated container
# keeps them; `down -v` removes them with the data), one JSON line per row as the lab writes them
# ({service, table, key, row}, infra/lab/src/quarantine.ts). The drill's compose backend lists them
# with `docker exec`; the container's log names each file.
QUARANTINE_DIR="${FAILOVER_LAB_QUARANTINE_DIR:-$(dirname "$PGDATA")/quarantine}"

# The rows of one FAILOVER_LAB_FORK_KEYS table that this node (served privately on $1) holds and the
# peer lacks, as JSON lines on stdout. The peer's keys are read as `app` (it owns the tables), this
# node's rows as the superuser on the private socket; the comparison runs on the private server.
forked_rows_of() {
  local private="$1" table="$2" key="$3" tmp="$4"
  PGPASSWORD="$APP_DB_PASSWORD" timeout 120 psql \
    "host=$FAILOVER_LAB_PEER_HOST port=$PEER_PORT user=app dbname=$POSTGRES_DB connect_timeout=5" \
    -XtAq -v ON_ERROR_STOP=1 -v tbl="$table" -v key="$key" >"$tmp/peer-keys" <<'SQL' || return 1
SELECT to_regclass(:'tbl') IS NOT NULL AS present \gset
\if :present
SELECT coalesce(json_agg(k), '[]') FROM (SELECT :"key"::text AS k FROM :"tbl") s;
\else
SELECT '[]';
\endif
SQL
  PGPASSWORD="$POSTGRES_PASSWORD" timeout 120 psql -h "$private" -U postgres -d "$POSTGRES_DB" \
    -XtAq -v ON_ERROR_STOP=1 -v svc="$POSTGRES_DB" -v tbl="$table" -v key="$key" \
    -v peerfile="$tmp/peer-keys" <<'SQL'
SELECT to_regclass(:'tbl') IS NOT NULL AS present \gset
\if :present
\set peer `cat :'peerfile'`
SELECT json_build_object('service', :'svc', 'table', :'tbl', 'key', t.k, 'row', t.r)
FROM (SELECT x.:"key"::text AS k, to_jsonb(x) AS r FROM :"tbl" x) t
WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(:'peer'::jsonb) p(k) WHERE p.k = t.k)
ORDER BY t.k;
\endif
SQL
}

# Every table of FAILOVER_LAB_FORK_KEYS; prints one line for the log, fails with the reason.
export_forked_rows() {
  local private="$1" tmp spec table key n total=0 counts="" file
  tmp="$(mktemp -d)"
  : >"$tmp/rows"
  for spec in $FAILOVER_LAB_FORK_KEYS; do
    # identifiers, interpolated as such: only what the compose file generates
    if ! [[ "$spec" =~ ^[a-z_]+:[a-z_]+$ ]]; then
      echo "FAILOVER_LAB_FORK_KEYS has '$spec', not table:key"
      rm -rf "$tmp"
      return 1
    fi
    table="${spec%%:*}" key="${spec#*:}"
    if ! forked_rows_of "$private" "$table" "$key" "$tmp" >"$tmp/table" 2>"$tmp/err"; then
      echo "$table: $(tr '\n' ' ' <"$tmp/err")"
      rm -rf "$tmp"
      return 1
    fi
    n="$(grep -c . "$tmp/table" || true)"
    cat "$tmp/table" >>"$tmp/rows"
    total=$((total + n)) counts="$counts${counts:+, }$table $n"
  done
  if [ "$total" -eq 0 ]; then
    echo "no forked rows ($counts)"
  else
    mkdir -p "$QUARANTINE_DIR"
    chmod 0700 "$QUARANTINE_DIR"
    # the lab's name: <service>-<region>-<ISO time with : and . as ->.jsonl
    file="$QUARANTINE_DIR/$POSTGRES_DB-$FAILOVER_LAB_REGION-$(date -u +%Y-%m-%dT%H-%M-%S-%3NZ).jsonl"
    (umask 077 && cp "$tmp/rows" "$file")
    echo "$total forked row(s) quarantined in $file ($counts)"
  fi
  rm -rf "$tmp"
}

# Before an old primary is rewound (or re-cloned), the rows it committed after the fork that the
# peer (the new primary) lacks are exported to quarantine: the rewind erases them and no other node
# keeps them (docs/fencing.md, "Quarantine of forked writes"; the lab's restore does the same). This
# node is started where nothing but this script reaches it — no TCP listen address (no app, router or
# standby gets in), its socket in a fresh 0700 dir, every session read-only — and its crash recovery
# runs at that start; nothing else in the data dir changes, so a fence marker stays. Then a fast
# shutdown, ready for pg_rewind. A node that cannot be read is no reason to keep the region down: the
# rewind goes on, and the log says why the rows were not read.
quarantine_forked_rows() {
  if [ -z "${FAILOVER_LAB_FORK_KEYS:-}" ] || [ -z "${POSTGRES_DB:-}" ] ||
    [ -z "${POSTGRES_PASSWORD:-}" ] || [ -z "${APP_DB_PASSWORD:-}" ]; then
    log "its forked rows could NOT be read: FAILOVER_LAB_FORK_KEYS, POSTGRES_DB, POSTGRES_PASSWORD and APP_DB_PASSWORD are needed"
    return 0
  fi
  local started=$SECONDS private result ours=no stale_pid
  # a killed container leaves its postmaster.pid behind, naming PID 1 (this script, now): never signal it
  stale_pid="$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null || true)"
  private="$(mktemp -d /tmp/flab-pgq-XXXXXX)"
  chown postgres: "$private"
  chmod 0700 "$private"
  if as_pg pg_ctl -D "$PGDATA" -w -t 120 -l "$private/server.log" \
    -o "-c listen_addresses='' -c unix_socket_directories=$private -c default_transaction_read_only=on" \
    start >/dev/null; then
    ours=yes
    if result="$(export_forked_rows "$private")"; then
      log "read privately in $((SECONDS - started)) s: $result"
    else
      log "its forked rows could NOT be read: $result"
    fi
  else
    log "its forked rows could NOT be read: the private start failed: $(tail -n 5 "$private/server.log" 2>/dev/null | tr '\n' ' ')"
  fi
  # a start that timed out may still be running: stop the server it started, whatever happened above
  if [ "$ours" = no ] && [ -e "$PGDATA/postmaster.pid" ] &&
    [ "$(head -n 1 "$PGDATA/postmaster.pid")" != "$stale_pid" ]; then
    ours=yes
  fi
  if [ "$ours" = yes ]; then
    as_pg pg_ctl -D "$PGDATA" -m fast -w -t 60 stop >/dev/null 2>&1 ||
      as_pg pg_ctl -D "$PGDATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$private"
}

rewind_old_primary() {
  log "the peer is primary and this data dir is not a standby: rewinding (old primary rejoins as standby)"
  ensure_slot_on_peer
  # A just-promoted peer may not have checkpointed yet: its control file would still show the old
  # timeline and pg_rewind would wrongly answer "no rewind required".
  psql "$PEER_CONN" -XqAc CHECKPOINT
  if as_pg pg_rewind --target-pgdata="$PGDATA" --source-server="$PEER_CONN" --progress; then
    log "rewound from $FAILOVER_LAB_PEER_HOST"
    configure_as_standby
  else
    log "pg_rewind failed: taking a fresh base backup instead"
    base_backup
  fi
}

init_primary() {
  : "${POSTGRES_PASSWORD:?}" "${POSTGRES_DB:?}" "${APP_DB_PASSWORD:?}"
  log "initdb: a fresh primary for $POSTGRES_DB"
  empty_data_dir
  local pwfile
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  chown postgres: "$pwfile"
  as_pg initdb -D "$PGDATA" --username=postgres --pwfile="$pwfile" --auth-local=scram-sha-256 --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  cat >>"$PGDATA/postgresql.conf" <<'CONF'
# failover-lab (docker compose): the same on every node of the cell pair
listen_addresses = '*'
wal_log_hints = on
# promotion after the primary's death in ~0.1 s instead of 5 s
wal_retrieve_retry_interval = 200ms
max_slot_wal_keep_size = 1GB
# pg_rewind reads this node's own WAL back to the last checkpoint before the fork; the checkpoint that
# ends its crash recovery would otherwise recycle those segments ("could not find previous WAL record")
wal_keep_size = 256MB
hot_standby = on
CONF
  if [ "$TOPOLOGY" = active-active ]; then
    echo 'wal_level = logical' >>"$PGDATA/postgresql.conf"
  fi
  # Every role needs its password, on the socket too (no trust line: anything that gets a shell in
  # the container must still know a password); the superuser only over the socket. The health check's
  # pg_isready needs no line: the server asks for a password, pg_isready stops there and reports
  # "accepting connections", and a client leaving at the password prompt is not logged.
  cat >"$PGDATA/pg_hba.conf" <<'HBA'
local all all scram-sha-256
host all postgres all reject
host replication replicator all scram-sha-256
host all all all scram-sha-256
HBA
  # Setup on the socket only: a health check over TCP (pg_isready -h) must not pass before it is done.
  mkdir -p "$SOCKET_DIR"
  chown postgres: "$SOCKET_DIR"
  as_pg pg_ctl -D "$PGDATA" -w -t 120 -o "-c listen_addresses='' -c unix_socket_directories=$SOCKET_DIR" start >/dev/null
  # Exported, not passed on env's command line: the passwords stay out of every argv.
  (
    export PGHOST="$SOCKET_DIR" PGPASSWORD="$POSTGRES_PASSWORD" POSTGRES_DB REPLICATOR_PASSWORD APP_DB_PASSWORD
    export FAILOVER_LAB_SYNC_STANDBY="${FAILOVER_LAB_SYNC_STANDBY:-}"
    as_pg bash "$(dirname "$(readlink -f "$0")")/init-primary.sh"
  )
  as_pg pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
}

# The topology this data was made with; asking for the other one on it is refused (`down -v` first).
check_topology() {
  case "$TOPOLOGY" in active-passive | active-active) ;; *)
    log "FAILOVER_LAB_TOPOLOGY must be active-passive or active-active, got '$TOPOLOGY'"
    exit 1
    ;;
  esac
  if [ -s "$PGDATA/PG_VERSION" ]; then
    local made
    # data made before the topology was recorded is active-passive
    made="$(cat "$TOPOLOGY_FILE" 2>/dev/null || echo active-passive)"
    if [ "$made" != "$TOPOLOGY" ]; then
      log "this volume's data is $made; it cannot start $TOPOLOGY (docker compose down -v first)"
      exit 1
    fi
  fi
}

# Active-active: subscribe to the other region once both regions' migrations ran (the app makes the
# publications). In the background of the server it starts, and a child of it once exec'd: it exits
# 0 whatever happens, since the postmaster takes any other exit of a child for a crashed backend.
subscribe_when_ready() {
  set +e
  local sub pub here there own_slot
  # the slot the other region's subscription makes here (named after this region, its origin)
  own_slot="from_${FAILOVER_LAB_REGION//-/_}"
  sub="$(sed -n 's/^CREATE SUBSCRIPTION \([a-z_]*\) .*/\1/p' <<<"$FAILOVER_LAB_SUBSCRIPTION_SQL")"
  pub="$(sed -n 's/.* PUBLICATION \([a-z_]*\)$/\1/p' <<<"$FAILOVER_LAB_SUBSCRIPTION_SQL")"
  [ -n "$sub" ] && [ -n "$pub" ] || { log "FAILOVER_LAB_SUBSCRIPTION_SQL is not a subscription"; exit 0; }
  local_psql() { PGPASSWORD="$POSTGRES_PASSWORD" timeout 90 psql -h "$SOCKET_DIR" -U postgres -d messaging -XtAq "$@"; }
  while :; do
    sleep 2
    here="$(local_psql -c "SELECT (SELECT count(*) FROM pg_subscription WHERE subname = '$sub') || ' ' || (SELECT count(*) FROM pg_publication WHERE pubname = '$pub')" 2>/dev/null)"
    case "$here" in
      "1 "*) log "subscription $sub is in place"; exit 0 ;;
      "0 1") ;;
      *) continue ;; # not up yet, or this region's migrations have not run
    esac
    there="$(timeout 5 psql "host=$FAILOVER_LAB_PEER_HOST port=$PEER_PORT user=replicator dbname=messaging connect_timeout=2" -XtAc "SELECT count(*) FROM pg_publication WHERE pubname = '$pub'" 2>/dev/null)"
    [ "$there" = 1 ] || continue
    # One region at a time, dc-a first: CREATE SUBSCRIPTION holds a transaction open while it makes
    # its slot on the peer, and making a slot waits for every transaction open there. Both at once,
    # each waits for the other's forever (seen here). dc-b goes once dc-a's slot exists on it.
    if [ "$FAILOVER_LAB_BOOTSTRAP_ROLE" != primary ] &&
      [ "$(local_psql -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$own_slot'" 2>/dev/null)" != 1 ]; then
      continue
    fi
    # a statement still waiting on the peer is cancelled server-side by statement_timeout, not by
    # killing psql; the next round tries again
    if PGOPTIONS='-c statement_timeout=60s' local_psql -v ON_ERROR_STOP=1 -c "$FAILOVER_LAB_SUBSCRIPTION_SQL" >/dev/null; then
      log "subscribed to $FAILOVER_LAB_PEER_HOST ($sub, publication $pub)"
      exit 0
    fi
  done
}

check_topology
if [ "$TOPOLOGY" = active-active ]; then
  [ -s "$PGDATA/PG_VERSION" ] || init_primary
  echo active-active >"$TOPOLOGY_FILE"
  # the subscription's replication password (host:port:db:user:password, 0600)
  write_passfile
  : "${FAILOVER_LAB_SUBSCRIPTION_SQL:?}" "${POSTGRES_PASSWORD:?}"
  (subscribe_when_ready; exit 0) &
  mkdir -p "$SOCKET_DIR"
  chown postgres: "$SOCKET_DIR"
  exec ${FAILOVER_LAB_EXEC:-$RUN_AS} "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ "$FAILOVER_LAB_BOOTSTRAP_ROLE" = standby ]; then
    wait_for_peer_primary
    base_backup
  elif peer_is_primary; then
    base_backup
  else
    init_primary
  fi
elif [ ! -e "$PGDATA/standby.signal" ] && peer_is_primary; then
  verdict="$(which_primary)"
  log "this node and the peer are both out of recovery: $verdict"
  case "$verdict" in
    rewind:*)
      quarantine_forked_rows
      rewind_old_primary
      ;;
    keep:*) ;;
    *) exit 1 ;;
  esac
elif [ -e "$PGDATA/standby.signal" ]; then
  write_passfile
fi

[ -s "$PGDATA/PG_VERSION" ] && echo active-passive >"$TOPOLOGY_FILE"
mkdir -p "$SOCKET_DIR"
chown postgres: "$SOCKET_DIR"
exec ${FAILOVER_LAB_EXEC:-$RUN_AS} "$@"
