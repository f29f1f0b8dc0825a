#!/usr/bin/env python3
"""Database groups: does holding four databases under one baton cost more
than holding one? In the same run, a two-node cluster with a group of one
database and one with a Rails-8-shaped group of four (production, cache,
queue, cable), each measured the same way:

The demo app writes the first database only in both cases, so the figures
differ by what Baton does for the other three, not by the app's own work.

1. crash failover: kill -9 of the holder → first write acknowledged by the new
   holder (as bench/failover.py, lease TTL --ttl);
2. hand-over: `baton handoff` duration under a client load through both
   proxies, --handoffs times back and forth in each run's cluster;
3. sync mode: what `replication: sync` adds to a single-row INSERT through the
   relay API (sync p50 − async p50, as bench/sync_latency.py); in the group
   the write goes to one database but its answer waits for all four WALs to
   be read and confirmed, which is the group's cost.

The target (issue 11): each group figure within 1.2× of the single-database
one. Results print as Markdown; --record appends them to bench/RESULTS.md.
"""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from failover import app_on_first_database, crash_failover, holder_and_standby, percentile  # noqa: E402
from cluster import Cluster, Load  # noqa: E402
from conftest import BATON  # noqa: E402
from run import record  # noqa: E402
import sync_latency  # noqa: E402

RAILS = ["production", "production_cache", "production_queue", "production_cable"]


def handoffs(root, ttl, databases, count):
    """`baton handoff` durations (s), `count` hand-overs back and forth under a client load."""
    cluster = Cluster(root, f"file://{root}/replica", ttl=ttl, databases=databases)
    if databases:
        app_on_first_database(cluster)
    cluster.start()
    load = None
    try:
        durations = []
        for index in range(count):
            holder, standby = holder_and_standby(cluster)
            load = Load([holder.proxy, standby.proxy], threads=4, prefix=f"h{index}")
            load.start()
            time.sleep(1)
            started = time.monotonic()
            subprocess.run([BATON, "handoff", "--node", holder.api], check=True, capture_output=True, timeout=120)
            durations.append(time.monotonic() - started)
            load.stop()
            if load.failures:
                raise RuntimeError(f"failed requests during a hand-over: {load.failures[:3]}")
            load = None
        return durations
    finally:
        if load:
            load.stop()
        cluster.stop()


def measure(folder, args):
    """Runs each measure for one database and for the group of four, alternating, so
    that anything else the machine does affects both alike; medians per label."""
    results = {label: {"crash": [], "handoff": [], "sync": []} for label in ("one", "four")}
    for run in range(args.runs):
        for label, databases in (("one", None), ("four", RAILS)):
            figures = results[label]
            if "crash" in args.only:
                figures["crash"].append(crash_failover(folder / f"{label}-crash-{run}", args.ttl, databases))
            if "handoff" in args.only:
                figures["handoff"] += handoffs(folder / f"{label}-handoff-{run}", args.ttl, databases, args.handoffs)
            if "sync" in args.only:
                relay_async, _ = sync_latency.baton("async", folder / f"{label}-async-{run}", args.count, 1, databases)
                relay_sync, _ = sync_latency.baton("sync", folder / f"{label}-sync-{run}", args.count, 1, databases)
                figures["sync"].append(percentile(relay_sync, 50) - percentile(relay_async, 50))
            print(f"{label} run {run + 1}: " + ", ".join(f"{key} {values[-1]:.3f}" for key, values in figures.items()
                                                          if values), file=sys.stderr)
    return {label: {key: statistics.median(values) for key, values in figures.items() if values}
            for label, figures in results.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ttl", default="5s")
    parser.add_argument("--count", type=int, default=400, help="relay writes per sync-latency run")
    parser.add_argument("--handoffs", type=int, default=5, help="hand-overs per run")
    parser.add_argument("--only", default="crash,handoff,sync",
                        help="which measures, comma-separated (crash, handoff, sync)")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="baton-group-") as folder:
        results = measure(Path(folder), args)
    one, four = results["one"], results["four"]

    def row(name, key, unit, fmt):
        if key not in one:
            return f"| {name} | not measured | | | |"
        ratio = four[key] / one[key] if one[key] > 0 else float("nan")
        verdict = "yes" if ratio <= 1.2 else "no"
        return f"| {name} | {fmt.format(one[key] * unit)} | {fmt.format(four[key] * unit)} | {ratio:.2f}× | {verdict} |"

    command = " ".join(["python3", "bench/group.py"] + sys.argv[1:])
    if os.environ.get("BATON_BIN"):
        command = f"BATON_BIN={os.environ['BATON_BIN']} {command}"
    text = f"""## {datetime.date.today()} — database groups: four databases vs one ({platform.machine()}, median of {args.runs} runs)

Two `baton node` processes on loopback, file:// store, lease TTL {args.ttl}, the demo app writing the first
database only (the app's work is the same in both columns; the other three databases are held, streamed,
handed over and failed over all the same); sync latency: {args.count} single-row relay INSERTs, one client.
Runs alternate between one database and four, so both see the same machine.

Command: `{command}`

| measure | one database | group of four | ratio | within 1.2× |
| --- | ---: | ---: | ---: | --- |
{row("crash failover: kill -9 → first write on the new holder (s)", "crash", 1, "{:.2f}")}
{row(f"hand-over: `baton handoff` duration (s; median of {args.runs * args.handoffs})", "handoff", 1, "{:.3f}")}
{row("sync mode: added to a write's p50 (ms)", "sync", 1, "{:.2f}")}
"""
    print(text)
    if args.record:
        record(text)


if __name__ == "__main__":
    main()
