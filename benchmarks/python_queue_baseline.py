#!/usr/bin/env python3
"""The original demo as a benchmark: the baseline of //benchmarks.

The original demo is a producer Process putting "Mensaje i" on a
multiprocessing.Queue and a consumer Process taking them until "FIN". This
is that program, with three changes so it is measured on the same terms as
the gRPC services:

- the producer puts N messages as fast as it can (no sleep), each a tuple
  ("Mensaje i", created_at in ns since the epoch, payload of P bytes): the
  same text, creation timestamp and payload the gRPC Mensaje carries;
- nothing is printed per message;
- at the end each process reports its own CPU time and peak RSS, the
  consumer its end-to-end latencies (created_at -> taken off the queue),
  and the parent prints one JSON line with the results on stdout.

Python 3 standard library only. Exits 1 if a process fails or the consumer
does not get every message.

Usage: python3 python_queue_baseline.py --messages=200000 --payload_bytes=64
"""

import argparse
import json
import math
import resource
import sys
import time
from multiprocessing import Process, Queue


def _own_usage():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "max_rss_kib": usage.ru_maxrss,  # KiB on Linux
    }


def productor(cola, resultados, count, payload_bytes):
    payload = b"x" * payload_bytes  # made once, like the gRPC producer's
    for i in range(count):
        cola.put((f"Mensaje {i}", time.time_ns(), payload))
    cola.put("FIN")
    resultados.put(("productor", _own_usage()))


def consumidor(cola, resultados):
    latencies_ns = []
    received = 0
    payload_bytes = 0
    while True:
        mensaje = cola.get()
        if mensaje == "FIN":
            break
        latencies_ns.append(time.time_ns() - mensaje[1])
        received += 1
        payload_bytes += len(mensaje[2])
    report = _own_usage()
    report["messages"] = received
    report["payload_bytes"] = payload_bytes
    report["latency_ms"] = _percentiles_ms(latencies_ns)
    resultados.put(("consumidor", report))


def _percentiles_ms(latencies_ns):
    """Nearest-rank percentiles, in milliseconds."""
    if not latencies_ns:
        return {"p50": 0.0, "p99": 0.0, "p999": 0.0, "max": 0.0}
    ordered = sorted(latencies_ns)

    def rank(fraction):
        index = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
        return ordered[index - 1] / 1e6

    return {"p50": rank(0.50), "p99": rank(0.99), "p999": rank(0.999),
            "max": ordered[-1] / 1e6}


def run(count, payload_bytes):
    cola = Queue()
    resultados = Queue()
    p = Process(target=productor, args=(cola, resultados, count, payload_bytes))
    c = Process(target=consumidor, args=(cola, resultados))
    start = time.perf_counter()
    p.start()
    c.start()
    reports = {}
    # Take the reports before joining: a process that put something on a
    # queue does not end until it has been read.
    while len(reports) < 2 and (p.is_alive() or c.is_alive()
                                or not resultados.empty()):
        try:
            role, report = resultados.get(timeout=0.5)
        except Exception:  # queue.Empty; a dead process is caught below
            continue
        reports[role] = report
    p.join()
    c.join()
    seconds = time.perf_counter() - start

    failures = []
    if p.exitcode != 0:
        failures.append(f"producer process exited with {p.exitcode}")
    if c.exitcode != 0:
        failures.append(f"consumer process exited with {c.exitcode}")
    consumer = reports.get("consumidor")
    if consumer is None or "productor" not in reports:
        failures.append("a process did not report its results")
    elif consumer["messages"] != count:
        failures.append(
            f"consumer got {consumer['messages']} of {count} messages")
    if failures:
        return None, failures

    return {
        "benchmark": "python_queue_baseline",
        "messages": count,
        "payload_bytes": payload_bytes,
        "seconds": seconds,
        "messages_per_second": count / seconds,
        "mb_per_second": count * payload_bytes / seconds / 1e6,
        "latency_ms": consumer.pop("latency_ms"),
        "producer": reports["productor"],
        "consumer": {key: consumer[key]
                     for key in ("cpu_seconds", "max_rss_kib")},
    }, []


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100000,
                        help="messages to pass from producer to consumer")
    parser.add_argument("--payload_bytes", type=int, default=64,
                        help="bytes of payload in each message")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.payload_bytes < 0:
        parser.error("--messages must be >= 1 and --payload_bytes >= 0")

    result, failures = run(args.messages, args.payload_bytes)
    if failures:
        for failure in failures:
            print(f"python_queue_baseline: {failure}", file=sys.stderr)
        return 1
    print(json.dumps(result, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
