#!/usr/bin/env bash
# Installs every Debian 12 package the build and the tests need. Idempotent:
# packages already present are left alone, and apt is not touched at all when
# nothing is missing.
#
# Usage: bazel/install_deps.sh   (as root, or with sudo available)
#        bazel/install_deps.sh PACKAGE...   the same for these packages only
set -euo pipefail

packages=(
  bazel-bootstrap bazel-platforms bazel-rules-cc bazel-rules-java
  g++ pkg-config openssl python-is-python3 python3-h2 haproxy
  grpc-proto libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libabsl-dev libbenchmark-dev libcivetweb-dev libgmock-dev libgtest-dev
  prometheus
)
[ $# -eq 0 ] || packages=("$@")

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
