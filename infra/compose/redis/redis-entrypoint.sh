#!/bin/sh
# Redis entrypoint for one cell in docker compose; wraps the official image's docker-entrypoint.sh.
# A standby region always starts as a replica of its peer. A primary region starts as a replica
# too when its peer is already a master: that is an old primary coming back after a failover
# (`docker start`), and a second master would be a split-brain window (docs/facts.md, "Replica
# dumps").
# Known gap: a promoted dc-b Redis that is itself restarted comes back as a replica of dc-a; the
# router's next promotion (REPLICAOF NO ONE through the cell's admin API) is what fixes it.
set -eu
: "${FAILOVER_LAB_PEER_HOST:?}" "${FAILOVER_LAB_BOOTSTRAP_ROLE:?}"
PEER_PORT="${FAILOVER_LAB_PEER_PORT:-6379}"
# NEXT_ENTRYPOINT: the official image's entrypoint; overridable so the script can be tested outside a container.
NEXT_ENTRYPOINT="${NEXT_ENTRYPOINT:-docker-entrypoint.sh}"

peer_role="$(redis-cli -h "$FAILOVER_LAB_PEER_HOST" -p "$PEER_PORT" --no-raw ROLE 2>/dev/null | head -n 1 | tr -d '"' | sed 's/^1) //' || true)"
if [ "$FAILOVER_LAB_BOOTSTRAP_ROLE" = standby ] || [ "$peer_role" = master ]; then
  echo "failover-lab redis-entrypoint: replica of $FAILOVER_LAB_PEER_HOST (peer role: ${peer_role:-unreachable})" >&2
  exec $NEXT_ENTRYPOINT "$@" --replicaof "$FAILOVER_LAB_PEER_HOST" "$PEER_PORT"
fi
exec $NEXT_ENTRYPOINT "$@"
