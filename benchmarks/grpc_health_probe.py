"""One gRPC health Check (grpc.health.v1.Health/Check) over plaintext
HTTP/2, with the Python standard library only: what a load balancer or
Kubernetes asks before sending traffic, for the restart scenarios of
//benchmarks to tell when a started consumer serves.

    status = check_health("127.0.0.1", port, "messaging.v1.ConsumerService")
    if status == SERVING: ...

It speaks just enough HTTP/2 for one unary call: the preface, SETTINGS (and
their acknowledgement), one HEADERS frame with literal HPACK fields, one
DATA frame, and it reads frames until the server ends the stream. It does
not decode the server's headers (HPACK with Huffman coding): a call that
succeeds answers with a DATA frame holding the response, one that fails
answers with trailers only, which is told apart by the missing message.
"""

import socket
import struct

# grpc.health.v1.HealthCheckResponse.ServingStatus
SERVING = 1

_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_DATA, _HEADERS, _RST_STREAM, _SETTINGS, _PING, _GOAWAY = 0, 1, 3, 4, 6, 7
_END_STREAM = 0x1  # also ACK, on SETTINGS and PING
_END_HEADERS = 0x4
_PADDED = 0x8
_STREAM = 1
_PATH = "/grpc.health.v1.Health/Check"


class ProbeFailed(Exception):
    """The call did not get a health status (refused, reset, or an error)."""


def _frame(kind, flags, stream, payload=b""):
    return (struct.pack(">I", len(payload))[1:] + bytes([kind, flags])
            + struct.pack(">I", stream) + payload)


def _hpack_string(text):
    data = text.encode()
    if len(data) >= 127:  # one byte of length, no Huffman coding
        raise ValueError(f"header too long for this probe: {text!r}")
    return bytes([len(data)]) + data


def _request_headers(authority):
    # Static table entries 3 (:method POST) and 6 (:scheme http); :path
    # (4) and :authority (1) as literals with an indexed name, the others
    # as literals with a literal name, none of them added to the table.
    return (b"\x83\x86"
            + b"\x04" + _hpack_string(_PATH)
            + b"\x01" + _hpack_string(authority)
            + b"\x00" + _hpack_string("content-type")
            + _hpack_string("application/grpc")
            + b"\x00" + _hpack_string("te") + _hpack_string("trailers"))


def _health_request(service):
    # HealthCheckRequest{service}: field 1, length-delimited; then gRPC's
    # message prefix (not compressed, 4-byte length).
    encoded = service.encode()
    message = b"\x0a" + bytes([len(encoded)]) + encoded if encoded else b""
    return b"\x00" + struct.pack(">I", len(message)) + message


def _read_exactly(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ProbeFailed("the server closed the connection")
        data += chunk
    return data


def _serving_status(body):
    """The status in a gRPC-framed HealthCheckResponse."""
    if len(body) < 5:
        raise ProbeFailed(f"a truncated gRPC message: {body!r}")
    length = struct.unpack(">I", body[1:5])[0]
    message = body[5:5 + length]
    if message == b"":
        return 0  # UNKNOWN, proto3's default, is encoded as nothing
    if len(message) == 2 and message[0] == 0x08:
        return message[1]
    raise ProbeFailed(f"not a HealthCheckResponse: {message!r}")


def check_health(host, port, service="", timeout=5.0):
    """The serving status the server reports for `service`; ProbeFailed if
    the call fails (OSError if it cannot connect)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(
            _PREFACE + _frame(_SETTINGS, 0, 0)
            + _frame(_HEADERS, _END_HEADERS, _STREAM,
                     _request_headers(f"{host}:{port}"))
            + _frame(_DATA, _END_STREAM, _STREAM, _health_request(service)))
        body = b""
        while True:
            header = _read_exactly(sock, 9)
            length = struct.unpack(">I", b"\x00" + header[:3])[0]
            kind, flags = header[3], header[4]
            stream = struct.unpack(">I", header[5:9])[0] & 0x7FFFFFFF
            payload = _read_exactly(sock, length)
            if kind == _SETTINGS and not flags & _END_STREAM:
                sock.sendall(_frame(_SETTINGS, _END_STREAM, 0))
            elif kind == _PING and not flags & _END_STREAM:
                sock.sendall(_frame(_PING, _END_STREAM, 0, payload))
            elif kind == _GOAWAY:
                raise ProbeFailed("the server sent GOAWAY")
            elif stream != _STREAM:
                continue
            elif kind == _RST_STREAM:
                raise ProbeFailed("the server reset the stream")
            elif kind == _DATA:
                if flags & _PADDED:
                    payload = payload[1:len(payload) - payload[0]]
                body += payload
            if stream == _STREAM and kind in (_DATA, _HEADERS) and (
                    flags & _END_STREAM):
                if not body:
                    raise ProbeFailed(
                        f"{_PATH} for {service!r} answered with no message "
                        f"(a gRPC error, such as NOT_FOUND for an unknown "
                        f"service)")
                return _serving_status(body)
