#!/usr/bin/env python3
"""Benchmarks the real consumer_service and producer_service binaries.

Each scenario starts consumer_service on an ephemeral loopback port and
producer_service against it, as separate processes, with per-message
console lines off, and measures: messages/s and MB/s (payload bytes) over
the producer's wall time, end-to-end latency p50/p99/p99.9 (from each
message's created_at to its acceptance by the consumer, as the consumer
logs it on shutdown), CPU seconds and peak RSS of each process (wait4
rusage) and each one's thread count (sampled from /proc). In the same
run it measures the original demo, a multiprocessing.Queue producer and
consumer in Python (python_queue_baseline.py), with the same number of
messages of the same size, and prints the ratio; and, with 1x64B,
1000x64B or 1x64B-batch, gRPC alone on as many streams and with the same
batches (grpc_floor_benchmark), the floor under that row, once in each
repetition beside the rows, so a noisy spell hits both. The restart
scenarios (restart_benchmark.py) time the consumer's start on a log of
--restart_messages messages, to serving. The peers (peers.py: NATS
JetStream, Redis Streams, raw TCP) run beside them, each at the
durability of a project row; the run ends with the
comparisons and the issue's targets (report.py). Each figure is the
median over --repetitions runs.

    bazel run -c opt //benchmarks                      # the whole suite
    bazel run -c opt //benchmarks -- --quick           # smoke run, seconds
    bazel run -c opt //benchmarks -- --scenarios='1x*' --repetitions=5
    bazel run -c opt //benchmarks -- --scenarios='restart*'

Exits 1 if any producer, consumer, baseline, floor, filler or peer run
fails (a target not met is a measurement, not a failure); 2 on bad flags.
Python 3 standard library only.
"""

import argparse
import fnmatch
import json
import os
import sys

import chart
import peers
import report
import restart_benchmark
from child_process import RunFailed
from grpc_harness import (FLOORS, Harness, median_floors, producer_flags,
                          run_floors, run_paced)
from scenarios import SCENARIOS, format_bytes

WORKSPACE = "grpc_producer_consumer"
CONSUMER = "consumer_service/consumer_service"
PRODUCER = "producer_service/producer_service"
BASELINE = "benchmarks/python_queue_baseline.py"
FLOOR = "benchmarks/grpc_floor_benchmark"
FILLER = "benchmarks/log_filler"
RAW_TCP = "benchmarks/raw_tcp_benchmark"
PROBE = "benchmarks/scheduler_probe"
NATS_PUBLISHER = "benchmarks/peers/nats_jetstream_publisher.c"
FLOOR_ROWS = {row for row, _, _ in FLOORS.values()}

# A second or more per run: the producer's start and connection, some
# 40 ms, are in each row's time, and were 14 % of a 1x64B run of 200,000.
DEFAULT_MESSAGES = 1_000_000
QUICK_MESSAGES = 1_000
# Batched scenarios send this many times --messages by default: they run
# some 15 times faster, and at the same count the producer's start and
# connection would be a large share of their time, not their throughput.
BATCHED_FACTOR = 10

# --------------------------------------------------------------------------
# Finding the binaries


def runfiles_roots():
    """Candidate runfiles directories, most specific first."""
    roots = []
    for variable in ("RUNFILES_DIR", "PYTHON_RUNFILES", "TEST_SRCDIR"):
        if os.environ.get(variable):
            roots.append(os.environ[variable])
    roots.append(sys.argv[0] + ".runfiles")
    # This file inside the runfiles tree: <root>/<workspace>/benchmarks/x.py
    here = os.path.dirname(os.path.abspath(__file__))
    roots.append(os.path.dirname(os.path.dirname(here)))
    return roots


def find_file(relative, override=None):
    if override:
        if not os.path.exists(override):
            raise SystemExit(f"run_benchmarks: {override} does not exist")
        return os.path.abspath(override)
    for root in runfiles_roots():
        candidate = os.path.join(root, WORKSPACE, relative)
        if os.path.exists(candidate):
            return candidate
    # Run from a checkout: python3 benchmarks/run_benchmarks.py
    checkout = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    for candidate in (os.path.join(checkout, relative),
                      os.path.join(checkout, "bazel-bin", relative)):
        if os.path.exists(candidate):
            return candidate
    raise SystemExit(
        f"run_benchmarks: cannot find {relative} in the runfiles; run it "
        f"with: bazel run -c opt //benchmarks")


