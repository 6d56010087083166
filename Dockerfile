# Container image with both services: consumer_service (the default command)
# and producer_service. Kubernetes manifests that use it are in k8s/.
#
#   docker build -t localhost/grpc-producer-consumer:dev .
#   podman build -t localhost/grpc-producer-consumer:dev .
#
# BASE_IMAGE must be Debian 12 (bookworm): the binaries link dynamically
# against Debian 12's gRPC, protobuf and Abseil packages, so builder and
# runtime have to come from the same release. k8s/checks/podman_smoke.sh
# passes a locally bootstrapped bookworm here, as no registry is reachable
# on the machines the project is developed on.
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim

# ---------------------------------------------------------------------------
# builder: the same Debian packages and the same offline Bazel workspace as a
# developer's machine, built with -c opt.
FROM ${BASE_IMAGE} AS builder

# Only the installer is copied first, so that the (slow) package layer stays
# cached while the sources change.
COPY bazel/install_deps.sh /tmp/install_deps.sh
RUN /tmp/install_deps.sh && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# --batch: no Bazel server is left running when the step ends.
# The runtime package list is derived from what the binaries really link
# (ldd -> owning Debian package), so a new library dependency cannot be
# forgotten in the runtime stage. ldd prints /lib/... while dpkg records
# /usr/lib/... (merged /usr), hence the second lookup.
RUN bazel --batch build -c opt //consumer_service //producer_service \
 && install -D -m 0755 bazel-bin/consumer_service/consumer_service /out/bin/consumer_service \
 && install -D -m 0755 bazel-bin/producer_service/producer_service /out/bin/producer_service \
 && ldd /out/bin/* | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u > /tmp/libs \
 && while read -r lib; do \
      dpkg-query -S "$lib" 2>/dev/null || dpkg-query -S "/usr$lib" \
        || { echo "no Debian package owns $lib" >&2; exit 1; }; \
    done < /tmp/libs > /tmp/owners \
 && cut -d: -f1 /tmp/owners | tr ',' '\n' | tr -d ' ' | sort -u > /out/runtime-packages.txt \
 && cat /out/runtime-packages.txt

# ---------------------------------------------------------------------------
# runtime: the base system, the shared libraries the binaries need, the two
# binaries; no compiler, no Bazel, no package lists.
FROM ${BASE_IMAGE} AS runtime

COPY --from=builder /out/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive xargs -a /tmp/runtime-packages.txt \
      apt-get install -y -q --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/runtime-packages.txt

COPY --from=builder /out/bin/ /usr/local/bin/

# Fail the build, not the pod, if a library is missing.
RUN ! ldd /usr/local/bin/consumer_service /usr/local/bin/producer_service | grep 'not found'

# A numeric non-root user (the "nonroot" id of distroless images), so that
# Kubernetes' runAsNonRoot can verify it without an /etc/passwd entry.
USER 65532:65532

# The consumer's default --address port.
EXPOSE 50051

# Exec form, no shell: the service is PID 1 and receives SIGTERM itself; both
# binaries block SIGTERM/SIGINT and wait for them with sigwait(), which works
# for PID 1 too (PID 1 only ignores signals left at their default action).
# The producer is started with an explicit command (see k8s/base).
CMD ["/usr/local/bin/consumer_service"]
