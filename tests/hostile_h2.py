"""A hand-driven HTTP/2 client for the hostile-peer tests: it speaks gRPC's
wire format frame by frame (python3-h2), so a test can send what no gRPC
library would: a message whose compressed flag lies, a decompression bomb,
thousands of streams reset right after their HEADERS.

  with GrpcH2Connection(port) as connection:
      status, message, body = connection.call(
          CONSUME, [grpc_frame(mensaje("bad", 0))])
      connection.rapid_reset(CONSUME, seconds=10)

Also the consumer_service process and what the tests read of it (its port,
its RSS and CPU time, the messages it printed), and the consumer guard
(HAProxy with k8s/components/consumer-guard/haproxy.cfg) in front of it.
"""

import os
import re
import select
import shutil
import socket
import subprocess
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
import hpack

from testing.runfiles import runfile


CONSUME = "/messaging.v1.ConsumerService/Consume"


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(field, data):
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def mensaje(producer_id, sequence, text=None, payload=b""):
    """A messaging.v1.Mensaje in protobuf's wire format."""
    text = f"Mensaje {sequence}" if text is None else text
    out = _length_delimited(1, producer_id.encode())
    if sequence:
        out += _varint(2 << 3) + _varint(sequence)
    out += _length_delimited(3, text.encode())
    if payload:
        out += _length_delimited(4, payload)
    return out


def grpc_frame(message, compressed=False):
    """One gRPC length-prefixed message: flag byte, 4-byte length, bytes."""
    return (bytes([1 if compressed else 0]) + len(message).to_bytes(4, "big") +
            message)


def summary_messages_received(body):
    """ConsumeSummary.messages_received (field 2) of a gRPC response body."""
    if len(body) < 5:
        return None
    data, i = body[5:], 0
    while i < len(data):
        key, i = _read_varint(data, i)
        if key & 7 == 0:
            value, i = _read_varint(data, i)
            if key >> 3 == 2:
                return value
        elif key & 7 == 2:
            length, i = _read_varint(data, i)
            i += length
        else:
            return None
    return 0


def _read_varint(data, i):
    value, shift = 0, 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


