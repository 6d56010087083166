"""Compressed messages against consumer_service (gRPC 1.51 inflates a whole
message before it checks its size, SECURITY.md).

By default every algorithm is refused, UNIMPLEMENTED at the call's
metadata, so a decompression bomb costs nothing. --accept_compression opts
in; then a bomb is refused by --max_message_bytes only once inflated, and
the test measures what that costs. A compressed flag without a usable
grpc-encoding reaches the service as uncompressed bytes, and the consumer
refuses the message (INTERNAL, as the wire protocol asks).

  bazel test //tests:compression_test
"""

import unittest
import zlib

from hostile_h2 import (CONSUME, Consumer, GrpcH2Connection, grpc_frame,
                        mensaje, summary_messages_received)

GZIP, DEFLATE = 31, 15  # zlib's wbits for gRPC's "gzip" and "deflate"
UNIMPLEMENTED, INVALID_ARGUMENT, RESOURCE_EXHAUSTED, INTERNAL = 12, 3, 8, 13
MIB = 1 << 20


def compress(data, wbits, repeat=1):
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join(compressor.compress(data)
                    for _ in range(repeat)) + compressor.flush()


def bomb(inflated_mib, wbits=GZIP):
    """Zeros that inflate to `inflated_mib` MiB from about 1/1000 of it."""
    return compress(bytes(MIB), wbits, repeat=inflated_mib)


class CompressionRefusedByDefaultTest(unittest.TestCase):

    def setUp(self):
        self.consumer = Consumer(["--print_messages=false"])

    def tearDown(self):
        self.consumer.stop()

    def call(self, frames, headers=()):
        with GrpcH2Connection(self.consumer.port) as connection:
            return connection.call(CONSUME, frames, headers)

    def test_each_algorithm_is_unimplemented_before_inflating(self):
        for name, wbits in (("gzip", GZIP), ("deflate", DEFLATE)):
            with self.subTest(name):
                status, message, _ = self.call(
                    [grpc_frame(compress(mensaje("c", 0), wbits), True)],
                    [("grpc-encoding", name)])
                self.assertEqual(status, UNIMPLEMENTED, message)
                self.assertEqual(
                    message, f"Compression algorithm '{name}' is disabled.")

    def test_bomb_costs_no_memory(self):
        baseline = self.consumer.peak_rss_mib()
        status, message, _ = self.call([grpc_frame(bomb(256), True)],
                                       [("grpc-encoding", "gzip")])
        self.assertEqual(status, UNIMPLEMENTED, message)
        peak = self.consumer.peak_rss_mib()
        print(f"256 MiB gzip bomb, compression refused: peak RSS "
              f"{baseline:.0f} -> {peak:.0f} MiB")
        self.assertLess(peak, baseline + 16)

    def test_compressed_flag_without_usable_encoding_is_refused(self):
        # gRPC 1.51 decompresses only when the call names an enabled
        # algorithm; otherwise it hands the service the bytes as they came.
        # The consumer sees the flag still set (compressed_flag.h) and
        # refuses the message, whatever its bytes: compressed ones, and
        # plain protobuf whose flag lies.
        for headers in ((), (("grpc-encoding", "identity"),),
                        (("grpc-encoding", "br"),)):
            for body in (compress(mensaje("c", 0), GZIP), mensaje("c", 0)):
                with self.subTest(headers=headers, compressed=body[:1]):
                    status, message, _ = self.call(
                        [grpc_frame(body, True)], headers)
                    self.assertEqual(status, INTERNAL, message)
                    self.assertIn("is marked compressed, but the call names "
                                  "no compression this consumer inflates",
                                  message)
        # The same message without the flag is accepted.
        status, message, body = self.call([grpc_frame(mensaje("plain", 0))])
        self.assertEqual(status, 0, message)
        self.assertEqual(summary_messages_received(body), 1)


class CompressionOptInTest(unittest.TestCase):

    def setUp(self):
        self.consumer = Consumer(["--print_messages=false",
                                  "--accept_compression=gzip,deflate",
                                  f"--max_message_bytes={MIB}"])

    def tearDown(self):
        self.consumer.stop()

    def test_accepted_algorithms_are_decompressed(self):
        for name, wbits in (("gzip", GZIP), ("deflate", DEFLATE)):
            with self.subTest(name), \
                    GrpcH2Connection(self.consumer.port) as connection:
                status, message, body = connection.call(
                    CONSUME, [grpc_frame(compress(mensaje(name, 0), wbits),
                                         True)],
                    [("grpc-encoding", name)])
                self.assertEqual(status, 0, message)
                self.assertEqual(summary_messages_received(body), 1)

    def test_bomb_is_refused_after_inflating_and_costs_its_inflated_size(self):
        inflated_mib = 128
        baseline = self.consumer.peak_rss_mib()
        with GrpcH2Connection(self.consumer.port) as connection:
            status, message, _ = connection.call(
                CONSUME, [grpc_frame(bomb(inflated_mib), True)],
                [("grpc-encoding", "gzip")])
        self.assertEqual(status, RESOURCE_EXHAUSTED, message)
        self.assertEqual(
            message, f"Received message larger than max "
            f"({inflated_mib * MIB} vs. {MIB})")
        peak = self.consumer.peak_rss_mib()
        print(f"{inflated_mib} MiB gzip bomb, --accept_compression=gzip "
              f"--max_message_bytes={MIB}: peak RSS {baseline:.0f} -> "
              f"{peak:.0f} MiB")
        # What SECURITY.md states: the cost is the inflated size, not the
        # limit; bounded by what the peer sent.
        self.assertGreater(peak - baseline, inflated_mib / 2)
        self.assertLess(peak - baseline, 2 * inflated_mib + 32)


if __name__ == "__main__":
    unittest.main()
