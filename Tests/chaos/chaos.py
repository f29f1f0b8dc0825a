#!/usr/bin/env python3
"""A chaos run: two `baton node` processes in zero-loss mode (`replication:
sync`) on an S3-compatible store (moto), four clients writing through both
front proxies, a reader checking reads of acknowledged writes through the
relay API (reads.py), and faults injected one after another at random
(faults.py). As root the run is isolated: each node in a network namespace
(network.py) for partitions, its wall clock under libfaketime, its data on a
tmpfs of its own, the store's clock skewed. Every request is recorded;
afterwards the cluster is healed and stopped, each node's database and a
restore from the store are read, and checker.py decides: no acknowledged
write lost, never two writers, no stale read, every copy equal and intact,
and the cluster whole again within TTL + 10 s after every fault.

    scripts/chaos [--minutes N] [--seed S] [--faults a,b] [--keep DIR] [--record] [--loopback]

Exits 0 when no violation was found; prints a summary (and with --record
appends it to bench/CHAOS.md). The history (history.jsonl), the fault log
(faults.jsonl) and the nodes' logs stay in --keep DIR when given.
"""
import argparse
import datetime
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "Tests" / "integration"))

import checker  # noqa: E402
import faults  # noqa: E402
import network as networks  # noqa: E402
import reads as readers  # noqa: E402
from cluster import Cluster, Load  # noqa: E402
from conftest import BATON  # noqa: E402
from s3support import Moto  # noqa: E402


def history(load):
    """Every request the load's clients made, as the checker reads it."""
    entries = [{"key": key, "sent": sent, "received": received, "status": 200, "epoch": int(epoch),
                "at": load.committed_at[key] * 1000} for key, epoch, sent, received in load.acks]
    entries += [{"key": key, "sent": sent, "received": received, "status": status, "error": text}
                for key, status, text, sent, received in load.failures]
    return sorted(entries, key=lambda entry: entry["sent"])


def whole(cluster):
    """One node answers /primary and every other /replica (streaming)."""
    holders = [member for member in cluster.members if member.get("/primary") == 200]
    if len(holders) != 1:
        return False
    return all(member.get("/replica") == 200 for member in cluster.members if member is not holders[0])


def seconds_until_whole(cluster, timeout):
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if whole(cluster):
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def backtrace(pid, path):
    """Every thread's stack of a process that hangs (gdb), for the report."""
    try:
        out = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt"], capture_output=True,
                             text=True, timeout=120)
        path.write_text(out.stdout + out.stderr)
    except (OSError, subprocess.TimeoutExpired) as error:
        path.write_text(f"no backtrace: {error}")


def rows(path):
    """(id, key, epoch) of every row, in id order."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return [(row_id, key, int(epoch)) for row_id, key, epoch in
                db.execute("SELECT id, key, epoch FROM writes ORDER BY id")]


def restore_points(store, folder, rng, count=5):
    """Restores of the store at up to `count` random earlier transactions
    (ends of its files; one a deposed holder wrote is refused and another
    tried): name -> path of the restored file."""
    listed = subprocess.run([BATON, "ls", store, "--json"], check=True, capture_output=True, text=True, timeout=300)
    ends = sorted({entry["maxTXID"] for entry in json.loads(listed.stdout)})
    rng.shuffle(ends)
    points = {}
    for txid in ends[:4 * count]:
        path = folder / f"restored-at-{txid}.db"
        done = subprocess.run([BATON, "restore", store, "-o", str(path), "--txid", str(txid)], capture_output=True,
                              text=True, timeout=600)
        if done.returncode != 0:
            if "no file in the replica ends at transaction" in done.stderr:
                continue
            raise RuntimeError(f"restore at transaction {txid} failed: {done.stderr.strip()}")
        points[f"restore at transaction {txid}"] = path
        if len(points) == count:
            break
    return points


def integrity(path):
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def faked_clock(path, offset):
    """The environment that puts a process's wall clock under libfaketime,
    offset by what `path` says (re-read once a second); monotonic clocks stay true."""
    path.write_text(f"{offset:+.0f}\n")
    return {"LD_PRELOAD": networks.libfaketime(), "FAKETIME_TIMESTAMP_FILE": str(path), "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "FAKETIME_CACHE_DURATION": "1"}


def run(minutes, seed, fault_names, folder, ttl_seconds=10, interval=(5, 15), isolated=False, every=None):
    """One chaos run in `folder`; returns (verdict, report lines). `isolated`
    (root): each node in a network namespace of its own, its wall clock under
    libfaketime and its data on a tmpfs; the store's clock skewed."""
    network = networks.Network(["a", "b"]).open() if isolated else None
    mounts = []
    try:
        return run_in(network, mounts, minutes, seed, fault_names, folder, ttl_seconds, interval, every)
    finally:
        for mount in mounts:
            # The copies (diverged ones, unconfirmed files, standby records) outlive the tmpfs, for diagnosis.
            try:
                shutil.copytree(mount, mount.parent / "data-kept", dirs_exist_ok=True, ignore_dangling_symlinks=True)
            except OSError as error:
                print(f"chaos: could not keep {mount}: {error}", file=sys.stderr)
            subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True)
        if network:
            network.close()


