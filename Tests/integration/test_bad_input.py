"""Bad input gets one clear line and a non-zero exit; nothing stored is lost."""
import hashlib
import sqlite3
import time

from conftest import baton, listing, stop, wait, workload
import workload as oracle


def fingerprint(directory):
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def single_line_error(result, *needles):
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line]
    assert lines, "no error message"
    assert "Traceback" not in result.stderr and "Fatal error" not in result.stderr
    for needle in needles:
        assert needle in lines[-1], lines[-1]


def make_replica(tmp_path, transactions=30):
    db, url, log = tmp_path / "app.db", f"file://{tmp_path}/replica", tmp_path / "writes.log"
    oracle.create(db)
    assert wait(workload(db, 1, 1, transactions, log, pause_ms=[0, 0]), 60) == 0
    baton("replicate", db, url, "--once")
    return db, url


def test_rollback_journal_database_is_refused_or_switched(tmp_path):
    db = tmp_path / "journal.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    result = baton("replicate", db, tmp_path / "replica", "--once", check=False)
    single_line_error(result, str(db), "WAL")
    assert not (tmp_path / "replica").exists() or not any((tmp_path / "replica").rglob("*.ltx"))
    baton("replicate", db, tmp_path / "replica", "--once", "--enable-wal")
    baton("restore", tmp_path / "replica", "-o", tmp_path / "out.db")


def test_missing_database_and_unusable_urls(tmp_path):
    single_line_error(baton("replicate", tmp_path / "nope.db", tmp_path / "r", "--once", check=False), "nope.db", "does not exist")
    single_line_error(baton("restore", "ftp://x/y", "-o", tmp_path / "o.db", check=False), "ftp://x/y")
    single_line_error(baton("restore", tmp_path / "empty", "-o", tmp_path / "o.db", check=False), "no LTX files")
    # A store path that cannot be a directory (a file is in the way).
    db, _ = make_replica(tmp_path)
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    single_line_error(baton("replicate", db, blocker / "sub", "--once", check=False), "blocker")


def test_corrupt_or_truncated_file_is_refused_and_left_alone(tmp_path):
    db, url = make_replica(tmp_path)
    replica = tmp_path / "replica"
    con = sqlite3.connect(db)
    con.execute("UPDATE counter SET n = 99")
    con.commit()
    con.close()
    baton("replicate", db, url, "--once")
    newest = max(replica.rglob("*.ltx"), key=lambda p: p.name)
    for damage in ("flip", "truncate"):
        data = newest.read_bytes()
        newest.write_bytes(data[:-40] if damage == "truncate" else data[:150] + bytes([data[150] ^ 0xFF]) + data[151:])
        before = fingerprint(replica)
        result = baton("restore", url, "-o", tmp_path / "out.db", check=False)
        single_line_error(result, newest.name)
        assert fingerprint(replica) == before
        assert not (tmp_path / "out.db").exists()
        newest.write_bytes(data)
    baton("restore", url, "-o", tmp_path / "out.db")
    assert oracle.read_state(tmp_path / "out.db")[0] == 99


def test_file_from_another_database_is_refused_by_its_checksum(tmp_path):
    """Same transaction range, valid file checksum, wrong database: the pre-apply checksum refuses it."""
    replicas = []
    for name, value in (("one", "a"), ("two", "b")):
        db, url = tmp_path / f"{name}.db", f"file://{tmp_path}/{name}-replica"
        holder = sqlite3.connect(db, isolation_level=None)  # keeps the WAL from being removed
        holder.execute("PRAGMA journal_mode=WAL")
        holder.execute("CREATE TABLE t(v TEXT)")
        holder.execute("INSERT INTO t VALUES (?)", (value * 100,))
        baton("replicate", db, url, "--once")
        holder.execute("INSERT INTO t VALUES (?)", (value * 200,))
        baton("replicate", db, url, "--once")
        holder.close()
        replicas.append(tmp_path / f"{name}-replica")
    mine = sorted(replicas[0].rglob("ltx/0/*.ltx"))
    theirs = sorted(replicas[1].rglob("ltx/0/*.ltx"))
    assert [p.name for p in mine] == [p.name for p in theirs] and mine
    mine[-1].write_bytes(theirs[-1].read_bytes())
    result = baton("restore", f"file://{replicas[0]}", "-o", tmp_path / "out.db", check=False)
    single_line_error(result, mine[-1].name, "checksum")
    assert not (tmp_path / "out.db").exists()


def test_wrong_page_size_is_refused(tmp_path):
    db, url = make_replica(tmp_path)
    small = tmp_path / "small.db"
    con = sqlite3.connect(small)
    con.execute("PRAGMA page_size=1024")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    before = fingerprint(tmp_path / "replica")
    single_line_error(baton("replicate", small, url, "--once", check=False), "1024")
    assert fingerprint(tmp_path / "replica") == before


def test_existing_output_is_never_overwritten_without_force(tmp_path):
    db, url = make_replica(tmp_path)
    out = tmp_path / "out.db"
    out.write_bytes(b"precious")
    single_line_error(baton("restore", url, "-o", out, check=False), "--force")
    assert out.read_bytes() == b"precious"
    assert "nothing restored" in baton("restore", url, "-o", out, "--if-not-exists").stderr
    assert out.read_bytes() == b"precious"
    baton("restore", url, "-o", out, "--force")
    assert oracle.read_state(out)[0] == 30


def test_gap_and_unknown_txid_are_explained(tmp_path, procs):
    db, url, log = tmp_path / "app.db", f"file://{tmp_path}/replica", tmp_path / "w.log"
    oracle.create(db)
    replicate = procs.replicate(db, url, "--batch-window-ms", "0")
    for k in range(1, 6):
        assert wait(workload(db, 2, k, k, log, pause_ms=[0, 0]), 30) == 0
        time.sleep(0.3)
    time.sleep(0.5)
    assert stop(replicate) == 0
    segments = sorted((tmp_path / "replica").rglob("ltx/0/*.ltx"))
    assert len(segments) >= 3
    single_line_error(baton("restore", url, "-o", tmp_path / "x.db", "--txid", 999999, check=False), "999999")
    segments[1].unlink()
    result = baton("restore", url, "-o", tmp_path / "gap.db", check=False)
    single_line_error(result, "gap")
    # Points before the hole still restore.
    first = listing(url)[0]["maxTXID"]
    baton("restore", url, "-o", tmp_path / "before.db", "--txid", first)


def test_database_replaced_under_baton_stops_it(tmp_path, procs):
    db, url = make_replica(tmp_path)
    replicate = procs.replicate(db, url, log=tmp_path / "baton.log")
    time.sleep(0.5)
    other = tmp_path / "other.db"
    oracle.create(other)
    other.rename(db)
    assert wait(replicate, 30) != 0
    assert "deleted or replaced" in (tmp_path / "baton.log").read_text()
