#!/usr/bin/env bash
# Offline checks of the Kubernetes manifests (no cluster needed):
#   1. render:      kubectl kustomize of every overlay in k8s/overlays/;
#   2. schema:      every rendered object against the Kubernetes OpenAPI
#                   schema (kubernetes-models validate() + tsc --strict over
#                   the objects typed with its interfaces), and deliberately
#                   broken manifests (testdata/broken/*) must be rejected;
#   3. consistency: args, ports, probes, Services, NetworkPolicy, PDB and
#                   grace periods against the real binaries' --helpfull; the
#                   consumer's log on its StatefulSet's volume claim, the
#                   producers' per-pod --target and --consumer_shards equal
#                   to the replicas, stable producer ids, deadlines; and
#                   deliberately broken variants must be rejected;
#   4. components:  each optional component of k8s/components/, applied to
#                   the local overlay by testdata/with-*, through 1-3.
#   5. rules:       the PrometheusRules' groups (overlays/monitoring) pass
#                   promtool check rules and their unit tests
#                   (testdata/rules/*.test.yaml, promtool test rules), name
#                   only metrics a real consumer_service exposes, and a
#                   changed rule fails its tests.
# Installs its npm packages (npm ci) and missing Debian packages itself.
# Ends with "N passed, N failed"; exits 1 if anything failed.
#
# Usage: k8s/checks/run_checks.sh [--consumer PATH --producer PATH]
#   Without paths, builds //consumer_service //producer_service with Bazel
#   ($BAZEL, default "bazel"; startup options from $BAZEL_STARTUP_OPTS) and
#   uses the binaries in bazel-bin.
set -uo pipefail

checks_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
k8s_dir=$(dirname "$checks_dir")
repo_dir=$(dirname "$k8s_dir")
# shellcheck source=lib/deps.sh
source "$checks_dir/lib/deps.sh"

consumer_bin="" producer_bin=""
while [ $# -gt 0 ]; do
  case $1 in
    --consumer) consumer_bin=$2; shift 2 ;;
    --producer) producer_bin=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/k8s-checks.XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

summary_and_exit() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

# check NAME COMMAND...: passes when COMMAND exits 0; its output is shown on
# failure only.
check() {
  local name=$1; shift
  if "$@" > "$work/log" 2>&1; then
    passed=$((passed + 1)); echo "PASS $name"
  else
    failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/    /' "$work/log"
  fi
}

# reject NAME REGEX COMMAND...: passes when COMMAND exits 1 (a finding, not a
# crash or a usage error) and its output matches the extended REGEX.
reject() {
  local name=$1 regex=$2; shift 2
  "$@" > "$work/log" 2>&1
  local status=$?
  if [ "$status" -eq 1 ] && grep -Eq -- "$regex" "$work/log"; then
    passed=$((passed + 1)); echo "PASS $name (rejected as expected)"
  else
    failed=$((failed + 1))
    echo "FAIL $name: expected exit 1 and output matching: $regex (got exit $status)"
    sed 's/^/    /' "$work/log"
  fi
}

# --- tools -----------------------------------------------------------------
# kubectl is not a Debian 12 package (kubernetes-client there is 1.20, whose
# kustomize is too old); it comes with the machine image.
kustomize_version() {
  command -v kubectl >/dev/null || { echo "kubectl not found; install kubectl >= 1.27 (kustomize v5)"; return 1; }
  local version
  version=$(kubectl version --client -o json 2>/dev/null | sed -n 's/.*"kustomizeVersion": *"v\{0,1\}\([0-9][0-9.]*\).*/\1/p')
  echo "kubectl $(kubectl version --client 2>/dev/null | head -1), kustomize ${version:-unknown}"
  [ "${version%%.*}" -ge 5 ] 2>/dev/null || { echo "kustomize v5 or newer needed (kubectl >= 1.27)"; return 1; }
}
check "tools: kubectl with kustomize >= v5" kustomize_version
check "tools: npm ci in k8s/checks" ensure_node_modules "$checks_dir"
check "tools: promtool (Debian package prometheus)" ensure_promtool
if [ "$failed" -gt 0 ]; then summary_and_exit; fi

