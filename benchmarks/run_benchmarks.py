#!/usr/bin/env python3
"""Benchmarks the real consumer_service and producer_service binaries.

Each scenario starts consumer_service on an ephemeral loopback port and
producer_service against it, as separate processes, with per-message
console lines off, and measures: messages/s and MB/s (payload bytes) over
the producer's wall time, end-to-end latency p50/p99/p99.9 (from each
message's created_at to its acceptance by the consumer, as the consumer
logs it on shutdown), CPU seconds and peak RSS of each process (wait4
rusage) and each one's thread count (sampled from /proc). In the same
run it measures the original demo, a multiprocessing.Queue producer and
consumer in Python (python_queue_baseline.py), with the same number of
messages of the same size, and prints the ratio; and, with 1x64B, gRPC
alone on one stream (grpc_floor_benchmark), the floor under the
per-message rows. The restart scenarios (restart_benchmark.py) time the
consumer's start on a log of --restart_messages messages, to serving. Each
figure is the median over --repetitions runs.

    bazel run -c opt //benchmarks                      # the whole suite
    bazel run -c opt //benchmarks -- --quick           # smoke run, seconds
    bazel run -c opt //benchmarks -- --scenarios='1x*' --repetitions=5
    bazel run -c opt //benchmarks -- --scenarios='restart*'

Exits 1 if any producer, consumer, baseline or filler run fails; 2 on bad
flags.
Python 3 standard library only.
"""

import argparse
import dataclasses
import fnmatch
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import restart_benchmark
from child_process import Child, RunFailed, run_to_end, tail

WORKSPACE = "grpc_producer_consumer"
CONSUMER = "consumer_service/consumer_service"
PRODUCER = "producer_service/producer_service"
BASELINE = "benchmarks/python_queue_baseline.py"
FLOOR = "benchmarks/grpc_floor_benchmark"
FILLER = "benchmarks/log_filler"

DEFAULT_MESSAGES = 200_000
QUICK_MESSAGES = 1_000
# Batched scenarios send this many times --messages by default: they run
# some 15 times faster, and at the same count the producer's start and
# connection would be a large share of their time, not their throughput.
BATCHED_FACTOR = 10
# Below the consumer's default --max_concurrent_streams (10,000).


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    streams: int = 1
    payload_bytes: int = 64
    batched: bool = False
    durable: bool = False
    # Paced at --paced_fraction of the peak rate instead of flat out.
    paced: bool = False
    # Times the messages of its kind: long streams, for a run that measures
    # streaming rather than the opening and closing of many streams.
    message_factor: int = 1

    def messages(self, args):
        base = args.batched_messages if self.batched else args.messages
        return base * self.message_factor

    def describe(self):
        return {
            "streams": self.streams,
            "payload": format_bytes(self.payload_bytes),
            "rpc": "batched" if self.batched else "per-message",
            "log": "durable" if self.durable else "memory",
        }


SCENARIOS = [
    Scenario("1x64B"),
    Scenario("1x1KiB", payload_bytes=1024),
    Scenario("8x64B", streams=8),
    Scenario("100x64B", streams=100),
    Scenario("1000x64B", streams=1000),
    Scenario("1x64B-batch", batched=True),
    Scenario("1x1KiB-batch", payload_bytes=1024, batched=True),
    Scenario("8x64B-batch", streams=8, batched=True),
    Scenario("1000x64B-batch", streams=1000, batched=True),
    Scenario("1000x64B-batch-long", streams=1000, batched=True,
             message_factor=5),
    Scenario("1x64B-durable", durable=True),
    Scenario("1x64B-batch-durable", batched=True, durable=True),
    Scenario("8x64B-durable", streams=8, durable=True),
    Scenario("paced-50pct", paced=True),
    Scenario("paced-50pct-batch", batched=True, paced=True),
]

# The reference of the headline ratio against the Python baseline.
REFERENCE = "1x64B"


def format_bytes(n):
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} B"


# --------------------------------------------------------------------------
# Finding the binaries


