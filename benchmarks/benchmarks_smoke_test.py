"""Smoke test of //benchmarks: a --quick run of a few scenarios, the
restart ones on tiny logs among them, prints the tables with positive
numbers, and a run whose producer, consumer or log filler fails exits
non-zero. No timed assertions: only that numbers exist and are sane.
"""

import importlib.util
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import unittest

WORKSPACE = "grpc_producer_consumer"


def runfile(relative):
    for root in (os.environ.get("RUNFILES_DIR"), os.environ.get("TEST_SRCDIR")):
        if root and os.path.exists(os.path.join(root, WORKSPACE, relative)):
            return os.path.join(root, WORKSPACE, relative)
    raise FileNotFoundError(f"{relative} is not in the runfiles")


HARNESS = runfile("benchmarks/run_benchmarks.py")
SCENARIOS = "1x64B,1x64B-durable,8x64B-batch,restart*"
# Logs of a few segments: with 16 KiB segments each holds one batch of 256.
RESTART_FLAGS = ("--restart_messages=300,3000",
                 "--restart_segment_bytes=16384")


def load_harness():
    sys.path.insert(0, os.path.dirname(HARNESS))  # for its sibling modules
    spec = importlib.util.spec_from_file_location("run_benchmarks", HARNESS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_harness(*flags):
    return subprocess.run([sys.executable, HARNESS, *flags],
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=240, check=False)


def write_script(directory, name, body):
    path = os.path.join(directory, name)
    with open(path, "w") as script:
        script.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


class QuickRunTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        cls.json_path = os.path.join(cls.tmp, "results.json")
        cls.done = run_harness("--quick", "--messages=400",
                               "--batched_messages=800",
                               f"--scenarios={SCENARIOS}", *RESTART_FLAGS,
                               f"--json={cls.json_path}")
        if cls.done.returncode == 0:
            with open(cls.json_path) as results:
                cls.rows = json.load(results)["rows"]

    def test_exits_zero(self):
        self.assertEqual(self.done.returncode, 0,
                         f"stdout:\n{self.done.stdout}\n"
                         f"stderr:\n{self.done.stderr}")

    def test_prints_the_table_and_the_ratio(self):
        out = self.done.stdout
        self.assertIn("| scenario | streams | payload | RPC | log | messages |"
                      " msgs/s | MB/s | p50 ms | p99 ms | p99.9 ms |", out)
        for row in ("| 1x64B |", "| 1x64B-durable |", "| 8x64B-batch |",
                    "| python-queue-64B |"):
            self.assertIn(row, out)
        self.assertRegex(out, r"Ratio, messages/s of gRPC per-message single "
                         r"stream 64 B .*: \d+\.\d\dx")
        self.assertRegex(out, r"gRPC alone \(grpc_floor_benchmark, one stream, "
                         r"nothing on top\): callback server and client "
                         r"[\d,]+ msgs/s, .*; 1x64B is \d+% of the callback "
                         r"pair")

    def check_positive(self, name, keys):
        self.assertEqual(self.done.returncode, 0, self.done.stderr)
        row = self.rows[name]
        self.assertIsNone(row["status"], f"{name}: {row['status']}")
        self.assertTrue(row["runs"], name)
        for run in row["runs"]:
            for key in keys:
                self.assertGreater(run[key], 0, f"{name}: {key} in {run}")
            self.assertGreaterEqual(run["p99_ms"], run["p50_ms"], name)
            self.assertGreaterEqual(run["max_ms"], run["p999_ms"], name)

    GRPC_KEYS = ["messages", "messages_per_second", "mb_per_second", "p50_ms",
                 "p99_ms", "consumer_cpu_s", "consumer_rss_mib",
                 "producer_cpu_s", "producer_rss_mib", "consumer_threads",
                 "producer_threads"]

    def test_grpc_numbers_are_positive(self):
        self.check_positive("1x64B", self.GRPC_KEYS)
        self.check_positive("1x64B-durable", self.GRPC_KEYS)
        for run in self.rows["1x64B"]["runs"]:
            self.assertEqual(run["messages"], 400)

    def test_batched_is_measured_or_reported_missing(self):
        self.assertEqual(self.done.returncode, 0, self.done.stderr)
        status = self.rows["8x64B-batch"]["status"]
        if status is None:
            self.check_positive("8x64B-batch", self.GRPC_KEYS)
            for run in self.rows["8x64B-batch"]["runs"]:
                self.assertEqual(run["messages"], 800)
        else:
            self.assertTrue(status.startswith("n/a (flag missing: --"), status)

    def test_prints_the_restart_table(self):
        out = self.done.stdout
        self.assertIn("| scenario | history | messages | log size | segments "
                      "| fill s | fill msgs/s | replayed | to listening s | "
                      "to serving s |", out)
        for name in ("restart-sigkill", "restart-sigterm"):
            for messages in ("300", "3,000"):
                self.assertRegex(out, rf"\| {name} \| SIG\w+: [^|]+ \| "
                                 rf"{messages} \| \d")

    def check_restart(self, name, messages):
        self.assertEqual(self.done.returncode, 0, self.done.stderr)
        row = self.rows[f"{name}/{messages}"]
        self.assertIsNone(row["status"], f"{name}: {row['status']}")
        self.assertGreater(row["fill_seconds"], 0)
        self.assertGreater(row["segments"], 1, row)
        # The disk check's estimate holds the real log.
        self.assertGreater(row["log_bytes"], 0)
        self.assertLessEqual(row["log_bytes"],
                             load_harness().restart_benchmark.max_log_bytes(
                                 messages))
        self.assertEqual(len(row["runs"]), 1)
        for run in row["runs"]:
            self.assertEqual(run["messages"], messages)
            self.assertGreater(run["listening_s"], 0, run)
            self.assertGreaterEqual(run["serving_s"], run["listening_s"], run)
            self.assertGreater(run["consumer_cpu_s"], 0, run)
            self.assertGreater(run["consumer_rss_mib"], 0, run)
        return row["runs"]

    def test_restart_after_sigkill_replays_the_active_segment(self):
        for messages in (300, 3000):
            for run in self.check_restart("restart-sigkill", messages):
                # The last roll's snapshot, then the records after it.
                self.assertGreater(run["snapshot_offset"], 0, run)
                self.assertGreater(run["replayed"], 0, run)
                self.assertEqual(run["snapshot_offset"] + run["replayed"],
                                 messages, run)

    def test_restart_after_sigterm_replays_nothing(self):
        for messages in (300, 3000):
            for run in self.check_restart("restart-sigterm", messages):
                self.assertEqual(run["snapshot_offset"], messages, run)
                self.assertEqual(run["replayed"], 0, run)

    def test_baseline_numbers_are_positive(self):
        self.check_positive("python-queue-64B", [
            "messages", "messages_per_second", "mb_per_second", "p50_ms",
            "consumer_cpu_s", "consumer_rss_mib", "producer_cpu_s",
            "producer_rss_mib"])


class FailureTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def test_failing_producer_fails_the_run(self):
        producer = write_script(self.tmp, "producer",
                                'echo "fake producer: failing" >&2; exit 1')
        done = run_harness("--quick", "--scenarios=1x64B",
                           f"--producer_binary={producer}")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("producer_service exited with 1", done.stderr)
        self.assertIn("fake producer: failing", done.stderr)
        self.assertIn("| 1x64B | 1 | 64 B | per-message | memory | FAILED |",
                      done.stdout)

    def test_failing_floor_fails_the_run(self):
        floor = write_script(self.tmp, "floor",
                             'echo "fake floor: failing" >&2; exit 1')
        done = run_harness("--quick", "--scenarios=1x64B",
                           f"--floor_binary={floor}")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("fake floor: failing", done.stderr)
        self.assertNotIn("gRPC alone", done.stdout)

    def test_consumer_flags_reach_the_consumer(self):
        done = run_harness("--quick", "--scenarios=1x64B",
                           "--consumer_flag=--no_such_flag=1")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("no_such_flag", done.stderr)

    def test_failing_consumer_fails_the_run(self):
        consumer = write_script(self.tmp, "consumer",
                                'echo "fake consumer: failing" >&2; exit 1')
        done = run_harness("--quick", "--scenarios=1x64B",
                           f"--consumer_binary={consumer}")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("consumer_service did not start", done.stderr)

    def test_consumer_missing_messages_fails_the_run(self):
        # Starts like the consumer, then logs fewer messages than were sent.
        consumer = write_script(self.tmp, "consumer", """
trap 'echo "consumer_service stopped: 3 messages in 1 completed and 0 \
failed streams, 0 duplicates dropped; end-to-end latency p50=1ms p99=2ms \
p99.9=2ms max=2ms" >&2; exit 0' TERM
echo "consumer_service listening on 127.0.0.1:1 (plaintext)" >&2
while :; do sleep 0.05; done""")
        producer = write_script(self.tmp, "producer", "exit 0")
        done = run_harness("--quick", "--scenarios=1x64B",
                           f"--consumer_binary={consumer}",
                           f"--producer_binary={producer}")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("consumer_service accepted 3 messages, expected 1000",
                      done.stderr)


class RestartFailureTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def test_a_log_larger_than_the_free_disk_is_skipped(self):
        json_path = os.path.join(self.tmp, "results.json")
        done = run_harness("--quick", "--scenarios=restart-sigkill",
                           "--restart_messages=100000000000000",
                           f"--json={json_path}")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertRegex(done.stdout, r"restart: skipping 100,000,000,000,000 "
                         r"messages: the log needs up to [\d.]+ GB and 1 GB "
                         r"must stay spare, but \S+ has [\d.]+ GB free")
        with open(json_path) as results:
            row = json.load(results)["rows"]["restart-sigkill/100000000000000"]
        self.assertTrue(row["status"].startswith("skipped: needs "), row)
        self.assertEqual(row["runs"], [])

    def test_failing_filler_fails_the_run(self):
        filler = write_script(self.tmp, "filler",
                              'echo "fake filler: failing" >&2; exit 1')
        done = run_harness("--quick", "--scenarios=restart*",
                           f"--filler_binary={filler}")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("log_filler", done.stderr)
        self.assertIn("fake filler: failing", done.stderr)
        self.assertRegex(done.stdout, r"\| restart-sigkill \| [^|]+ \| 1,000 "
                         r"\| - \| - \| - \| - \| FAILED \|")

    def test_consumer_that_never_serves_fails_the_run(self):
        # Says it listens on a port where nothing does.
        consumer = write_script(self.tmp, "consumer", """
echo "consumer_service listening on 127.0.0.1:1 (plaintext)" >&2
exec sleep 60""")
        done = run_harness("--quick", "--scenarios=restart-sigterm",
                           "--restart_messages=10", "--run_timeout=2",
                           f"--consumer_binary={consumer}")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("consumer_service listened on port 1 but did not serve",
                      done.stderr)


class LogFillerTest(unittest.TestCase):

    def run_filler(self, *flags):
        return subprocess.run([runfile("benchmarks/log_filler"), *flags],
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=60, check=False)

    def test_refuses_bad_flags(self):
        for flag in ("--messages=0", "--batch_size=0", "--payload_bytes=-1"):
            done = self.run_filler("--data_dir=unused", flag)
            self.assertEqual(done.returncode, 2, flag)
            self.assertIn("log_filler: --data_dir and --producer_id must be "
                          "set", done.stderr)

    def test_refuses_a_log_that_holds_messages(self):
        data_dir = os.path.join(
            tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR")), "log")
        first = self.run_filler(f"--data_dir={data_dir}", "--messages=10")
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertEqual(first.stdout,
                         f"log_filler: 10 messages in {data_dir}\n")
        again = self.run_filler(f"--data_dir={data_dir}", "--messages=10")
        self.assertEqual(again.returncode, 1)
        self.assertIn(f"log_filler: {data_dir} already holds 10 messages; "
                      f"give log_filler a new or empty --data_dir",
                      again.stderr)


class FloorBenchmarkTest(unittest.TestCase):

    def run_floor(self, *flags):
        return subprocess.run(
            [runfile("benchmarks/grpc_floor_benchmark"), *flags],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=120, check=False)

    def test_measures_every_pair_of_apis_at_every_stream_count(self):
        done = self.run_floor("--messages=2000", "--repetitions=1",
                              "--streams=1,3")
        self.assertEqual(done.returncode, 0, done.stderr)
        rows = [line.split("|")[1:-1] for line in done.stdout.splitlines()
                if line[:3] in ("| 1", "| 3")]
        self.assertEqual(len(rows), 8, done.stdout)
        for row in rows:
            self.assertGreater(float(row[3]), 0, row)

    def test_refuses_bad_flags(self):
        for flag in ("--messages=0", "--streams=0", "--streams=many"):
            done = self.run_floor(flag)
            self.assertEqual(done.returncode, 2, flag)
            self.assertIn("--streams a list of counts", done.stderr)


class StatsLoadBenchmarkTest(unittest.TestCase):

    def test_reports_getstats_and_both_ingestion_rates(self):
        done = subprocess.run(
            [runfile("benchmarks/stats_load_benchmark"), "--producers=50",
             "--seconds=0.2s", "--repetitions=1", "--streams=2"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=120, check=False)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("registered 50 producers", done.stdout)
        # 50 registered, then one producer per measured stream.
        self.assertRegex(done.stdout,
                         r"GetStats, idle: +200 calls: .*producers_tracked 50\n")
        self.assertRegex(done.stdout,
                         r"GetStats, under load: +[1-9]\d* calls: .*"
                         r"producers_tracked 5[2-4]\n")
        rates = re.findall(r"(\d+) messages/s", done.stdout)
        self.assertEqual(len(rates), 2, done.stdout)
        for rate in rates:
            self.assertGreater(int(rate), 0, done.stdout)


class ParseDurationTest(unittest.TestCase):

    def test_abseil_durations(self):
        parse = load_harness().parse_duration_ms
        self.assertEqual(parse("0"), 0.0)
        self.assertAlmostEqual(parse("2.490367ms"), 2.490367)
        self.assertAlmostEqual(parse("950us"), 0.95)
        self.assertAlmostEqual(parse("120ns"), 0.00012)
        self.assertAlmostEqual(parse("1.2s"), 1200.0)
        self.assertAlmostEqual(parse("1m2.5s"), 62500.0)
        self.assertAlmostEqual(parse("1h0m1s"), 3601000.0)
        with self.assertRaises(ValueError):
            parse("12 parsecs")


if __name__ == "__main__":
    unittest.main(verbosity=2)
