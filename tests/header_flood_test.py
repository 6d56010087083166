"""One oversized header block (CVE-2023-33953, gRPC's HPACK parser).

gRPC 1.51 re-reads the CONTINUATION frames of a header block as they come
and refuses it only once complete: CPU grows with the square of its size
(measured: 4 MiB 0.07 s, 16 MiB 8.6 s of the consumer's CPU, the connection
kept open), and no channel argument of 1.51 stops it earlier. Through the
guard (HAProxy, whose buffer holds 16 KiB of headers) the connection is
closed at once and the consumer never sees the block.

  bazel test //tests:header_flood_test
"""

import unittest

from hostile_h2 import (CONSUME, Consumer, GrpcH2Connection, Guard,
                        grpc_frame, mensaje, summary_messages_received)

MIB = 1 << 20


class HeaderFloodThroughTheGuardTest(unittest.TestCase):

    def setUp(self):
        self.consumer = Consumer(["--print_messages=false"])
        self.guard = Guard(self.consumer.port)

    def tearDown(self):
        self.guard.stop()
        self.consumer.stop()

    def test_a_16_mib_header_block_never_reaches_the_consumer(self):
        cpu_before = self.consumer.cpu_seconds()
        with GrpcH2Connection(self.guard.port) as connection:
            connection.send_header_block(CONSUME, 16 * MIB)
            self.assertTrue(connection.closed_by_peer_within(5))
        cpu = self.consumer.cpu_seconds() - cpu_before
        print(f"16 MiB header block through the guard: connection closed, "
              f"consumer CPU {cpu:.2f}s")
        self.assertLess(cpu, 0.5)
        with GrpcH2Connection(self.guard.port) as connection:
            status, message, body = connection.call(
                CONSUME, [grpc_frame(mensaje("after", 0))])
        self.assertEqual(status, 0, message)
        self.assertEqual(summary_messages_received(body), 1)


if __name__ == "__main__":
    unittest.main()
