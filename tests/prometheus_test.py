"""Debian's real Prometheus server scrapes a real consumer_service on
loopback, and a counter reads back through Prometheus' HTTP API
(/api/v1/query) equal to what the producer sent: the exposition, the
--metrics_address listener and the names work for Prometheus itself, not
only for promtool's lint. Bounded: it gives up after TIMEOUT_S.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

from testing.runfiles import runfile


TIMEOUT_S = 30
MESSAGES = 250


CONSUMER = runfile("consumer_service/consumer_service")
PRODUCER = runfile("producer_service/producer_service")
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def free_port():
    """A port nothing listens on right now (Prometheus cannot be asked to
    pick one and say which)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(what, poll):
    """poll() until it returns something other than None; fails after
    TIMEOUT_S naming `what`."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        result = poll()
        if result is not None:
            return result
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {TIMEOUT_S}s")


class PrometheusTest(unittest.TestCase):

    def setUp(self):
        self.assertTrue(os.access(PROMETHEUS, os.X_OK),
                        "prometheus is not installed: run bazel/install_deps.sh "
                        "(Debian package prometheus)")
        self.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        self.processes = []

    def tearDown(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, name, argv):
        log = open(os.path.join(self.tmp, f"{name}.log"), "wb")
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.processes.append(process)
        return process

    def log_of(self, name):
        with open(os.path.join(self.tmp, f"{name}.log"), "rb") as log:
            return log.read().decode("utf-8", "replace")

    def start_consumer(self):
        self.start("consumer", [
            CONSUMER, "--address=127.0.0.1:0", "--metrics_address=127.0.0.1:0",
            "--print_messages=false",
            f"--data_dir={os.path.join(self.tmp, 'log')}"])

        def addresses():
            text = self.log_of("consumer")
            grpc = re.search(r"listening on (127\.0\.0\.1:\d+)", text)
            metrics = re.search(r"metrics on http://(127\.0\.0\.1:\d+)/metrics",
                                text)
            return (grpc.group(1), metrics.group(1)) if grpc and metrics else None
        return wait_for("'listening on' and 'metrics on' lines", addresses)

    def start_prometheus(self, metrics_target):
        config = os.path.join(self.tmp, "prometheus.yml")
        with open(config, "w") as out:
            out.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: consumer
    static_configs:
      - targets: ['{metrics_target}']
""")
        # The port may be taken between free_port() and Prometheus' bind:
        # try a few.
        for _ in range(3):
            port = free_port()
            process = self.start("prometheus", [
                PROMETHEUS, f"--config.file={config}",
                f"--storage.tsdb.path={os.path.join(self.tmp, 'tsdb')}",
                f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"])
            api = f"http://127.0.0.1:{port}/api/v1/"

            def ready():
                if process.poll() is not None:
                    return False
                try:
                    with urllib.request.urlopen(
                            f"http://127.0.0.1:{port}/-/ready", timeout=2) as r:
                        return True if r.status == 200 else None
                except OSError:
                    return None
            if wait_for("ready Prometheus", ready):
                return api
        self.fail("Prometheus did not start:\n" + self.log_of("prometheus"))

    def query(self, api, promql):
        """The value of the single series `promql` returns, or None."""
        url = api + "query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
        self.assertEqual(body["status"], "success", body)
        result = body["data"]["result"]
        if not result:
            return None
        self.assertEqual(len(result), 1, result)
        return float(result[0]["value"][1])

    def test_prometheus_reads_back_what_the_consumer_counted(self):
        grpc_target, metrics_target = self.start_consumer()
        producer = subprocess.run(
            [PRODUCER, f"--target={grpc_target}", f"--count={MESSAGES}",
             "--interval=0", "--print_messages=false", "--producer_id=prom"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT_S)
        self.assertEqual(producer.returncode, 0, producer.stderr)

        api = self.start_prometheus(metrics_target)
        accepted = 'consumer_messages_accepted_total{job="consumer"}'
        value = wait_for(
            f"{accepted} == {MESSAGES} in Prometheus",
            lambda: self.query(api, accepted) == MESSAGES or None)
        self.assertTrue(value)
        self.assertEqual(self.query(api, 'up{job="consumer"}'), 1)
        self.assertEqual(self.query(
            api, 'consumer_streams_ended_total{outcome="completed"}'), 1)
        self.assertEqual(self.query(api, "consumer_producers_tracked"), 1)
        # The histogram's series are usable as histograms.
        self.assertIsNotNone(self.query(
            api, "histogram_quantile(0.99, "
                 "consumer_end_to_end_latency_seconds_bucket)"))


if __name__ == "__main__":
    unittest.main()
