#!/usr/bin/env python3
"""A/B of two builds of Baton, alternating for --rounds rounds so that both
see the same machine; prints each round and the medians.

--measure sync (default): what sync mode adds to a single-row relay write
(p50 sync - p50 async; --count writes, one client, a two-node one-database
cluster as bench/sync_latency.py builds it).

--measure lag: the standby's replication lag (commit on the holder → applied
on the standby, p50 and p99) at --rate transactions/s for --seconds, as
bench/failover.py measures it.

    python3 bench/sync_ab.py OLD_BATON NEW_BATON [--measure lag]
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
    parser.add_argument("--measure", choices=["sync", "lag"], default="sync")
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    if args.measure == "lag":
        return lag_ab(args)
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
