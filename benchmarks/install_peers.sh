#!/usr/bin/env bash
# Installs the Debian 12 packages of //benchmarks' peer rows: NATS JetStream
# (nats-server, and libnats-dev for the publisher the harness compiles),
# Redis Streams (redis-server, redis-tools for redis-benchmark and
# redis-cli), and python3-matplotlib for charts of the --json results.
# Benchmarks only: `bazel test //...` needs none of them. Idempotent: packages
# already present are left alone, and apt is not touched at all when nothing
# is missing.
#
# Usage: benchmarks/install_peers.sh   (as root, or with sudo available)
set -euo pipefail

packages=(
  nats-server libnats-dev redis-server redis-tools python3-matplotlib
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "Installing: ${missing[*]}" >&2
"${sudo[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
