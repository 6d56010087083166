#!/usr/bin/env bash
# Runs the pair for real from the rendered manifests, without a cluster:
# builds the image from the top-level Dockerfile with podman, plays the
# consumer StatefulSet (each replica as a Pod with its own named volume for
# its claim) and the producer Job (one Pod per completion index) with
# `podman kube play`, after podman_adapt.mjs has adapted the same rendered
# objects (see there for every change and why). Checks:
#   - both consumer replicas SERVING, the security context the runtime
#     applied;
#   - two producers (completion indexes 0 and 1), each reaching the replica
#     its producer id hashes to (--consumer_shards): their output, and
#     GetProducerState on both replicas (the right one knows the producer,
#     the other does not), and each replica's /metrics counting exactly its
#     producers' messages;
#   - a graceful stop, then durability: the consumer pods are removed and
#     played again on the same volumes, say they replayed their log, still
#     know where each producer stands, and a second run of the producers
#     continues the sequence (Mensaje 5...) on the same replicas;
#   - teardown: no containers, pods or volumes left.
# Everything talks to loopback addresses only (host networking; consumer
# replica i bound to 127.0.0.<i+1>, as each pod has its own IP in a cluster).
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
# the image build); about a minute with a warm PODMAN_SMOKE_CACHE.
#
# Usage: k8s/checks/podman_smoke.sh
#   PODMAN_SMOKE_CACHE=DIR  keep podman's storage (base image, build cache)
#                           in DIR between runs; default: a temporary
#                           directory under /var/tmp, removed at the end.
#                           The consumers' volumes are removed either way.
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
apt_install_missing podman runc debootstrap catatonit conmon curl
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
# podman records its run root and temporary directory in the database in
# its storage and keeps using the recorded ones: with a kept storage they
# must stay the same from run to run, so they live beside it.
if [ "$keep_state" -eq 1 ]; then
  podman_run=$state/run podman_tmp=$state/tmp
else
  podman_run=$work/run podman_tmp=$work/tmp
fi
mkdir -p "$state/storage" "$podman_run" "$podman_tmp" "$work/kube"
netns_before=$(ip netns list 2>/dev/null | awk '{print $1}' | sort || true)
# podman keeps a blob-info cache in /var/lib/containers/cache whatever the
# storage configuration says; remove it at the end if this run created it.
blob_cache_existed=0
[ -e /var/lib/containers ] && blob_cache_existed=1

