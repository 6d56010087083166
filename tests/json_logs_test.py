"""The real binaries with --log_format=json: every stderr line is one JSON
object (parsed by Python's json module, strictly: UTF-8, no control
characters, no repeated keys) with time, level, message and the fields the
line names, while stdout keeps the demo's Spanish lines exactly; and without
the flag the lines stay "<time> <LEVEL> <message>".
"""

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from testing.runfiles import runfile


RFC3339_MILLIS_UTC = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
TIMEOUT_S = 30


CONSUMER = runfile("consumer_service/consumer_service")
PRODUCER = runfile("producer_service/producer_service")


def unique_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"repeated keys in {keys}")
    return dict(pairs)


def parse_json_lines(stderr_bytes):
    """Each line as a dict; fails the test on any line that is not one
    well-formed JSON object with time, level and message first."""
    # Strict: a byte that is not UTF-8 raises here.
    text = stderr_bytes.decode("utf-8")
    assert text == "" or text.endswith("\n"), repr(text[-200:])
    records = []
    for line in text.splitlines():
        record = json.loads(line, object_pairs_hook=unique_keys)
        assert isinstance(record, dict), line
        assert list(record)[:3] == ["time", "level", "message"], line
        assert RFC3339_MILLIS_UTC.fullmatch(record["time"]), line
        assert record["level"] in ("INFO", "WARNING", "ERROR"), line
        assert isinstance(record["message"], str), line
        records.append(record)
    return records


def with_message(records, start):
    found = [r for r in records if r["message"].startswith(start)]
    assert len(found) == 1, f"{start!r} in {records}"
    return found[0]


class Consumer:
    """consumer_service on an ephemeral port of 127.0.0.1."""

    def __init__(self, tmp, *flags, env=None):
        self.stdout_path = os.path.join(tmp, "consumer.stdout")
        self.stderr_path = os.path.join(tmp, "consumer.stderr")
        with open(self.stdout_path, "wb") as out, \
                open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(
                [CONSUMER, "--address=127.0.0.1:0", *flags],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)

    def wait_for_stderr(self, pattern):
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            match = re.search(pattern, self.stderr())
            if match:
                return match
            if self.process.poll() is not None:
                break
            time.sleep(0.01)
        raise AssertionError(f"no {pattern!r} in {self.stderr()!r}")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=TIMEOUT_S)

    def stdout(self):
        with open(self.stdout_path, "rb") as out:
            return out.read()

    def stderr(self):
        with open(self.stderr_path, "rb") as err:
            return err.read()

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def run_producer(*flags, env=None):
    return subprocess.run([PRODUCER, *flags], stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=TIMEOUT_S, env=env,
                          check=False)


class JsonLogsTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def start_consumer(self, *flags, env=None):
        consumer = Consumer(self.tmp, *flags, env=env)
        self.addCleanup(consumer.kill)
        return consumer

    def test_demo_run_logs_json_on_stderr_and_spanish_lines_on_stdout(self):
        # A directory name with a quote and a byte that is not UTF-8 reaches
        # the log in the message log's path.
        data_dir = os.fsencode(self.tmp) + b'/d\xff"ir'
        os.mkdir(data_dir)
        consumer = self.start_consumer(b"--data_dir=" + data_dir,
                                       "--log_format=json")
        port = int(consumer.wait_for_stderr(rb'"port":(\d+)').group(1))

        producer = run_producer(f"--target=127.0.0.1:{port}",
                                "--producer_id=json-logs", "--interval=0",
                                "--log_format=json")
        self.assertEqual(producer.returncode, 0, producer.stderr)
        self.assertEqual(parse_json_lines(producer.stderr), [])
        self.assertRegex(
            producer.stdout.decode("utf-8"),
            r"\AProduciendo: Mensaje 0\nProduciendo: Mensaje 1\n"
            r"Produciendo: Mensaje 2\nProduciendo: Mensaje 3\n"
            r"Produciendo: Mensaje 4\n"
            r"Consumer summary: 5 messages, 45 bytes, producer json-logs, "
            r"sequences 0\.\.4 in [^\n]+\n"
            r"Todos los procesos han terminado\.\n\Z")

        self.assertEqual(consumer.stop(), 0, consumer.stderr())
        self.assertEqual(consumer.stdout(),
                         b"".join(b"Consumiendo: Mensaje %d\n" % i
                                  for i in range(5)))
        records = parse_json_lines(consumer.stderr())
        # The open-file limit, the log, listening, the signal, the totals.
        self.assertEqual([r["level"] for r in records], ["INFO"] * 5)
        with_message(records, "open-file limit ")
        log = with_message(records, "message log ")
        path = os.fsdecode(self.tmp) + '/d\ufffd"ir'
        self.assertEqual(log["message"],
                         f"message log {path}: replayed 0 messages, "
                         "next offset 0")
        self.assertEqual(log["path"], path)
        self.assertEqual(log["replayed_messages"], 0)
        self.assertEqual(log["next_offset"], 0)
        listening = with_message(records, "consumer_service listening on ")
        self.assertEqual(listening["host"], "127.0.0.1")
        self.assertEqual(listening["port"], port)
        self.assertEqual(listening["transport"], "plaintext")
        received = with_message(records, "received ")
        self.assertEqual(received["signal"], "SIGTERM")
        self.assertEqual(received["shutdown_grace_ms"], 10000)
        stopped = with_message(records, "consumer_service stopped: 5 messages")
        self.assertEqual(stopped["messages_received"], 5)
        self.assertEqual(stopped["completed_streams"], 1)
        self.assertEqual(stopped["failed_streams"], 0)
        self.assertEqual(stopped["duplicates_dropped"], 0)

    def test_retries_and_the_final_error_carry_their_status_codes(self):
        # No stream is ever accepted: each attempt is refused with a retry
        # pushback of 1s, until --deadline.
        consumer = self.start_consumer("--log_format=json",
                                       "--max_concurrent_streams=0")
        port = int(consumer.wait_for_stderr(rb'"port":(\d+)').group(1))
        producer_id = 'jsön "quoted"'
        producer = run_producer(f"--target=127.0.0.1:{port}",
                                f"--producer_id={producer_id}",
                                "--deadline=2500ms", "--log_format=json")
        self.assertEqual(producer.returncode, 1, producer.stderr)
        records = parse_json_lines(producer.stderr)
        *warnings, final = records
        retries = [r for r in warnings
                   if r["message"].startswith("attempt failed")]
        self.assertGreaterEqual(len(retries), 1, records)
        # Between attempts the producer asks where it stands; the consumer,
        # having accepted nothing, does not know it.
        for resume in (r for r in warnings if r not in retries):
            self.assertEqual(resume["level"], "WARNING")
            self.assertTrue(resume["message"].startswith(
                "the consumer no longer holds sequences"), resume)
            self.assertEqual(resume["producer_id"], producer_id)
            self.assertEqual(resume["resend_from_sequence"], 0)
        for attempt, retry in enumerate(retries, start=1):
            self.assertEqual(retry["level"], "WARNING")
            self.assertTrue(retry["message"].startswith(
                "attempt failed (RESOURCE_EXHAUSTED: the consumer already has "
                "0 streams open"), retry)
            self.assertEqual(retry["producer_id"], producer_id)
            self.assertEqual(retry["status_code"], "RESOURCE_EXHAUSTED")
            self.assertEqual(retry["attempt"], attempt)
            self.assertGreaterEqual(retry["retry_in_ms"], 1000)
        self.assertEqual(final["level"], "ERROR")
        self.assertTrue(final["message"].startswith("gave up after "), final)
        self.assertEqual(final["status_code"], "DEADLINE_EXCEEDED")
        self.assertEqual(consumer.stop(), 0)
        parse_json_lines(consumer.stderr())

    def test_grpc_lines_are_json_with_their_source_file_and_line(self):
        # Bound but not listening: connections to it are refused.
        closed = socket.socket()
        self.addCleanup(closed.close)
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        producer = run_producer(f"--target=127.0.0.1:{port}",
                                "--connect_timeout=300ms", "--log_format=json",
                                env=dict(os.environ, GRPC_VERBOSITY="INFO"))
        self.assertEqual(producer.returncode, 1, producer.stderr)
        self.assertEqual(producer.stdout, b"")
        records = parse_json_lines(producer.stderr)
        grpc_lines = [r for r in records if r.get("source") == "grpc"]
        self.assertTrue(grpc_lines, records)
        for line in grpc_lines:
            self.assertIn(line["level"], ("INFO", "ERROR"))
            self.assertRegex(line["file"], r"\A[\w.]+\.cc\Z")
            self.assertIsInstance(line["line"], int)
            self.assertFalse(line["message"].startswith("grpc: "), line)
        final = records[-1]
        self.assertEqual(final["level"], "ERROR")
        self.assertEqual(
            final["message"],
            f"consumer at 127.0.0.1:{port} is not reachable after 300ms; "
            "start consumer_service there, or set --target / "
            "--connect_timeout")
        self.assertEqual(final["status_code"], "UNAVAILABLE")

    def test_without_the_flag_lines_stay_text(self):
        consumer = self.start_consumer()
        consumer.wait_for_stderr(rb"listening on 127\.0\.0\.1:\d+")
        self.assertEqual(consumer.stop(), 0)
        lines = consumer.stderr().decode("utf-8").splitlines()
        self.assertEqual(len(lines), 5, lines)
        for line in lines:
            self.assertRegex(
                line, r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                r"(INFO|WARNING) [^{]")
        self.assertRegex(lines[2], r" INFO consumer_service listening on "
                         r"127\.0\.0\.1:\d+ \(plaintext\)\Z")


if __name__ == "__main__":
    unittest.main()
