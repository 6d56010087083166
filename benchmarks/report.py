"""What //benchmarks prints and writes: its results, the Markdown tables
(scenarios, peers, comparisons, targets) and the lines under them.

    results = Results()
    results.add_row("1x64B", kind="grpc", payload_bytes=64, describe={...})
    results.rows["1x64B"]["runs"].append(run)
    print(table(results, baseline_rates.get))
    print(markdown(COMPARISON_COLUMNS, comparison_cells(comparisons(results))))

Every figure is the median of the row's runs. The comparisons pair each
project row with each peer row of the same durability; the targets are the
issue's, each measured, `met`, `NOT met` or `n/a (not run: ...)`.
"""

import math
import statistics

from scenarios import FSYNC_PER_GROUP, KERNEL_FLUSH, MEMORY, REFERENCE


class Results:
    """Per row: its runs, or why it has none."""

    def __init__(self):
        self.rows = {}  # name -> {"kind", "runs", "status", ...}
        self.failures = []

    def add_row(self, name, **info):
        self.rows.setdefault(name, {"runs": [], "status": None, **info})

    def median(self, name, key):
        values = [run[key] for run in self.rows[name]["runs"]
                  if run.get(key) is not None]
        return statistics.median(values) if values else None

    def measured(self, name, key="messages_per_second"):
        """(median, None), or (None, why there is none)."""
        row = self.rows.get(name)
        if row is None:
            return None, f"n/a (not run: {name} not selected)"
        if row["status"]:
            return None, f"n/a (not run: {name}: {row['status']})"
        value = self.median(name, key)
        if value is None:
            return None, f"n/a (not run: {name} measured no {key})"
        return value, None


def fmt(value):
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if value == math.inf:
        return "inf"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def markdown(columns, rows, right_from=1):
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join(["---"] * right_from
                            + ["---:"] * (len(columns) - right_from)) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def log_cell(describe):
    sync = describe.get("sync")
    return f"{describe['log']} ({sync})" if sync else describe["log"]


COLUMNS = ["scenario", "streams", "payload", "RPC", "log", "messages",
           "msgs/s", "MB/s", "p50 ms", "p99 ms", "p99.9 ms",
           "consumer CPU s", "consumer peak RSS MiB", "producer CPU s",
           "producer peak RSS MiB", "consumer threads", "producer threads",
           "machine busy %", "vs Python"]


def table(results, baseline_rate):
    """The gRPC and baseline rows."""
    rows = []
    for name, row in results.rows.items():
        if row["kind"] in ("restart", "peer"):
            continue
        d = row["describe"]
        cells = [name, str(d["streams"]), d["payload"], d["rpc"], log_cell(d)]
        if row["status"]:
            rows.append(cells + [row["status"]]
                        + [""] * (len(COLUMNS) - len(cells) - 1))
            continue
        m = lambda key: results.median(name, key)  # noqa: E731
        ratio = None
        reference = baseline_rate(row["payload_bytes"])
        if row["kind"] == "grpc" and reference and m("messages_per_second"):
            ratio = m("messages_per_second") / reference
        rows.append(cells + [
            fmt(int(m("messages"))), fmt(m("messages_per_second")),
            fmt(m("mb_per_second")), fmt(m("p50_ms")), fmt(m("p99_ms")),
            fmt(m("p999_ms")), fmt(m("consumer_cpu_s")),
            fmt(m("consumer_rss_mib")), fmt(m("producer_cpu_s")),
            fmt(m("producer_rss_mib")),
            fmt(m("consumer_threads") and int(m("consumer_threads"))),
            fmt(m("producer_threads") and int(m("producer_threads"))),
            fmt(m("machine_busy_pct")),
            f"{ratio:.2f}x" if ratio else "-"])
    return markdown(COLUMNS, rows, right_from=5)


PEER_COLUMNS = ["peer", "system", "durability", "setting", "messages",
                "msgs/s", "MB/s", "server CPU s", "server peak RSS MiB",
                "client CPU s", "client peak RSS MiB", "server threads"]


