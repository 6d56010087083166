"""Smoke test of //benchmarks: a --quick run of a few scenarios, the
restart ones on tiny logs and the raw-TCP peer among them, prints the
tables with positive numbers, the NATS and Redis peers (pointed at missing
binaries, so that no test needs them) read n/a, and a run whose producer,
consumer, log filler or peer fails exits non-zero. No timed assertions:
only that numbers exist and are sane.
"""

import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

from smoke_util import load_harness, run_harness, runfile, write_script

SCENARIOS = "1x64B,1x64B-batch,1x64B-durable,8x64B-batch,restart*"
# Logs of a few segments: with 16 KiB segments each holds one batch of 256.
RESTART_FLAGS = ("--restart_messages=300,3000",
                 "--restart_segment_bytes=16384")
NO_SERVERS = ("--nats_server_binary=/nonexistent",
              "--redis_server_binary=/nonexistent")
INSTALL = "run benchmarks/install_peers.sh"
# Every target of the issue, as the harness names them.
TARGETS = [
    "durable-per-message-vs-peers-fsync-per-group",
    "durable-per-message-vs-peers-kernel-flush",
    "durable-batched-vs-peers-fsync-per-group",
    "durable-batched-vs-peers-kernel-flush",
    "batched-memory-vs-raw-tcp",
    "batched-memory-vs-grpc-floor",
    "per-message-vs-grpc-floor-1",
    "per-message-vs-grpc-floor-1000",
    "durable-batched-vs-memory-batched",
    "p99-paced-50pct",
    "p99-paced-50pct-batch",
    "restart-sigkill-100M",
    "restart-sigterm-100M",
    "producer-rss-1000x64B",
    "producer-threads-1000x64B",
    "consumer-rss-1000x64B",
    "producer-rss-1000x64B-batch",
    "producer-threads-1000x64B-batch",
    "consumer-rss-1000x64B-batch",
]



class QuickRunTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        cls.json_path = os.path.join(cls.tmp, "results.json")
        cls.chart_path = os.path.join(cls.tmp, "results.png")
        cls.done = run_harness("--quick", "--messages=400",
                               "--batched_messages=800",
                               f"--scenarios={SCENARIOS}", *RESTART_FLAGS,
                               *NO_SERVERS, f"--json={cls.json_path}",
                               f"--chart={cls.chart_path}")
        if cls.done.returncode == 0:
            with open(cls.json_path) as results:
                cls.json = json.load(results)
            cls.rows = cls.json["rows"]

    def test_exits_zero(self):
        self.assertEqual(self.done.returncode, 0,
                         f"stdout:\n{self.done.stdout}\n"
                         f"stderr:\n{self.done.stderr}")

    def test_draws_the_chart_or_says_why_not(self):
        self.assertEqual(self.done.returncode, 0, self.done.stderr)
        try:
            import matplotlib  # noqa: F401
        except ImportError:  # the suite needs no benchmark-only package
            self.assertIn("--chart: not drawn, python3-matplotlib is not "
                          "installed: run benchmarks/install_peers.sh",
                          self.done.stderr)
            self.assertFalse(os.path.exists(self.chart_path))
            return
        self.assertIn(f"Chart: {self.chart_path}", self.done.stdout)
        with open(self.chart_path, "rb") as png:
            self.assertEqual(png.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertGreater(os.path.getsize(self.chart_path), 10_000)

    def test_prints_the_table_and_the_ratio(self):
        out = self.done.stdout
        self.assertIn("| scenario | streams | payload | RPC | log | messages |"
                      " msgs/s | MB/s | p50 ms | p99 ms | p99.9 ms |", out)
        for row in ("| 1x64B |", "| 1x64B-batch |", "| 1x64B-durable |",
                    "| 8x64B-batch |", "| python-queue-64B |"):
            self.assertIn(row, out)
        self.assertRegex(out, r"Ratio, messages/s of gRPC per-message single "
                         r"stream 64 B .*: \d+\.\d\dx")
        self.assertRegex(out, r"gRPC alone \(grpc_floor_benchmark, one stream, "
                         r"nothing on top\): callback server and client "
                         r"[\d,]+ msgs/s, .*; 1x64B is \d+% of the callback "
                         r"pair")
        self.assertRegex(out, r"gRPC alone, batched \(grpc_floor_benchmark, "
                         r"one stream, MensajeBatch of 256, nothing on top\): "
                         r"callback server and client [\d,]+ msgs/s, .*; "
                         r"1x64B-batch is \d+% of the callback pair")

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
                 "producer_threads", "machine_busy_pct"]

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

    def test_raw_tcp_peer_is_measured(self):
        self.assertEqual(self.done.returncode, 0, self.done.stderr)
        row = self.rows["raw-tcp"]
        self.assertEqual(row["kind"], "peer")
        self.assertIsNone(row["status"], row)
        self.assertEqual(row["describe"], {
            "streams": 1, "payload": "64 B", "rpc": "TCP", "log": "memory",
            "sync": None, "durability": "memory"})
        self.assertEqual(len(row["runs"]), 1)
        for run in row["runs"]:
            # The ceiling sends as many as a batched row.
            self.assertEqual(run["messages"], 800)
            for key in ("seconds", "messages_per_second", "mb_per_second",
                        "consumer_cpu_s", "consumer_rss_mib",
                        "producer_cpu_s", "producer_rss_mib"):
                self.assertGreater(run[key], 0, f"{key} in {run}")
            self.assertIsNone(run["p99_ms"])
        self.assertRegex(self.done.stdout,
                         r"\| raw-tcp \| TCP \| memory \| - \| 800 \| [\d,]+ \|")

    def test_peers_without_servers_read_na_with_the_reason(self):
        self.assertEqual(self.done.returncode, 0, self.done.stderr)
        for name, server in (("nats-jetstream", "nats-server"),
                             ("nats-jetstream-dedup", "nats-server"),
                             ("redis-aof-always", "redis-server"),
                             ("redis-aof-everysec", "redis-server")):
            status = (f"n/a ({server} not found at /nonexistent: "
                      f"{INSTALL})")
            self.assertEqual(self.rows[name]["status"], status)
            self.assertEqual(self.rows[name]["runs"], [])
            self.assertIn(f"| {name} | ", self.done.stdout)
            self.assertIn(f" | {status} |", self.done.stdout)

    def test_prints_the_comparisons(self):
        out = self.done.stdout
        self.assertIn("| project row | peer row | durability | project msgs/s "
                      "| peer msgs/s | ratio |", out)
        self.assertRegex(out, r"\| 1x64B \| raw-tcp \| memory \| [\d,]+ \| "
                         r"[\d,]+ \| \d+\.\d\dx \|")
        self.assertIn("| 1x64B-durable | redis-aof-always | fsync per group "
                      "| ", out)
        compared = {(c["project"], c["peer"]): c
                    for c in self.json["comparisons"]}
        self.assertGreater(compared[("1x64B", "raw-tcp")]["ratio"], 0)
        self.assertIsNone(compared[("1x64B-durable",
                                    "redis-aof-always")]["ratio"])

    def test_prints_a_row_per_target(self):
        self.assertEqual(self.done.returncode, 0, self.done.stderr)
        goals = self.json["targets"]
        self.assertEqual([t["name"] for t in goals], TARGETS)
        section = self.done.stdout.split("## Targets")[1]
        rows = [line for line in section.splitlines()
                if line.startswith("| ") and not line.startswith("| target")]
        self.assertEqual(len(rows), len(TARGETS), section)
        for goal, line in zip(goals, rows):
            self.assertTrue(goal["result"] in ("met", "NOT met")
                            or goal["result"].startswith("n/a (not run: "),
                            goal)
            self.assertTrue(line.endswith(f" | {goal['result']} |"), line)
        by_name = {t["name"]: t for t in goals}
        # Measured from rows of this run: 1x64B and the floor.
        self.assertGreater(by_name["per-message-vs-grpc-floor-1"]["measured"],
                           0)
        self.assertEqual(
            by_name["per-message-vs-grpc-floor-1000"]["result"],
            "n/a (not run: 1000x64B not selected)")
        self.assertEqual(by_name["p99-paced-50pct"]["result"],
                         "n/a (not run: paced-50pct not selected)")

    def test_measures_the_batched_floor(self):
        self.assertEqual(self.done.returncode, 0, self.done.stderr)
        floor = self.json["grpc_floor_batched"]
        self.assertEqual(set(floor), {"callback/callback", "callback/sync",
                                      "async/callback", "async/sync"})
        for pair, rate in floor.items():
            self.assertGreater(rate, 0, pair)
        by_name = {t["name"]: t for t in self.json["targets"]}
        self.assertGreater(by_name["batched-memory-vs-grpc-floor"]["measured"],
                           0)
        self.assertRegex(by_name["batched-memory-vs-grpc-floor"]["detail"],
                         r"^1x64B-batch [\d,.]+ / callback/callback batched "
                         r"floor [\d,.]+ msgs/s = \d+\.\d\dx$")
        # The raw-TCP target says where gRPC's own floor stands against it.
        self.assertRegex(by_name["batched-memory-vs-raw-tcp"]["detail"],
                         r"^1x64B-batch [\d,.]+ / raw-tcp [\d,.]+ msgs/s = "
                         r"\d+\.\d\dx; gRPC alone batched: \d+\.\d\dx of "
                         r"raw-tcp$")

    def test_baseline_numbers_are_positive(self):
        self.check_positive("python-queue-64B", [
            "messages", "messages_per_second", "mb_per_second", "p50_ms",
            "consumer_cpu_s", "consumer_rss_mib", "producer_cpu_s",
            "producer_rss_mib"])


