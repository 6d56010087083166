#!/usr/bin/env python3
"""Draws a benchmark run's results as one PNG, from the harness's --json.

Two panels: throughput per row (the project's scenarios beside the peers
and the Python baseline, medians, log scale), and the project's end-to-end
latency percentiles (p50, p99, p99.9) per scenario. The harness calls
draw() itself with --chart; by hand:

    python3 benchmarks/chart.py RESULTS.json benchmarks/results.png

Needs matplotlib (Debian's python3-matplotlib, which
benchmarks/install_peers.sh installs); the harness says so in one line
when it is missing instead of drawing.
"""

import json
import statistics
import sys

# Row kinds, as the harness's --json names them, and how they are drawn.
KIND_STYLE = {
    "grpc": ("this project", "tab:blue"),
    "paced": ("this project, paced", "tab:cyan"),
    "peer": ("peers", "tab:orange"),
    "baseline": ("Python multiprocessing.Queue", "tab:gray"),
}
PERCENTILES = (("p50_ms", "p50"), ("p99_ms", "p99"), ("p999_ms", "p99.9"))


def available():
    """Whether matplotlib can be imported; a reason string if not."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return ("python3-matplotlib is not installed: run "
                "benchmarks/install_peers.sh")
    return None


def median(row, key):
    values = [run[key] for run in row.get("runs", [])
              if run.get(key) is not None]
    return statistics.median(values) if values else None


def throughput_rows(rows):
    """(label, msgs/s, kind) of every row with a rate, slowest first: the
    order barh draws bottom to top."""
    out = []
    for name, row in rows.items():
        rate = median(row, "messages_per_second")
        if rate and row.get("kind") in KIND_STYLE:
            out.append((name, rate, row["kind"]))
    return sorted(out, key=lambda item: item[1])


def latency_rows(rows):
    """(label, [p50, p99, p99.9]) of the project's rows that have them."""
    out = []
    for name, row in rows.items():
        if row.get("kind") not in ("grpc", "paced"):
            continue
        values = [median(row, key) for key, _ in PERCENTILES]
        if all(value is not None and value > 0 for value in values):
            out.append((name, values))
    return out


def draw(results, path, title):
    """Writes the chart of `results` (the --json dict) to `path`."""
    import matplotlib
    matplotlib.use("Agg")  # no display: write the file only
    import matplotlib.pyplot as plt

    rates = throughput_rows(results["rows"])
    latencies = latency_rows(results["rows"])
    if not rates:
        raise ValueError("no row has a measured rate to draw")
    height = max(4.0, 0.32 * max(len(rates), len(latencies)) + 1.5)
    figure, (left, right) = plt.subplots(1, 2, figsize=(15, height))

    left.barh([label for label, _, _ in rates],
              [rate for _, rate, _ in rates],
              color=[KIND_STYLE[kind][1] for _, _, kind in rates])
    left.set_xscale("log")
    left.set_xlabel("messages/s (median, log scale)")
    left.set_title("Throughput, 64 B messages unless the name says")
    for y, (_, rate, _) in enumerate(rates):
        left.text(rate, y, f" {rate / 1e6:.2f} M", va="center", fontsize=7)
    kinds = {kind for _, _, kind in rates}
    left.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=color)
                         for kind, (_, color) in KIND_STYLE.items()
                         if kind in kinds],
                labels=[label for kind, (label, _) in KIND_STYLE.items()
                        if kind in kinds],
                loc="lower right", fontsize=8)

    if latencies:
        bar = 0.27
        for i, (_, name) in enumerate(PERCENTILES):
            right.barh([y + (i - 1) * bar for y in range(len(latencies))],
                       [values[i] for _, values in latencies], height=bar,
                       label=name)
        right.set_yticks(range(len(latencies)))
        right.set_yticklabels([label for label, _ in latencies])
        right.set_xscale("log")
        right.axvline(1.0, color="red", linewidth=0.8, linestyle="--")
        right.set_xlabel("end-to-end latency, ms (median of runs, log "
                         "scale; dashed: 1 ms)")
        right.set_title("Latency: created_at to accepted by the consumer")
        right.legend(fontsize=8)
    else:
        right.set_axis_off()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv):
    if len(argv) != 3:
        print("usage: chart.py RESULTS.json OUT.png", file=sys.stderr)
        return 2
    reason = available()
    if reason:
        print(f"chart.py: {reason}", file=sys.stderr)
        return 1
    with open(argv[1]) as source:
        results = json.load(source)
    draw(results, argv[2], results.get("title", "Benchmark run"))
    print(f"chart.py: wrote {argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
