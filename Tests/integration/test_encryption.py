"""Encrypted replicas (age, X25519): what Baton stores opens with `age -d`
to the LTX files themselves, restores need one of the recipients' keys and
say so in one line otherwise (writing nothing), `ls` works without a key,
and an HA cluster fails over on an encrypted replica in a bucket."""
import signal
import sqlite3
import subprocess
import time

from cluster import Cluster, Load, keys
from conftest import baton, wait, workload
import workload as oracle

AGE_MAGIC = b"age-encryption.org/v1\n"


def keygen(path):
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    for line in path.read_text().splitlines():
        if line.startswith("# public key: "):
            return line.split(": ", 1)[1]
    raise AssertionError(f"no public key in {path}")


def age_decrypt(identity, path):
    return subprocess.run(["age", "-d", "-i", str(identity), str(path)], check=True, capture_output=True).stdout


def one_line_error(result, *needles):
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line]
    assert lines and "Fatal error" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[-1], lines[-1]


def test_an_encrypted_replica_opens_with_age_and_restores_only_with_a_recipients_key(tmp_path, procs):
    key, recovery, stranger = tmp_path / "key.txt", tmp_path / "recovery.txt", tmp_path / "stranger.txt"
    keygen(key)
    recovery_recipient = keygen(recovery)
    keygen(stranger)
    db, log, replica = tmp_path / "app.db", tmp_path / "writes.log", tmp_path / "replica"
    url = f"file://{replica}"
    oracle.create(db)
    encrypted = ["--age-identity", key, "--age-recipient", recovery_recipient]
    # A snapshot, then a run beside the writer: it resumes from what the first stored (read back).
    assert wait(workload(db, 4, 1, 80, log, pause_ms=[0, 0]), 60) == 0
    baton("replicate", db, url, "--once", *encrypted)
    running = procs.replicate(db, url, "--batch-window-ms", "50", *encrypted, log=tmp_path / "replicate.log")
    time.sleep(1)
    assert wait(workload(db, 4, 81, 160, log, pause_ms=[0, 5]), 60) == 0
    time.sleep(0.5)
    running.send_signal(signal.SIGTERM)
    assert wait(running, 60) == 0, (tmp_path / "replicate.log").read_text()
    assert "new snapshot" not in (tmp_path / "replicate.log").read_text()

    stored = [p for p in replica.rglob("*") if p.is_file()]
    ltx = [p for p in stored if p.suffix == ".ltx"]
    assert len(ltx) >= 3
    for path in stored:
        assert path.read_bytes().startswith(AGE_MAGIC), path
    for path in ltx:
        # The age tool itself opens them, with either recipient's key, to plain LTX files.
        assert age_decrypt(key, path)[:4] == b"LTX1", path
        assert age_decrypt(recovery, path) == age_decrypt(key, path)

    restored = tmp_path / "restored.db"
    baton("restore", url, "-o", restored, "--age-identity", recovery)
    assert oracle.read_state(restored) == (160, oracle.expected_state(4, 160))
    assert oracle.integrity(restored) == "ok"

    missing = tmp_path / "missing.db"
    one_line_error(baton("restore", url, "-o", missing, check=False), "encrypted", "--age-identity")
    one_line_error(baton("restore", url, "-o", missing, "--age-identity", stranger, check=False),
                   "none of the 1 age identities")
    assert not missing.exists()
    one_line_error(baton("restore", url, "-o", missing, "--age-identity", tmp_path / "nope.txt", check=False),
                   "nope.txt")
    one_line_error(baton("replicate", db, url, "--once", "--age-recipient", recovery_recipient, check=False),
                   "needs an identity")

    # Names and sizes without a key, and what is missing for the rest.
    listing = baton("ls", url)
    assert "encrypted (age)" in listing.stdout and "?" in listing.stdout
    keyed = baton("ls", url, "--age-identity", key)
    assert "encrypted" not in keyed.stdout and "?" not in keyed.stdout


def test_a_cluster_fails_over_on_an_encrypted_replica_in_a_bucket(tmp_path, s3):
    key = tmp_path / "key.txt"
    keygen(key)
    cluster = Cluster(tmp_path, f"s3://hanode/app?endpoint={s3.endpoint}", ttl="3s",
                      extra_yaml=f"encryption:\n  identity: {key}\n")
    cluster.start()
    load = None
    try:
        holder = cluster.holder()
        standby = cluster["b" if holder.name == "a" else "a"]
        cluster.wait_streaming(standby)
        load = Load([holder.proxy, standby.proxy], threads=2)
        load.start()
        time.sleep(2)
        holder.kill()
        new = cluster.holder(timeout=30, among=[standby])
        time.sleep(1.5)
        load.stop()
        assert any(epoch > 1 for _, epoch, _, _ in load.acks)
        # Wait until the store has the new holder's newest writes, then restore from it.
        expected = keys(new.proxy)
        restored = tmp_path / "restored.db"
        deadline = time.monotonic() + 30
        while True:
            baton("restore", f"s3://hanode/app?endpoint={s3.endpoint}", "-o", restored, "--force",
                  "--age-identity", key)
            con = sqlite3.connect(restored)
            got = {row[0] for row in con.execute("SELECT key FROM writes")}
            con.close()
            if expected <= got or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert expected <= got, f"{len(expected - got)} of the holder's keys are not in the restore"
        import botocore.session
        client = botocore.session.get_session().create_client(
            "s3", endpoint_url=s3.endpoint, region_name="us-east-1", aws_access_key_id="testing",
            aws_secret_access_key="testing")
        names = s3.keys("hanode", "app/")
        assert "app/lease.json" in names and any(name.endswith(".ltx") for name in names)
        for name in names:
            body = client.get_object(Bucket="hanode", Key=name)["Body"].read()
            assert body.startswith(AGE_MAGIC) == (name != "app/lease.json"), name
        one_line_error(baton("restore", f"s3://hanode/app?endpoint={s3.endpoint}", "-o", tmp_path / "no.db",
                             check=False), "encrypted", "--age-identity")
    finally:
        if load:
            load.stop()
        cluster.stop()