class GrpcH2Connection:
    """One plaintext HTTP/2 connection to a gRPC server, driven by hand."""

    def __init__(self, port, timeout=20, source="127.0.0.1"):
        # Another loopback source address (127.0.0.2) is another peer to a
        # proxy that counts per address.
        self.socket = socket.create_connection(("127.0.0.1", port),
                                               timeout=timeout,
                                               source_address=(source, 0))
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True,
                                      header_encoding="utf-8"))
        self.h2.local_settings = h2.settings.Settings(
            client=True,
            initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE:
                            1 << 30})
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window(1 << 30)
        self.closed = False
        self.goaway = None
        self._trailers, self._body, self._done = {}, bytearray(), False
        # Why the rapid reset stopped early, if it did.
        self.error = None
        self._flush()

    def __enter__(self):
        return self

    def __exit__(self, *unused):
        self.socket.close()

    def _flush(self):
        data = self.h2.data_to_send()
        if data:
            self.socket.sendall(data)

    def _request_headers(self, path, extra):
        return [(":method", "POST"), (":scheme", "http"),
                (":path", path), (":authority", "localhost"),
                ("content-type", "application/grpc"), ("te", "trailers")
                ] + list(extra)

    def _receive(self):
        """Reads once and returns h2's events; [] when the peer closed."""
        try:
            data = self.socket.recv(1 << 20)
        except (ConnectionResetError, socket.timeout):
            data = b""
        if not data:
            self.closed = True
            return []
        events = self.h2.receive_data(data)
        for event in events:
            if isinstance(event, h2.events.ConnectionTerminated):
                self.goaway = event
        self._flush()
        return events

    def call(self, path, frames, headers=()):
        """Sends `frames` (gRPC-framed messages) on one stream, half-closes
        it and waits for the end: (grpc-status, grpc-message, body). The
        status is None when the stream or connection ended without one."""
        return self.finish(self.start_call(path, frames, headers))

    def start_call(self, path, frames, headers=()):
        """Opens a stream and sends `frames` on it; returns its id, for
        finish(). The stream stays open, as a producer's does."""
        self._trailers, self._body, self._done = {}, bytearray(), False
        stream = self.h2.get_next_available_stream_id()
        self.h2.send_headers(stream, self._request_headers(path, headers))
        self._flush()
        data = b"".join(frames)
        # The server may end the stream before reading it all.
        while data and not self.closed and not self._done:
            window = min(self.h2.local_flow_control_window(stream),
                         self.h2.max_outbound_frame_size)
            if window > 0:
                self.h2.send_data(stream, data[:window])
                data = data[window:]
                self._flush()
            else:
                self._handle(self._receive(), stream)
        return stream

    def finish(self, stream):
        """Half-closes `stream` and waits for its end, as call() does."""
        if not self.closed and not self._done:
            self.h2.end_stream(stream)
            self._flush()
        while not self._done and not self.closed:
            self._handle(self._receive(), stream)
        status = self._trailers.get("grpc-status")
        return (int(status) if status is not None else None,
                self._trailers.get("grpc-message", ""), bytes(self._body))

    def _handle(self, events, stream):
        for event in events:
            if getattr(event, "stream_id", None) != stream:
                continue
            if isinstance(event, h2.events.DataReceived):
                self._body += event.data
                self.h2.acknowledge_received_data(
                    event.flow_controlled_length, stream)
            elif isinstance(event, (h2.events.TrailersReceived,
                                    h2.events.ResponseReceived)):
                self._trailers.update(dict(event.headers))
            elif isinstance(event, (h2.events.StreamEnded,
                                    h2.events.StreamReset)):
                self._done = True
        self._flush()

    def closed_by_peer_within(self, seconds):
        """Whether the server closes the connection within `seconds`; what
        it sends meanwhile (a GOAWAY, pings) is read and answered."""
        end = time.monotonic() + seconds
        while not self.closed and time.monotonic() < end:
            if select.select([self.socket], [], [],
                             max(0, end - time.monotonic()))[0]:
                self._handle(self._receive(), None)
        return self.closed

    def rapid_reset(self, path, seconds, batch=100):
        """HEADERS then RST_STREAM(CANCEL) on stream after stream, as fast as
        the socket takes them, for `seconds`, draining what the server sends
        on another thread. Returns the number of streams reset."""
        draining = threading.Event()
        draining.set()

        def drain():
            while draining.is_set() and not self.closed:
                if not select.select([self.socket], [], [], 0.2)[0]:
                    continue
                try:
                    data = self.socket.recv(1 << 20)
                except OSError:
                    break
                if not data:
                    self.closed = True
                    break
                # The frames are not parsed (h2 is not thread-safe): the
                # server's answers to reset streams need no reply, and a
                # GOAWAY shows as the connection closing.

        reader = threading.Thread(target=drain, daemon=True)
        self.socket.settimeout(None)
        reader.start()
        template = self._stream_template(path)
        streams, end = 0, time.monotonic() + seconds
        next_id = self.h2.get_next_available_stream_id()
        try:
            while time.monotonic() < end and not self.closed:
                chunk = bytearray()
                for _ in range(batch):
                    chunk += template(next_id)
                    next_id += 2
                if next_id >= 1 << 31:
                    break
                self.socket.sendall(chunk)
                streams += batch
        except OSError as error:
            self.error = error
        draining.clear()
        reader.join()
        return streams

    def send_header_block(self, path, extra_bytes):
        """Opens a stream whose header block carries one more header of
        `extra_bytes`, sent as HEADERS and CONTINUATION frames of 16 KiB.
        False if the server closed the connection before taking it all."""
        block = hpack.Encoder().encode(
            [hpack.NeverIndexedHeaderTuple(name, value) for name, value in
             self._request_headers(path, (("x-filler", "a" * extra_bytes),))],
            huffman=False)
        sid = self.h2.get_next_available_stream_id().to_bytes(4, "big")
        frames, size = bytearray(), 16384
        for i in range(0, len(block), size):
            # HEADERS first, then CONTINUATION; END_HEADERS on the last.
            frame_type = b"\x01" if i == 0 else b"\x09"
            flags = b"\x04" if i + size >= len(block) else b"\x00"
            part = block[i:i + size]
            frames += (len(part).to_bytes(3, "big") + frame_type + flags +
                       sid + part)
        try:
            self.socket.sendall(frames)
            return True
        except OSError:
            return False

    def _stream_template(self, path):
        """A function of the stream id giving that stream's HEADERS and
        RST_STREAM frames; the header block is encoded once, without HPACK
        indexing, so every stream can reuse its bytes."""
        block = hpack.Encoder().encode(
            [hpack.NeverIndexedHeaderTuple(name, value)
             for name, value in self._request_headers(path, ())])

        def frames(stream_id):
            sid = stream_id.to_bytes(4, "big")
            headers = (len(block).to_bytes(3, "big") + b"\x01\x04" + sid +
                       block)
            reset = b"\x00\x00\x04\x03\x00" + sid + b"\x00\x00\x00\x08"
            return headers + reset

        return frames


