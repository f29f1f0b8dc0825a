#!/usr/bin/env python3
"""Sync-mode benchmark: commit latency added by waiting for the standby,
Baton side by side with PostgreSQL 15 in the same run, on loopback.

Baton: a two-node cluster (real `baton node` processes, file:// store), the
standby named in sync in the lease. Single-row INSERT transactions, one at a
time per client, (a) through the relay API (`POST /db/execute`) and (b)
through the front proxy into the demo app (`POST /write`), with
`replication: async` and then `replication: sync`.

PostgreSQL 15 (Debian's): a primary and one streaming standby
(`synchronous_standby_names`), the same single-row INSERT as a pgbench custom
script, with `synchronous_commit` = local, on and remote_apply.

Reports p50/p99 per configuration and what sync adds over the local commit
(Baton: sync - async; PostgreSQL: on / remote_apply - local), and the ratio.
Results print as Markdown; --record appends them to bench/RESULTS.md.
"""
import argparse
import contextlib
import datetime
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "integration"))

from cluster import Cluster  # noqa: E402
from run import record  # noqa: E402
from s3support import free_port  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed_requests(port, make_request, count, clients):
    """Runs `count` requests split over `clients` keep-alive connections; latencies in ms."""
    latencies = []
    lock = threading.Lock()
    errors = []

    def worker(index, share):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for n in range(share):
            method, path, body = make_request(index, n)
            started = time.perf_counter()
            connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            text = response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status != 200 or b'"error"' in text:
                errors.append(text[:200])
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i, count // clients)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, first: {errors[0]}")
    return latencies


INSERT = json.dumps([["INSERT INTO bench(v) VALUES(?)", "x" * 100]])


@contextlib.contextmanager
def relay_cluster(mode, root, databases=None, binary=None):
    """A running two-node cluster in `mode` (of `binary`, default BATON_BIN's) with the
    bench table made and the relay path warmed up; yields (cluster, holder, standby)."""
    cluster = Cluster(root, f"file://{root}/replica", ttl="10s", replication=mode, databases=databases,
                      binary=binary)
    if databases:
        from failover import app_on_first_database
        app_on_first_database(cluster)
    cluster.start()
    try:
        holder = cluster.holder(timeout=60)
        standby = cluster["b" if holder.name == "a" else "a"]
        cluster.wait_streaming(standby)
        if mode == "sync":
            deadline = time.monotonic() + 30
            while (holder.status() or {}).get("syncStandby") != standby.name:
                if time.monotonic() > deadline:
                    raise RuntimeError("the standby was not named in sync")
                time.sleep(0.05)
        connection = http.client.HTTPConnection("127.0.0.1", holder.api_port, timeout=30)
        connection.request("POST", "/db/execute", body='["CREATE TABLE bench (id INTEGER PRIMARY KEY, v TEXT)"]')
        connection.getresponse().read()
        connection.close()
        timed_requests(holder.api_port, lambda i, n: ("POST", "/db/execute", INSERT), 50, 1)
        yield cluster, holder, standby
        if mode == "sync":
            assert (holder.status() or {}).get("syncStandby") == standby.name, "the standby dropped out of sync"
    finally:
        cluster.stop()


def baton(mode, root, count, clients, databases=None):
    with relay_cluster(mode, root, databases) as (_, holder, _standby):
        relay = timed_requests(holder.api_port, lambda i, n: ("POST", "/db/execute", INSERT), count, clients)
        proxy = timed_requests(holder.proxy_port, lambda i, n: ("POST", f"/write?key={mode}-{i}-{n}", ""), count,
                               clients)
        return relay, proxy


