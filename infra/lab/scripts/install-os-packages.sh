#!/usr/bin/env bash
# Installs the OS packages the lab and the tests need, only those that are missing.
# Debian/Ubuntu, as root (or through sudo when available). Safe to run again.
set -euo pipefail

need=()
pg_bin=""
for v in 17 16 15; do
  if [ -x "/usr/lib/postgresql/$v/bin/pg_rewind" ] && [ -x "/usr/lib/postgresql/$v/bin/pg_basebackup" ]; then pg_bin="/usr/lib/postgresql/$v/bin"; break; fi
done
[ -n "$pg_bin" ] || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
# the lab console's end-to-end tests drive Debian's Chromium (playwright cannot download a browser)
[ -x /usr/bin/chromium ] || need+=(chromium)
# the detection sweep (`npm run drill -- sweep`) stresses the CPU during its no-fault episodes
command -v stress-ng >/dev/null 2>&1 || need+=(stress-ng)
# links at rest are forwarded by the kernel (infra/links/src/kernel.ts): iptables' nat table, and
# iproute2's `ss -K` to close a link's kernel-forwarded connections when a fault moves it to the proxy
command -v iptables-restore >/dev/null 2>&1 || need+=(iptables)
command -v ss >/dev/null 2>&1 || need+=(iproute2)

if [ ${#need[@]} -eq 0 ]; then
  echo "OS packages present (postgres: $pg_bin, $(redis-server --version | cut -d' ' -f3), $(prometheus --version 2>&1 | head -1 | cut -d' ' -f3))"
  exit 0
fi

echo "installing: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "missing ${need[*]}; run as root: apt-get update && apt-get install -y --no-install-recommends ${need[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# --no-install-recommends: docker-compose would otherwise pull docker.io and containerd; we only
# use it to validate the compose file. The services are started by the lab, never by systemd.
$SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
