#!/usr/bin/env python3
"""What encrypting the replica (age, `--age-identity`) costs, against the
same run without it: write throughput of one writer with `baton replicate`
beside it (plain SQLite alone as the base), and the snapshot and restore of
a large database, with `cp` of the same bytes as the floor. Rounds alternate
plain and encrypted. Results print as Markdown; --record appends them to
bench/RESULTS.md.
"""
import argparse
import datetime
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from run import big_database, count, create, record, sh, start_timed, stop_replicator, timed, wait_for, writer  # noqa: E402

BATON = None


def key(folder):
    path = folder / "key.txt"
    if not path.exists():
        sh("age-keygen", "-o", path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


def write_round(work, transactions, identity):
    """Transactions per second of the writer: alone, or with replicate (plain or encrypted)."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db, replica = work / "app.db", work / "replica"
    create(db)
    proc = None
    if identity is not False:
        extra = ["--age-identity", identity] if identity else []
        proc, pid = start_timed([BATON, "replicate", db, f"file://{replica}", *extra], work / "replicator.log")
        wait_for(lambda: any(replica.rglob("*.ltx")), 30, "the first snapshot")
    elapsed = writer(db, transactions)
    if proc:
        time.sleep(2)
        stop_replicator(proc, pid)
        restored = work / "restored.db"
        extra = ["--age-identity", identity] if identity else []
        sh(BATON, "restore", f"file://{replica}", "-o", restored, *extra, stdout=subprocess.DEVNULL)
        assert count(restored) == transactions
    return transactions / elapsed


def restore_round(work, db, identity, tag):
    replica = work / f"replica-{tag}"
    shutil.rmtree(replica, ignore_errors=True)
    extra = ["--age-identity", identity] if identity else []
    snapshot, _ = timed([BATON, "replicate", db, f"file://{replica}", "--once", *extra],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = work / f"restored-{tag}.db"
    out.unlink(missing_ok=True)
    sh("sync")
    restore, _ = timed([BATON, "restore", f"file://{replica}", "-o", out, "--force", *extra],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    copy = work / f"copy-{tag}"
    shutil.rmtree(copy, ignore_errors=True)
    sh("sync")
    cp, _ = timed(["cp", "-r", replica, copy], stdout=subprocess.DEVNULL)
    return snapshot, restore, cp


def main():
    global BATON
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=20000)
    parser.add_argument("--restore-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baton", default=str(ROOT / ".build" / "debug" / "baton"))
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    args = parser.parse_args()
    BATON = args.baton
    rates = {"sqlite": [], "plain": [], "age": []}
    steps = {"plain": [], "age": []}
    with tempfile.TemporaryDirectory(prefix="baton-age-bench-") as temporary:
        work = Path(temporary)
        identity = key(work)
        for round_ in range(args.rounds):
            for name, setting in (("sqlite", False), ("plain", None), ("age", identity)):
                rates[name].append(write_round(work / f"write-{name}", args.transactions, setting))
            print(f"write round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in rates.items()),
                  file=sys.stderr)
        db = big_database(work, args.restore_mib)
        size = db.stat().st_size
        for round_ in range(args.rounds):
            for name, setting in (("plain", None), ("age", identity)):
                steps[name].append(restore_round(work, db, setting, name))
            print(f"restore round {round_ + 1}: plain {steps['plain'][-1]}, age {steps['age'][-1]}", file=sys.stderr)
    base = statistics.median(rates["sqlite"])
    plain_rate, age_rate = statistics.median(rates["plain"]), statistics.median(rates["age"])
    medians = {name: [statistics.median(step[i] for step in steps[name]) for i in range(3)] for name in steps}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    text = f"""## Encryption cost (age) ({datetime.date.today()}, {platform.machine()}, 2 cores)

`python bench/encryption_cost.py --transactions {args.transactions} --restore-mib {args.restore_mib} --rounds {args.rounds}`
(`--baton {Path(args.baton).relative_to(ROOT) if Path(args.baton).is_relative_to(ROOT) else args.baton}`) — medians of
{args.rounds} alternating rounds, file:// store on the same disk.

| writer ({args.transactions:,} single-row commits) | transactions/s | ratio to plain SQLite |
| --- | ---: | ---: |
| plain SQLite | {base:,.0f} | 1.00 |
| with baton replicate | {plain_rate:,.0f} | {plain_rate / base:.2f} |
| with baton replicate --age-identity | {age_rate:,.0f} | {age_rate / base:.2f} |

| {size / 2**20:.0f} MiB database | snapshot s | restore s | cp of the replica s | restore speed vs cp (cp s / restore s) |
| --- | ---: | ---: | ---: | ---: |
| plain | {medians['plain'][0]:.2f} | {medians['plain'][1]:.2f} | {medians['plain'][2]:.2f} | {medians['plain'][2] / medians['plain'][1]:.2f}× |
| age | {medians['age'][0]:.2f} | {medians['age'][1]:.2f} | {medians['age'][2]:.2f} | {medians['age'][2] / medians['age'][1]:.2f}× |

Encrypted / plain: write rate {age_rate / plain_rate:.2f}×, snapshot {medians['age'][0] / medians['plain'][0]:.2f}×,
restore {medians['age'][1] / medians['plain'][1]:.2f}× the time. Binary at {commit.strip()}.
"""
    print(text)
    if args.record:
        record(text)


if __name__ == "__main__":
    main()