def peer_table(results):
    """The peer rows; None if there are none."""
    rows = []
    for name, row in results.rows.items():
        if row["kind"] != "peer":
            continue
        d = row["describe"]
        cells = [name, d["rpc"], d["durability"], d["sync"] or "-"]
        if row["status"]:
            rows.append(cells + [row["status"]]
                        + [""] * (len(PEER_COLUMNS) - len(cells) - 1))
            continue
        m = lambda key: results.median(name, key)  # noqa: E731
        rows.append(cells + [
            fmt(int(m("messages"))), fmt(m("messages_per_second")),
            fmt(m("mb_per_second")), fmt(m("consumer_cpu_s")),
            fmt(m("consumer_rss_mib")), fmt(m("producer_cpu_s")),
            fmt(m("producer_rss_mib")),
            fmt(m("consumer_threads") and int(m("consumer_threads")))])
    return markdown(PEER_COLUMNS, rows, right_from=4) if rows else None


def lines_under_table(results, floors, baseline_rates, batch_size):
    """The lines under the scenarios' table: the ratio to Python, the paced
    rows, gRPC alone (`floors`: grpc_floor_benchmark's rates by --json key)
    against its rows, and the threads at 1,000 streams."""
    lines = []
    rate, _ = results.measured(REFERENCE)
    if rate and baseline_rates.get(64):
        lines.append(
            f"Ratio, messages/s of gRPC per-message single stream 64 B "
            f"({rate:,.0f}) / Python multiprocessing.Queue 64 B "
            f"({baseline_rates[64]:,.0f}): {rate / baseline_rates[64]:.2f}x")
    for name in ("paced-50pct", "paced-50pct-batch"):
        paced = results.rows.get(name)
        if paced and not paced["status"] and paced.get("achieved_fraction"):
            lines.append(
                f"Paced ({name}): "
                f"{results.median(name, 'messages_per_second'):,.0f}"
                f" msgs/s = {paced['achieved_fraction']:.0%} of the peak "
                f"{paced['peak']:,.0f} msgs/s ({paced['peak_from']}); p99 "
                f"{fmt(results.median(name, 'p99_ms'))} ms")
    for key, name, alone, of in (
            ("grpc_floor", REFERENCE, "gRPC alone", "one stream"),
            ("grpc_floor_batched", "1x64B-batch", "gRPC alone, batched",
             f"one stream, MensajeBatch of {batch_size}")):
        floor = floors.get(key)
        rate, _ = results.measured(name)
        if not (floor and rate):
            continue
        callback = floor[("callback", "callback")]
        best = max(floor, key=floor.get)
        lines.append(
            f"{alone} (grpc_floor_benchmark, {of}, nothing on top): callback "
            f"server and client {callback:,.0f} msgs/s, best of the API pairs "
            f"{floor[best]:,.0f} ({best[0]} server, {best[1]} client); "
            f"{name} is {rate / callback:.0%} of the callback pair")
    if results.measured("1000x64B")[0]:
        lines.append(
            f"Threads at 1,000 streams (max sampled): consumer "
            f"{int(results.median('1000x64B', 'consumer_threads'))}, "
            f"producer {int(results.median('1000x64B', 'producer_threads'))}")
    return lines


# --------------------------------------------------------------------------
# Comparisons: each project row against each peer of its durability.

WHY = {
    FSYNC_PER_GROUP: "both acknowledge only after an fsync that covers the "
    "message: --log_sync=group fdatasyncs each group of appends before "
    "confirming; appendfsync always fsyncs the AOF before replying to each "
    "event loop's writes",
    KERNEL_FLUSH: "both acknowledge once the message is written to the "
    "kernel, and fsync later: --log_sync=none leaves it to writeback; "
    "JetStream 2.9's file store fsyncs every 2 min; appendfsync everysec "
    "once a second",
    MEMORY: "nothing on disk: raw TCP moves the same 64 B payloads over "
    "loopback with nothing on top, the ceiling",
}