def runfiles_roots():
    """Candidate runfiles directories, most specific first."""
    roots = []
    for variable in ("RUNFILES_DIR", "PYTHON_RUNFILES", "TEST_SRCDIR"):
        if os.environ.get(variable):
            roots.append(os.environ[variable])
    roots.append(sys.argv[0] + ".runfiles")
    # This file inside the runfiles tree: <root>/<workspace>/benchmarks/x.py
    here = os.path.dirname(os.path.abspath(__file__))
    roots.append(os.path.dirname(os.path.dirname(here)))
    return roots


def find_file(relative, override=None):
    if override:
        if not os.path.exists(override):
            raise SystemExit(f"run_benchmarks: {override} does not exist")
        return os.path.abspath(override)
    for root in runfiles_roots():
        candidate = os.path.join(root, WORKSPACE, relative)
        if os.path.exists(candidate):
            return candidate
    # Run from a checkout: python3 benchmarks/run_benchmarks.py
    checkout = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    for candidate in (os.path.join(checkout, relative),
                      os.path.join(checkout, "bazel-bin", relative)):
        if os.path.exists(candidate):
            return candidate
    raise SystemExit(
        f"run_benchmarks: cannot find {relative} in the runfiles; run it "
        f"with: bazel run -c opt //benchmarks")


