#!/usr/bin/env bash
# The original demo as two gRPC services: starts consumer_service on a free
# loopback port, runs producer_service against it (Mensaje 0..4 unless flags
# say otherwise), then stops the consumer with SIGTERM.
#
# Usage: bazel run //:demo [-- producer flags, e.g. --count=10]
set -euo pipefail

if [[ -n "${RUNFILES_DIR:-}" ]]; then
  runfiles="$RUNFILES_DIR"
elif [[ -d "$0.runfiles" ]]; then
  runfiles="$0.runfiles"
else
  runfiles="${TEST_SRCDIR:?cannot find the runfiles; use bazel run //:demo}"
fi
consumer="$runfiles/grpc_producer_consumer/consumer_service/consumer_service"
producer="$runfiles/grpc_producer_consumer/producer_service/producer_service"

consumer_log="$(mktemp)"
consumer_pid=""
cleanup() {
  if [[ -n "$consumer_pid" ]] && kill -0 "$consumer_pid" 2>/dev/null; then
    kill -KILL "$consumer_pid" 2>/dev/null || true
  fi
  rm -f "$consumer_log"
}
trap cleanup EXIT

# The consumer's log goes to a file: the console shows only the demo's lines.
"$consumer" --address=127.0.0.1:0 2>"$consumer_log" &
consumer_pid=$!

port=""
for _ in $(seq 100); do
  port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$consumer_log")"
  [[ -n "$port" ]] && break
  if ! kill -0 "$consumer_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [[ -z "$port" ]]; then
  echo "demo: consumer_service did not start:" >&2
  cat "$consumer_log" >&2
  exit 1
fi

status=0
"$producer" --target="127.0.0.1:$port" --producer_id=demo "$@" || status=$?

kill -TERM "$consumer_pid"
if ! wait "$consumer_pid"; then
  echo "demo: consumer_service did not stop cleanly:" >&2
  cat "$consumer_log" >&2
  status=1
fi
consumer_pid=""
exit "$status"