def comparisons(results):
    """[{project, peer, durability, why, project_msgs_per_second,
    peer_msgs_per_second, ratio, result}] for every project row of 64 B
    (durable, or in memory on one stream) and peer row of its durability."""
    peers = [(name, row) for name, row in results.rows.items()
             if row["kind"] == "peer"]
    out = []
    for name, row in results.rows.items():
        d = row.get("describe")
        if (row["kind"] != "grpc" or d["payload"] != "64 B"
                or (d["log"] == "memory" and d["streams"] != 1)):
            continue
        for peer, peer_row in peers:
            if peer_row["describe"]["durability"] != d["durability"]:
                continue
            mine, why_not = results.measured(name)
            theirs, peer_why_not = results.measured(peer)
            ratio = mine / theirs if mine and theirs else None
            out.append({"project": name, "peer": peer,
                        "durability": d["durability"],
                        "why": WHY.get(d["durability"], ""),
                        "project_msgs_per_second": mine,
                        "peer_msgs_per_second": theirs, "ratio": ratio,
                        "result": f"{ratio:.2f}x" if ratio
                        else why_not or peer_why_not})
    return out


COMPARISON_COLUMNS = ["project row", "peer row", "durability",
                      "project msgs/s", "peer msgs/s", "ratio"]


def comparison_cells(rows):
    return [[c["project"], c["peer"], c["durability"],
             fmt(c["project_msgs_per_second"]),
             fmt(c["peer_msgs_per_second"]), c["result"]] for c in rows]


# --------------------------------------------------------------------------
# Targets: the issue's, each with its measurement.

# "At most the one-stream count plus a few" threads, at 1,000 streams.
FEW_THREADS = 4


def _best_peer(results, durability):
    """(msgs/s, name) of the fastest peer of `durability`, or (None, why)."""
    best, why = None, f"n/a (not run: no peer at {durability} selected)"
    for name, row in results.rows.items():
        if row["kind"] == "peer" and \
                row["describe"]["durability"] == durability:
            rate, why_not = results.measured(name)
            if rate is None:
                why = why if best else why_not
            elif best is None or rate > best[0]:
                best = (rate, name)
    return best or (None, why)


def _durable_row(results, rpc, durability):
    """The 1x64B durable row of `rpc` at `durability`, if one is selected
    (the -kernel rows, or the others at --log_sync=none, are kernel flush)."""
    for name in (f"1x64B{rpc}-durable", f"1x64B{rpc}-durable-kernel"):
        row = results.rows.get(name)
        if row and row["describe"]["durability"] == durability:
            return name
    return None


def _ratio(results, name, other, other_name=None):
    """(ratio, what it is, or why there is none) of name's msgs/s over
    `other`'s: a row name, or a (msgs/s, why there is none) pair."""
    mine, why_not = results.measured(name)
    if isinstance(other, str):
        theirs, other_why = results.measured(other)
        other_name = other
    else:
        theirs, other_why = other
    if mine is None or theirs is None:
        return None, why_not or other_why
    return mine / theirs, (f"{name} {fmt(mine)} / {other_name} {fmt(theirs)}"
                           f" msgs/s = {mine / theirs:.2f}x")


def _callback_floor(floors, key, what):
    """(msgs/s, None) of the callback server and client in floors[key], or
    (None, why there is none)."""
    callback = (floors.get(key) or {}).get(("callback", "callback"))
    return callback, None if callback else (
        f"n/a (not run: no grpc_floor_benchmark callback/callback rate "
        f"{what})")


