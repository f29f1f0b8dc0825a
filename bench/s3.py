#!/usr/bin/env python3
"""Baton and Litestream 0.5.17 replicating to the same S3-compatible server
(moto on loopback) on the same workload, side by side in one run.

A counting proxy (Tests/integration/s3support.py, no faults) sits in front of
the server, so both tools' store requests and uploaded bytes are counted the
same way. Reports requests per 1,000 transactions, bytes uploaded, write
throughput against plain SQLite, and restore time.
"""
import argparse
import datetime
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "integration"))
sys.path.insert(0, str(ROOT / "bench"))
from s3support import FaultProxy, Moto  # noqa: E402
from run import count, create, litestream_binary, record, sh, wait_for, writer  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=10000)
    parser.add_argument("--paced-seconds", type=float, default=20,
                        help="second phase: the same number of transactions spread over this long, to count requests")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"))
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    out = Path(args.out) / "s3"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sh("swift", "build", "-c", "release", cwd=ROOT, stdout=subprocess.DEVNULL)
    baton = ROOT / ".build" / "release" / "baton"
    litestream = litestream_binary(out.parent)
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")

    moto = Moto(out / "moto.log")
    moto.create_bucket("bench")
    rows = []
    try:
        for mode in ("sqlite", "baton", "litestream"):
            work = out / mode
            work.mkdir()
            db = work / "app.db"
            create(db)
            proxy = FaultProxy(moto.port)
            proc = None
            url = f"s3://bench/{mode}?endpoint={proxy.endpoint}&region=us-east-1"
            config = work / "ls.yml"
            config.write_text(
                f"dbs:\n  - path: {db}\n    replica:\n      type: s3\n      bucket: bench\n      path: {mode}\n"
                f"      endpoint: {proxy.endpoint}\n      region: us-east-1\n      force-path-style: true\n"
                "      access-key-id: testing\n      secret-access-key: testing\n")
            if mode == "baton":
                proc = subprocess.Popen([str(baton), "replicate", str(db), url], env=env,
                                        stdout=open(work / "log", "wb"), stderr=subprocess.STDOUT)
            elif mode == "litestream":
                proc = subprocess.Popen([str(litestream), "replicate", "-config", str(config)], env=env,
                                        stdout=open(work / "log", "wb"), stderr=subprocess.STDOUT)
            if proc:
                wait_for(lambda: any(mode in key for key in moto.keys("bench", mode)), 60, f"{mode}'s first upload")
            elapsed = writer(db, args.transactions)
            before = proxy.count(), proxy.bytes_up
            writer(db, args.transactions, pause=args.paced_seconds / args.transactions, first=args.transactions)
            restore_seconds = None
            if proc:
                time.sleep(3)
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=120)
                requests, uploaded = proxy.count() - before[0], proxy.bytes_up - before[1]
                started = time.monotonic()
                if mode == "baton":
                    sh(baton, "restore", url, "-o", work / "restored.db", env=env, stdout=subprocess.DEVNULL)
                else:
                    sh(litestream, "restore", "-config", config, "-o", work / "restored.db", db, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                restore_seconds = time.monotonic() - started
                assert count(work / "restored.db") == 2 * args.transactions
            else:
                requests = uploaded = None
            proxy.stop()
            rows.append((mode, args.transactions / elapsed, requests, uploaded, restore_seconds))
    finally:
        moto.stop()
    base = rows[0][1]
    lines = [f"## {datetime.date.today()} — S3 (moto on loopback), {args.transactions:,} single-row transactions", "",
             "Throughput: the transactions as fast as one writer goes. Requests and bytes: the same number again, "
             f"spread over {args.paced_seconds:.0f} s (a steady app), counted by a proxy in front of the server. "
             "Restore: all of it.", "",
             f"Command: `python3 bench/s3.py {' '.join(sys.argv[1:])}`", "",
             "| setup | transactions/s | ratio to plain SQLite | store requests per 1,000 transactions | bytes uploaded | restore seconds |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for mode, rate, requests, uploaded, restore in rows:
        per = f"{requests * 1000 / args.transactions:.1f}" if requests is not None else "-"
        lines.append(f"| {mode} | {rate:,.0f} | {rate / base:.2f} | {per} | "
                     f"{f'{uploaded / 2**20:.2f} MiB' if uploaded is not None else '-'} | "
                     f"{f'{restore:.2f}' if restore is not None else '-'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.record:
        record(text)


if __name__ == "__main__":
    main()
