"""Connections that finish the HTTP/2 preface and then open no stream are
closed after --max_connection_idle; a connection with a stream open is
not, however quiet the stream (that is --stream_idle_timeout's job).

  bazel test //tests:idle_connection_test
"""

import time
import unittest

from hostile_h2 import (CONSUME, Consumer, GrpcH2Connection, grpc_frame,
                        mensaje, summary_messages_received)


class IdleConnectionTest(unittest.TestCase):

    def setUp(self):
        self.consumer = Consumer(["--print_messages=false",
                                  "--max_connection_idle=1s"])

    def tearDown(self):
        self.consumer.stop()

    def test_preface_only_connections_are_closed(self):
        connections = [GrpcH2Connection(self.consumer.port) for _ in range(20)]
        start = time.monotonic()
        for connection in connections:
            self.assertTrue(connection.closed_by_peer_within(5))
            # gRPC says why before it closes: GOAWAY(NO_ERROR, "max_idle").
            self.assertIsNotNone(connection.goaway)
            connection.socket.close()
        elapsed = time.monotonic() - start
        print(f"20 preface-only connections closed within {elapsed:.1f}s "
              f"with --max_connection_idle=1s")
        # Not before the limit (allowing for gRPC's jitter).
        self.assertGreater(elapsed, 0.5)

    def test_a_connection_with_an_open_stream_is_kept(self):
        with GrpcH2Connection(self.consumer.port) as connection:
            stream = connection.start_call(CONSUME,
                                           [grpc_frame(mensaje("quiet", 0))])
            self.assertFalse(connection.closed_by_peer_within(3))
            status, message, body = connection.finish(stream)
            self.assertEqual(status, 0, message)
            self.assertEqual(summary_messages_received(body), 1)


if __name__ == "__main__":
    unittest.main()
