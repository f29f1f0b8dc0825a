#!/usr/bin/env python3
"""What TLS costs: the same two-node cluster in sync mode, plain HTTP and
with `tls:` (mutual TLS between the nodes, the stream and confirmations over
TLS), side by side in the same run, alternating rounds.

Per configuration: single-row write latency through the relay API (`POST
/db/execute`, one keep-alive client) and through the front proxy into the
demo app (`POST /write`), p50/p99; and the proxy's throughput with 8
keep-alive clients for a fixed time. Reports the TLS/plain ratios.
Results print as Markdown; --record appends them to bench/RESULTS.md.
"""
import argparse
import datetime
import http.client
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "integration"))

from certificates import CertificateAuthority  # noqa: E402
from cluster import Cluster  # noqa: E402
from run import record  # noqa: E402

INSERT = json.dumps([["INSERT INTO bench(v) VALUES(?)", "x" * 100]])


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def connect(member, port, context):
    if context:
        return http.client.HTTPSConnection(member.host, port, timeout=30, context=context)
    return http.client.HTTPConnection(member.host, port, timeout=30)


def latencies(member, port, context, make_request, count):
    """`count` requests on one keep-alive connection, one at a time; milliseconds each."""
    connection = connect(member, port, context)
    out = []
    for n in range(count):
        method, path, body = make_request(n)
        started = time.perf_counter()
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        text = response.read()
        out.append((time.perf_counter() - started) * 1000)
        if response.status != 200 or b'"error"' in text:
            raise RuntimeError(f"{method} {path}: {response.status} {text[:200]}")
    connection.close()
    return out


def throughput(member, port, context, seconds, clients, tag):
    """Requests per second the proxy answered with `clients` keep-alive clients writing."""
    done = [0] * clients
    stop = time.monotonic() + seconds

    def worker(index):
        connection = connect(member, port, context)
        n = 0
        while time.monotonic() < stop:
            connection.request("POST", f"/write?key={tag}-{index}-{n}", body="")
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"proxy answered {response.status}")
            n += 1
        done[index] = n
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)


def measure(root, secure, count, seconds, tag):
    ca = CertificateAuthority(root / "ca") if secure else None
    cluster = Cluster(root / "cluster", f"file://{root}/replica", ttl="10s", replication="sync", tls=ca,
                      tls_client_auth="require")
    cluster.start()
    try:
        holder = cluster.holder(timeout=60)
        standby = cluster["b" if holder.name == "a" else "a"]
        cluster.wait_streaming(standby)
        deadline = time.monotonic() + 30
        while (holder.status() or {}).get("syncStandby") != standby.name:
            if time.monotonic() > deadline:
                raise RuntimeError("the standby was not named in sync")
            time.sleep(0.05)
        api = cluster.client_context  # the operator's certificate: the API asks for one with mutual TLS
        users = ca.client_context() if ca else None
        latencies(holder, holder.api_port, api,
                  lambda n: ("POST", "/db/execute", '["CREATE TABLE bench (id INTEGER PRIMARY KEY, v TEXT)"]'), 1)
        latencies(holder, holder.api_port, api, lambda n: ("POST", "/db/execute", INSERT), 50)
        relay = latencies(holder, holder.api_port, api, lambda n: ("POST", "/db/execute", INSERT), count)
        proxy = latencies(holder, holder.proxy_port, users, lambda n: ("POST", f"/write?key={tag}-{n}", ""), count)
        rate = throughput(holder, holder.proxy_port, users, seconds, 8, tag)
        if (holder.status() or {}).get("syncStandby") != standby.name:
            raise RuntimeError("the standby dropped out of sync")
        return relay, proxy, rate
    finally:
        cluster.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=1000, help="latency samples per path and round")
    parser.add_argument("--seconds", type=float, default=10, help="length of each throughput run")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each configuration, alternating")
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    args = parser.parse_args()
    results = {False: ([], [], []), True: ([], [], [])}
    with tempfile.TemporaryDirectory(prefix="baton-tls-bench-") as temporary:
        for round_ in range(args.rounds):
            for secure in (False, True):
                root = Path(temporary) / f"{'tls' if secure else 'plain'}-{round_}"
                relay, proxy, rate = measure(root, secure, args.transactions, args.seconds, f"r{round_}")
                results[secure][0].extend(relay)
                results[secure][1].extend(proxy)
                results[secure][2].append(rate)
                print(f"round {round_ + 1} {'tls' if secure else 'plain'}: relay p50 "
                      f"{statistics.median(relay):.2f} ms, proxy p50 {statistics.median(proxy):.2f} ms, "
                      f"{rate:.0f} writes/s", file=sys.stderr)
    rows = []
    for secure in (False, True):
        relay, proxy, rates = results[secure]
        name = "mutual TLS" if secure else "plain HTTP"
        rows.append(f"| {name} | {percentile(relay, 50):.2f} | {percentile(relay, 99):.2f} | "
                    f"{percentile(proxy, 50):.2f} | {percentile(proxy, 99):.2f} | {statistics.median(rates):.0f} |")
    plain, tls = results[False], results[True]
    ratio = (f"TLS / plain: relay p50 {percentile(tls[0], 50) / percentile(plain[0], 50):.2f}×, proxy p50 "
             f"{percentile(tls[1], 50) / percentile(plain[1], 50):.2f}×, proxy throughput "
             f"{statistics.median(tls[2]) / statistics.median(plain[2]):.2f}×.")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    text = f"""## TLS cost in sync mode ({datetime.date.today()}, {platform.machine()}, 2 cores)

`python bench/tls_cost.py --transactions {args.transactions} --seconds {args.seconds:g} --rounds {args.rounds}` — a
two-node sync-mode cluster (file:// store), plain and with `tls:` (`clientAuth: require`, ECDSA P-256 certificates),
{args.rounds} alternating rounds each; latency from one keep-alive client, throughput from 8 for {args.seconds:g} s.

| configuration | relay p50 ms | relay p99 ms | proxy p50 ms | proxy p99 ms | proxy writes/s |
| --- | ---: | ---: | ---: | ---: | ---: |
{chr(10).join(rows)}

{ratio} Binary at {commit.strip()}.
"""
    print(text)
    if args.record:
        record(text)


if __name__ == "__main__":
    main()
