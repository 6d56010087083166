#!/usr/bin/env bash
# Runs the pair for real from the rendered manifests, without a cluster:
# builds the image from the top-level Dockerfile with podman, plays the
# consumer Deployment and the producer Job (as a Pod, see podman_adapt.mjs)
# with `podman kube play`, and checks the producer's output, the consumer's
# logs and health, the security context the runtime applied, and a graceful
# stop. Everything talks to 127.0.0.1 only (host networking, consumer bound
# to loopback).
#
# Needs root (podman 4.3 from Debian, as root, with runc: crun fails on this
# machine's hybrid cgroup setup). Installs podman, runc, debootstrap and
# catatonit with apt-get if missing. /etc is not touched: podman reads its
# configuration from files of this run (CONTAINERS_CONF,
# CONTAINERS_STORAGE_CONF, CONTAINERS_REGISTRIES_CONF).
#
# No registry is reachable here, so the Debian 12 base image is made with
# debootstrap --variant=minbase and `podman import` (30-100 s), and
# `podman build --network=host` reaches the apt mirror.
#
# Takes 3-5 minutes end to end on 2 cores (debootstrap, apt-get and Bazel in
# the image build); under a minute with a warm PODMAN_SMOKE_CACHE.
#
# Usage: k8s/checks/podman_smoke.sh
#   PODMAN_SMOKE_CACHE=DIR  keep podman's storage (base image, build cache)
#                           in DIR between runs; default: a temporary
#                           directory under /var/tmp, removed at the end.
#   DEBIAN_MIRROR=URL       for debootstrap (default http://deb.debian.org/debian).
# Ends with "N passed, N failed"; exits 1 if anything failed.
set -euo pipefail

checks_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
k8s_dir=$(dirname "$checks_dir")
repo_dir=$(dirname "$k8s_dir")
# shellcheck source=lib/deps.sh
source "$checks_dir/lib/deps.sh"

if [ "$(id -u)" -ne 0 ]; then
  echo "podman_smoke.sh: run as root (rootful podman with runc)" >&2
  exit 2
fi

started=$(date +%s)
elapsed() { echo "$(($(date +%s) - started))s"; }
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS $* [$(elapsed)]"; }
fail() { failed=$((failed + 1)); echo "FAIL $* [$(elapsed)]"; }

# --- tools -----------------------------------------------------------------
apt_install_missing podman runc debootstrap catatonit conmon
ensure_node_modules "$checks_dir"
command -v kubectl >/dev/null || { echo "kubectl not found (see k8s/README.md)" >&2; exit 2; }

# --- private podman configuration and storage -------------------------------
work=$(mktemp -d /var/tmp/podman-smoke-run.XXXXXX)
if [ -n "${PODMAN_SMOKE_CACHE:-}" ]; then
  state=$PODMAN_SMOKE_CACHE
  keep_state=1
else
  state=$work/state
  keep_state=0
fi
mkdir -p "$state/storage" "$work/run" "$work/tmp" "$work/kube"
netns_before=$(ip netns list 2>/dev/null | awk '{print $1}' | sort || true)
# podman keeps a blob-info cache in /var/lib/containers/cache whatever the
# storage configuration says; remove it at the end if this run created it.
blob_cache_existed=0
[ -e /var/lib/containers ] && blob_cache_existed=1

cat > "$work/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$state/storage"
runroot = "$work/run"
EOF
cat > "$work/containers.conf" <<EOF
[containers]
# podman's default nofile limit is above this machine's hard limit.
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$work/tmp"
EOF
# Short image names never go to a registry: every image here is local.
cat > "$work/registries.conf" <<EOF
unqualified-search-registries = []
EOF
export CONTAINERS_CONF=$work/containers.conf
export CONTAINERS_STORAGE_CONF=$work/storage.conf
export CONTAINERS_REGISTRIES_CONF=$work/registries.conf

