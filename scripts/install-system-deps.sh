#!/usr/bin/env bash
# Install the Debian packages bilevel's tests use (shipped data sets and their readers; redis-server for the
# distributed-bench tests, which start their own server on a loopback port; chromium for the browser tests,
# driven by playwright-core with executablePath /usr/bin/chromium), only if missing.
# As root on Debian: apt-get update + apt-get install of the missing ones. Otherwise: a one-line note,
# exit 0 (tests that need a missing package skip with a message).
set -euo pipefail

PACKAGES=(dataset-fashion-mnist python3-sklearn redis-server chromium)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
else
  echo "install-system-deps: not a Debian system (no dpkg-query); skipping ${PACKAGES[*]}"
  exit 0
fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-system-deps: all present (${PACKAGES[*]})"
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: not root (or no apt-get); not installing ${missing[*]} — run: sudo apt-get install ${missing[*]}"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-system-deps: installed ${missing[*]}"
