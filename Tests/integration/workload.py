"""Deterministic SQLite workload for Baton's integration tests.

Transaction k (1-based) applies operations drawn from random.Random(f"{seed}:{k}")
and sets counter.n = k, so the expected table contents after any k can be
recomputed without the database (`expected_state`). Checkpoints, VACUUMs and
pauses use a separate RNG: they change the file layout, never the content.
"""
import json
import random
import sqlite3
import sys
import time

KEYS = 400


def _ops(seed, k):
    rng = random.Random(f"{seed}:{k}")
    ops = []
    for _ in range(rng.randint(1, 12)):
        key = rng.randrange(KEYS)
        kind = rng.random()
        if kind < 0.55:
            size = rng.choice([8, 40, 200, 1500, 6000]) if rng.random() < 0.9 else 30000
            ops.append(("put", key, f"{k}-{key}-" + "x" * size))
        else:
            ops.append(("del", key, None))
    return ops


def expected_state(seed, n):
    """The kv table after transactions 1..n."""
    state = {}
    for k in range(1, n + 1):
        for op, key, value in _ops(seed, k):
            if op == "put":
                state[key] = value
            else:
                state.pop(key, None)
    return state


def read_state(path):
    """(counter, kv dict) of a database file."""
    con = sqlite3.connect(path)
    try:
        n = con.execute("SELECT n FROM counter WHERE id = 1").fetchone()[0]
        kv = dict(con.execute("SELECT id, val FROM kv"))
        return n, kv
    finally:
        con.close()


def integrity(path):
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def create(path):
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE IF NOT EXISTS kv(id INTEGER PRIMARY KEY, val TEXT)")
    con.execute("CREATE TABLE IF NOT EXISTS counter(id INTEGER PRIMARY KEY, n INTEGER)")
    con.execute("INSERT OR IGNORE INTO counter VALUES (1, 0)")
    con.commit()
    con.close()


def run(path, seed, first, last, log_path, chaos_seed, pause_ms=(0, 5), checkpoint_every=25):
    """Applies transactions first..last; appends 'k commit_time_ms' lines to log_path.
    Runs checkpoints of every mode (and sometimes VACUUM) at random moments,
    recording how long each one took in the log as 'ckpt MODE ms busy'."""
    chaos = random.Random(chaos_seed)
    con = sqlite3.connect(path, isolation_level=None, timeout=30)
    con.execute("PRAGMA busy_timeout=30000")
    with open(log_path, "a") as log:
        for k in range(first, last + 1):
            con.execute("BEGIN IMMEDIATE")
            for op, key, value in _ops(seed, k):
                if op == "put":
                    con.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, value))
                else:
                    con.execute("DELETE FROM kv WHERE id = ?", (key,))
            con.execute("UPDATE counter SET n = ? WHERE id = 1", (k,))
            con.execute("COMMIT")
            log.write(f"{k} {int(time.time() * 1000)}\n")
            log.flush()
            if chaos.randrange(checkpoint_every) == 0:
                mode = chaos.choice(["PASSIVE", "FULL", "RESTART", "TRUNCATE"])
                started = time.monotonic()
                busy = con.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()[0]
                took = (time.monotonic() - started) * 1000
                log.write(f"ckpt {mode} {took:.1f} {busy}\n")
            if chaos.randrange(150) == 0:
                con.execute("VACUUM")
            low, high = pause_ms
            if high:
                time.sleep(chaos.uniform(low, high) / 1000)
    con.close()


if __name__ == "__main__":
    args = json.loads(sys.argv[1])
    if args.get("create"):
        create(args["db"])
    run(args["db"], args["seed"], args["first"], args["last"], args["log"], args.get("chaos_seed", 1),
        tuple(args.get("pause_ms", (0, 5))), args.get("checkpoint_every", 25))