cat > "$work/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$state/storage"
runroot = "$podman_run"
EOF
cat > "$work/containers.conf" <<EOF
[containers]
# podman's default nofile limit is above this machine's hard limit.
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$podman_tmp"
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
  # The consumers' volumes go even when the storage is kept: the next run
  # must start from empty logs.
  podman volume rm --all --force >/dev/null 2>&1
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
  # recreate them. Wait for them (they are ours: the paths are this run's or
  # its cache's), then end any that hang, by PID.
  local waited=0 pids
  while pids=$(pgrep -f -- "$podman_run|$work") && [ "$waited" -lt 30 ]; do
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
# One port, free on 127.0.0.1 and 127.0.0.2, the two replicas' addresses.
port=$(node -e '
  const net = require("net");
  const tryPort = () => {
    const a = net.createServer().listen(0, "127.0.0.1", () => {
      const p = a.address().port;
      const b = net.createServer().once("error", () => { a.close(); tryPort(); })
        .listen(p, "127.0.0.2", () => { console.log(p); a.close(); b.close(); });
    });
  };
  tryPort();')
# Two producers (completion indexes 0 and 1), as an overlay raising the Job's
# parallelism and completions would run them: with two consumer shards their
# ids hash to different replicas, so both replicas are exercised.
node "$checks_dir/podman_adapt.mjs" --port "$port" --producers 2 --out-dir "$work/kube" "$work/rendered.yaml"
# shellcheck source=/dev/null
source "$work/kube/plan.env"
echo "consumers on ${CONSUMER_ADDRESSES[*]}, image $IMAGE"
# A leftover of an interrupted run in a kept PODMAN_SMOKE_CACHE.
podman volume rm --force "${CONSUMER_VOLUMES[@]}" > /dev/null 2>&1 || true

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

# --- consumers ---------------------------------------------------------------
# The StatefulSet's claims first (podman makes named volumes of them), then
# its pods.
podman kube play "$work/kube/volumes.yaml" > /dev/null
podman kube play "$work/kube/consumer.yaml" > /dev/null
n_consumers=${#CONSUMER_PODS[@]}

# wait_healthy WHAT: every replica answers SERVING within 30 s.
wait_healthy() {
  local i ok=1
  for ((i = 0; i < n_consumers; i++)); do
    node "$checks_dir/grpc_health.mjs" --service "$HEALTH_SERVICE" --wait 30 "${CONSUMER_ADDRESSES[$i]}" > /dev/null ||
      { ok=0; podman logs "${CONSUMER_CONTAINERS[$i]}" 2>&1 | tail -20; }
  done
  [ "$ok" -eq 1 ] && pass "$1: ${CONSUMER_PODS[*]} grpc.health.v1 SERVING (what the grpc probes ask)" ||
    { fail "$1: not every consumer replica became healthy"; summary_and_exit; }
}
wait_healthy "consumers"

# The security context as the runtime applied it, read from the process
# itself (no binary inside the image needed).
pid=$(podman inspect "${CONSUMER_CONTAINERS[0]}" --format '{{.State.Pid}}')
status=$(cat "/proc/$pid/status")
uid=$(awk '/^Uid:/ {print $3}' <<< "$status")
capeff=$(awk '/^CapEff:/ {print $2}' <<< "$status")
nnp=$(awk '/^NoNewPrivs:/ {print $2}' <<< "$status")
readonly_root=$(podman inspect "${CONSUMER_CONTAINERS[0]}" --format '{{.HostConfig.ReadonlyRootfs}}')
if [ "$uid" = "$RUN_AS_USER" ] && [ "$capeff" = "0000000000000000" ] && [ "$nnp" = "1" ] && [ "$readonly_root" = "true" ]; then
  pass "consumer process: uid $uid, no capabilities, no_new_privs, read-only root"
else
  fail "consumer process: uid=$uid (want $RUN_AS_USER) CapEff=$capeff NoNewPrivs=$nnp ReadonlyRootfs=$readonly_root"
fi
# The log, on each replica's own volume, written by the non-root user.
log_files_ok=1
for ((i = 0; i < n_consumers; i++)); do
  mountpoint=$(podman volume inspect "${CONSUMER_VOLUMES[$i]}" --format '{{.Mountpoint}}')
  log_file=$mountpoint${CONSUMER_DATA_DIR#"$CONSUMER_DATA_MOUNT"}/00000000000000000000.log
  owner=$(stat -c %u "$log_file" 2>/dev/null || echo missing)
  [ "$owner" = "$RUN_AS_USER" ] || { log_files_ok=0; echo "    ${CONSUMER_VOLUMES[$i]}: $log_file owner: $owner"; }
done
[ "$log_files_ok" -eq 1 ] && pass "each replica's log segment is on its own volume (${CONSUMER_VOLUMES[*]}), owned by uid $RUN_AS_USER" ||
  fail "log segments not on the volumes as uid $RUN_AS_USER"

# --- producers ---------------------------------------------------------------
# run_producers FIRST: plays the producer pods, waits for them, and checks
# that each printed Mensaje FIRST..FIRST+COUNT-1 and the consumer's summary.
run_producers() {
  local first=$1 last=$(($1 + PRODUCER_COUNT - 1)) i exit_code missing
  podman kube play "$work/kube/producer.yaml" > /dev/null
  for i in "${!PRODUCER_PODS[@]}"; do
    if exit_code=$(timeout 120 podman wait "${PRODUCER_CONTAINERS[$i]}"); then :; else exit_code="timeout"; fi
    podman logs "${PRODUCER_CONTAINERS[$i]}" > "$work/producer-$i.log" 2>&1 || true
    sed "s/^/    ${PRODUCER_IDS[$i]}| /" "$work/producer-$i.log"
    missing=()
    if [ "$PRODUCER_PRINTS" = "true" ]; then
      for ((n = first; n <= last; n++)); do
        grep -q "Produciendo: Mensaje $n\$" "$work/producer-$i.log" || missing+=("Produciendo: Mensaje $n")
      done
    fi
    grep -q "Consumer summary: $PRODUCER_COUNT messages, .*producer ${PRODUCER_IDS[$i]}, sequences $first..$last" "$work/producer-$i.log" ||
      missing+=("Consumer summary: $PRODUCER_COUNT messages ... producer ${PRODUCER_IDS[$i]}, sequences $first..$last")
    tail -n 1 "$work/producer-$i.log" | grep -qx "Todos los procesos han terminado." || missing+=("Todos los procesos han terminado. (last line)")
    if [ "$exit_code" = "0" ] && [ ${#missing[@]} -eq 0 ]; then
      pass "producer ${PRODUCER_IDS[$i]} -> ${CONSUMER_HOSTS[${PRODUCER_SHARDS[$i]}]}: exit 0, Mensaje $first..$last, summary, final line"
    else
      fail "producer ${PRODUCER_IDS[$i]}: exit $exit_code; output lacks: ${missing[*]:-nothing}"
    fi
  done
}

# check_states NEXT WHAT: each replica knows exactly the producers hashed to
# it, at NEXT; the others do not know them.
check_states() {
  local next=$1 i j answer want ok=1
  for i in "${!PRODUCER_IDS[@]}"; do
    for ((j = 0; j < n_consumers; j++)); do
      answer=$(node "$checks_dir/grpc_producer_state.mjs" --producer_id "${PRODUCER_IDS[$i]}" "${CONSUMER_ADDRESSES[$j]}" 2>&1)
      if [ "$j" = "${PRODUCER_SHARDS[$i]}" ]; then want="known=true next_sequence=$next"; else want="known=false next_sequence=0"; fi
      [ "$answer" = "$want" ] || { ok=0; echo "    ${CONSUMER_PODS[$j]} about ${PRODUCER_IDS[$i]}: $answer (want $want)"; }
    done
  done
  local mapping=""
  for i in "${!PRODUCER_IDS[@]}"; do mapping+=" ${PRODUCER_IDS[$i]}@${CONSUMER_PODS[${PRODUCER_SHARDS[$i]}]}"; done
  [ "$ok" -eq 1 ] && pass "$2: GetProducerState: each producer known only to its replica, next_sequence $next ($mapping )" ||
    fail "$2: producer state on the replicas is not as the shard mapping says"
}

# check_consumer_logs FIRST WHAT: each replica printed exactly the messages
# of its producers, FIRST..FIRST+COUNT-1 each.
check_consumer_logs() {
  local first=$1 i j expected got ok=1
  [ "$CONSUMER_PRINTS" = "true" ] || return 0
  for ((j = 0; j < n_consumers; j++)); do
    podman logs "${CONSUMER_CONTAINERS[$j]}" > "$work/consumer-$j.log" 2>&1 || true
    expected=""
    for i in "${!PRODUCER_IDS[@]}"; do
      [ "${PRODUCER_SHARDS[$i]}" = "$j" ] && expected+=$(seq -f "Consumiendo: Mensaje %g" "$first" $((first + PRODUCER_COUNT - 1)))$'\n'
    done
    got=$( (grep -o "Consumiendo: Mensaje [0-9]*" "$work/consumer-$j.log" || true) | sort)
    [ "$got" = "$(printf '%s' "$expected" | sed '/^$/d' | sort)" ] ||
      { ok=0; echo "    ${CONSUMER_PODS[$j]} printed: $(echo "$got" | tr '\n' ',')"; }
  done
  [ "$ok" -eq 1 ] && pass "$2: each replica printed exactly its producers' messages (Mensaje $first..$((first + PRODUCER_COUNT - 1)))" ||
    fail "$2: the replicas' Consumiendo lines do not match the shard mapping"
}

# graceful_stop WHAT [any]: what the kubelet does on pod deletion: SIGTERM,
# SIGKILL after terminationGracePeriodSeconds (the preStop pause is not
# emulated). Each replica must exit 0; unless "any" is given, having
# accepted exactly its producers' COUNT messages, one stream each.
graceful_stop() {
  local j messages exit_codes=() ok=1 any=${2:-}
  podman pod stop -t "$CONSUMER_GRACE_SECONDS" "${CONSUMER_PODS[@]}" > /dev/null
  for ((j = 0; j < n_consumers; j++)); do
    podman logs "${CONSUMER_CONTAINERS[$j]}" > "$work/consumer-$j.log" 2>&1 || true
    sed "s/^/    ${CONSUMER_PODS[$j]}| /" "$work/consumer-$j.log" | grep -v "Consumiendo" || true
    messages=0
    for i in "${!PRODUCER_IDS[@]}"; do [ "${PRODUCER_SHARDS[$i]}" = "$j" ] && messages=$((messages + PRODUCER_COUNT)); done
    exit_codes+=("$(podman inspect "${CONSUMER_CONTAINERS[$j]}" --format '{{.State.ExitCode}}')")
    [ "${exit_codes[$j]}" = "0" ] && grep -q "received Terminated" "$work/consumer-$j.log" &&
      { [ -n "$any" ] || grep -q "consumer_service stopped: $messages messages in $((messages / PRODUCER_COUNT)) completed and 0 failed streams" "$work/consumer-$j.log"; } ||
      ok=0
  done
  local what="exit 0"
  [ -n "$any" ] || what="exit 0, each with its producers' messages"
  [ "$ok" -eq 1 ] && pass "$1: consumers stopped on SIGTERM: $what" ||
    fail "$1: consumer stop: exit codes ${exit_codes[*]}, see their logs above"
}

# check_metrics WHAT: each replica's /metrics (at the address its "metrics
# on" line names) counts exactly its producers' messages since it started.
check_metrics() {
  local j i url want got ok=1
  for ((j = 0; j < n_consumers; j++)); do
    url=$(podman logs "${CONSUMER_CONTAINERS[$j]}" 2>&1 | grep -o 'metrics on http://[^ ]*/metrics' | tail -1 | cut -d' ' -f3)
    want=0
    for i in "${!PRODUCER_IDS[@]}"; do [ "${PRODUCER_SHARDS[$i]}" = "$j" ] && want=$((want + PRODUCER_COUNT)); done
    got=$( (curl -sf --max-time 5 "$url" || true) | awk '$1 == "consumer_messages_accepted_total" {print $2}')
    [ -n "$url" ] && [ "$got" = "$want" ] || { ok=0; echo "    ${CONSUMER_PODS[$j]}: metrics at '${url:-no "metrics on" line}': consumer_messages_accepted_total '${got}' (want $want)"; }
  done
  [ "$ok" -eq 1 ] && pass "$1: each replica's /metrics counts its producers' messages (consumer_messages_accepted_total)" ||
    fail "$1: the replicas' metrics do not match what they accepted"
}

run_producers 0
check_consumer_logs 0 "first run"
check_states "$PRODUCER_COUNT" "first run"
check_metrics "first run"
for ((j = 0; j < n_consumers; j++)); do
  node "$checks_dir/grpc_health.mjs" --service "$HEALTH_SERVICE" "${CONSUMER_ADDRESSES[$j]}" > /dev/null || fail "${CONSUMER_PODS[$j]} not SERVING after the producers"
done
graceful_stop "first run"

# --- durability: the consumer pods again, on the same volumes ------------------
# Like deleting the StatefulSet's pods: the pods go, their claims stay, and
# the controller makes the same pods again with the same claims.
podman kube down "$work/kube/consumer.yaml" > /dev/null
left=$(podman pod ps -q --filter "name=^consumer-" | wc -l)
volumes_left=0
for volume in "${CONSUMER_VOLUMES[@]}"; do podman volume exists "$volume" && volumes_left=$((volumes_left + 1)); done
[ "$left" -eq 0 ] && [ "$volumes_left" -eq ${#CONSUMER_VOLUMES[@]} ] &&
  pass "consumer pods removed, their volumes kept (${CONSUMER_VOLUMES[*]})" ||
  fail "after removing the consumer pods: $left pods left, $volumes_left of ${#CONSUMER_VOLUMES[@]} volumes kept"
podman kube play "$work/kube/consumer.yaml" > /dev/null
wait_healthy "consumers restarted"
replayed_ok=1
for ((j = 0; j < n_consumers; j++)); do
  messages=0
  for i in "${!PRODUCER_IDS[@]}"; do [ "${PRODUCER_SHARDS[$i]}" = "$j" ] && messages=$((messages + PRODUCER_COUNT)); done
  podman logs "${CONSUMER_CONTAINERS[$j]}" > "$work/consumer-$j.log" 2>&1 || true
  line=$(grep -o "message log .*: .*replayed [0-9]* messages.*" "$work/consumer-$j.log" || echo "no 'replayed' line")
  echo "    ${CONSUMER_PODS[$j]}| $line"
  # After a clean shutdown the snapshot holds the state, so little is
  # replayed: the next offset says the log holds every message.
  grep -q "message log $CONSUMER_DATA_DIR: .*next offset $messages\$" "$work/consumer-$j.log" || replayed_ok=0
done
[ "$replayed_ok" -eq 1 ] && pass "restarted replicas replayed their logs from their volumes" ||
  fail "restarted replicas did not replay what they had accepted"
check_states "$PRODUCER_COUNT" "after the restart"

# A second run of the same Job: the same producer ids reach the same replicas,
# which tell them where to go on.
podman kube down "$work/kube/producer.yaml" > /dev/null
run_producers "$PRODUCER_COUNT"
check_consumer_logs "$PRODUCER_COUNT" "second run"
check_states $((2 * PRODUCER_COUNT)) "second run"
graceful_stop "second run"

# --- a consumer crash in the middle of a run ----------------------------------
# The producers reconnect to the replica that holds their state, ask it where
# to resume and send what it has not confirmed. A longer run than the
# ConfigMap's COUNT (like an overlay raising it), so that there is a middle:
# LONG_COUNT messages, 100 ms apart.
podman kube down "$work/kube/consumer.yaml" > /dev/null
podman kube play "$work/kube/consumer.yaml" > /dev/null
wait_healthy "consumers for the crash run"
long_count=30
sed "s/--count=$PRODUCER_COUNT\$/--count=$long_count/; s/--interval=.*/--interval=100ms/" "$work/kube/producer.yaml" > "$work/kube/producer-long.yaml"
podman kube down "$work/kube/producer.yaml" > /dev/null
podman kube play "$work/kube/producer-long.yaml" > /dev/null
start=$((2 * PRODUCER_COUNT))
# SIGKILL both replicas (a crash: no grace, no preStop) once every producer
# is well into its run, then the same pods again on the same volumes.
for ((tries = 0; tries < 100; tries++)); do
  all_started=1
  for i in "${!PRODUCER_CONTAINERS[@]}"; do
    podman logs "${PRODUCER_CONTAINERS[$i]}" 2>/dev/null | grep -q "Produciendo: Mensaje $((start + 8))\$" || all_started=0
  done
  [ "$all_started" -eq 1 ] && break
  sleep 0.1
done
podman pod kill "${CONSUMER_PODS[@]}" > /dev/null
podman kube down "$work/kube/consumer.yaml" > /dev/null
sleep 1
podman kube play "$work/kube/consumer.yaml" > /dev/null
crash_ok=1
for i in "${!PRODUCER_CONTAINERS[@]}"; do
  if exit_code=$(timeout 120 podman wait "${PRODUCER_CONTAINERS[$i]}"); then :; else exit_code="timeout"; fi
  podman logs "${PRODUCER_CONTAINERS[$i]}" > "$work/producer-$i.log" 2>&1 || true
  grep -v "Produciendo" "$work/producer-$i.log" | sed "s/^/    ${PRODUCER_IDS[$i]}| /"
  [ "$exit_code" = "0" ] && grep -q "Produciendo: Mensaje $((start + long_count - 1))\$" "$work/producer-$i.log" &&
    grep -q "retrying" "$work/producer-$i.log" || { crash_ok=0; echo "    ${PRODUCER_IDS[$i]}: exit $exit_code"; }
done
[ "$crash_ok" -eq 1 ] && pass "consumer crash mid-run: producers retried, resumed on their replicas and exited 0 after Mensaje $((start + long_count - 1))" ||
  fail "consumer crash mid-run: a producer did not finish after retrying"
# Every sequence below next_sequence is accepted exactly once (the replica
# drops duplicates and refuses gaps): all LONG_COUNT messages arrived.
check_states $((start + long_count)) "after the crash run"
graceful_stop "crash run" any

# --- tear down -------------------------------------------------------------
# kube down, then delete the claims, as k8s/README.md describes.
podman kube down "$work/kube/producer.yaml" > /dev/null
podman kube down "$work/kube/consumer.yaml" > /dev/null
podman volume rm "${CONSUMER_VOLUMES[@]}" > /dev/null
left=$(podman ps -aq | wc -l)/$(podman pod ps -q | wc -l)/$(podman volume ls -q | wc -l)
[ "$left" = "0/0/0" ] && pass "teardown: no containers, pods or volumes left" || fail "left after teardown (containers/pods/volumes): $left"

echo "left out of kube play (no podman equivalent): $LEFT_OUT"
summary_and_exit
