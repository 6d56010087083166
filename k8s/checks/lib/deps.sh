# shellcheck shell=bash
# Sourced by run_checks.sh and podman_smoke.sh: installs what the checks
# need, idempotently (nothing is touched when it is already there).

# Debian packages, installed only when missing.
apt_install_missing() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "Installing Debian packages: ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# k8s/checks/node_modules from the committed package-lock.json (npm ci), redone
# only when the lock file changed since the last install.
ensure_node_modules() {
  local checks_dir=$1
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install_missing nodejs npm
  fi
  local stamp="$checks_dir/node_modules/.package-lock.sha256"
  local want
  want=$(sha256sum "$checks_dir/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  echo "Installing npm packages into $checks_dir/node_modules (npm ci)" >&2
  (cd "$checks_dir" && npm ci --no-audit --no-fund --loglevel=error >&2) || return 1
  echo "$want" > "$stamp"
}

# promtool, from Debian's prometheus package, for the alerting rules.
ensure_promtool() {
  command -v promtool >/dev/null || apt_install_missing prometheus || return 1
  promtool --version | head -1
}