cleanup() {
  local status=$?
  set +e
  for file in "$work/kube/producer.yaml" "$work/kube/consumer.yaml"; do
    [ -f "$file" ] && podman kube down "$file" >/dev/null 2>&1
  done
  # Only this run's private storage is seen here, so "all" means ours.
  podman pod rm --all --force >/dev/null 2>&1
  podman rm --all --force >/dev/null 2>&1
  if [ "$keep_state" -eq 0 ]; then
    podman system reset --force >/dev/null 2>&1
  fi
  # Mounts left under our directories (overlay layers, shm), innermost first.
  findmnt -rn -o TARGET | grep -E "^($work|$state)(/|$)" | sort -r | xargs -r -n1 umount -l 2>/dev/null
  # Network namespaces podman may have made (none with host networking).
  comm -13 <(echo "$netns_before") <(ip netns list 2>/dev/null | awk '{print $1}' | sort) |
    grep '^netns-' | xargs -r -n1 ip netns delete 2>/dev/null
  # conmon runs "podman container cleanup" when a container exits; those
  # processes carry this run's directories in their arguments and would
  # recreate them. Wait for them (they are ours: the path is unique to this
  # run), then end any that hang, by PID.
  local waited=0 pids
  while pids=$(pgrep -f -- "$work") && [ "$waited" -lt 30 ]; do
    sleep 0.5; waited=$((waited + 1))
  done
  # shellcheck disable=SC2086 # one PID per word
  [ -n "${pids:-}" ] && kill $pids 2>/dev/null
  [ "$blob_cache_existed" -eq 0 ] && rm -rf /var/lib/containers
  rm -rf "$work"
  echo "cleaned up ($( [ "$keep_state" -eq 1 ] && echo "storage kept in $state" || echo "storage removed")) [$(elapsed)]"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

summary_and_exit() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ] && exit 0
  exit 1
}

# --- render and adapt ------------------------------------------------------
kubectl kustomize "$k8s_dir/overlays/local" > "$work/rendered.yaml"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
node "$checks_dir/podman_adapt.mjs" --port "$port" --out-dir "$work/kube" "$work/rendered.yaml"
# shellcheck source=/dev/null
source "$work/kube/plan.env"
echo "consumer on 127.0.0.1:$port, image $IMAGE"

# --- base image ------------------------------------------------------------
base_image=localhost/debian-bookworm-minbase:latest
if podman image exists "$base_image"; then
  echo "base image $base_image: cached"
else
  echo "debootstrap bookworm (minbase) ..."
  debootstrap --variant=minbase bookworm "$work/rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" > "$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; fail "debootstrap"; summary_and_exit; }
  # The same apt sources as this machine (with updates and security), so the
  # image gets the same package versions the build here uses.
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$work/rootfs/etc/apt/sources.list.d/"
    rm -f "$work/rootfs/etc/apt/sources.list"
  fi
  rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/"*.bin "$work/rootfs/var/cache/apt/archives/"*.deb
  # kube play runs commands without a shell's PATH: set it in the image.
  tar -C "$work/rootfs" -c . | podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$base_image" > /dev/null
  rm -rf "$work/rootfs"
  pass "base image: debootstrap + podman import"
fi

# --- image -----------------------------------------------------------------
if podman build --network=host --build-arg "BASE_IMAGE=$base_image" -t "$IMAGE" \
    -f "$repo_dir/Dockerfile" "$repo_dir" > "$work/build.log" 2>&1; then
  pass "podman build -t $IMAGE ($(podman image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%d MB", $1/1e6}'))"
else
  tail -40 "$work/build.log"; fail "podman build"; summary_and_exit
fi
user=$(podman image inspect "$IMAGE" --format '{{.Config.User}}')
[ "$user" = "65532:65532" ] && pass "image runs as numeric non-root user $user" || fail "image user is '$user', expected 65532:65532"

# --- consumer --------------------------------------------------------------
podman kube play "$work/kube/consumer.yaml" > /dev/null
if node "$checks_dir/grpc_health.mjs" --service "$HEALTH_SERVICE" --wait 30 "127.0.0.1:$port"; then
  pass "consumer: grpc.health.v1 SERVING (what the grpc probes ask)"
else
  podman logs "$CONSUMER_CONTAINER" 2>&1 | tail -20; fail "consumer did not become healthy"; summary_and_exit
fi

# The security context as the runtime applied it, read from the process
# itself (no binary inside the image needed).
pid=$(podman inspect "$CONSUMER_CONTAINER" --format '{{.State.Pid}}')
status=$(cat "/proc/$pid/status")
uid=$(awk '/^Uid:/ {print $3}' <<< "$status")
capeff=$(awk '/^CapEff:/ {print $2}' <<< "$status")
nnp=$(awk '/^NoNewPrivs:/ {print $2}' <<< "$status")
readonly_root=$(podman inspect "$CONSUMER_CONTAINER" --format '{{.HostConfig.ReadonlyRootfs}}')
if [ "$uid" = "$RUN_AS_USER" ] && [ "$capeff" = "0000000000000000" ] && [ "$nnp" = "1" ] && [ "$readonly_root" = "true" ]; then
  pass "consumer process: uid $uid, no capabilities, no_new_privs, read-only root"
