#!/usr/bin/env bash
# Installs the Debian packages orchlog builds, tests and demos with. Root runs apt-get;
# anyone else is told the exact command.
set -euo pipefail
packages=(pkg-config zlib1g-dev libdeflate-dev libmicrohttpd-dev libgnutls28-dev libyaml-dev libcrypt-dev libhiredis-dev libpq-dev libcurl4-openssl-dev redis-server postgresql prometheus curl openssl python3-yaml chromium python3-venv python3-setuptools python3-wheel systemd util-linux time)
# Extra packages a target needs on top (e.g. `scripts/deps.sh wrk` for make test-load).
packages+=("$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "orchlog needs these Debian packages: ${missing[*]}" >&2
  echo "run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || apt-get update
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
