"""The restart scenarios of //benchmarks: how long consumer_service, started
on an existing message log of N messages, takes to serve.

For each N of --restart_messages, log_filler writes a new log of N
messages of --payload_bytes (64) in segments of --restart_segment_bytes
(the consumer's 64 MiB by default), rolled and snapshotted as the consumer
does, and the consumer is started on it again and again. Each start is
timed from spawning the process to its "consumer_service listening on"
line, and to the first health Check (grpc.health.v1.Health/Check of
messaging.v1.ConsumerService, over HTTP/2 from the standard library:
grpc_health_probe.py) that answers SERVING. Two histories:

    restart-sigkill  the log as a consumer killed with SIGKILL leaves it:
                     start-up restores the last roll's snapshot and
                     replays the active segment (up to one segment)
    restart-sigterm  after a clean shutdown (SIGTERM), whose snapshot at
                     the end of the log leaves nothing to replay

The filler leaves the SIGKILL history, and each restart-sigkill run ends
with SIGKILL, so it stays; then one unmeasured start and SIGTERM writes the
shutdown snapshot, and each restart-sigterm run ends with SIGTERM. Each
run checks that the consumer recovered all N messages (and, after SIGTERM,
replayed none). One log exists at a time, in the harness's temporary
directory, deleted before the next N; an N whose log would not fit on that
file system (with 1 GB to spare) is skipped, with a line saying so.
"""

import dataclasses
import fnmatch
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from child_process import Child, RunFailed, run_to_end, tail
from grpc_health_probe import SERVING, ProbeFailed, check_health

DEFAULT_MESSAGES = (1_000_000, 10_000_000, 100_000_000)
QUICK_MESSAGES = (1_000, 10_000)
DEFAULT_SEGMENT_BYTES = 64 << 20  # the consumer's --log_segment_bytes
PAYLOAD_BYTES = 64
PRODUCER_ID = "restart-bench"
HEALTH_SERVICE = "messaging.v1.ConsumerService"
SPARE_DISK_BYTES = 10**9

LISTENING_LINE = re.compile(
    rb"consumer_service listening on 127\.0\.0\.1:(\d+)")
RECOVERY_LINE = re.compile(
    r"message log .*?: (?:restored (\d+) producers from the snapshot at "
    r"offset (\d+), )?replayed (\d+) messages, next offset (\d+)")


@dataclasses.dataclass(frozen=True)
class RestartScenario:
    name: str
    # How the consumer stopped before each measured start.
    stop: signal.Signals
    history: str


SCENARIOS = [
    # SIGKILL first: log_filler leaves the log as a SIGKILL would.
    RestartScenario("restart-sigkill", signal.SIGKILL,
                    "SIGKILL: replays from the last roll's snapshot"),
    RestartScenario("restart-sigterm", signal.SIGTERM,
                    "SIGTERM: restores the shutdown snapshot"),
]


def select(patterns):
    return [s for s in SCENARIOS
            if any(fnmatch.fnmatchcase(s.name, p) for p in patterns)]


def parse_counts(text):
    """--restart_messages: a comma-separated list of counts >= 1."""
    counts = [int(part.replace("_", "")) for part in text.split(",")
              if part.strip()]
    if not counts or min(counts) < 1:
        raise ValueError(text)
    return counts


