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
   relay API (sync p50 − async p50); in the group the write goes to one
   database but its answer waits for all four WALs to be read and confirmed,
   which is the group's cost. Four clusters run at once (one database async
   and sync, four databases async and sync) and one client writes to their
   holders in turn, write by write, so the four figures of a run are taken
   over the same seconds of the machine (measured one cluster after another,
   the run-to-run drift was larger than the difference being measured).

The target (issue 11): each group figure within 1.2× of the single-database
one. Results print as Markdown; --record appends them to bench/RESULTS.md.
"""
import argparse
import contextlib
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


def sync_added_interleaved(folder, count):
    """What sync mode adds to a relay write's p50 (ms), for one database and for
    the group, from four clusters running at once and written in turn."""
    configurations = [(label, mode, databases) for label, databases in (("one", None), ("four", RAILS))
                      for mode in ("async", "sync")]
    with contextlib.ExitStack() as stack:
        holders = [stack.enter_context(sync_latency.relay_cluster(mode, folder / f"{label}-{mode}", databases))[1]
                   for label, mode, databases in configurations]
        latencies = sync_latency.interleaved_relay_writes([holder.api_port for holder in holders], count)
    p50 = {(label, mode): percentile(values, 50) for (label, mode, _), values in zip(configurations, latencies)}
    return {label: p50[(label, "sync")] - p50[(label, "async")] for label in ("one", "four")}


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
            measured = [f"{key} {figures[key][-1]:.3f}" for key in ("crash", "handoff") if figures[key]]
            if measured:
                print(f"{label} run {run + 1}: " + ", ".join(measured), file=sys.stderr)
        if "sync" in args.only:
            added = sync_added_interleaved(folder / f"sync-{run}", args.count)
            for label, value in added.items():
                results[label]["sync"].append(value)
            print(f"run {run + 1}: sync adds {added['one']:.2f} ms (one), {added['four']:.2f} ms (four)",
                  file=sys.stderr)
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
handed over and failed over all the same); sync latency: {args.count} single-row relay INSERTs to each of four
clusters running at once (one and four databases, async and sync), one client writing to them in turn.
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
