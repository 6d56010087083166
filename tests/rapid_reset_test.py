"""Rapid reset (CVE-2023-44487) against consumer_service behind its guard.

One peer opens Consume streams and resets each right after its HEADERS,
as fast as it can, for 10 s, reconnecting whenever it is dropped, while a
producer streams 2,000 messages a second. gRPC 1.51 has no bound for this
(alone, the consumer reached 2.4 GiB and delivered nothing for 20 s;
SECURITY.md), so the deployment answer is HAProxy in front
(k8s/components/consumer-guard/haproxy.cfg, this very file is run here):
the consumer's RSS must stay under 256 MiB, be under 64 MiB 10 s after,
and the producer must keep 90 % of its rate meanwhile.

  bazel test //tests:rapid_reset_test
  # the same attack on the consumer alone, measured, not asserted:
  bazel run //tests:rapid_reset_test -- --direct
"""

import os
import subprocess
import sys
import threading
import time
import unittest

from hostile_h2 import (CONSUME, Consumer, GrpcH2Connection, Guard,
                        grpc_frame, mensaje, runfile,
                        summary_messages_received)

ATTACK_SECONDS = 10
RATE = 2000
# The release build's RSS when idle; the bounds (256 MiB, 64 MiB) allow
# that much growth over it, which is what a sanitized build (twice the
# baseline, freed memory held in quarantine) is held to.
RELEASE_BASELINE_MIB = 20


class Attack:
    """The rapid reset from 127.0.0.2, reconnecting when dropped."""

    def __init__(self, port, seconds):
        self.connections = self.streams = self.refused = 0
        self.thread = threading.Thread(target=self._run, args=(port, seconds))
        self.thread.start()

    def _run(self, port, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                connection = GrpcH2Connection(port, timeout=2,
                                              source="127.0.0.2")
            except OSError:
                self.refused += 1
                time.sleep(0.01)
                continue
            with connection:
                self.connections += 1
                self.streams += connection.rapid_reset(
                    CONSUME, end - time.monotonic())

    def join(self):
        self.thread.join()


def run_scenario(guarded):
    """Returns the figures of one run (RSS in MiB, rates in messages/s)."""
    # Under --config=asan, ASan's allocator keeps up to 256 MiB of freed
    # blocks in quarantine and returns nothing to the kernel unless told:
    # memory the consumer gave back would still count. A small quarantine
    # and a prompt release measure the consumer, not ASan. (The release
    # build ignores these options.)
    asan_options = ":".join(filter(None, [
        os.environ.get("ASAN_OPTIONS", ""), "quarantine_size_mb=16",
        "allocator_release_to_os_interval_ms=100"]))
    consumer = Consumer(["--print_messages=true"],
                        extra_env={"ASAN_OPTIONS": asan_options})
    guard = Guard(consumer.port) if guarded else None
    target = guard.port if guarded else consumer.port
    producer = None
    try:
        with GrpcH2Connection(target) as connection:
            status, message, body = connection.call(
                CONSUME, [grpc_frame(mensaje("first", 0))])
        assert (status, summary_messages_received(body)) == (0, 1), message
        producer = subprocess.Popen(
            [runfile("producer_service/producer_service"),
             f"--target=127.0.0.1:{target}", f"--rate={RATE}",
             "--interval=0", "--count=1000000", "--print_messages=false",
             "--producer_id=paced"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)
        baseline_rss = consumer.rss_mib()
        allowance = (baseline_rss - RELEASE_BASELINE_MIB
                     if consumer.sanitized() else 0)
        lines_before = consumer.consumed_lines()
        attack_start = time.monotonic()
        attack = Attack(target, ATTACK_SECONDS)
        peak_rss = baseline_rss
        while attack.thread.is_alive():
            peak_rss = max(peak_rss, consumer.rss_mib())
            time.sleep(0.1)
        attack.join()
        attack_seconds = time.monotonic() - attack_start
        delivered_rate = (consumer.consumed_lines() -
                          lines_before) / attack_seconds
        rss_after = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rss_after = consumer.rss_mib()
            peak_rss = max(peak_rss, rss_after)
            if rss_after < 64 + allowance:
                break
            time.sleep(0.25)
        return dict(allowance=allowance, baseline_rss=baseline_rss,
                    peak_rss=peak_rss,
                    rss_after=rss_after, delivered_rate=delivered_rate,
                    connections=attack.connections, streams=attack.streams,
                    refused=attack.refused, seconds=attack_seconds)
    finally:
        if producer:
            producer.kill()
            producer.wait()
        if guard:
            guard.stop()
        consumer.stop()


def describe(figures):
    return (f"{figures['streams']} streams reset on {figures['connections']} "
            f"connections ({figures['refused']} refused) in "
            f"{figures['seconds']:.1f}s; consumer RSS "
            f"{figures['baseline_rss']:.0f} -> peak "
            f"{figures['peak_rss']:.0f} MiB, "
            f"{figures['rss_after']:.0f} MiB after; paced producer "
            f"{figures['delivered_rate']:.0f}/{RATE} msgs/s during the attack")


class RapidResetThroughTheGuardTest(unittest.TestCase):

    def test_consumer_memory_and_producer_rate_hold(self):
        figures = run_scenario(guarded=True)
        print("through the guard: " + describe(figures))
        # The attack ran, and the guard cut it off, again and again.
        self.assertGreater(figures["connections"] + figures["refused"], 1)
        if figures["allowance"]:
            print(f"AddressSanitizer: bounds raised by its idle overhead, "
                  f"{figures['allowance']:.0f} MiB")
        else:
            self.assertLess(figures["baseline_rss"], RELEASE_BASELINE_MIB)
        self.assertLess(figures["peak_rss"], 256 + figures["allowance"])
        self.assertLess(figures["rss_after"], 64 + figures["allowance"])
        self.assertGreaterEqual(figures["delivered_rate"], 0.9 * RATE)


if __name__ == "__main__":
    if "--direct" in sys.argv:
        print("consumer alone: " + describe(run_scenario(guarded=False)))
    else:
        unittest.main()