# --------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=None,
                        help="runs of each scenario; the median is reported "
                        "(default 3, 1 with --quick)")
    parser.add_argument("--messages", type=int, default=None,
                        help="messages per scenario, split evenly over its "
                        f"streams (default {DEFAULT_MESSAGES:,}, "
                        f"{QUICK_MESSAGES:,} with --quick)")
    parser.add_argument("--batched_messages", type=int, default=None,
                        help="messages per batched scenario (default "
                        f"{BATCHED_FACTOR} x --messages, the same with "
                        "--quick)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny counts and one repetition: a smoke test")
    parser.add_argument("--scenarios", default="*",
                        help="comma-separated names or globs of the scenarios "
                        "to run (see --list); the Python baseline always runs")
    parser.add_argument("--list", action="store_true",
                        help="list the scenarios and exit")
    parser.add_argument("--batch_size", type=int, default=256,
                        help="producer --batch_size of the batched scenarios")
    parser.add_argument("--log_sync", default="group",
                        help="consumer --log_sync of the durable and restart "
                        "scenarios")
    parser.add_argument("--consumer_flag", action="append", default=[],
                        metavar="FLAG",
                        help="a flag for every consumer run, e.g. "
                        "--consumer_flag=--adaptive_flow_control=false; "
                        "repeat for more")
    parser.add_argument("--paced_fraction", type=float, default=0.5,
                        help="the paced scenario's rate, as a fraction of the "
                        "peak rate measured in this run")
    parser.add_argument("--paced_seconds", type=float, default=None,
                        help="the paced scenarios send at least this many "
                        "seconds of messages at their rate, so that their "
                        "p99 is the steady state's (default 5, 0 with "
                        "--quick)")
    parser.add_argument("--pin", action="store_true",
                        help="run each consumer and peer server on the last "
                        "CPU and each producer and peer client on CPU 0, as "
                        "if on machines of their own (the floor and the "
                        "Python baseline still run anywhere)")
    parser.add_argument("--chart", metavar="PNG",
                        help="also draw the run's throughput and latency "
                        "to PNG (needs python3-matplotlib)")
    parser.add_argument("--run_timeout", type=float, default=600,
                        help="seconds before a process of one run is killed "
                        "and the run counted as failed")
    counts = lambda counts: ",".join(map(str, counts))  # noqa: E731
    parser.add_argument("--restart_messages", default=None,
                        help="comma-separated sizes of the log the restart "
                        "scenarios start on, in messages (default "
                        f"{counts(restart_benchmark.DEFAULT_MESSAGES)}; "
                        f"{counts(restart_benchmark.QUICK_MESSAGES)} with "
                        "--quick)")
    parser.add_argument("--restart_segment_bytes", type=int,
                        default=restart_benchmark.DEFAULT_SEGMENT_BYTES,
                        help="--log_segment_bytes of the restart scenarios' "
                        "logs and consumers")
    parser.add_argument("--json", metavar="FILE",
                        help="also write every run's measurements to FILE")
    parser.add_argument("--consumer_binary", help="default: from the runfiles")
    parser.add_argument("--producer_binary", help="default: from the runfiles")
    parser.add_argument("--floor_binary", help="default: from the runfiles")
    parser.add_argument("--filler_binary", help="default: from the runfiles")
    parser.add_argument("--peers", default="*",
                        help="comma-separated names or globs of the peer rows "
                        "to run beside the gRPC scenarios (see --list); empty "
                        "for none")
    parser.add_argument("--require_peers", action="store_true",
                        help="a peer that cannot run here (its packages not "
                        "installed) fails the run instead of reading n/a")
    parser.add_argument("--raw_tcp_binary", help="default: from the runfiles")
    for tool in ("nats-server", "redis-server", "redis-benchmark",
                 "redis-cli", "cc"):
        parser.add_argument(f"--{tool.replace('-', '_')}_binary",
                            help="default: found on the PATH and in /usr/sbin")
    args = parser.parse_args(argv)
    if args.repetitions is None:
        args.repetitions = 1 if args.quick else 3
    if args.pin and (os.cpu_count() or 1) < 2:
        parser.error("--pin needs at least 2 CPUs")
    if args.paced_seconds is None:
        args.paced_seconds = 0 if args.quick else 5
    if args.messages is None:
        args.messages = QUICK_MESSAGES if args.quick else DEFAULT_MESSAGES
    if args.batched_messages is None:
        args.batched_messages = args.messages * (1 if args.quick
                                                 else BATCHED_FACTOR)
    if min(args.repetitions, args.messages, args.batched_messages,
           args.batch_size) < 1:
        parser.error("--repetitions, --messages, --batched_messages and "
                     "--batch_size must be >= 1")
    if not 0 < args.paced_fraction <= 1:
        parser.error("--paced_fraction must be in (0, 1]")
    if args.restart_messages is None:
        args.restart_messages = list(restart_benchmark.QUICK_MESSAGES
                                     if args.quick
                                     else restart_benchmark.DEFAULT_MESSAGES)
    else:
        try:
            args.restart_messages = restart_benchmark.parse_counts(
                args.restart_messages)
        except ValueError:
            parser.error(f"--restart_messages={args.restart_messages} is not "
                         f"a comma-separated list of counts >= 1 (example: "
                         f"1000000,10000000)")
    if args.restart_segment_bytes < 4096:
        parser.error("--restart_segment_bytes must be >= 4096, the "
                     "consumer's least --log_segment_bytes")
    patterns = [p.strip() for p in args.scenarios.split(",") if p.strip()]
    args.selected = [s for s in SCENARIOS
                     if any(fnmatch.fnmatchcase(s.name, p) for p in patterns)]
    args.restart_selected = restart_benchmark.select(patterns)
    peer_patterns = [p.strip() for p in args.peers.split(",") if p.strip()]
    args.peers_selected = [
        peer for peer in peers.PEERS
        if args.selected
        and any(fnmatch.fnmatchcase(peer.name, p) for p in peer_patterns)]
    if not args.list and not (args.selected or args.restart_selected):
        parser.error(f"--scenarios={args.scenarios} matches none of: "
                     + ", ".join(s.name for s in SCENARIOS
                                 + restart_benchmark.SCENARIOS))
    return args