def _varint_bytes(value):
    return max(1, (value.bit_length() + 6) // 7)


def max_log_bytes(messages, payload_bytes=PAYLOAD_BYTES,
                  producer_id=PRODUCER_ID):
    """At most the bytes of a log of `messages` demo messages: records of
    an 8-byte header and the Mensaje (snapshots add a few bytes each)."""
    last = messages - 1
    mensaje = (2 + len(producer_id)             # producer_id
               + 1 + _varint_bytes(last)        # sequence
               + 2 + len(f"Mensaje {last}")     # text
               + (1 + _varint_bytes(payload_bytes) + payload_bytes
                  if payload_bytes else 0)      # payload
               + 2 + 6 + 6)                     # created_at: seconds, nanos
    return messages * (8 + mensaje)


def log_files(directory):
    """(bytes of its files, segments) of a log directory."""
    total = segments = 0
    for entry in os.scandir(directory):
        total += entry.stat().st_size
        segments += entry.name.endswith(".log")
    return total, segments


class StartupWatcher(threading.Thread):
    """Copies the consumer's stderr to a file, noting when its listening
    line came and its port."""

    def __init__(self, pipe, path):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.path = path
        self.port = None
        self.listening_at = None
        self.ready = threading.Event()  # the line came, or stderr closed
        self.start()

    def run(self):
        with self.pipe, open(self.path, "wb") as out:
            for line in self.pipe:
                found = self.port is None and LISTENING_LINE.search(line)
                if found:
                    self.listening_at = time.perf_counter()
                    self.port = int(found.group(1))
                out.write(line)
                out.flush()
                if found:
                    self.ready.set()
        self.ready.set()


class RestartBench:
    """Fills logs and times the consumer's starts on them."""

    def __init__(self, consumer, filler, workdir, args):
        self.consumer = consumer
        self.filler = filler
        self.workdir = workdir
        self.args = args
        self.starts = 0

    def fill(self, data_dir, messages):
        """Writes the log; its seconds."""
        argv = [self.filler, f"--data_dir={data_dir}",
                f"--messages={messages}", f"--payload_bytes={PAYLOAD_BYTES}",
                f"--producer_id={PRODUCER_ID}",
                f"--log_segment_bytes={self.args.restart_segment_bytes}"]
        start = time.perf_counter()
        run_to_end(argv, self.args.run_timeout)
        return time.perf_counter() - start

    def restart(self, data_dir, messages, stop):
        """Starts the consumer on the log, times it to listening and to
        serving, then stops it with `stop`; a dict of its measurements."""
        self.starts += 1
        log_path = os.path.join(self.workdir, f"restart-{self.starts}.stderr")
        argv = [self.consumer, "--address=127.0.0.1:0",
                "--print_messages=false", f"--data_dir={data_dir}",
                f"--log_sync={self.args.log_sync}",
                f"--log_segment_bytes={self.args.restart_segment_bytes}",
                *self.args.consumer_flag]
        start = time.perf_counter()
        consumer = Child(argv, subprocess.DEVNULL, subprocess.PIPE,
                         self.args.run_timeout)
        watcher = StartupWatcher(consumer.popen.stderr, log_path)
        try:
            serving_at = self._await_serving(consumer, watcher, start)
            consumer.signal(stop)
            consumer.wait()
        except RunFailed as failure:
            consumer.kill()
            watcher.join(timeout=30)
            raise RunFailed(f"{' '.join(argv)}\n{failure} (exit code "
                            f"{consumer.exit_code}):\n{tail(log_path)}"
                            ) from None
        finally:
            consumer.kill()
        watcher.join(timeout=30)
        expected_exit = 0 if stop == signal.SIGTERM else -stop
        if consumer.exit_code != expected_exit:
            raise RunFailed(f"{' '.join(argv)}\nexited with "
                            f"{consumer.exit_code} after {stop.name}, not "
                            f"{expected_exit}:\n{tail(log_path)}")
        with open(log_path, errors="replace") as log:
            recovery = RECOVERY_LINE.search(log.read())
        if recovery is None:
            raise RunFailed(f"{' '.join(argv)}\nlogged no recovery line:\n"
                            f"{tail(log_path)}")
        snapshot_offset = int(recovery.group(2) or 0)
        replayed, next_offset = int(recovery.group(3)), int(recovery.group(4))
        if next_offset != messages:
            raise RunFailed(f"{' '.join(argv)}\nrecovered a log ending at "
                            f"offset {next_offset}, not {messages}")
        os.unlink(log_path)
        return {
            "messages": messages,
            "listening_s": watcher.listening_at - start,
            "serving_s": serving_at - start,
            "replayed": replayed,
            "snapshot_offset": snapshot_offset,
            "consumer_cpu_s": consumer.cpu_seconds(),
            "consumer_rss_mib": consumer.max_rss_mib(),
        }

    def _await_serving(self, consumer, watcher, start):
        """When a health Check first answered SERVING; RunFailed if the
        consumer exits or --run_timeout passes first."""
        deadline = start + self.args.run_timeout
        watcher.ready.wait(self.args.run_timeout)
        if watcher.port is None:
            raise RunFailed("consumer_service did not start")
        while True:
            try:
                status = check_health("127.0.0.1", watcher.port,
                                      HEALTH_SERVICE)
                if status == SERVING:
                    return time.perf_counter()
                last = f"health status {status}"
            except (OSError, ProbeFailed) as error:
                last = str(error)
            if time.perf_counter() > deadline or not consumer.poll():
                raise RunFailed(f"consumer_service listened on port "
                                f"{watcher.port} but did not serve: {last}")
            time.sleep(0.001)


def row_name(scenario, messages):
    return f"{scenario.name}/{messages}"


def run_restart(bench, args, results, progress):
    """Every selected restart scenario at every --restart_messages."""
    for messages in args.restart_messages:
        names = [row_name(s, messages) for s in args.restart_selected]
        for s, name in zip(args.restart_selected, names):
            results.add_row(name, kind="restart", scenario=s.name,
                            history=s.history, messages=messages)
        need = max_log_bytes(messages)
        free = shutil.disk_usage(bench.workdir).free
        if need + SPARE_DISK_BYTES > free:
            status = (f"skipped: needs {need / 1e9:.1f} GB + 1 GB spare, "
                      f"{free / 1e9:.1f} GB free")
            print(f"restart: skipping {messages:,} messages: the log needs up "
                  f"to {need / 1e9:.1f} GB and 1 GB must stay spare, but "
                  f"{bench.workdir} has {free / 1e9:.1f} GB free", flush=True)
            for name in names:
                results.rows[name]["status"] = status
            continue
        data_dir = tempfile.mkdtemp(prefix="restart-log-", dir=bench.workdir)
        try:
            _run_on_one_log(bench, args, results, progress, messages,
                            data_dir)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)


