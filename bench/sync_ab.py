#!/usr/bin/env python3
"""A/B of two builds of Baton, alternating for --rounds rounds so that both
see the same machine; prints each round and the medians.

--measure sync (default): what sync mode adds to a single-row relay write
(p50 sync - p50 async; --count writes, one client, a two-node one-database
cluster as bench/sync_latency.py builds it).

--measure sync-paired: the same figure, but each round runs four clusters at
once (each build async and sync) and one client writes to them in turn, write
by write, so both builds are measured over the same seconds of the machine
(the plain measure's run-to-run drift is often larger than the difference).

--measure lag: the standby's replication lag (commit on the holder → applied
on the standby, p50 and p99) at --rate transactions/s for --seconds, as
bench/failover.py measures it.

    python3 bench/sync_ab.py OLD_BATON NEW_BATON [--measure sync-paired|lag]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# One measurement in a fresh interpreter: conftest reads BATON_BIN when it is imported.
MEASURE = r'''
import json, sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
import sync_latency
from failover import percentile
with tempfile.TemporaryDirectory() as root:
    a, _ = sync_latency.baton("async", Path(root) / "a", int(sys.argv[3]), 1, None)
    s, _ = sync_latency.baton("sync", Path(root) / "s", int(sys.argv[3]), 1, None)
print(json.dumps([percentile(a, 50), percentile(s, 50)]))
'''

MEASURE_LAG = r'''
import json, sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
from failover import lag, percentile
with tempfile.TemporaryDirectory() as root:
    _, lags = lag(Path(root), "10s", float(sys.argv[3]), float(sys.argv[4]))
print(json.dumps([percentile(lags, 50) * 1000, percentile(lags, 99) * 1000]))
'''


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binaries", nargs=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--measure", choices=["sync", "sync-paired", "lag"], default="sync")
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    if args.measure == "lag":
        return lag_ab(args)
    if args.measure == "sync-paired":
        return paired_ab(args)
    added = {binary: [] for binary in args.binaries}
    for _ in range(args.rounds):
        for binary in args.binaries:
            out = subprocess.run(
                [sys.executable, "-c", MEASURE, str(HERE), str(HERE.parent / "Tests" / "integration"), str(args.count)],
                env={**os.environ, "BATON_BIN": binary}, capture_output=True, text=True, timeout=900, check=True)
            relay_async, relay_sync = json.loads(out.stdout.strip().splitlines()[-1])
            added[binary].append(relay_sync - relay_async)
            print(f"{binary}: async p50 {relay_async:.2f} ms, sync p50 {relay_sync:.2f} ms, "
                  f"sync adds {relay_sync - relay_async:.2f} ms", flush=True)
    for binary, values in added.items():
        print(f"{binary}: sync adds {statistics.median(values):.2f} ms (median of {len(values)})")


MEASURE_PAIRED = r'''
import contextlib, json, sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
import sync_latency
from failover import percentile
binaries, count = sys.argv[3:5], int(sys.argv[5])
configurations = [(binary, mode) for binary in binaries for mode in ("async", "sync")]
with tempfile.TemporaryDirectory() as root, contextlib.ExitStack() as stack:
    holders = [stack.enter_context(sync_latency.relay_cluster(mode, Path(root) / f"{index}-{mode}", binary=binary))[1]
               for index, (binary, mode) in enumerate(configurations)]
    latencies = sync_latency.interleaved_relay_writes([holder.api_port for holder in holders], count)
print(json.dumps([percentile(values, 50) for values in latencies]))
'''


def paired_ab(args):
    added = {binary: [] for binary in args.binaries}
    for _ in range(args.rounds):
        out = subprocess.run(
            [sys.executable, "-c", MEASURE_PAIRED, str(HERE), str(HERE.parent / "Tests" / "integration"),
             *args.binaries, str(args.count)],
            capture_output=True, text=True, timeout=900, check=True)
        p50 = json.loads(out.stdout.strip().splitlines()[-1])
        for index, binary in enumerate(args.binaries):
            relay_async, relay_sync = p50[2 * index], p50[2 * index + 1]
            added[binary].append(relay_sync - relay_async)
            print(f"{binary}: async p50 {relay_async:.2f} ms, sync p50 {relay_sync:.2f} ms, "
                  f"sync adds {relay_sync - relay_async:.2f} ms", flush=True)
    for binary, values in added.items():
        print(f"{binary}: sync adds {statistics.median(values):.2f} ms (median of {len(values)}, paired rounds)")


def lag_ab(args):
    figures = {binary: [] for binary in args.binaries}
    for _ in range(args.rounds):
        for binary in args.binaries:
            out = subprocess.run(
                [sys.executable, "-c", MEASURE_LAG, str(HERE), str(HERE.parent / "Tests" / "integration"),
                 str(args.rate), str(args.seconds)],
                env={**os.environ, "BATON_BIN": binary}, capture_output=True, text=True, timeout=900, check=True)
            p50, p99 = json.loads(out.stdout.strip().splitlines()[-1])
            figures[binary].append((p50, p99))
            print(f"{binary}: lag p50 {p50:.1f} ms, p99 {p99:.1f} ms", flush=True)
    for binary, values in figures.items():
        print(f"{binary}: lag p50 {statistics.median(v[0] for v in values):.1f} ms, "
              f"p99 {statistics.median(v[1] for v in values):.1f} ms (medians of {len(values)})")


if __name__ == "__main__":
    main()