build_binaries() {
  local bazel=${BAZEL:-bazel}
  # shellcheck disable=SC2086 # startup options are words
  (cd "$repo_dir" && "$bazel" ${BAZEL_STARTUP_OPTS:-} build //consumer_service //producer_service) || return 1
  local bin
  # shellcheck disable=SC2086
  bin=$(cd "$repo_dir" && "$bazel" ${BAZEL_STARTUP_OPTS:-} info bazel-bin 2>/dev/null) || return 1
  echo "$bin" > "$work/bazel-bin"
}
if [ -z "$consumer_bin" ] || [ -z "$producer_bin" ]; then
  check "binaries: bazel build //consumer_service //producer_service" build_binaries
  if [ -f "$work/bazel-bin" ]; then
    consumer_bin=$(cat "$work/bazel-bin")/consumer_service/consumer_service
    producer_bin=$(cat "$work/bazel-bin")/producer_service/producer_service
  fi
fi
[ -n "$consumer_bin" ] && consumer_bin=$(realpath -m "$consumer_bin")
[ -n "$producer_bin" ] && producer_bin=$(realpath -m "$producer_bin")
binaries_ok() { [ -x "$consumer_bin" ] && [ -x "$producer_bin" ] || { echo "not executable: '$consumer_bin' '$producer_bin'"; return 1; }; }
check "binaries: $consumer_bin, $producer_bin" binaries_ok
if [ "$failed" -gt 0 ]; then summary_and_exit; fi

# --- 1. render -------------------------------------------------------------
overlays=()
for dir in "$k8s_dir"/overlays/*/; do
  name=$(basename "$dir")
  check "render: kubectl kustomize k8s/overlays/$name" sh -c 'kubectl kustomize "$1" > "$2"' sh "$dir" "$work/$name.yaml"
  [ -s "$work/$name.yaml" ] && overlays+=("$name")
done

# --- 2. schema -------------------------------------------------------------
for name in "${overlays[@]}"; do
  check "schema: k8s/overlays/$name" node "$checks_dir/schema.mjs" "$work/$name.yaml"
done
for dir in "$checks_dir"/testdata/broken/*/; do
  name=$(basename "$dir")
  if kubectl kustomize "$dir" > "$work/broken-$name.yaml" 2> "$work/log"; then
    reject "schema rejects testdata/broken/$name" "$(cat "$dir/expected")" \
      node "$checks_dir/schema.mjs" "$work/broken-$name.yaml"
  else
    failed=$((failed + 1)); echo "FAIL schema rejects testdata/broken/$name: it does not even render"
    sed 's/^/    /' "$work/log"
  fi
done

# --- 3. consistency --------------------------------------------------------
bins=(--consumer "$consumer_bin" --producer "$producer_bin")
for name in "${overlays[@]}"; do
  check "consistency: k8s/overlays/$name" node "$checks_dir/consistency.mjs" "${bins[@]}" "$work/$name.yaml"
done
# The broken variants are made from the local overlay's rendering.
if [ -s "$work/local.yaml" ]; then
  for case in $(node "$checks_dir/consistency_negative.mjs" --list); do
    check "consistency rejects $case" \
      node "$checks_dir/consistency_negative.mjs" "${bins[@]}" --case "$case" "$work/local.yaml"
  done
else
  failed=$((failed + 1)); echo "FAIL consistency negative cases: k8s/overlays/local did not render"
fi

# --- 4. optional components ------------------------------------------------
# Each testdata/with-* overlay applies an optional component of
# k8s/components/ (with what it needs) to the local overlay: render, schema
# and consistency as for an overlay.
for dir in "$checks_dir"/testdata/with-*/; do
  name=$(basename "$dir")
  check "render: testdata/$name" sh -c 'kubectl kustomize "$1" > "$2"' sh "$dir" "$work/$name.yaml"
  if [ -s "$work/$name.yaml" ]; then
    check "schema: testdata/$name" node "$checks_dir/schema.mjs" "$work/$name.yaml"
    check "consistency: testdata/$name" node "$checks_dir/consistency.mjs" "${bins[@]}" "$work/$name.yaml"
  fi
done

# --- 5. alerting rules -----------------------------------------------------
rule_overlays=0
for name in "${overlays[@]}"; do
  grep -q '^kind: PrometheusRule$' "$work/$name.yaml" || continue
  rule_overlays=$((rule_overlays + 1))
  rules="$work/rules-$name"
  check "rules: PrometheusRules of k8s/overlays/$name as rule files, metric names against a scrape of consumer_service" \
    node "$checks_dir/prometheus_rules.mjs" --consumer "$consumer_bin" --out-dir "$rules" "$work/$name.yaml"
  check "rules: promtool check rules (k8s/overlays/$name)" sh -c 'promtool check rules "$1"/*.rules.yaml' sh "$rules"
  cp "$checks_dir"/testdata/rules/*.test.yaml "$rules"/
  for test in "$rules"/*.test.yaml; do
    check "rules: promtool test rules testdata/rules/$(basename "$test") (k8s/overlays/$name)" promtool test rules "$test"
  done
  # The tests can fail: ConsumerDown waiting 10 minutes instead of 2 must
  # break them.
  mkdir -p "$rules/changed"
  sed 's/^\( *\)for: 2m$/\1for: 10m/' "$rules/consumer.rules.yaml" > "$rules/changed/consumer.rules.yaml"
  cp "$rules/consumer.test.yaml" "$rules/changed/"
  reject "rules: promtool test rules catches a changed rule (ConsumerDown for: 10m)" "alertname: ConsumerDown" \
    promtool test rules "$rules/changed/consumer.test.yaml"
done
if [ "$rule_overlays" -eq 0 ]; then
  failed=$((failed + 1)); echo "FAIL rules: no overlay renders a PrometheusRule (k8s/overlays/monitoring)"
fi

summary_and_exit
