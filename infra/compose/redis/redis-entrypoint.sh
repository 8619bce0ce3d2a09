#!/bin/sh
# Redis entrypoint for one cell in docker compose (the project's own image: Debian's redis-server).
# A standby region always starts as a replica of its peer. A primary region starts as a replica
# too when its peer is already a master: that is an old primary coming back after a failover
# (`docker start`), and a second master would be a split-brain window.
# Known gap: a promoted dc-b Redis that is itself restarted comes back as a replica of dc-a; the
# router's next promotion (REPLICAOF NO ONE through the cell's admin API) is what fixes it.
# RUN_AS and REDIS_CLI_TIMEOUT exist so the script can run outside a container
# (test/compose-entrypoints.test.ts).
set -eu
: "${FAILOVER_LAB_PEER_HOST:?}" "${FAILOVER_LAB_BOOTSTRAP_ROLE:?}"
PEER_PORT="${FAILOVER_LAB_PEER_PORT:-6379}"
RUN_AS="${RUN_AS:-setpriv --reuid=redis --regid=redis --init-groups}"

# Bounded: a frozen (docker pause) peer accepts the TCP connection and never answers, and redis-cli
# has no timeout of its own. A peer that does not answer in time counts as unreachable.
peer_role="$(timeout "${REDIS_CLI_TIMEOUT:-3}" redis-cli -h "$FAILOVER_LAB_PEER_HOST" -p "$PEER_PORT" --no-raw ROLE 2>/dev/null |
  head -n 1 | tr -d '"' | sed 's/^1) //' || true)"
# Inside the compose networks only (internal, no published port): no protected mode, which would
# refuse every non-loopback client of a password-less Redis.
set -- "$@" --protected-mode no
if [ "$FAILOVER_LAB_BOOTSTRAP_ROLE" = standby ] || [ "$peer_role" = master ]; then
  echo "failover-lab redis-entrypoint: replica of $FAILOVER_LAB_PEER_HOST (peer role: ${peer_role:-unreachable})" >&2
  exec $RUN_AS "$@" --replicaof "$FAILOVER_LAB_PEER_HOST" "$PEER_PORT"
fi
echo "failover-lab redis-entrypoint: master (peer role: ${peer_role:-unreachable})" >&2
exec $RUN_AS "$@"