else
  fail "consumer process: uid=$uid (want $RUN_AS_USER) CapEff=$capeff NoNewPrivs=$nnp ReadonlyRootfs=$readonly_root"
fi

# --- producer --------------------------------------------------------------
podman kube play "$work/kube/producer.yaml" > /dev/null
if exit_code=$(timeout 120 podman wait "$PRODUCER_CONTAINER"); then :; else exit_code="timeout"; fi
podman logs "$PRODUCER_CONTAINER" > "$work/producer.log" 2>&1 || true
sed 's/^/    producer| /' "$work/producer.log"
[ "$exit_code" = "0" ] && pass "producer exited 0" || fail "producer exit: $exit_code"

missing=()
if [ "$PRODUCER_PRINTS" = "true" ]; then
  for ((i = 0; i < PRODUCER_COUNT; i++)); do
    grep -q "Produciendo: Mensaje $i\$" "$work/producer.log" || missing+=("Produciendo: Mensaje $i")
  done
fi
grep -q "Consumer summary: $PRODUCER_COUNT messages, .*producer $PRODUCER_ID, sequences 0..$((PRODUCER_COUNT - 1))" "$work/producer.log" ||
  missing+=("Consumer summary: $PRODUCER_COUNT messages ... producer $PRODUCER_ID")
tail -n 1 "$work/producer.log" | grep -qx "Todos los procesos han terminado." || missing+=("Todos los procesos han terminado. (last line)")
[ ${#missing[@]} -eq 0 ] && pass "producer output: $PRODUCER_COUNT messages, summary from the consumer, final line" ||
  fail "producer output lacks: ${missing[*]}"

podman logs "$CONSUMER_CONTAINER" > "$work/consumer.log" 2>&1 || true
if [ "$CONSUMER_PRINTS" = "true" ]; then
  got=$( (grep -o "Consumiendo: Mensaje [0-9]*" "$work/consumer.log" || true) | sort -u | wc -l)
  [ "$got" -eq "$PRODUCER_COUNT" ] && pass "consumer logged $got messages" ||
    fail "consumer logged $got distinct 'Consumiendo' lines, expected $PRODUCER_COUNT"
fi
node "$checks_dir/grpc_health.mjs" --service "$HEALTH_SERVICE" "127.0.0.1:$port" > /dev/null &&
  pass "consumer still SERVING after the producer" || fail "consumer not SERVING after the producer"

# --- graceful stop -----------------------------------------------------------
# What the kubelet does on pod deletion: SIGTERM, SIGKILL after
# terminationGracePeriodSeconds (the preStop pause is not emulated).
podman pod stop -t "$CONSUMER_GRACE_SECONDS" "$CONSUMER_POD" > /dev/null
podman logs "$CONSUMER_CONTAINER" > "$work/consumer.log" 2>&1 || true
sed 's/^/    consumer| /' "$work/consumer.log" | grep -v "Consumiendo" || true
consumer_exit=$(podman inspect "$CONSUMER_CONTAINER" --format '{{.State.ExitCode}}')
if [ "$consumer_exit" = "0" ] && grep -q "received Terminated" "$work/consumer.log" &&
    grep -q "consumer_service stopped: $PRODUCER_COUNT messages in 1 completed and 0 failed streams" "$work/consumer.log"; then
  pass "consumer stopped on SIGTERM: exit 0, $PRODUCER_COUNT messages in 1 completed stream"
else
  fail "consumer stop: exit $consumer_exit, see its log above"
fi

# --- tear down -------------------------------------------------------------
podman kube down "$work/kube/producer.yaml" > /dev/null
podman kube down "$work/kube/consumer.yaml" > /dev/null
left=$(podman ps -aq | wc -l)/$(podman pod ps -q | wc -l)
[ "$left" = "0/0" ] && pass "podman kube down: no containers or pods left" || fail "left after kube down (containers/pods): $left"

echo "left out of kube play (no podman equivalent): $LEFT_OUT"
summary_and_exit