def progress(message):
    print(message, file=sys.stderr, flush=True)


def summary_of(run):
    rate = f"{run['messages_per_second']:,.0f} msgs/s"
    if run["p99_ms"] is None:  # the peers measure no latency
        return rate
    return f"{rate}, p99 {report.fmt(run['p99_ms'])} ms"


def list_scenarios(args):
    for s in SCENARIOS:
        d = s.describe(args)
        print(f"{s.name:26} streams={d['streams']} payload={d['payload']} "
              f"rpc={d['rpc']} log={report.log_cell(d)}"
              + (f" paced at {args.paced_fraction:.0%} of peak"
                 if s.paced else ""))
    for s in restart_benchmark.SCENARIOS:
        print(f"{s.name:26} log of --restart_messages messages, after "
              f"{s.history}")
    for peer in peers.PEERS:
        print(f"{peer.name:26} peer: {peer.rpc}, {peer.durability}"
              + (f" ({peer.sync})" if peer.sync else ""))


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.list:
        list_scenarios(args)
        return 0

    consumer = find_file(CONSUMER, args.consumer_binary)
    producer = find_file(PRODUCER, args.producer_binary)
    baseline = find_file(BASELINE)
    filler = (find_file(FILLER, args.filler_binary)
              if args.restart_selected else None)
    harness = Harness(args, consumer, producer, baseline,
                      producer_flags(producer), find_file(PROBE))
    peer_bench = None
    if args.peers_selected:
        peer_bench = peers.PeerBench(args, harness.workdir,
                                     find_file(RAW_TCP, args.raw_tcp_binary),
                                     find_file(NATS_PUBLISHER))
    floor = (find_file(FLOOR, args.floor_binary)
             if any(s.name in FLOOR_ROWS for s in args.selected) else None)
    results = report.Results()
    floors = {}
    try:
        floors = run_all(harness, peer_bench, floor, args, results)
        if args.restart_selected:
            restart_benchmark.run_restart(
                restart_benchmark.RestartBench(consumer, filler,
                                               harness.workdir, args),
                args, results, progress)
    finally:
        harness.close()
    print_report(args, results, floors)
    if results.failures:
        print(f"\n{len(results.failures)} run(s) FAILED:", file=sys.stderr)
        for failure in results.failures:
            print(f"--- {failure}", file=sys.stderr)
        return 1
    return 0


