#!/usr/bin/env python3
"""HA benchmark: crash-failover time, hand-over time and replication lag of a
two-node Baton cluster (real `baton node` processes on loopback, file://
store, the demo counter app), over repeated runs.

1. Crash failover: a client writes through the standby's proxy; the holder's
   node is killed (-9, its app dies with it); the time from the kill to the
   first write acknowledged by the new holder. Lease TTL --ttl (default 10 s,
   the same as LiteFS's default Consul TTL).
2. Hand-over: `baton handoff` under the same client load; the time the
   command takes, the longest client request during it, and failed requests.
3. Replication lag at a steady --rate transactions/s (default 1,000) written
   straight into the holder's database: for each transaction, the time from
   its commit to the standby reporting it applied (polled every 2 ms).

The peers' figures are their documented defaults (no LiteFS or Patroni
cluster runs here): LiteFS with Consul leases, TTL 10 s + lock delay 1 s,
so a crash is noticed after up to ~11 s; Patroni, ttl 30 s (loop_wait 10 s).
Results print as Markdown; --record appends them to bench/RESULTS.md.
"""
import argparse
import datetime
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "integration"))

from cluster import Cluster, Load, http  # noqa: E402
from conftest import BATON  # noqa: E402
from run import record  # noqa: E402


def holder_and_standby(cluster):
    holder = cluster.holder(timeout=60)
    standby = cluster["b" if holder.name == "a" else "a"]
    cluster.wait_streaming(standby)
    return holder, standby


def app_on_first_database(cluster):
    """Has each node's demo app write only the group's first database, so that a group's
    figures differ from a single database's by what Baton does, not by the app's work."""
    for member in cluster.members:
        member.app_command += f" --db '{member.db}'"


def crash_failover(root, ttl, databases=None):
    cluster = Cluster(root, f"file://{root}/replica", ttl=ttl, databases=databases)
    if databases:
        app_on_first_database(cluster)
    cluster.start()
    load = None
    try:
        holder, standby = holder_and_standby(cluster)
        load = Load([standby.proxy], threads=2)
        load.start()
        time.sleep(2)
        killed = time.monotonic()
        holder.kill()
        cluster.holder(among=[standby], timeout=120)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with load.lock:
                new = [r for _, e, _, r in load.acks if e > 1]
            if new:
                return min(new) - killed
            time.sleep(0.01)
        raise RuntimeError("no write reached the new holder")
    finally:
        if load:
            load.stop()
        cluster.stop()


def handoff(root, ttl, databases=None):
    cluster = Cluster(root, f"file://{root}/replica", ttl=ttl, databases=databases)
    cluster.start()
    load = None
    try:
        holder, standby = holder_and_standby(cluster)
        load = Load([holder.proxy, standby.proxy], threads=4)
        load.start()
        time.sleep(2)
        started = time.monotonic()
        subprocess.run([BATON, "handoff", "--node", holder.api], check=True, capture_output=True, timeout=120)
        command = time.monotonic() - started
        time.sleep(1)
        load.stop()
        during = [r - s for _, _, s, r in load.acks if r >= started and s <= started + command + 0.5]
        return command, max(during), len(load.failures)
    finally:
        if load:
            load.stop()
        cluster.stop()


def lag(root, ttl, rate, seconds):
    cluster = Cluster(root, f"file://{root}/replica", ttl=ttl)
    cluster.start()
    try:
        holder, standby = holder_and_standby(cluster)
        connection = sqlite3.connect(holder.db, isolation_level=None, timeout=30)
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("CREATE TABLE IF NOT EXISTS bench(id INTEGER PRIMARY KEY, v BLOB)")
        cluster.wait_caught_up(standby, holder)
        base = standby.status()["txid"]
        samples = []  # (time, txid applied on the standby)
        stop = threading.Event()

        def poll():
            while not stop.is_set():
                status = standby.status()
                if status and status.get("txid") is not None:
                    samples.append((time.monotonic(), status["txid"]))
                time.sleep(0.002)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        commits = []
        count = int(rate * seconds)
        start = time.monotonic()
        for i in range(count):
            due = start + i / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            connection.execute("INSERT INTO bench(v) VALUES (randomblob(100))")
            commits.append(time.monotonic())
        achieved = count / (time.monotonic() - start)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not samples or samples[-1][1] < base + count):
            time.sleep(0.05)
        stop.set()
        poller.join()
        connection.close()
        lags = []
        position = 0
        for i, committed in enumerate(commits):
            target = base + i + 1
            while position < len(samples) and samples[position][1] < target:
                position += 1
            if position == len(samples):
                break
            lags.append(max(0.0, samples[position][0] - committed))
        if len(lags) < count:
            raise RuntimeError(f"only {len(lags)} of {count} transactions reached the standby")
        return achieved, lags
    finally:
        cluster.stop()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ttl", default="10s")
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()

    crashes, handoffs = [], []
    with tempfile.TemporaryDirectory(prefix="baton-failover-") as folder:
        for run in range(args.runs):
            crashes.append(crash_failover(Path(folder) / f"crash-{run}", args.ttl))
            print(f"crash run {run + 1}: {crashes[-1]:.2f} s", file=sys.stderr)
            handoffs.append(handoff(Path(folder) / f"handoff-{run}", args.ttl))
            print(f"hand-over run {run + 1}: {handoffs[-1]}", file=sys.stderr)
        achieved, lags = lag(Path(folder) / "lag", args.ttl, args.rate, args.seconds)

    def spread(values, unit=1.0, fmt="{:.2f}"):
        return " / ".join(fmt.format(v * unit) for v in (min(values), statistics.median(values), max(values)))

    command = " ".join(["python3", "bench/failover.py"] + sys.argv[1:])
    if os.environ.get("BATON_BIN"):
        command = f"BATON_BIN={os.environ['BATON_BIN']} {command}"
    text = f"""## {datetime.date.today()} — HA: failover, hand-over, replication lag ({platform.machine()}, {args.runs} runs each)

Two `baton node` processes on loopback, file:// store, lease TTL {args.ttl}, the demo counter app.

Command: `{command}`

| measure | min / median / max | peers' documented defaults |
| --- | ---: | --- |
| crash failover: kill -9 of the holder → first write acknowledged by the new holder (s) | {spread(crashes)} | LiteFS (Consul): TTL 10 s + lock delay 1 s ≈ 11 s; Patroni: ttl 30 s |
| hand-over: `baton handoff` duration (s) | {spread([h[0] for h in handoffs])} | - |
| hand-over: longest client request during it (ms) | {spread([h[1] for h in handoffs], 1000, "{:.0f}")} | |
| hand-over: failed client requests | {sum(h[2] for h in handoffs)} in total | |

Ratio to LiteFS's ~11 s crash detection: {statistics.median(crashes) / 11:.2f}; to Patroni's 30 s TTL: {statistics.median(crashes) / 30:.2f}.

Replication lag to the standby at {achieved:,.0f} transactions/s for {args.seconds:g} s (commit on the holder → applied on the standby, polled every 2 ms): p50 {percentile(lags, 50) * 1000:.1f} ms, p99 {percentile(lags, 99) * 1000:.1f} ms, max {max(lags) * 1000:.1f} ms.
"""
    print(text)
    if args.record:
        record(text)


if __name__ == "__main__":
    main()