class Consumer:
    """consumer_service as a child process on 127.0.0.1 and a free port."""

    def __init__(self, flags=(), preexec_fn=None, extra_env=None):
        tmp = os.environ.get("TEST_TMPDIR", "/tmp")
        self._stdout = open(os.path.join(tmp, f"consumer-{id(self)}.out"),
                            "w+b")
        self._stderr = open(os.path.join(tmp, f"consumer-{id(self)}.err"),
                            "w+b")
        env = dict(os.environ)
        env.update(extra_env or {})
        self.process = subprocess.Popen(
            [runfile("consumer_service/consumer_service"),
             "--address=127.0.0.1:0"] + list(flags),
            stdout=self._stdout, stderr=self._stderr, preexec_fn=preexec_fn,
            env=env)
        self.port = self._wait_for_port()

    def _wait_for_port(self):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)",
                              self.stderr())
            if match:
                return int(match.group(1))
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("consumer_service did not start listening:\n" +
                             self.stderr())

    def stderr(self):
        self._stderr.flush()
        with open(self._stderr.name, "rb") as f:
            return f.read().decode(errors="replace")

    def consumed_lines(self):
        """How many "Consumiendo:" lines it has printed so far."""
        with open(self._stdout.name, "rb") as f:
            return f.read().count(b"Consumiendo: ")

    def _status_kib(self, field):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise AssertionError(f"no {field} in /proc/{self.process.pid}/status")

    def rss_mib(self):
        return self._status_kib("VmRSS") / 1024

    def peak_rss_mib(self):
        """The most it was ever resident (VmHWM), in MiB."""
        return self._status_kib("VmHWM") / 1024

    def sanitized(self):
        """Whether it runs with AddressSanitizer (--config=asan), whose
        shadow memory and quarantine of freed blocks add to its RSS."""
        with open(f"/proc/{self.process.pid}/maps") as f:
            return "libasan" in f.read()

    def cpu_seconds(self):
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stdout.close()
        self._stderr.close()
        return self.process.returncode


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Guard:
    """HAProxy with the guard's configuration, in front of the consumer on
    `consumer_port`."""

    def __init__(self, consumer_port):
        self.port = free_port()
        env = dict(os.environ,
                   GUARD_BIND=f"127.0.0.1:{self.port}",
                   CONSUMER_ADDRESS=f"127.0.0.1:{consumer_port}",
                   # HAProxy wants two descriptors a connection, past this
                   # machine's hard limit at the default.
                   GUARD_MAX_CONNECTIONS="1000")
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        self.process = subprocess.Popen(
            [haproxy, "-db", "-f",
             runfile("k8s/components/consumer-guard/haproxy.cfg")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.process.kill()
        raise AssertionError("haproxy did not listen: " +
                             self.process.stderr.read().decode())

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.process.stderr.close()