def print_report(args, results, floors):
    """The tables and the lines under them, and the --json and --chart
    files; `floors`: grpc_floor_benchmark's rates by --json key."""
    fmt = report.fmt
    baseline_rates = {}
    for name, row in results.rows.items():
        if row["kind"] == "baseline" and not row["status"]:
            baseline_rates[row["payload_bytes"]] = results.median(
                name, "messages_per_second")
    of_runs = (f"median of {args.repetitions} run(s)"
               f"{' (--quick)' if args.quick else ''}")
    if args.selected:
        print(f"\n## Benchmark: {args.messages:,} messages per per-message "
              f"scenario, {args.batched_messages:,} per batched one, "
              f"{of_runs}\n")
        print(report.table(results, baseline_rates.get))
        print()
    for line in report.lines_under_table(results, floors, baseline_rates,
                                         args.batch_size):
        print(line)

    restart_rows = restart_benchmark.table(results, fmt)
    if restart_rows:
        print(f"\n## Restart: consumer_service started on a log of N "
              f"{restart_benchmark.PAYLOAD_BYTES} B messages, to its first "
              f"SERVING health Check, {of_runs}\n")
        print(restart_rows)
        print()
    peer_rows = report.peer_table(results)
    if peer_rows:
        print(f"\n## Peers: {peers.PAYLOAD_BYTES} B messages on loopback, "
              f"{of_runs}\n")
        print(peer_rows)
        print()
    compared = report.comparisons(results)
    if compared:
        print("\n## Comparisons: each project row against each peer of its "
              "durability (ratio = project msgs/s / peer msgs/s)\n")
        print(report.markdown(report.COMPARISON_COLUMNS,
                              report.comparison_cells(compared), 3))
        print()
        for durability, why in report.WHY.items():
            if any(c["durability"] == durability for c in compared):
                print(f"- {durability}: {why}.")
        print()
    goals = report.targets(results, args, floors)
    print(f"\n## Targets: {of_runs}\n")
    print(report.markdown(report.TARGET_COLUMNS, report.target_cells(goals),
                          4))
    print()

    summary = {"title": f"{args.messages:,} messages per per-message row, "
                        f"{args.batched_messages:,} per batched one, "
                        f"{of_runs}",
               "messages": args.messages,
               "batched_messages": args.batched_messages,
               "restart_messages": args.restart_messages,
               "repetitions": args.repetitions,
               "rows": results.rows,
               **{key: {f"{server}/{client}": rate for (server, client), rate
                        in (floors.get(key) or {}).items()}
                  for key in FLOORS},
               "comparisons": compared,
               "targets": goals,
               "failures": results.failures}
    if args.json:
        with open(args.json, "w") as out:
            json.dump(summary, out, indent=1, default=str)
    if args.chart:
        why_not = chart.available()
        if why_not:
            print(f"--chart: not drawn, {why_not}", file=sys.stderr)
        else:
            chart.draw(summary, args.chart, summary["title"])
            print(f"Chart: {args.chart}")


def run_all(harness, peer_bench, floor, args, results):
    """Runs every selected row, baseline and peer, and with `floor` (the
    grpc_floor_benchmark binary, or None) the floors of the rows that have
    one; the floors' medians, as median_floors gives them."""
    flat_out = [s for s in args.selected if not s.paced]
    for s in args.selected:
        results.add_row(s.name, kind="paced" if s.paced else "grpc",
                        payload_bytes=s.payload_bytes,
                        describe=s.describe(args))
        missing = harness.missing_flags(s)
        if missing:
            results.rows[s.name]["status"] = "n/a (flag missing: " + ", ".join(
                f"--{flag}" for flag in missing) + ")"
    payloads = sorted({s.payload_bytes for s in args.selected})
    for payload in payloads:
        name = f"python-queue-{format_bytes(payload).replace(' ', '')}"
        results.add_row(name, kind="baseline", payload_bytes=payload,
                        describe={"streams": 1, "payload": format_bytes(payload),
                                  "rpc": "mp.Queue", "log": "memory",
                                  "sync": None, "durability": "memory"})
    for peer in args.peers_selected:
        results.add_row(peer.name, kind="peer",
                        payload_bytes=peers.PAYLOAD_BYTES,
                        describe=peer.describe())
        status = peer_bench.unavailable(peer)
        results.rows[peer.name]["status"] = status
        if status and args.require_peers:
            results.failures.append(f"{peer.name}: {status} "
                                    f"(--require_peers)")

    def attempt(name, label, run):
        try:
            measured = run()
        except RunFailed as failure:
            results.failures.append(f"{label}: {failure}")
            results.rows[name]["status"] = "FAILED"
            progress(f"{label}: FAILED")
            return None
        results.rows[name]["runs"].append(measured)
        progress(f"{label}: {summary_of(measured)}")
        return measured

    # Repetitions outermost, so a noisy spell hits every scenario alike.
    floor_runs = []
    for rep in range(1, args.repetitions + 1):
        for s in flat_out:
            if results.rows[s.name]["status"]:
                continue
            attempt(s.name, f"[{rep}/{args.repetitions}] {s.name}",
                    lambda s=s: harness.run_grpc(s, s.messages(args)))
        for payload in payloads:
            name = f"python-queue-{format_bytes(payload).replace(' ', '')}"
            if results.rows[name]["status"]:
                continue
            attempt(name, f"[{rep}/{args.repetitions}] {name}",
                    lambda p=payload: harness.run_baseline(p, args.messages))
        for peer in args.peers_selected:
            if results.rows[peer.name]["status"]:
                continue
            attempt(peer.name, f"[{rep}/{args.repetitions}] {peer.name}",
                    lambda p=peer: peer_bench.run(p, peer_bench.messages(p)))
        if floor:
            floor_runs.append(run_floors(floor, args, results, progress,
                                         f"[{rep}/{args.repetitions}] "))

    for s in args.selected:
        if s.paced and not results.rows[s.name]["status"]:
            run_paced(harness, args, results, s, attempt)
    return median_floors(floor_runs)


if __name__ == "__main__":
    sys.exit(main())