def _run_on_one_log(bench, args, results, progress, messages, data_dir):
    rows = [results.rows[row_name(s, messages)] for s in args.restart_selected]
    label = f"restart {messages:,}"
    try:
        fill_seconds = bench.fill(data_dir, messages)
    except RunFailed as failure:
        results.failures.append(f"{label}: log_filler: {failure}")
        for row in rows:
            row["status"] = "FAILED"
        progress(f"{label}: log_filler FAILED")
        return
    log_bytes, segments = log_files(data_dir)
    for row in rows:
        row.update(fill_seconds=fill_seconds, log_bytes=log_bytes,
                   segments=segments)
    progress(f"{label}: filled {decimal_size(log_bytes)} in {segments} "
             f"segments in {fill_seconds:.1f} s "
             f"({messages / fill_seconds:,.0f} msgs/s)")
    for s, row in zip(args.restart_selected, rows):
        if s.stop == signal.SIGTERM:
            # The clean shutdown whose snapshot every measured start finds.
            try:
                bench.restart(data_dir, messages, signal.SIGTERM)
            except RunFailed as failure:
                results.failures.append(f"{label}: the first SIGTERM: "
                                        f"{failure}")
                row["status"] = "FAILED"
                continue
        for rep in range(1, args.repetitions + 1):
            run_label = f"[{rep}/{args.repetitions}] {s.name} {messages:,}"
            try:
                run = bench.restart(data_dir, messages, s.stop)
                if s.stop == signal.SIGTERM and (
                        run["replayed"] or run["snapshot_offset"] != messages):
                    raise RunFailed(
                        f"after SIGTERM the consumer restored the snapshot "
                        f"at offset {run['snapshot_offset']} and replayed "
                        f"{run['replayed']} messages, not the shutdown "
                        f"snapshot at {messages}")
            except RunFailed as failure:
                results.failures.append(f"{run_label}: {failure}")
                row["status"] = "FAILED"
                progress(f"{run_label}: FAILED")
                break
            row["runs"].append(run)
            progress(f"{run_label}: serving in {run['serving_s']:.3f} s "
                     f"(listening {run['listening_s']:.3f} s), replayed "
                     f"{run['replayed']:,}")


COLUMNS = ["scenario", "history", "messages", "log size", "segments",
           "fill s", "fill msgs/s", "replayed", "to listening s",
           "to serving s", "consumer CPU s", "consumer peak RSS MiB"]


def decimal_size(count):
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} B"


def table(results, fmt):
    """The restart rows, as a Markdown table; None if there are none."""
    lines = []
    for name, row in results.rows.items():
        if row["kind"] != "restart":
            continue
        cells = [row["scenario"], row["history"], f"{row['messages']:,}"]
        if row.get("log_bytes") is not None:
            cells += [decimal_size(row["log_bytes"]), str(row["segments"]),
                      fmt(row["fill_seconds"]),
                      fmt(row["messages"] / row["fill_seconds"])]
        else:
            cells += ["-"] * 4
        if row["status"]:
            cells += [row["status"]] + [""] * (len(COLUMNS) - len(cells) - 1)
        else:
            m = lambda key: results.median(name, key)  # noqa: E731
            cells += [fmt(int(m("replayed"))), fmt(m("listening_s")),
                      fmt(m("serving_s")), fmt(m("consumer_cpu_s")),
                      fmt(m("consumer_rss_mib"))]
        lines.append("| " + " | ".join(cells) + " |")
    if not lines:
        return None
    return "\n".join(["| " + " | ".join(COLUMNS) + " |",
                      "|---|---|" + "---:|" * (len(COLUMNS) - 2)] + lines)