def producer_flags(producer):
    """The names of the flags the producer binary knows."""
    listing = subprocess.run([producer, "--helpfull"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=60, check=False).stdout
    return set(re.findall(r"^\s*--(\w+) \(", listing, re.MULTILINE))


# --------------------------------------------------------------------------
# Running processes


def parse_duration_ms(text):
    """Abseil's FormatDuration syntax ('2.49ms', '950us', '1m2.5s', '0')."""
    text = text.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("-")
    if text in ("0", ""):
        return 0.0
    if text == "inf":
        return math.inf
    units = {"h": 3.6e6, "m": 6e4, "s": 1e3, "ms": 1.0, "us": 1e-3,
             "ns": 1e-6}
    total = 0.0
    position = 0
    for match in re.finditer(r"(\d+(?:\.\d*)?)(ms|us|ns|h|m|s)", text):
        if match.start() != position:
            break
        total += float(match.group(1)) * units[match.group(2)]
        position = match.end()
    if position != len(text):
        raise ValueError(f"not an Abseil duration: {text!r}")
    return sign * total


STOPPED_LINE = re.compile(
    r"consumer_service stopped: (\d+) messages in (\d+) completed and (\d+) "
    r"failed streams, (\d+) duplicates dropped; end-to-end latency "
    r"p50=(\S+) p99=(\S+) p99\.9=(\S+) max=(\S+)")
LISTENING_LINE = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


class ThreadSampler(threading.Thread):
    """The largest Threads: count of /proc/PID/status while it runs."""

    def __init__(self, pid, period=0.02):
        super().__init__(daemon=True)
        self.path = f"/proc/{pid}/status"
        self.period = period
        self.max_threads = 0
        self._done = threading.Event()

    def sample(self):
        try:
            with open(self.path) as status:
                for line in status:
                    if line.startswith("Threads:"):
                        self.max_threads = max(self.max_threads,
                                               int(line.split()[1]))
                        return
        except (OSError, ValueError):
            pass

    def run(self):
        while not self._done.is_set():
            self.sample()
            self._done.wait(self.period)

    def finish(self):
        if not self._done.is_set():
            self.sample()
            self._done.set()
            self.join()
        return self.max_threads


DONE_LINE = "Todos los procesos han terminado."


class OutputReader(threading.Thread):
    """Copies a pipe to a file, noting when a line containing `marker` came."""

    def __init__(self, pipe, path, marker):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.path = path
        self.marker = marker.encode()
        self.seen_at = None
        self.start()

    def run(self):
        with self.pipe, open(self.path, "wb") as out:
            for line in self.pipe:
                if self.seen_at is None and self.marker in line:
                    self.seen_at = time.perf_counter()
                out.write(line)


class Harness:
    def __init__(self, args, consumer, producer, baseline, flags):
        self.args = args
        self.consumer = consumer
        self.producer = producer
        self.baseline = baseline
        self.flags = flags
        self.workdir = tempfile.mkdtemp(prefix="benchmarks-",
                                        dir=os.environ.get("TEST_TMPDIR"))
        self.runs = 0

    def close(self):
        shutil.rmtree(self.workdir, ignore_errors=True)

    def missing_flags(self, scenario):
        needed = []
        if scenario.streams > 1:
            needed.append("streams")
        if scenario.paced:
            needed.append("rate")
        if scenario.batched:
            needed += ["batch_size"]
        return [flag for flag in needed if flag not in self.flags]

    def start_consumer(self, durable, log_path):
        argv = [self.consumer, "--address=127.0.0.1:0", "--print_messages=false"]
        data_dir = None
        if durable:
            data_dir = tempfile.mkdtemp(prefix="data-", dir=self.workdir)
            argv += [f"--data_dir={data_dir}", f"--log_sync={self.args.log_sync}"]
        argv += self.args.consumer_flag
        with open(log_path, "w") as log:
            consumer = Child(argv, subprocess.DEVNULL, log,
                             2 * self.args.run_timeout + 60)
        deadline = time.monotonic() + 30
        while True:
            with open(log_path, errors="replace") as log:
                found = LISTENING_LINE.search(log.read())
            if found:
                return consumer, int(found.group(1)), data_dir
            if not consumer.poll() or time.monotonic() > deadline:
                consumer.kill()
                if data_dir:
                    shutil.rmtree(data_dir, ignore_errors=True)
                raise RunFailed(
                    f"consumer_service did not start (exit code "
                    f"{consumer.exit_code}):\n{tail(log_path)}")
            time.sleep(0.01)

    def run_grpc(self, scenario, total_messages, rate=None):
        """One run of a scenario, paced at `rate` msgs/s if given; a dict
        of its measurements."""
        streams = scenario.streams
        per_stream = max(1, total_messages // streams)
        expected = per_stream * streams
        self.runs += 1
        run_dir = os.path.join(self.workdir, f"run-{self.runs}")
        os.makedirs(run_dir)
        consumer_log = os.path.join(run_dir, "consumer.stderr")
        producer_out = os.path.join(run_dir, "producer.stdout")
        producer_err = os.path.join(run_dir, "producer.stderr")

        consumer, port, data_dir = self.start_consumer(scenario.durable,
                                                       consumer_log)
        producer = None
        sampler = ThreadSampler(consumer.pid)
        sampler.start()
        try:
            argv = [self.producer, f"--target=127.0.0.1:{port}",
                    f"--count={per_stream}",
                    "--interval=0",
                    f"--payload_bytes={scenario.payload_bytes}",
                    f"--producer_id=bench-{self.runs}",
                    "--print_messages=false"]
            if streams > 1:
                argv.append(f"--streams={streams}")
            if rate:
                argv.append(f"--rate={rate:.0f}")
            if scenario.batched:
                argv.append(f"--batch_size={self.args.batch_size}")
            with open(producer_err, "w") as err:
                start = time.perf_counter()
                producer = Child(argv, subprocess.PIPE, err,
                                 self.args.run_timeout)
                producer_sampler = ThreadSampler(producer.pid)
                producer_sampler.start()
                reader = OutputReader(producer.popen.stdout, producer_out,
                                      DONE_LINE)
                producer.wait()
                producer_threads = producer_sampler.finish()
                exited = time.perf_counter()
                reader.join(timeout=30)
            # Until the producer said all was confirmed: its exit can lag
            # (a signal watcher polling every 100 ms) and is no part of it.
            seconds = (reader.seen_at or exited) - start
            threads = sampler.finish()
            consumer.signal(signal.SIGTERM)
            consumer.wait()
        finally:
            sampler.finish()
            for child in (producer, consumer):
                if child is not None:
                    child.kill()
            if data_dir:
                shutil.rmtree(data_dir, ignore_errors=True)

        problems = []
        if producer.exit_code != 0:
            problems.append(
                f"producer_service exited with {producer.exit_code}"
                f"{' (killed after --run_timeout)' if producer.timed_out else ''}"
                f":\n{tail(producer_err)}")
        if consumer.exit_code != 0:
            problems.append(
                f"consumer_service exited with {consumer.exit_code}:\n"
                f"{tail(consumer_log)}")
        with open(consumer_log, errors="replace") as log:
            stopped = STOPPED_LINE.search(log.read())
        if stopped is None:
            if not problems:
                problems.append("consumer_service logged no 'stopped:' line:\n"
                                + tail(consumer_log))
        else:
            received, _, failed = (int(stopped.group(i)) for i in (1, 2, 3))
            if received != expected:
                problems.append(
                    f"consumer_service accepted {received} messages, expected "
                    f"{expected} ({streams} streams x {per_stream})")
            if failed:
                problems.append(f"consumer_service saw {failed} failed streams")
        if problems:
            raise RunFailed(f"{' '.join(argv)}\n" + "\n".join(problems))

        shutil.rmtree(run_dir, ignore_errors=True)
        return {
            "messages": expected,
            "streams": streams,
            "rate": rate or 0,
            "seconds": seconds,
            "process_seconds": exited - start,
            "messages_per_second": expected / seconds,
            "mb_per_second": expected * scenario.payload_bytes / seconds / 1e6,
            "p50_ms": parse_duration_ms(stopped.group(5)),
            "p99_ms": parse_duration_ms(stopped.group(6)),
            "p999_ms": parse_duration_ms(stopped.group(7)),
            "max_ms": parse_duration_ms(stopped.group(8)),
            "consumer_cpu_s": consumer.cpu_seconds(),
            "consumer_rss_mib": consumer.max_rss_mib(),
            "producer_cpu_s": producer.cpu_seconds(),
            "producer_rss_mib": producer.max_rss_mib(),
            "consumer_threads": threads,
            "producer_threads": producer_threads,
        }

    def run_baseline(self, payload_bytes, total_messages):
        argv = [sys.executable, self.baseline, f"--messages={total_messages}",
                f"--payload_bytes={payload_bytes}"]
        result = None
        for line in run_to_end(argv, self.args.run_timeout).splitlines():
            if line.startswith("{"):
                result = json.loads(line)
        if result is None:
            raise RunFailed(f"{' '.join(argv)}\nprinted no result")
        return {
            "messages": result["messages"],
            "streams": 1,
            "seconds": result["seconds"],
            "messages_per_second": result["messages_per_second"],
            "mb_per_second": result["mb_per_second"],
            "p50_ms": result["latency_ms"]["p50"],
            "p99_ms": result["latency_ms"]["p99"],
            "p999_ms": result["latency_ms"]["p999"],
            "max_ms": result["latency_ms"]["max"],
            "consumer_cpu_s": result["consumer"]["cpu_seconds"],
            "consumer_rss_mib": result["consumer"]["max_rss_kib"] / 1024.0,
            "producer_cpu_s": result["producer"]["cpu_seconds"],
            "producer_rss_mib": result["producer"]["max_rss_kib"] / 1024.0,
            "consumer_threads": None,
            "producer_threads": None,
        }


# --------------------------------------------------------------------------
# Results


class Results:
    """Per row: its runs, or why it has none."""

    def __init__(self):
        self.rows = {}  # name -> {"kind", "scenario", "runs", "status"}
        self.failures = []

    def add_row(self, name, **info):
        self.rows.setdefault(name, {"runs": [], "status": None, **info})

    def median(self, name, key):
        values = [run[key] for run in self.rows[name]["runs"]
                  if run.get(key) is not None]
        return statistics.median(values) if values else None


def fmt(value):
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if value == math.inf:
        return "inf"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


COLUMNS = ["scenario", "streams", "payload", "RPC", "log", "messages",
           "msgs/s", "MB/s", "p50 ms", "p99 ms", "p99.9 ms",
           "consumer CPU s", "consumer peak RSS MiB", "producer CPU s",
           "producer peak RSS MiB", "consumer threads", "producer threads",
           "vs Python"]


def table(results, baseline_rate):
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join(["---"] * 5 + ["---:"] * (len(COLUMNS) - 5)) + "|"]
    for name, row in results.rows.items():
        if row["kind"] == "restart":
            continue
        d = row["describe"]
        cells = [name, str(d["streams"]), d["payload"], d["rpc"], d["log"]]
        if row["status"]:
            cells += [row["status"]] + [""] * (len(COLUMNS) - len(cells) - 1)
            lines.append("| " + " | ".join(cells) + " |")
            continue
        m = lambda key: results.median(name, key)  # noqa: E731
        ratio = None
        reference = baseline_rate(row["payload_bytes"])
        if row["kind"] == "grpc" and reference and m("messages_per_second"):
            ratio = m("messages_per_second") / reference
        cells += [fmt(int(m("messages"))), fmt(m("messages_per_second")),
                  fmt(m("mb_per_second")), fmt(m("p50_ms")),
                  fmt(m("p99_ms")), fmt(m("p999_ms")),
                  fmt(m("consumer_cpu_s")), fmt(m("consumer_rss_mib")),
                  fmt(m("producer_cpu_s")), fmt(m("producer_rss_mib")),
                  fmt(m("consumer_threads") and int(m("consumer_threads"))),
                  fmt(m("producer_threads") and int(m("producer_threads"))),
                  f"{ratio:.2f}x" if ratio else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=None,
                        help="runs of each scenario; the median is reported "
                        "(default 3, 1 with --quick)")
    parser.add_argument("--messages", type=int, default=None,
                        help="messages per scenario, split evenly over its "
                        f"streams (default {DEFAULT_MESSAGES:,}, "
                        f"{QUICK_MESSAGES:,} with --quick)")
    parser.add_argument("--batched_messages", type=int, default=None,
                        help="messages per batched scenario (default "
                        f"{BATCHED_FACTOR} x --messages, the same with "
                        "--quick)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny counts and one repetition: a smoke test")
    parser.add_argument("--scenarios", default="*",
                        help="comma-separated names or globs of the scenarios "
                        "to run (see --list); the Python baseline always runs")
    parser.add_argument("--list", action="store_true",
                        help="list the scenarios and exit")
    parser.add_argument("--batch_size", type=int, default=256,
                        help="producer --batch_size of the batched scenarios")
    parser.add_argument("--log_sync", default="group",
                        help="consumer --log_sync of the durable and restart "
                        "scenarios")
    parser.add_argument("--consumer_flag", action="append", default=[],
                        metavar="FLAG",
                        help="a flag for every consumer run, e.g. "
                        "--consumer_flag=--adaptive_flow_control=false; "
                        "repeat for more")
    parser.add_argument("--paced_fraction", type=float, default=0.5,
                        help="the paced scenario's rate, as a fraction of the "
                        "peak rate measured in this run")
    parser.add_argument("--run_timeout", type=float, default=600,
                        help="seconds before a process of one run is killed "
                        "and the run counted as failed")
    counts = lambda counts: ",".join(map(str, counts))  # noqa: E731
    parser.add_argument("--restart_messages", default=None,
                        help="comma-separated sizes of the log the restart "
                        "scenarios start on, in messages (default "
                        f"{counts(restart_benchmark.DEFAULT_MESSAGES)}; "
                        f"{counts(restart_benchmark.QUICK_MESSAGES)} with "
                        "--quick)")
    parser.add_argument("--restart_segment_bytes", type=int,
                        default=restart_benchmark.DEFAULT_SEGMENT_BYTES,
                        help="--log_segment_bytes of the restart scenarios' "
                        "logs and consumers")
    parser.add_argument("--json", metavar="FILE",
                        help="also write every run's measurements to FILE")
    parser.add_argument("--consumer_binary", help="default: from the runfiles")
    parser.add_argument("--producer_binary", help="default: from the runfiles")
    parser.add_argument("--floor_binary", help="default: from the runfiles")
    parser.add_argument("--filler_binary", help="default: from the runfiles")
    args = parser.parse_args(argv)
    if args.repetitions is None:
        args.repetitions = 1 if args.quick else 3
    if args.messages is None:
        args.messages = QUICK_MESSAGES if args.quick else DEFAULT_MESSAGES
    if args.batched_messages is None:
        args.batched_messages = args.messages * (1 if args.quick
                                                 else BATCHED_FACTOR)
    if min(args.repetitions, args.messages, args.batched_messages,
           args.batch_size) < 1:
        parser.error("--repetitions, --messages, --batched_messages and "
                     "--batch_size must be >= 1")
    if not 0 < args.paced_fraction <= 1:
        parser.error("--paced_fraction must be in (0, 1]")
    if args.restart_messages is None:
        args.restart_messages = list(restart_benchmark.QUICK_MESSAGES
                                     if args.quick
                                     else restart_benchmark.DEFAULT_MESSAGES)
    else:
        try:
            args.restart_messages = restart_benchmark.parse_counts(
                args.restart_messages)
        except ValueError:
            parser.error(f"--restart_messages={args.restart_messages} is not "
                         f"a comma-separated list of counts >= 1 (example: "
                         f"1000000,10000000)")
    if args.restart_segment_bytes < 4096:
        parser.error("--restart_segment_bytes must be >= 4096, the "
                     "consumer's least --log_segment_bytes")
    patterns = [p.strip() for p in args.scenarios.split(",") if p.strip()]
    args.selected = [s for s in SCENARIOS
                     if any(fnmatch.fnmatchcase(s.name, p) for p in patterns)]
    args.restart_selected = restart_benchmark.select(patterns)
    if not args.list and not (args.selected or args.restart_selected):
        parser.error(f"--scenarios={args.scenarios} matches none of: "
                     + ", ".join(s.name for s in SCENARIOS
                                 + restart_benchmark.SCENARIOS))
    return args


def progress(message):
    print(message, file=sys.stderr, flush=True)


def summary_of(run):
    return (f"{run['messages_per_second']:,.0f} msgs/s, "
            f"p99 {fmt(run['p99_ms'])} ms")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.list:
        for s in SCENARIOS:
            d = s.describe()
            print(f"{s.name:22} streams={d['streams']} payload={d['payload']} "
                  f"rpc={d['rpc']} log={d['log']}"
                  + (f" paced at {args.paced_fraction:.0%} of peak"
                     if s.paced else ""))
        for s in restart_benchmark.SCENARIOS:
            print(f"{s.name:22} log of --restart_messages messages, after "
                  f"{s.history}")
        return 0

    consumer = find_file(CONSUMER, args.consumer_binary)
    producer = find_file(PRODUCER, args.producer_binary)
    baseline = find_file(BASELINE)
    filler = (find_file(FILLER, args.filler_binary)
              if args.restart_selected else None)
    harness = Harness(args, consumer, producer, baseline,
                      producer_flags(producer))
    results = Results()
    try:
        run_all(harness, args, results)
        if args.restart_selected:
            restart_benchmark.run_restart(
                restart_benchmark.RestartBench(consumer, filler,
                                               harness.workdir, args),
                args, results, progress)
    finally:
        harness.close()
    floor = None
    if any(s.name == REFERENCE for s in args.selected):
        floor = run_floor(find_file(FLOOR, args.floor_binary), args, results)

    baseline_rates = {}
    for name, row in results.rows.items():
        if row["kind"] == "baseline" and not row["status"]:
            baseline_rates[row["payload_bytes"]] = results.median(
                name, "messages_per_second")

    if args.selected:
        print(f"\n## Benchmark: {args.messages:,} messages per per-message "
              f"scenario, {args.batched_messages:,} per batched one, median "
              f"of {args.repetitions} run(s)"
              f"{' (--quick)' if args.quick else ''}\n")
        print(table(results, baseline_rates.get))
        print()
    reference = REFERENCE
    if (reference in results.rows and not results.rows[reference]["status"]
            and baseline_rates.get(64)):
        grpc_rate = results.median(reference, "messages_per_second")
        print(f"Ratio, messages/s of gRPC per-message single stream 64 B "
              f"({grpc_rate:,.0f}) / Python multiprocessing.Queue 64 B "
              f"({baseline_rates[64]:,.0f}): "
              f"{grpc_rate / baseline_rates[64]:.2f}x")
    for name in ("paced-50pct", "paced-50pct-batch"):
        paced = results.rows.get(name)
        if paced and not paced["status"] and paced.get("achieved_fraction"):
            print(f"Paced ({name}): "
                  f"{results.median(name, 'messages_per_second'):,.0f}"
                  f" msgs/s = {paced['achieved_fraction']:.0%} of the peak "
                  f"{paced['peak']:,.0f} msgs/s ({paced['peak_from']}); p99 "
                  f"{fmt(results.median(name, 'p99_ms'))} ms")
    if (floor and reference in results.rows
            and not results.rows[reference]["status"]):
        grpc_rate = results.median(reference, "messages_per_second")
        callback = floor[("callback", "callback")]
        best = max(floor, key=floor.get)
        print(f"gRPC alone (grpc_floor_benchmark, one stream, nothing on "
              f"top): callback server and client {callback:,.0f} msgs/s, "
              f"best of the API pairs {floor[best]:,.0f} ({best[0]} server, "
              f"{best[1]} client); {reference} is {grpc_rate / callback:.0%} "
              f"of the callback pair")
    if "1000x64B" in results.rows and not results.rows["1000x64B"]["status"]:
        print(f"Threads at 1,000 streams (max sampled): consumer "
              f"{int(results.median('1000x64B', 'consumer_threads'))}, "
              f"producer "
              f"{int(results.median('1000x64B', 'producer_threads'))}")

    restart_rows = restart_benchmark.table(results, fmt)
    if restart_rows:
        print(f"\n## Restart: consumer_service started on a log of N "
              f"{restart_benchmark.PAYLOAD_BYTES} B messages, to its first "
              f"SERVING health Check, median of {args.repetitions} run(s)"
              f"{' (--quick)' if args.quick else ''}\n")
        print(restart_rows)
        print()

    if args.json:
        with open(args.json, "w") as out:
            json.dump({"messages": args.messages,
                       "batched_messages": args.batched_messages,
                       "restart_messages": args.restart_messages,
                       "repetitions": args.repetitions,
                       "rows": results.rows,
                       "grpc_floor": {f"{server}/{client}": rate
                                      for (server, client), rate
                                      in (floor or {}).items()},
                       "failures": results.failures}, out, indent=1,
                      default=str)
    if results.failures:
        print(f"\n{len(results.failures)} run(s) FAILED:", file=sys.stderr)
        for failure in results.failures:
            print(f"--- {failure}", file=sys.stderr)
        return 1
    return 0


def run_all(harness, args, results):
    flat_out = [s for s in args.selected if not s.paced]
    for s in args.selected:
        results.add_row(s.name, kind="paced" if s.paced else "grpc",
                        payload_bytes=s.payload_bytes, describe=s.describe())
        missing = harness.missing_flags(s)
        if missing:
            results.rows[s.name]["status"] = "n/a (flag missing: " + ", ".join(
                f"--{flag}" for flag in missing) + ")"
    payloads = sorted({s.payload_bytes for s in args.selected})
    for payload in payloads:
        name = f"python-queue-{format_bytes(payload).replace(' ', '')}"
        results.add_row(name, kind="baseline", payload_bytes=payload,
                        describe={"streams": 1, "payload": format_bytes(payload),
                                  "rpc": "mp.Queue", "log": "memory"})

    def attempt(name, label, run):
        try:
            measured = run()
        except RunFailed as failure:
            results.failures.append(f"{label}: {failure}")
            results.rows[name]["status"] = "FAILED"
            progress(f"{label}: FAILED")
            return None
        results.rows[name]["runs"].append(measured)
        progress(f"{label}: {summary_of(measured)}")
        return measured

    # Repetitions outermost, so a noisy spell hits every scenario alike.
    for rep in range(1, args.repetitions + 1):
        for s in flat_out:
            if results.rows[s.name]["status"]:
                continue
            attempt(s.name, f"[{rep}/{args.repetitions}] {s.name}",
                    lambda s=s: harness.run_grpc(s, s.messages(args)))
        for payload in payloads:
            name = f"python-queue-{format_bytes(payload).replace(' ', '')}"
            if results.rows[name]["status"]:
                continue
            attempt(name, f"[{rep}/{args.repetitions}] {name}",
                    lambda p=payload: harness.run_baseline(p, args.messages))

    for s in args.selected:
        if s.paced and not results.rows[s.name]["status"]:
            run_paced(harness, args, results, s, attempt)


def run_floor(binary, args, results):
    """gRPC alone on one stream: {(server API, client API): msgs/s}.

    grpc_floor_benchmark runs a bare server and client, as two processes,
    for each pair of gRPC's APIs; None, with the failure recorded, if it
    fails.
    """
    argv = [binary, f"--messages={args.messages}",
            f"--repetitions={args.repetitions}", "--streams=1"]
    progress("grpc_floor_benchmark: gRPC alone, one stream")
    try:
        stdout = run_to_end(argv, args.run_timeout)
    except RunFailed as failure:
        results.failures.append(f"grpc_floor_benchmark: {failure}")
        return None
    rates = {}
    for line in stdout.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 6 and cells[0] == "1":
            rates[(cells[1], cells[2])] = float(cells[3])
    if ("callback", "callback") not in rates:
        results.failures.append(f"grpc_floor_benchmark: {' '.join(argv)}\n"
                                f"printed no callback row:\n{stdout}")
        return None
    return rates


def run_paced(harness, args, results, scenario, attempt):
    """Paces one stream at --paced_fraction of the peak rate of its RPC.

    The producer's --rate schedules message n at start + n / rate, so the
    stream keeps that average however coarse its timer is.
    """
    row = results.rows[scenario.name]
    # The peak: the best flat-out in-memory single-stream run of the same
    # RPC and payload.
    candidates = [s for s in SCENARIOS
                  if not (s.paced or s.durable)
                  and s.batched == scenario.batched
                  and s.streams == 1
                  and s.payload_bytes == scenario.payload_bytes
                  and s.name in results.rows and not results.rows[s.name]["status"]
                  and results.rows[s.name]["runs"]]
    if candidates:
        peaks = {s.name: results.median(s.name, "messages_per_second")
                 for s in candidates}
    else:  # not selected: measure the peak once now
        peaks = {}
        for s in SCENARIOS:
            if (s.name == ("1x64B-batch" if scenario.batched else "1x64B")
                    and not harness.missing_flags(s)):
                measured = attempt(scenario.name, f"[peak] {s.name}",
                                   lambda s=s: harness.run_grpc(
                                       s, s.messages(args)))
                if measured is None:
                    return
                row["runs"].clear()
                peaks[s.name] = measured["messages_per_second"]
    if not peaks:
        row["status"] = "n/a (no peak rate measured)"
        return
    peak_from = max(peaks, key=peaks.get)
    peak = peaks[peak_from]
    target = peak * args.paced_fraction
    row.update(peak=peak, peak_from=peak_from, target=target)
    for rep in range(1, args.repetitions + 1):
        attempt(scenario.name,
                f"[{rep}/{args.repetitions}] {scenario.name} "
                f"--rate={target:.0f}",
                lambda: harness.run_grpc(scenario, scenario.messages(args),
                                         target))
    rate = results.median(scenario.name, "messages_per_second")
    if rate:
        row["achieved_fraction"] = rate / peak


if __name__ == "__main__":
    sys.exit(main())
