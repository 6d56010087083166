"""One run of a gRPC scenario of //benchmarks, and of the Python baseline:
consumer_service on an ephemeral loopback port, producer_service against
it, each a process of its own, measured (messages/s, latency from the
consumer's log, CPU and peak RSS from wait4, threads sampled from /proc).

    harness = Harness(args, consumer, producer, baseline,
                      producer_flags(producer))
    run = harness.run_grpc(scenario, scenario.messages(args))
    run["messages_per_second"], run["p99_ms"]
    harness.close()   # removes its temporary directory

Raises RunFailed when a process fails or the consumer did not accept every
message sent. Also: run_floor and run_floors (gRPC alone,
grpc_floor_benchmark) and run_paced (a scenario at a fraction of its RPC's
peak). Python 3 standard
library only.
"""

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

from child_process import (Child, RunFailed, busy_percent, client_cpus,
                           machine_cpu_ticks, run_to_end, server_cpus, tail)
from scenarios import REFERENCE, SCENARIOS


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
    def __init__(self, args, consumer, producer, baseline, flags, probe):
        self.args = args
        self.consumer = consumer
        self.producer = producer
        self.baseline = baseline
        self.probe = probe
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

    def start_consumer(self, log_sync, log_path):
        """A consumer on a new temporary --data_dir synced as `log_sync`
        says, or in memory if it is None; (Child, port, data_dir)."""
        argv = [self.consumer, "--address=127.0.0.1:0", "--print_messages=false"]
        data_dir = None
        if log_sync:
            data_dir = tempfile.mkdtemp(prefix="data-", dir=self.workdir)
            argv += [f"--data_dir={data_dir}", f"--log_sync={log_sync}"]
        argv += self.args.consumer_flag
        with open(log_path, "w") as log:
            consumer = Child(argv, subprocess.DEVNULL, log,
                             2 * self.args.run_timeout + 60,
                             server_cpus(self.args))
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

        consumer, port, data_dir = self.start_consumer(scenario.sync(self.args),
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
                ticks_at_start = machine_cpu_ticks()
                start = time.perf_counter()
                producer = Child(argv, subprocess.PIPE, err,
                                 self.args.run_timeout, client_cpus(self.args))
                producer_sampler = ThreadSampler(producer.pid)
                producer_sampler.start()
                reader = OutputReader(producer.popen.stdout, producer_out,
                                      DONE_LINE)
                producer.wait()
                busy = busy_percent(ticks_at_start, machine_cpu_ticks())
                producer_threads = producer_sampler.finish()
                exited = time.perf_counter()
                reader.join(timeout=30)
            # Until the producer said all was confirmed: that ends the
            # work, and the process's exit is no part of it.
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
            "machine_busy_pct": busy,
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


def producer_flags(producer):
    """The names of the flags the producer binary knows."""
    listing = subprocess.run([producer, "--helpfull"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=60, check=False).stdout
    return set(re.findall(r"^\s*--(\w+) \(", listing, re.MULTILINE))


def run_floor(binary, args, results, progress, streams=1, batch_size=0,
              label=""):
    """gRPC alone on `streams` streams: {(server API, client API): msgs/s}.

    grpc_floor_benchmark runs a bare server and client, as two processes,
    for each pair of gRPC's APIs, once: a Mensaje per write on Consume, or,
    with `batch_size`, MensajeBatch of that many on ConsumeBatches (as many
    messages as a batched row sends). None, with the failure recorded, if
    it fails.
    """
    messages = args.batched_messages if batch_size else args.messages
    argv = [binary, f"--messages={messages}", "--repetitions=1",
            f"--streams={streams}"]
    what = f"{streams} stream(s)"
    if batch_size:
        argv.append(f"--batch_size={batch_size}")
        what += f", batches of {batch_size}"
    progress(f"{label}grpc_floor_benchmark: gRPC alone, {what}")
    try:
        stdout = run_to_end(argv, args.run_timeout)
    except RunFailed as failure:
        results.failures.append(f"grpc_floor_benchmark: {failure}")
        return None
    rates = {}
    for line in stdout.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 6 and cells[0] == str(streams):
            rates[(cells[1], cells[2])] = float(cells[3])
    if ("callback", "callback") not in rates:
        results.failures.append(f"grpc_floor_benchmark: {' '.join(argv)}\n"
                                f"printed no callback row:\n{stdout}")
        return None
    return rates


# The floors, by their --json key: (the row they are the floor of, streams,
# batched).
FLOORS = {"grpc_floor": (REFERENCE, 1, False),
          "grpc_floor_1000_streams": ("1000x64B", 1000, False),
          "grpc_floor_batched": ("1x64B-batch", 1, True)}


def run_floors(binary, args, results, progress, label=""):
    """One run of the floor of each selected row of FLOORS: {key: run_floor's
    rates}. The harness makes one in each repetition, beside the rows, so
    that a noisy spell hits a row and its floor alike."""
    selected = {s.name for s in args.selected}
    return {key: run_floor(binary, args, results, progress, streams,
                           args.batch_size if batched else 0, label)
            for key, (row, streams, batched) in FLOORS.items()
            if row in selected}


def median_floors(runs):
    """run_floors' answers of several repetitions merged: for each key, the
    median of each pair of APIs over the runs that measured it (None if
    none did)."""
    merged = {}
    for key in {key for run in runs for key in run}:
        measured = [run[key] for run in runs if run.get(key)]
        pairs = {pair for rates in measured for pair in rates}
        merged[key] = {pair: statistics.median(rates[pair]
                                               for rates in measured
                                               if pair in rates)
                       for pair in pairs} or None
    return merged


def run_probed(harness, scenario, messages, rate):
    """harness.run_grpc() with scheduler_probe beside it: the run's
    measurements and probe_late_1ms_pct, probe_stalled_pct, probe_max_ms,
    how late a thread that only sleeps 100 us got to run meanwhile."""
    probe = Child([harness.probe], subprocess.PIPE, subprocess.DEVNULL,
                  harness.args.run_timeout + 60)
    try:
        measured = harness.run_grpc(scenario, messages, rate)
    finally:
        probe.signal(signal.SIGTERM)
        probe.wait()
    result = json.loads(probe.popen.stdout.read() or "null")
    if probe.exit_code != 0 or not result:
        raise RunFailed(f"{harness.probe} exited with {probe.exit_code} and "
                        f"printed {result!r}")
    measured.update(probe_late_1ms_pct=result["late_1ms_pct"],
                    probe_stalled_pct=result["stalled_pct"],
                    probe_max_ms=result["max_ms"])
    return measured


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
    # Long enough that the p99 is the steady state's: a run of 0.4 s has
    # its first 1 % in the connection's first milliseconds.
    messages = max(scenario.messages(args),
                   int(target * args.paced_seconds))
    for rep in range(1, args.repetitions + 1):
        attempt(scenario.name,
                f"[{rep}/{args.repetitions}] {scenario.name} "
                f"--rate={target:.0f}",
                lambda: run_probed(harness, scenario, messages, target))
    rate = results.median(scenario.name, "messages_per_second")
    if rate:
        row["achieved_fraction"] = rate / peak
