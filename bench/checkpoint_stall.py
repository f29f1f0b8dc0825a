#!/usr/bin/env python3
"""How long an app's own `PRAGMA wal_checkpoint(TRUNCATE)` waits while a
replicator runs: plain SQLite (nothing running), `baton replicate`, and
`litestream replicate` (0.5.17), side by side in one run. The app writes
small transactions and runs a TRUNCATE checkpoint every 100 of them with a
busy timeout of --busy-ms; the design target is at most ~100 ms of waiting
because of Baton (Litestream issue #724: the full busy timeout).
"""
import argparse
import datetime
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from run import create, litestream_binary, litestream_config, record, sh, wait_for  # noqa: E402


def app(db, checkpoints, busy_ms):
    con = sqlite3.connect(db, isolation_level=None, timeout=busy_ms / 1000)
    con.execute(f"PRAGMA busy_timeout={busy_ms}")
    waits, busy = [], 0
    for round_ in range(checkpoints):
        for i in range(100):
            con.execute("INSERT INTO t(v) VALUES (?)", (f"{round_}-{i}",))
        started = time.monotonic()
        result = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        waits.append((time.monotonic() - started) * 1000)
        busy += result[0]
        time.sleep(0.05)
    con.close()
    return waits, busy


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", type=int, default=40)
    parser.add_argument("--busy-ms", type=int, default=5000)
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"))
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    out = Path(args.out) / "stall"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sh("swift", "build", "-c", "release", cwd=ROOT, stdout=subprocess.DEVNULL)
    baton = ROOT / ".build" / "release" / "baton"
    litestream = litestream_binary(out.parent)
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    rows = []
    for mode in ("sqlite", "baton", "litestream"):
        work = out / mode
        work.mkdir()
        db, replica = work / "app.db", work / "replica"
        create(db)
        proc = None
        if mode == "baton":
            proc = subprocess.Popen([str(baton), "replicate", str(db), f"file://{replica}"],
                                    stdout=open(work / "log", "wb"), stderr=subprocess.STDOUT)
        elif mode == "litestream":
            litestream_config(work / "ls.yml", db, replica)
            proc = subprocess.Popen([str(litestream), "replicate", "-config", str(work / "ls.yml")], env=env,
                                    stdout=open(work / "log", "wb"), stderr=subprocess.STDOUT)
        if proc:
            wait_for(lambda: any(replica.rglob("*.ltx")), 30, f"{mode}'s first snapshot")
        waits, busy = app(db, args.checkpoints, args.busy_ms)
        if proc:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)
        waits.sort()
        rows.append((mode, statistics.median(waits), waits[int(len(waits) * 0.99) - 1], waits[-1], busy))
    lines = [f"## {datetime.date.today()} — app TRUNCATE checkpoints while replicating "
             f"({args.checkpoints} checkpoints, busy timeout {args.busy_ms} ms)", "",
             f"Command: `python3 bench/checkpoint_stall.py {' '.join(sys.argv[1:])}`", "",
             "| setup | median wait (ms) | p99 wait (ms) | max wait (ms) | checkpoints that returned busy |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for mode, median, p99, worst, busy in rows:
        lines.append(f"| {mode} | {median:.1f} | {p99:.1f} | {worst:.1f} | {busy} of {args.checkpoints} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.record:
        record(text)


if __name__ == "__main__":
    main()
