#!/usr/bin/env bash
# Installs what running the compose stack needs on a Debian bookworm host (as root), only what is
# missing: the Docker engine (docker.io, containerd, runc, iptables), mmdebstrap (to make the Debian
# base image locally, `npm run compose -- base`), docker-compose v1 (validates the file), and Compose
# v2 + buildx as CLI plugins. Compose v2 is packaged only in Debian trixie: its .deb is fetched from
# the host's own Debian mirror through a throw-away apt configuration and unpacked into
# /usr/local/lib/docker/cli-plugins; the system's apt sources are not changed. Starts nothing.
# Safe to run again.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "install-docker.sh: run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io containerd runc)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi

PLUGINS=/usr/local/lib/docker/cli-plugins
if [ -x "$PLUGINS/docker-compose" ] && [ -x "$PLUGINS/docker-buildx" ]; then
  echo "compose v2: $("$PLUGINS/docker-compose" version --short), buildx: $("$PLUGINS/docker-buildx" version | cut -d' ' -f2)"
  exit 0
fi

# The main archive URI the host's apt already uses (deb lines or deb822 URIs; comments skipped).
mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
  grep -E '^[[:space:]]*(URIs:|deb[[:space:]])' | grep -oE 'https?://[^[:space:]]+' |
  grep -v -- '-security' | grep -E '/debian/?$' | head -n 1 || true)"
mirror="${DEBIAN_MIRROR:-${mirror:-http://deb.debian.org/debian}}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$work/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives" -o APT::Sandbox::User=root)
echo "fetching docker-compose (v2) and docker-buildx from trixie at $mirror"
apt-get "${apt_opts[@]}" update -q
(cd "$work" && apt-get "${apt_opts[@]}" download docker-compose docker-buildx)
mkdir -p "$PLUGINS" "$work/x"
for deb in "$work"/docker-compose_*.deb "$work"/docker-buildx_*.deb; do dpkg-deb -x "$deb" "$work/x"; done
install -m 0755 "$work/x/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGINS/docker-compose"
install -m 0755 "$work/x/usr/libexec/docker/cli-plugins/docker-buildx" "$PLUGINS/docker-buildx"
echo "compose v2: $("$PLUGINS/docker-compose" version --short), buildx: $("$PLUGINS/docker-buildx" version | cut -d' ' -f2)"