def interleaved_relay_writes(ports, count):
    """`count` single-row relay INSERTs to each port, one client, taking the ports in
    turn write by write, so that whatever else the machine does falls on all of
    them alike; latencies in ms per port."""
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for port in ports]
    latencies = [[] for _ in ports]
    try:
        for _ in range(count):
            for index, connection in enumerate(connections):
                started = time.perf_counter()
                connection.request("POST", "/db/execute", body=INSERT, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                text = response.read()
                latencies[index].append((time.perf_counter() - started) * 1000)
                if response.status != 200 or b'"error"' in text:
                    raise RuntimeError(f"a relay write to port {ports[index]} failed: {text[:200]!r}")
    finally:
        for connection in connections:
            connection.close()
    return latencies


def pg(root, count, clients, settings):
    """A primary and a synchronous streaming standby; pgbench per setting; latencies in ms."""
    root.mkdir(parents=True)
    shutil.chown(root, "postgres", "postgres")

    def run(*args, **kw):
        return subprocess.run(["runuser", "-u", "postgres", "--", *map(str, args)], check=True,
                              capture_output=True, text=True, **kw)

    primary, standby = root / "primary", root / "standby"
    p1, p2 = free_port(), free_port()
    run(PG_BIN / "initdb", "-D", primary, "-A", "trust", "-U", "postgres")
    with open(primary / "postgresql.conf", "a") as conf:
        conf.write(f"port = {p1}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
                   "wal_level = replica\nmax_wal_senders = 4\nsynchronous_standby_names = 'standby1'\n"
                   "fsync = on\nsynchronous_commit = on\n")
    with open(primary / "pg_hba.conf", "a") as hba:
        hba.write("host replication all 127.0.0.1/32 trust\n")
    run(PG_BIN / "pg_ctl", "-D", primary, "-l", root / "primary.log", "-w", "start")
    try:
        run(PG_BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", p1, "-D", standby, "-R", "-X", "stream")
        with open(standby / "postgresql.conf", "a") as conf:
            conf.write(f"port = {p2}\n")
        # After what -R wrote there, so it wins: the standby's name, which makes it synchronous.
        with open(standby / "postgresql.auto.conf", "a") as conf:
            conf.write(f"primary_conninfo = 'host=127.0.0.1 port={p1} application_name=standby1'\n")
        run(PG_BIN / "pg_ctl", "-D", standby, "-l", root / "standby.log", "-w", "start")
        try:
            deadline = time.monotonic() + 30
            while True:
                state = run("psql", "-h", "127.0.0.1", "-p", p1, "-At", "-c",
                            "SELECT sync_state FROM pg_stat_replication").stdout.strip()
                if state == "sync":
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the PostgreSQL standby is not synchronous ({state!r})")
                time.sleep(0.1)
            run("psql", "-h", "127.0.0.1", "-p", p1, "-c",
                "CREATE TABLE bench (id bigserial PRIMARY KEY, v text)")
            script = root / "insert.sql"
            script.write_text("INSERT INTO bench(v) VALUES (repeat('x', 100));\n")
            shutil.chown(script, "postgres", "postgres")
            results = {}
            for setting in settings:
                prefix = root / f"log-{setting}"
                run(PG_BIN / "pgbench", "-h", "127.0.0.1", "-p", p1, "-n", "-c", clients, "-t", count // clients,
                    "-f", script, "-l", "--log-prefix", prefix, "postgres",
                    env={**os.environ, "PGOPTIONS": f"-c synchronous_commit={setting}"}, cwd=root)
                latencies = []
                for log in root.glob(f"log-{setting}.*"):
                    for line in log.read_text().split("\n"):
                        if line:
                            latencies.append(int(line.split()[2]) / 1000)
                results[setting] = latencies
            return results
        finally:
            run(PG_BIN / "pg_ctl", "-D", standby, "-m", "fast", "stop")
    finally:
        run(PG_BIN / "pg_ctl", "-D", primary, "-m", "fast", "stop")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="baton-sync-bench-"))
    shutil.chown(root, "postgres", "postgres")
    try:
        rows = {}
        for mode in ("async", "sync"):
            relay, proxy = baton(mode, root / f"baton-{mode}", args.transactions, args.clients)
            rows[f"Baton relay API, {mode}"] = relay
            rows[f"Baton proxy + demo app, {mode}"] = proxy
        postgres = pg(root / "pg", args.transactions, args.clients, ["local", "on", "remote_apply"])
        for setting, latencies in postgres.items():
            rows[f"PostgreSQL 15, synchronous_commit={setting}"] = latencies
    finally:
        shutil.rmtree(root, ignore_errors=True)

    p = {name: (statistics.median(v), percentile(v, 99)) for name, v in rows.items()}
    lines = [
        f"## Sync-mode commit latency vs PostgreSQL 15 ({datetime.date.today()}, {platform.machine()}, "
        f"{os.cpu_count()} cores)",
        "",
        f"`{'BATON_BIN=' + os.environ['BATON_BIN'] + ' ' if os.environ.get('BATON_BIN') else ''}"
        f"python bench/sync_latency.py --transactions {args.transactions} --clients {args.clients}`"
        " — single-row INSERT transactions on loopback, one standby each, "
        f"{args.clients} client(s), {args.transactions} transactions per row.",
        "",
        "| configuration | p50 ms | p99 ms |",
        "| --- | ---: | ---: |",
    ]
    for name, (p50, p99) in p.items():
        lines.append(f"| {name} | {p50:.2f} | {p99:.2f} |")

    def added(sync, base):
        return p[sync][0] - p[base][0], p[sync][1] - p[base][1]

    baton_relay = added("Baton relay API, sync", "Baton relay API, async")
    baton_proxy = added("Baton proxy + demo app, sync", "Baton proxy + demo app, async")
    pg_on = added("PostgreSQL 15, synchronous_commit=on", "PostgreSQL 15, synchronous_commit=local")
    pg_apply = added("PostgreSQL 15, synchronous_commit=remote_apply", "PostgreSQL 15, synchronous_commit=local")
    lines += [
        "",
        "| latency added by waiting for the standby | p50 ms | p99 ms |",
        "| --- | ---: | ---: |",
        f"| Baton relay API (sync − async) | {baton_relay[0]:.2f} | {baton_relay[1]:.2f} |",
        f"| Baton proxy (sync − async) | {baton_proxy[0]:.2f} | {baton_proxy[1]:.2f} |",
        f"| PostgreSQL on (− local) | {pg_on[0]:.2f} | {pg_on[1]:.2f} |",
        f"| PostgreSQL remote_apply (− local) | {pg_apply[0]:.2f} | {pg_apply[1]:.2f} |",
        "",
        f"Ratio of added p50 latency, Baton relay / PostgreSQL remote_apply: "
        f"{baton_relay[0] / pg_apply[0]:.1f}× (PostgreSQL on: {baton_relay[0] / pg_on[0]:.1f}×); "
        f"end-to-end sync p50, Baton relay / PostgreSQL remote_apply: "
        f"{p['Baton relay API, sync'][0] / p['PostgreSQL 15, synchronous_commit=remote_apply'][0]:.1f}×.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.record:
        record(text)


if __name__ == "__main__":
    main()
