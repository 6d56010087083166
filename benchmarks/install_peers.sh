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

exec "$(dirname "$0")/../bazel/install_deps.sh" \
  nats-server libnats-dev redis-server redis-tools python3-matplotlib