def isolate(cluster, mounts, folder):
    """Each member's data on a tmpfs of its own (`data/`, so logs outlive it),
    its wall clock under libfaketime (the app's stays true); returns the clock files."""
    clocks = {}
    for member in cluster.members:
        data = member.dir / "data"
        data.mkdir(exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1g", "tmpfs", str(data)], check=True, capture_output=True)
        mounts.append(data)
        member.db = data / "app.db"
        clocks[member.name] = folder / f"clock-{member.name}"
        member.env = faked_clock(clocks[member.name], 0)
        member.app_command = f"env -u LD_PRELOAD '{cluster.binary}' demo-app --listen 127.0.0.1:{member.app_port}"
    return clocks


def run_in(network, mounts, minutes, seed, fault_names, folder, ttl_seconds, interval, every=None):
    rng = random.Random(seed)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    # An isolated run's store answers with a Date minutes off the nodes' clocks.
    skew = rng.choice([-1, 1]) * rng.uniform(60, 600) if network else 0
    moto = Moto(folder / "moto.log", host=network.gateway if network else "127.0.0.1",
                env=faked_clock(folder / "clock-store", skew) if skew else None)
    moto.create_bucket("chaos")
    if network:
        network.store_port = moto.port
    store = f"s3://chaos/app?endpoint={moto.endpoint}"
    # Off loopback the API needs a token (so do peers in the real world), and TLS or, as here on a
    # bridge of the run's own, insecure: true. A long run sets many
    # copies aside; keeping the newest few keeps the 1 GiB data folders from filling up with them.
    # A short retention runs retention under the faults too, and keeps the bucket to ~20 minutes of
    # files: moto lists in time proportional to the whole bucket (S3 does not), so a day's worth of
    # keys would make every rebuild's listings minutes slower than on S3.
    cluster = Cluster(folder / "cluster", store, ttl=f"{ttl_seconds}s", replication="sync", network=network,
                      token="chaos-token" if network else None,
                      extra_yaml="diverged:\n  keep: 3\nretention:\n  pointInTime: 10m\n  snapshotInterval: 10m\n"
                      + ("insecure: true\n" if network else ""))
    clocks = isolate(cluster, mounts, folder) if network else {}
    bound = ttl_seconds + 10
    fault_log, recoveries = [], []
    clients = None
    reader = None
    try:
        cluster.start()
        if seconds_until_whole(cluster, 120) is None:
            raise RuntimeError("the cluster did not come up: " + cluster.members[0].log_text()[-2000:])
        clients = Load([member.proxy for member in cluster.members], threads=4, prefix="c")
        clients.start()
        reader = readers.Reader(cluster.members, random.Random(rng.random()), cluster.token)
        reader.start()
        context = faults.Context(cluster, rng, ttl_seconds, fault_log, network, clocks)
        deadline = time.monotonic() + minutes * 60
        started = time.monotonic()
        while time.monotonic() < deadline:
            if every:
                # The next fault `every` seconds after the last one started, or at once if that
                # one (with its recovery) took longer.
                time.sleep(max(0.0, started + every - time.monotonic()))
            else:
                time.sleep(rng.uniform(*interval))
            name = rng.choice(fault_names)
            started = time.monotonic()
            what = faults.ALL_FAULTS[name](context)
            healed = time.monotonic()
            seconds = seconds_until_whole(cluster, 3 * bound)
            recoveries.append((name, seconds))
            fault_log.append({"fault": name, "what": what, "started": started, "healed": healed,
                              "whole_after": seconds})
            shown = "not whole" if seconds is None else f"whole after {seconds:.1f} s"
            print(f"[{time.monotonic() - deadline + minutes * 60:6.0f} s] {what}; {shown}", file=sys.stderr)
        clients.stop()
        reader.stop()
        holder, standby = faults.Context(cluster, rng, ttl_seconds, fault_log).roles()
        cluster.wait_caught_up(standby, holder, timeout=120)
    finally:
        if clients:
            clients.stop()
        if reader:
            reader.stop()
        if clients is None:
            moto.stop()
        # The standby first: the holder then stops without a hand-over, uploading what is left.
        for member in sorted(cluster.members, key=lambda m: m.get("/primary") == 200):
            if member.proc and member.proc.poll() is None:
                member.proc.terminate()
                try:
                    member.proc.wait(60)
                except subprocess.TimeoutExpired:
                    stuck = folder / f"{member.name}-stuck-backtrace.txt"
                    backtrace(member.proc.pid, stuck)
                    fault_log.append({"stuck_shutdown": f"{member.name} did not stop within 60 s of SIGTERM "
                                                        f"(threads: {stuck})"})
                    member.proc.kill()
                    member.proc.wait()
    restored = folder / "restored.db"
    try:
        subprocess.run([BATON, "restore", store, "-o", str(restored)], check=True, capture_output=True, timeout=600)
        points = restore_points(store, folder, rng)
    finally:
        moto.stop()
    copies = {member.name: rows(member.db) for member in cluster.members}
    copies["restore from the store"] = rows(restored)
    checks = {member.name: integrity(member.db) for member in cluster.members}
    checks["restore from the store"] = integrity(restored)
    checks.update({name: integrity(path) for name, path in points.items()})
    requests = sorted(history(clients) + reader.writes, key=lambda entry: entry["sent"])
    verdict = checker.check(requests, copies, checks, recoveries, bound, reader.reads,
                            {name: rows(path) for name, path in points.items()})
    for entry in fault_log:
        if "spurious_fencing" in entry:
            verdict.violations.append(checker.Violation("spurious fencing", entry["spurious_fencing"]))
        if "stuck_shutdown" in entry:
            verdict.violations.append(checker.Violation("stuck shutdown", entry["stuck_shutdown"]))
    with open(folder / "history.jsonl", "w") as out:
        out.writelines(json.dumps(entry) + "\n" for entry in requests)
    with open(folder / "reads.jsonl", "w") as out:
        out.writelines(json.dumps(entry) + "\n" for entry in reader.reads)
    with open(folder / "faults.jsonl", "w") as out:
        out.writelines(json.dumps(entry) + "\n" for entry in fault_log)
    lines = report(verdict, fault_log, recoveries, minutes, seed, ttl_seconds, bound, network, skew)
    return verdict, lines


def report(verdict, fault_log, recoveries, minutes, seed, ttl, bound, network, skew):
    """Markdown: per fault type, how often, recovery times; totals and violations."""
    by_fault = {}
    for name, seconds in recoveries:
        by_fault.setdefault(name, []).append(seconds)
    rows_text = []
    for name, values in sorted(by_fault.items()):
        known = [value for value in values if value is not None]
        spread = (f"{min(known):.1f} / {statistics.median(known):.1f} / {max(known):.1f}" if known else "—")
        late = len([value for value in values if value is None or value > bound])
        rows_text.append(f"| {name} | {len(values)} | {spread} | {late} |")
    lines = [
        f"{minutes} min, seed {seed}, lease TTL {ttl} s, sync mode, S3 (moto) "
        f"{f'with its clock {skew:+.0f} s off, on a bridge, each node in a network namespace' if network else 'on loopback'}; "
        f"{len(recoveries)} faults, {len(verdict.epochs)} epochs ({max(0, len(verdict.epochs) - 1)} changes of "
        f"holder), {verdict.acknowledged} acknowledged writes, {verdict.failed} requests not acknowledged, "
        f"{verdict.reads} reads of acknowledged writes checked, {verdict.points} restores at earlier points; "
        f"violations: {len(verdict.violations)}.",
        "",
        f"| fault | times | whole again after, min / median / max (s; bound {bound} s) | not within bound |",
        "| --- | ---: | --- | ---: |",
        *rows_text,
    ]
    for violation in verdict.violations[:20]:
        lines.append(f"- **{violation.check}**: {violation.detail}")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    parser.add_argument("--faults", default=None,
                        help=f"comma-separated, from: {', '.join(faults.ALL_FAULTS)} (default: all; the "
                             f"partitions only where network namespaces can be made, i.e. as root)")
    parser.add_argument("--every", type=float, default=None,
                        help="start a fault every this many seconds (or as soon as the last one healed and the "
                             "cluster is whole, if later); default: a pause of 5-15 s after each")
    parser.add_argument("--ttl", type=int, default=10, help="lease TTL in seconds (default 10, the node's default)")
    parser.add_argument("--loopback", action="store_true",
                        help="every process on loopback, even as root (no partitions, clock jumps or full disks)")
    parser.add_argument("--keep", help="folder to keep the run in (default: a temporary one, removed)")
    parser.add_argument("--record", action="store_true", help="append the summary to bench/CHAOS.md")
    args = parser.parse_args()
    why_not = networks.available()
    if args.faults is None:
        names = list(faults.FAULTS if why_not or args.loopback else faults.ALL_FAULTS)
        if why_not:
            print(f"chaos: no partitions, clock jumps or full disks in this run: {why_not}", file=sys.stderr)
    else:
        names = [name.strip() for name in args.faults.split(",") if name.strip()]
    unknown = [name for name in names if name not in faults.ALL_FAULTS]
    if unknown or not names:
        parser.error(f"unknown faults {unknown}; choose from {', '.join(faults.ALL_FAULTS)}")
    isolated = not why_not and not args.loopback
    if any(name in faults.ISOLATED_FAULTS for name in names) and not isolated:
        parser.error(why_not or f"{', '.join(n for n in names if n in faults.ISOLATED_FAULTS)} need an isolated run")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"chaos: seed {seed}, {args.minutes} min, faults {', '.join(names)}", file=sys.stderr)
    if args.keep:
        folder = Path(args.keep)
        folder.mkdir(parents=True, exist_ok=True)
        verdict, lines = run(args.minutes, seed, names, folder, args.ttl, isolated=isolated, every=args.every)
    else:
        with tempfile.TemporaryDirectory(prefix="baton-chaos-") as temporary:
            verdict, lines = run(args.minutes, seed, names, Path(temporary), args.ttl, isolated=isolated,
                                 every=args.every)
    text = "\n".join(lines)
    print(text)
    if args.record:
        command = " ".join(["scripts/chaos"] + sys.argv[1:])
        if "--seed" not in sys.argv:
            command += f" --seed {seed}"
        with open(ROOT / "bench" / "CHAOS.md", "a") as out:
            out.write(f"\n## {datetime.date.today()}\n\nCommand: `{command}`\n\n{text}\n")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
