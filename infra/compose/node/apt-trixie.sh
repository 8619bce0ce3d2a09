#!/bin/sh
# Installs the given packages from Debian trixie on a bookworm image, through the same mirror the
# image's own apt sources use (an internal mirror on a host without internet, deb.debian.org on a
# laptop). trixie is pinned at priority 100, so nothing else in the image moves to it unless a package
# named here needs it (nodejs 20 needs trixie's libc6 and libnode).
set -eu
# The first main-archive URI of a deb line or a deb822 URIs field (comments and -security skipped).
mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
  grep -E '^[[:space:]]*(URIs:|deb[[:space:]])' |
  grep -oE 'https?://[^[:space:]]+' | grep -v -- '-security' | head -n 1)"
[ -n "$mirror" ] || { echo "apt-trixie: no Debian mirror in the image's apt sources" >&2; exit 1; }
echo "deb ${mirror} trixie main" >/etc/apt/sources.list.d/trixie.list
printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' >/etc/apt/preferences.d/trixie
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -t trixie "$@"
