#!/bin/sh
# Redis entrypoint for one cell in docker compose (the project's own image: Debian's redis-server).
# A standby region always starts as a replica of its peer. A primary region starts as a replica
# too when its peer is already a master: that is an old primary coming back after a failover
# (`docker start`), and a second master would be a split-brain window.
# Messaging active-active (FAILOVER_LAB_TOPOLOGY=active-active): both regions' Redis are masters, each
# its own cell's pub/sub and limits; nothing replicates between them (docs/active-active.md).
# Known gap: a promoted dc-b Redis that is itself restarted comes back as a replica of dc-a; the
# router's next promotion (REPLICAOF NO ONE through the cell's admin API) is what fixes it.
# Every Redis has a password (requirepass, and masterauth for replication): REDISCLI_AUTH, from
# REDIS_PASSWORD in the env file. It goes into a 0600 config file in a 0700 dir owned by the redis
# user, never onto a command line (ps, docker top); redis-cli reads it from its own variable.
# RUN_AS, REDIS_CLI_TIMEOUT, FAILOVER_LAB_REDIS_CONF and FAILOVER_LAB_REDIS_USER exist so the script can
# run outside a container (test/compose-entrypoints.test.ts).
set -eu
: "${FAILOVER_LAB_PEER_HOST:?}" "${FAILOVER_LAB_BOOTSTRAP_ROLE:?}" "${REDISCLI_AUTH:?}"
PEER_PORT="${FAILOVER_LAB_PEER_PORT:-6379}"
RUN_AS="${RUN_AS:-setpriv --reuid=redis --regid=redis --init-groups}"
CONF="${FAILOVER_LAB_REDIS_CONF:-/run/failover-lab/redis.conf}"
REDIS_USER="${FAILOVER_LAB_REDIS_USER:-redis}"

conf_dir="$(dirname "$CONF")"
mkdir -p "$conf_dir"
chown "$REDIS_USER": "$conf_dir"
chmod 0700 "$conf_dir"
# printf is the shell's builtin: the password is on no process's argv
(umask 077 && printf 'requirepass %s\nmasterauth %s\n' "$REDISCLI_AUTH" "$REDISCLI_AUTH" >"$CONF")
chown "$REDIS_USER": "$CONF"

# Bounded: a frozen (docker pause) peer accepts the TCP connection and never answers, and redis-cli
# has no timeout of its own. A peer that does not answer in time counts as unreachable.
peer_role="$(timeout "${REDIS_CLI_TIMEOUT:-3}" redis-cli -h "$FAILOVER_LAB_PEER_HOST" -p "$PEER_PORT" --no-raw ROLE 2>/dev/null |
  head -n 1 | tr -d '"' | sed 's/^1) //' || true)"
unset REDISCLI_AUTH # the server reads its config file; nothing it starts needs the variable
# The config file comes first (redis-server's rule); "$@" is the compose command's server and options.
server="$1"
shift
set -- "$server" "$CONF" "$@"
if [ "${FAILOVER_LAB_TOPOLOGY:-active-passive}" = active-active ]; then
  echo "failover-lab redis-entrypoint: master (messaging active-active: every region writes)" >&2
  exec $RUN_AS "$@"
fi
if [ "$FAILOVER_LAB_BOOTSTRAP_ROLE" = standby ] || [ "$peer_role" = master ]; then
  echo "failover-lab redis-entrypoint: replica of $FAILOVER_LAB_PEER_HOST (peer role: ${peer_role:-unreachable})" >&2
  exec $RUN_AS "$@" --replicaof "$FAILOVER_LAB_PEER_HOST" "$PEER_PORT"
fi
echo "failover-lab redis-entrypoint: master (peer role: ${peer_role:-unreachable})" >&2
exec $RUN_AS "$@"
