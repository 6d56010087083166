"""More connections than consumer_service has file descriptors.

gRPC 1.51's listener stops accepting for good after accept4() fails with
EMFILE (CVE-2023-4785): the process stays up and looks healthy. The
consumer raises its soft open-file limit to the hard one at start, and
when gRPC reports the dead listener it turns NOT_SERVING, lets open
streams finish and exits non-zero, for its supervisor to restart it.

  bazel test //tests:fd_flood_test
"""

import resource
import socket
import time
import unittest

from hostile_h2 import (CONSUME, Consumer, GrpcH2Connection, grpc_frame,
                        mensaje, summary_messages_received)

FLOOD = 200


def open_file_limit(soft, hard):
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def flood(port, count, until_refused=False):
    """`count` TCP connections to `port`, held until closed. With
    `until_refused`, stops early once the consumer refuses or resets one:
    it saw its listener die and is shutting down, which closes it."""
    connections = []
    for _ in range(count):
        try:
            connection = socket.create_connection(("127.0.0.1", port),
                                                  timeout=5)
        except (ConnectionResetError, ConnectionRefusedError):
            if not until_refused:
                raise
            break
        connections.append(connection)
    return connections


def call_one(port, producer_id):
    with GrpcH2Connection(port, timeout=3) as connection:
        status, message, body = connection.call(
            CONSUME, [grpc_frame(mensaje(producer_id, 0))])
    return status, message, summary_messages_received(body)


class FdFloodTest(unittest.TestCase):

    def tearDown(self):
        self.consumer.stop()

    def test_a_dead_listener_ends_the_process_with_the_reason(self):
        self.consumer = Consumer(["--print_messages=false",
                                  "--shutdown_grace=1s"],
                                 preexec_fn=open_file_limit(64, 64))
        self.assertIn("open-file limit 64 (the hard limit)",
                      self.consumer.stderr())
        self.assertEqual(call_one(self.consumer.port, "before"), (0, "", 1))

        connections = flood(self.consumer.port, FLOOD, until_refused=True)
        time.sleep(1)
        for connection in connections:
            connection.close()
        ended = time.monotonic()
        try:
            exit_code = self.consumer.process.wait(timeout=5)
        except Exception:
            self.fail("the consumer neither exited within 5 s of the flood's "
                      "end nor accepts again: " + repr(
                          call_one(self.consumer.port, "after")))
        print(f"flood of {FLOOD} connections over RLIMIT_NOFILE=64: exit "
              f"{exit_code} {time.monotonic() - ended:.1f}s after it ended")
        self.assertEqual(exit_code, 1)
        stderr = self.consumer.stderr()
        self.assertIn("grpc: Failed accept4: Too many open files", stderr)
        self.assertIn("stopped accepting connections", stderr)
        self.assertIn("open-file limit is 64", stderr)

    def test_the_soft_limit_is_raised_to_the_hard_one(self):
        self.consumer = Consumer(["--print_messages=false"],
                                 preexec_fn=open_file_limit(64, 4096))
        self.assertIn("open-file limit raised from 64 to 4096",
                      self.consumer.stderr())
        connections = flood(self.consumer.port, FLOOD)
        try:
            self.assertEqual(call_one(self.consumer.port, "during"),
                             (0, "", 1))
        finally:
            for connection in connections:
                connection.close()
        self.assertIsNone(self.consumer.process.poll())
        self.assertNotIn("Failed accept4", self.consumer.stderr())


if __name__ == "__main__":
    unittest.main()