def targets(results, args, floors):
    """[{name, target, measured, goal, result, detail}]; `floors`:
    grpc_floor_benchmark's {(server API, client API): msgs/s} by the --json
    key (grpc_harness.FLOORS)."""
    out = []

    def add(name, target, value, detail, goal, met):
        out.append({"name": name, "target": target, "measured": value,
                    "goal": goal, "detail": detail if value is not None
                    else "",
                    "result": detail if value is None
                    else ("met" if met(value) else "NOT met")})

    for rpc, label, factor in (("", "per-message", 2), ("-batch", "batched",
                                                        10)):
        for durability in (FSYNC_PER_GROUP, KERNEL_FLUSH):
            name = _durable_row(results, rpc, durability)
            best = _best_peer(results, durability)
            if name:
                value, detail = _ratio(results, name, best, best[1])
            else:
                value, detail = None, (f"n/a (not run: no 1x64B{rpc} durable "
                                       f"row at {durability} selected)")
            add(f"durable-{label}-vs-peers-{durability.replace(' ', '-')}",
                f"durable {label} vs the best peer at {durability}", value,
                detail, f">= {factor}x", lambda v, f=factor: v >= f)
    # The services are a callback server and a callback client.
    batched_floor = _callback_floor(floors, "grpc_floor_batched", "batched")
    value, detail = _ratio(results, "1x64B-batch", "raw-tcp")
    raw_tcp, _ = results.measured("raw-tcp")
    if value is not None and batched_floor[0] and raw_tcp:
        # Whether the goal is above what gRPC itself reaches.
        detail += (f"; gRPC alone batched: {batched_floor[0] / raw_tcp:.2f}x "
                   f"of raw-tcp")
    add("batched-memory-vs-raw-tcp", "batched in memory vs the raw-TCP "
        "ceiling", value, detail, ">= 0.5x", lambda v: v >= 0.5)
    value, detail = _ratio(results, "1x64B-batch", batched_floor,
                           "callback/callback batched floor")
    add("batched-memory-vs-grpc-floor", "batched in memory (1x64B-batch) vs "
        "gRPC's bare callback pair, batched", value, detail, ">= 0.95x",
        lambda v: v >= 0.95)
    for key, streams, name, goal in (
            ("grpc_floor", 1, REFERENCE, 0.95),
            ("grpc_floor_1000_streams", 1000, "1000x64B", 1)):
        value, detail = _ratio(
            results, name,
            _callback_floor(floors, key, f"at {streams} stream(s)"),
            f"callback/callback floor at {streams}")
        add(f"per-message-vs-grpc-floor-{streams}", f"per-message ({name}) "
            f"vs gRPC's bare callback pair at {streams} stream(s)", value,
            detail, f">= {goal}x", lambda v, g=goal: v >= g)
    value, detail = _ratio(results, "1x64B-batch-durable", "1x64B-batch")
    add("durable-batched-vs-memory-batched", "durable batched vs in-memory "
        "batched", value, detail, ">= 0.5x", lambda v: v >= 0.5)
    for name, label in (("paced-50pct", "per-message"),
                        ("paced-50pct-batch", "batched")):
        value, why_not = results.measured(name, "p99_ms")
        late, _ = results.measured(name, "probe_late_1ms_pct")
        # The machine's own floor under the target, measured meanwhile.
        probe = (f"; a thread sleeping 100 us beside it ran > 1 ms late "
                 f"{late:.2f} % of the time (max "
                 f"{fmt(results.median(name, 'probe_max_ms'))} ms)"
                 if late is not None else "")
        add(f"p99-{name}", f"p99 at {args.paced_fraction:.0%} of peak, "
            f"{label}", value,
            why_not or f"{name} p99 {fmt(value)} ms{probe}", "< 1 ms",
            lambda v: v < 1)
    for history in ("sigkill", "sigterm"):
        name = f"restart-{history}/100000000"
        value, why_not = results.measured(name, "serving_s")
        if name not in results.rows:
            why_not = (f"n/a (not run: restart-{history} at 100,000,000 "
                       f"messages not selected)")
        add(f"restart-{history}-100M", f"restart after 100M messages "
            f"({history.upper()})", value,
            why_not or f"{name} to serving {fmt(value)} s", "<= 1 s",
            lambda v: v <= 1)
    for name, one in (("1000x64B", REFERENCE),
                      ("1000x64B-batch", "1x64B-batch")):
        value, why_not = results.measured(name, "producer_rss_mib")
        add(f"producer-rss-{name}", f"producer peak RSS at 1,000 streams "
            f"({name})", value, why_not or f"{fmt(value)} MiB",
            "<= 128 MiB", lambda v: v <= 128)
        value, why_not = results.measured(name, "producer_threads")
        base, base_why = results.measured(one, "producer_threads")
        add(f"producer-threads-{name}", f"producer threads at 1,000 streams "
            f"({name}) vs one stream ({one})", value if base else None,
            why_not or base_why or f"{int(value)} vs {int(base)}",
            f"<= {one} + {FEW_THREADS}",
            lambda v, b=base: v <= (b or 0) + FEW_THREADS)
        value, why_not = results.measured(name, "consumer_rss_mib")
        add(f"consumer-rss-{name}", f"consumer peak RSS at 1,000 streams "
            f"({name})", value, why_not or f"{fmt(value)} MiB",
            "< 200 MiB", lambda v: v < 200)
    return out


TARGET_COLUMNS = ["target", "measured", "goal", "result"]


def target_cells(rows):
    return [[t["target"], t["detail"] or "-", t["goal"], t["result"]]
            for t in rows]
