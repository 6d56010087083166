"""Tests of the benchmarks' own tools, each run alone with tiny counts:
raw_tcp_benchmark, log_filler, grpc_floor_benchmark, stats_load_benchmark,
and the harness's parsing of Abseil durations. No timed assertions.
"""

import json
import os
import re
import socket
import struct
import subprocess
import tempfile
import threading
import unittest

from smoke_util import load_harness, runfile


class RawTcpBenchmarkTest(unittest.TestCase):

    def run_sender(self, port, messages=10):
        return subprocess.run(
            [runfile("benchmarks/raw_tcp_benchmark"), "--mode=send",
             f"--port={port}", f"--messages={messages}",
             "--payload_bytes=64"], stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=60, check=False)

    def test_a_wrong_count_from_the_receiver_fails_the_sender(self):
        # A receiver that reads every frame and answers one fewer.
        listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(listener.close)

        def receive():
            connection, _ = listener.accept()
            with connection:
                data = b""
                while chunk := connection.recv(65536):
                    data += chunk
                frames = len(data) // 68
                connection.sendall(struct.pack(">QQ", frames - 1,
                                               (frames - 1) * 64))

        receiver = threading.Thread(target=receive, daemon=True)
        receiver.start()
        done = self.run_sender(listener.getsockname()[1])
        receiver.join(timeout=30)
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertEqual(done.stderr,
                         "raw_tcp_benchmark: the receiver read 9 frames of "
                         "576 payload bytes, but 10 frames of 640 bytes were "
                         "sent\n")
        self.assertEqual(done.stdout, "")

    def test_no_receiver_fails_the_sender(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        done = self.run_sender(port)
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertEqual(done.stderr, f"raw_tcp_benchmark: cannot connect to "
                         f"127.0.0.1:{port}: Connection refused\n")

    def test_receiver_counts_what_the_sender_sent(self):
        with subprocess.Popen(
                [runfile("benchmarks/raw_tcp_benchmark"), "--mode=receive"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                text=True) as receiver:
            self.addCleanup(receiver.kill)
            port = int(receiver.stdout.readline().split()[-1])
            done = self.run_sender(port, messages=100000)
            self.assertEqual(done.returncode, 0, done.stderr)
            result = json.loads(done.stdout)
            self.assertEqual(result["messages"], 100000)
            self.assertGreater(result["messages_per_second"], 0)
            self.assertEqual(receiver.wait(timeout=30), 0)

    def test_refuses_bad_flags(self):
        for flags in (["--mode=send"], ["--mode=listen"],
                      ["--mode=send", "--port=1", "--messages=0"]):
            done = subprocess.run(
                [runfile("benchmarks/raw_tcp_benchmark"), *flags],
                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=60, check=False)
            self.assertEqual(done.returncode, 2, flags)
            self.assertIn("raw_tcp_benchmark: --mode=receive, or --mode=send",
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

    def test_measures_batches_whole_and_partial(self):
        # 1,050 messages on 2 streams: 5 batches of 100 and one of 25 each.
        done = self.run_floor("--messages=1050", "--repetitions=1",
                              "--streams=1,2", "--batch_size=100")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("1050 messages of 64 bytes per run, median of 1 runs\n"
                      "a stream's write is sent every 256 messages or once "
                      "its first held write has waited 250us\n"
                      "batched: MensajeBatch of 100 messages per write, on "
                      "ConsumeBatches (msgs/s and us/msg per message)\n\n"
                      "| streams | server API | client API | msgs/s |",
                      done.stdout)
        rows = [line.split("|")[1:-1] for line in done.stdout.splitlines()
                if line[:3] in ("| 1", "| 2")]
        self.assertEqual(len(rows), 8, done.stdout)
        for row in rows:
            self.assertGreater(float(row[3]), 0, row)

    def test_per_message_output_says_no_batch_and_when_writes_are_sent(self):
        done = self.run_floor("--messages=10", "--repetitions=1",
                              "--streams=1", "--flush_every=4",
                              "--flush_delay=inf")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue(done.stdout.startswith(
            "10 messages of 64 bytes per run, median of 1 runs\n"
            "a stream's write is sent every 4 messages or once its first "
            "held write has waited inf\n\n| streams"), done.stdout)

    def test_refuses_bad_flags(self):
        for flag in ("--messages=0", "--streams=0", "--streams=many",
                     "--batch_size=-1", "--flush_delay=-1ms"):
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


class MedianFloorsTest(unittest.TestCase):

    def test_each_pair_is_the_median_of_the_runs_that_measured_it(self):
        median_floors = load_harness("grpc_harness").median_floors
        pair, other = ("callback", "callback"), ("async", "sync")
        runs = [{"grpc_floor": {pair: 300.0, other: 10.0},
                 "grpc_floor_batched": None},
                {"grpc_floor": {pair: 100.0}, "grpc_floor_batched": None},
                {"grpc_floor": {pair: 200.0, other: 30.0},
                 "grpc_floor_batched": None}]
        self.assertEqual(median_floors(runs),
                         {"grpc_floor": {pair: 200.0, other: 20.0},
                          "grpc_floor_batched": None})


class ParseDurationTest(unittest.TestCase):

    def test_abseil_durations(self):
        parse = load_harness("grpc_harness").parse_duration_ms
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
    unittest.main()
