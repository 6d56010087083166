"""The peers of //benchmarks: other systems doing the same job on this
machine, in the same run, each at a durability one of the project's rows
has (see benchmarks/README.md, "Peers", for why each pair matches).

    nats-jetstream        nats-server -js, a file-storage stream, published
                          with js_PublishAsync (nats_jetstream_publisher.c)
    nats-jetstream-dedup  the same with a unique Nats-Msg-Id per message
    redis-aof-always      redis-server --appendonly yes --appendfsync always,
                          XADD pipelined 256 deep by redis-benchmark
    redis-aof-everysec    the same with --appendfsync everysec
    raw-tcp               raw_tcp_benchmark: length-prefixed frames on one
                          loopback connection, nothing on top (the ceiling)

    bench = PeerBench(args, workdir, raw_tcp_binary, publisher_source)
    bench.unavailable(peer)         # None, or "n/a (... not installed: ...)"
    run = bench.run(peer, bench.messages(peer))

Each server starts on a free loopback port (bound at port 0 and released;
started again on another if it then fails to bind) with a new temporary
directory, and is stopped with SIGTERM after the run, also when the run
fails. The NATS and Redis peers need Debian packages that `bazel test //...`
does not: benchmarks/install_peers.sh installs them. Python 3 standard
library only.
"""

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from child_process import (Child, RunFailed, client_cpus, run_to_end,
                           server_cpus, tail)
from grpc_harness import ThreadSampler
from scenarios import FSYNC_PER_GROUP, KERNEL_FLUSH, MEMORY, format_bytes

PAYLOAD_BYTES = 64
# redis-benchmark sends whole pipelines: -n is rounded up to a multiple.
REDIS_PIPELINE = 256
REDIS_KEY = "bench"
NATS_HEADER = "/usr/include/nats/nats.h"
INSTALL = "run benchmarks/install_peers.sh"
# nats-server is installed in /usr/sbin, often not on a user's PATH.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin",
                               "/sbin", "/usr/local/sbin"])


@dataclasses.dataclass(frozen=True)
class Peer:
    name: str
    rpc: str
    durability: str
    # Its own durability setting, in its own terms.
    sync: str = None
    dedup: bool = False

    def describe(self):
        return {
            "streams": 1,
            "payload": format_bytes(PAYLOAD_BYTES),
            "rpc": self.rpc,
            "log": "memory" if self.durability == MEMORY else "durable",
            "sync": self.sync,
            "durability": self.durability,
        }