class PacedProbeTest(unittest.TestCase):
    """The paced rows run scheduler_probe beside them."""

    def test_probe_prints_how_late_it_ran_until_sigterm(self):
        probe = subprocess.Popen([runfile("benchmarks/scheduler_probe")],
                                 stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)
        probe.send_signal(signal.SIGTERM)
        out, _ = probe.communicate(timeout=30)
        self.assertEqual(probe.returncode, 0)
        result = json.loads(out)
        self.assertGreater(result["seconds"], 0.2)
        self.assertGreater(result["wakeups"], 10)
        for key in ("late_1ms_pct", "stalled_pct", "max_ms"):
            self.assertGreaterEqual(result[key], 0, key)
        # A thread asleep 100 us at a time wakes at least that far apart.
        self.assertGreaterEqual(result["max_ms"], 0.1)

    def test_paced_rows_report_the_probe_beside_their_p99(self):
        tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        json_path = os.path.join(tmp, "paced.json")
        done = run_harness("--quick", "--scenarios=paced-50pct", "--peers=",
                           f"--json={json_path}")
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(json_path) as results:
            summary = json.load(results)
        [run] = summary["rows"]["paced-50pct"]["runs"]
        for key in ("probe_late_1ms_pct", "probe_stalled_pct",
                    "probe_max_ms"):
            self.assertGreaterEqual(run[key], 0, key)
        target = {t["name"]: t for t in summary["targets"]}["p99-paced-50pct"]
        self.assertIn("; a thread sleeping 100 us beside it ran > 1 ms late ",
                      target["detail"])


class FloorRepetitionTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def test_runs_the_floor_once_in_each_repetition(self):
        calls = os.path.join(self.tmp, "floor-calls")
        floor = write_script(
            self.tmp, "floor",
            f'echo "$*" >> {calls}\n'
            'echo "| 1 | callback | callback | 1000 | 1.0 | 1.0 |"')
        done = run_harness("--quick", "--scenarios=1x64B", "--repetitions=2",
                           f"--floor_binary={floor}")
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(calls) as runs:
            argvs = runs.read().splitlines()
        self.assertEqual(len(argvs), 2, argvs)
        for argv in argvs:
            self.assertIn("--repetitions=1", argv.split())
        # Between the two, the row's second run: the floor sits beside it.
        self.assertRegex(done.stderr, r"(?s)\[1/2\] grpc_floor_benchmark.*"
                         r"\[2/2\] 1x64B:.*\[2/2\] grpc_floor_benchmark")


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


class PeerFailureTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def test_a_failing_peer_server_fails_the_run(self):
        server = write_script(self.tmp, "redis-server",
                              'echo "fake redis: failing"; exit 1')
        client = write_script(self.tmp, "redis-client", "exit 0")
        done = run_harness("--quick", "--scenarios=1x64B-durable",
                           "--peers=redis-aof-always",
                           f"--redis_server_binary={server}",
                           f"--redis_benchmark_binary={client}",
                           f"--redis_cli_binary={client}")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("did not start (exit code 1)", done.stderr)
        self.assertIn("fake redis: failing", done.stderr)
        self.assertRegex(done.stdout, r"\| redis-aof-always \| Redis XADD \| "
                         r"fsync per group \| appendfsync always \| FAILED \|")

    def test_require_peers_fails_a_run_without_them(self):
        done = run_harness("--quick", "--scenarios=1x64B-durable",
                           "--peers=nats-jetstream", "--require_peers",
                           "--nats_server_binary=/nonexistent")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("nats-jetstream: n/a (nats-server not found at "
                      "/nonexistent: run benchmarks/install_peers.sh) "
                      "(--require_peers)", done.stderr)


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


if __name__ == "__main__":
    unittest.main(verbosity=2)