PEERS = [
    Peer("nats-jetstream", "NATS JetStream", KERNEL_FLUSH,
         "file store, fsync every 2 min"),
    Peer("nats-jetstream-dedup", "NATS JetStream", KERNEL_FLUSH,
         "file store, fsync every 2 min, Nats-Msg-Id", dedup=True),
    Peer("redis-aof-always", "Redis XADD", FSYNC_PER_GROUP,
         "appendfsync always"),
    Peer("redis-aof-everysec", "Redis XADD", KERNEL_FLUSH,
         "appendfsync everysec"),
    Peer("raw-tcp", "TCP", MEMORY),
]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PeerBench:
    """Starts the peers' servers and clients and measures them."""

    def __init__(self, args, workdir, raw_tcp_binary, publisher_source):
        self.args = args
        self.workdir = workdir
        self.raw_tcp = raw_tcp_binary
        self.publisher_source = publisher_source
        self.publisher = None  # compiled on first use
        self.runs = 0
        self.tools = {}
        self.missing = {}
        for tool, override in (
                ("nats-server", args.nats_server_binary),
                ("redis-server", args.redis_server_binary),
                ("redis-benchmark", args.redis_benchmark_binary),
                ("redis-cli", args.redis_cli_binary),
                ("cc", args.cc_binary)):
            self._find(tool, override)
        if not os.path.exists(NATS_HEADER):
            self.missing["libnats-dev"] = (f"n/a (libnats-dev not installed: "
                                           f"{INSTALL})")

    def _find(self, tool, override):
        if override:
            if os.access(override, os.X_OK):
                self.tools[tool] = override
            else:
                self.missing[tool] = (f"n/a ({tool} not found at {override}: "
                                      f"{INSTALL})")
            return
        found = shutil.which(tool, path=SEARCH_PATH)
        if found:
            self.tools[tool] = found
        else:
            self.missing[tool] = f"n/a ({tool} not installed: {INSTALL})"

    def unavailable(self, peer):
        """Why `peer` cannot run here, as its row says it; None if it can."""
        needs = {"NATS JetStream": ["nats-server", "libnats-dev", "cc"],
                 "Redis XADD": ["redis-server", "redis-benchmark",
                                "redis-cli"]}.get(peer.rpc, [])
        for need in needs:
            if need in self.missing:
                return self.missing[need]
        return None

    def messages(self, peer):
        """The ceiling runs --batched_messages, as the batched rows it caps
        (at --messages it would last milliseconds); the rest --messages,
        Redis rounded up to whole pipelines."""
        if peer.rpc == "TCP":
            return self.args.batched_messages
        if peer.rpc == "Redis XADD":
            return -(-self.args.messages // REDIS_PIPELINE) * REDIS_PIPELINE
        return self.args.messages

    def run(self, peer, messages):
        self.runs += 1
        run_dir = tempfile.mkdtemp(prefix=f"{peer.name}-{self.runs}-",
                                   dir=self.workdir)
        try:
            if peer.rpc == "TCP":
                run = self._run_raw_tcp(messages, run_dir)
            elif peer.rpc == "Redis XADD":
                run = self._run_redis(peer, messages, run_dir)
            else:
                run = self._run_nats(peer, messages, run_dir)
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
        return measurement(messages, run)

    # ----------------------------------------------------------------------

    def _run_nats(self, peer, messages, run_dir):
        publisher = self._compiled_publisher()
        store = os.path.join(run_dir, "jetstream")
        server, port, sampler = self._start_server(
            lambda port: [self.tools["nats-server"], "-js", "-sd", store,
                          "-a", "127.0.0.1", "-p", str(port)],
            "Server is ready", run_dir)
        try:
            argv = [publisher, f"--url=nats://127.0.0.1:{port}",
                    f"--messages={messages}",
                    f"--payload_bytes={PAYLOAD_BYTES}"]
            if peer.dedup:
                argv.append("--dedup")
            client, stdout = self._run_client(argv, run_dir)
        finally:
            threads = self._stop_server(server, sampler)
        result = json_line(argv, stdout)
        return server, client, threads, result["seconds"]

    def _compiled_publisher(self):
        if self.publisher is None:
            binary = os.path.join(self.workdir, "nats_jetstream_publisher")
            run_to_end([self.tools["cc"], "-O2", "-o", binary,
                        self.publisher_source, "-lnats"],
                       self.args.run_timeout)
            self.publisher = binary
        return self.publisher

    def _run_redis(self, peer, messages, run_dir):
        fsync = peer.sync.split()[-1]  # always, everysec
        server, port, sampler = self._start_server(
            lambda port: [self.tools["redis-server"], "--port", str(port),
                          "--bind", "127.0.0.1", "--dir", run_dir,
                          "--appendonly", "yes", "--appendfsync", fsync,
                          "--save", "", "--daemonize", "no"],
            "Ready to accept connections", run_dir)
        try:
            argv = [self.tools["redis-benchmark"], "-h", "127.0.0.1", "-p",
                    str(port), "-c", "1", "-P", str(REDIS_PIPELINE), "-n",
                    str(messages), "--csv", "XADD", REDIS_KEY, "*", "p",
                    "x" * PAYLOAD_BYTES]
            client, stdout = self._run_client(argv, run_dir)
            xlen = run_to_end([self.tools["redis-cli"], "-h", "127.0.0.1",
                               "-p", str(port), "XLEN", REDIS_KEY],
                              self.args.run_timeout).strip()
        finally:
            threads = self._stop_server(server, sampler)
        if xlen != str(messages):
            raise RunFailed(f"{' '.join(argv[:12])} ...\nthe stream holds "
                            f"{xlen!r} entries (XLEN), expected {messages}")
        # The CSV's second line: "XADD ...","<requests per second>",...
        lines = stdout.strip().splitlines()
        try:
            rps = float(lines[1].split('","')[1])
        except (IndexError, ValueError):
            raise RunFailed(f"{' '.join(argv[:12])} ...\nprinted no requests "
                            f"per second:\n{stdout}") from None
        return server, client, threads, messages / rps

    def _run_raw_tcp(self, messages, run_dir):
        err = os.path.join(run_dir, "receiver.stderr")
        with open(err, "w") as log:
            receiver = Child([self.raw_tcp, "--mode=receive"],
                             subprocess.PIPE, log, self.args.run_timeout,
                             server_cpus(self.args))
        try:
            line = receiver.popen.stdout.readline().decode(errors="replace")
            if not line.startswith("listening on "):
                raise RunFailed(f"raw_tcp_benchmark --mode=receive did not "
                                f"start:\n{tail(err)}")
            argv = [self.raw_tcp, "--mode=send", f"--port={line.split()[-1]}",
                    f"--messages={messages}",
                    f"--payload_bytes={PAYLOAD_BYTES}"]
            client, stdout = self._run_client(argv, run_dir)
            receiver.popen.stdout.close()
            if receiver.wait() != 0:
                raise RunFailed(f"raw_tcp_benchmark --mode=receive exited "
                                f"with {receiver.exit_code}:\n{tail(err)}")
        finally:
            receiver.kill()
        return receiver, client, None, json_line(argv, stdout)["seconds"]

    # ----------------------------------------------------------------------

    def _start_server(self, argv_for_port, ready_line, run_dir):
        """A server started on a free port and ready; (Child, port,
        ThreadSampler). Tries other ports while it fails to bind one."""
        log_path = os.path.join(run_dir, "server.log")
        for _ in range(5):
            port = free_port()
            argv = argv_for_port(port)
            with open(log_path, "w") as log:
                server = Child(argv, log, log, 2 * self.args.run_timeout + 60,
                               server_cpus(self.args))
            deadline = time.monotonic() + 30
            while True:
                with open(log_path, errors="replace") as log:
                    text = log.read()
                if ready_line in text:
                    sampler = ThreadSampler(server.pid)
                    sampler.start()
                    return server, port, sampler
                if not server.poll() or time.monotonic() > deadline:
                    server.kill()
                    break
                time.sleep(0.01)
            if "address already in use" not in text.lower():
                raise RunFailed(f"{' '.join(argv)}\ndid not start (exit code "
                                f"{server.exit_code}):\n{tail(log_path)}")
        raise RunFailed(f"{' '.join(argv)}\nfound no free port in 5 tries:\n"
                        f"{tail(log_path)}")

    def _stop_server(self, server, sampler):
        """Stops it (SIGTERM, SIGKILL after --run_timeout); its most
        threads."""
        threads = sampler.finish()
        server.signal(signal.SIGTERM)
        server.wait()
        return threads

    def _run_client(self, argv, run_dir):
        """Runs a client to its end; (Child, its stdout); RunFailed unless
        it exits 0."""
        out = os.path.join(run_dir, "client.stdout")
        err = os.path.join(run_dir, "client.stderr")
        with open(out, "w") as stdout, open(err, "w") as stderr:
            client = Child(argv, stdout, stderr, self.args.run_timeout,
                           client_cpus(self.args))
        try:
            client.wait()
        finally:
            client.kill()
        if client.exit_code != 0:
            raise RunFailed(
                f"{' '.join(argv)}\nexited with {client.exit_code}"
                f"{' (killed after --run_timeout)' if client.timed_out else ''}"
                f":\n{tail(err)}")
        with open(out, errors="replace") as stdout:
            return client, stdout.read()


def json_line(argv, stdout):
    for line in stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    raise RunFailed(f"{' '.join(argv)}\nprinted no JSON line:\n{stdout}")


def measurement(messages, run):
    """The keys of Harness.run_grpc's measurements: the server as the
    consumer, the client as the producer; no latency (the clients measure
    none end to end)."""
    server, client, threads, seconds = run
    return {
        "messages": messages,
        "streams": 1,
        "seconds": seconds,
        "messages_per_second": messages / seconds,
        "mb_per_second": messages * PAYLOAD_BYTES / seconds / 1e6,
        "p50_ms": None,
        "p99_ms": None,
        "p999_ms": None,
        "max_ms": None,
        "consumer_cpu_s": server.cpu_seconds(),
        "consumer_rss_mib": server.max_rss_mib(),
        "producer_cpu_s": client.cpu_seconds(),
        "producer_rss_mib": client.max_rss_mib(),
        "consumer_threads": threads,
        "producer_threads": None,
    }
