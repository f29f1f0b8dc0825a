"""The relay API (rqlite-compatible) on a two-node cluster, driven by
clients nobody here wrote (pyrqlite, sqlalchemy-rqlite) and by raw HTTP
for the edges: consistency levels, read-your-writes, auth, bad input."""
import base64
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pyrqlite.dbapi2 as rqlite
import pytest
import sqlalchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from cluster import RAILS, Cluster, http
from conftest import BATON

TOKEN = "relay-secret"


def port_of(member):
    return member.api_port


def crud(connection, tag):
    """A small CRUD round through pyrqlite; returns the rows it left."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS people (id INTEGER PRIMARY KEY, name TEXT, age INTEGER)")
        cursor.execute("INSERT INTO people(name, age) VALUES(?, ?)", (f"{tag}-fiona", 20))
        new_id = cursor.lastrowid
        assert new_id is not None
        cursor.executemany("INSERT INTO people(name, age) VALUES(?, ?)", [(f"{tag}-sinead", 24), (f"{tag}-x", 1)])
        cursor.execute("UPDATE people SET age = age + 1 WHERE name = ?", (f"{tag}-fiona",))
        assert cursor.rowcount == 1
        cursor.execute("DELETE FROM people WHERE name = ?", (f"{tag}-x",))
        assert cursor.rowcount == 1
        cursor.execute("SELECT name, age FROM people WHERE name LIKE ? ORDER BY name", (f"{tag}-%",))
        return [tuple(row) for row in cursor.fetchall()]


def connect(member, **extra):
    return rqlite.connect(host="127.0.0.1", port=port_of(member), user="app", password=TOKEN, **extra)


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]


def orm_round(member, tag):
    engine = sqlalchemy.create_engine(f"rqlite+pyrqlite://app:{TOKEN}@127.0.0.1:{port_of(member)}/")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Note(text=f"{tag}-1"), Note(text=f"{tag}-2")])
        session.commit()
        note = session.scalars(sqlalchemy.select(Note).where(Note.text == f"{tag}-1")).one()
        note.text = f"{tag}-1-edited"
        session.commit()
        session.delete(session.scalars(sqlalchemy.select(Note).where(Note.text == f"{tag}-2")).one())
        session.commit()
        return sorted(n.text for n in session.scalars(sqlalchemy.select(Note).where(Note.text.like(f"{tag}-%"))))


@pytest.fixture
def cluster(tmp_path, request):
    """Two nodes with a token; `indirect` parametrization with a list of names makes it a group."""
    cluster = Cluster(tmp_path, f"file://{tmp_path}/replica", ttl="3s", token=TOKEN,
                      extra_yaml="relay:\n  maxBodyBytes: 65536\n", databases=getattr(request, "param", None))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def pair(cluster):
    holder = cluster.holder()
    standby = cluster["b" if holder.name == "a" else "a"]
    cluster.wait_streaming(standby)
    return holder, standby


def test_pyrqlite_and_sqlalchemy_through_standby_and_holder_and_after_failover(cluster):
    holder, standby = pair(cluster)
    expected = lambda tag: [(f"{tag}-fiona", 21), (f"{tag}-sinead", 24)]
    assert crud(connect(holder), "h") == expected("h")
    assert crud(connect(standby), "s") == expected("s")  # forwarded to the holder
    assert orm_round(holder, "h") == ["h-1-edited"]
    assert orm_round(standby, "s") == ["s-1-edited"]

    holder.kill()
    new = cluster.holder(timeout=30, among=[standby])
    assert crud(connect(new), "f") == expected("f")
    assert orm_round(new, "f") == ["f-1-edited"]
    holder.start()  # back as a standby; clients of it are forwarded to the new holder
    cluster.wait_streaming(holder)
    assert crud(connect(holder), "r") == expected("r")
    with connect(holder).cursor() as cursor:
        cursor.execute("SELECT count(*) FROM people")
        assert cursor.fetchone()[0] == 8  # two left by each of the four rounds


def auth(headers=None):
    return {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", **(headers or {})}


def test_levels_read_your_writes_and_redirects(cluster):
    holder, standby = pair(cluster)
    status, text = http("POST", holder.api + "/db/execute", body=b'["CREATE TABLE t (v)"]', headers=auth())
    assert status == 200, text
    status, text = http("POST", holder.api + "/db/execute", body=b'[["INSERT INTO t VALUES(?)", 1]]',
                        headers=auth())
    assert status == 200, text
    # The write's answer carries its TXID; a level=none read on the standby that sends it back
    # waits until the standby has applied it, so it sees the row.
    request = urllib.request.Request(holder.api + "/db/execute", method="POST",
                                     data=b'[["INSERT INTO t VALUES(?)", 2]]', headers=auth())
    with urllib.request.urlopen(request, timeout=10) as response:
        txid = int(response.headers["X-Baton-TXID"])
        assert "baton_txid=" in response.headers["Set-Cookie"]
    status, text = http("GET", standby.api + "/db/query?q=SELECT+max(v)+FROM+t&level=none",
                        headers=auth({"X-Baton-TXID": str(txid)}))
    assert status == 200 and json.loads(text)["results"][0]["values"] == [[2]], text
    status, text = http("GET", standby.api + "/db/query?q=SELECT+max(v)+FROM+t&level=none",
                        headers=auth({"Cookie": f"theme=dark; baton_txid={txid}"}))
    assert json.loads(text)["results"][0]["values"] == [[2]], text
    # A TXID the standby never reaches in time: the read goes to the holder instead of answering stale.
    status, text = http("GET", standby.api + "/db/query?q=SELECT+max(v)+FROM+t&level=none",
                        headers=auth({"X-Baton-TXID": str(txid + 1000)}))
    assert status == 200 and json.loads(text)["results"][0]["values"] == [[2]], text
    for level in ("weak", "strong"):
        status, text = http("GET", standby.api + f"/db/query?q=SELECT+count(*)+FROM+t&level={level}", headers=auth())
        assert status == 200 and json.loads(text)["results"][0]["values"] == [[2]], text
    status, text = http("GET", standby.api + "/db/query?q=SELECT+1&level=none&freshness=5s", headers=auth())
    assert status == 200, text
    status, text = http("GET", standby.api + "/db/query?q=SELECT+1&level=eventual", headers=auth())
    assert status == 400 and "level must be" in text

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as caught:
        opener.open(urllib.request.Request(standby.api + "/db/execute?redirect", method="POST",
                                           data=b'["INSERT INTO t VALUES(3)"]', headers=auth()))
    assert caught.value.code == 301
    assert caught.value.headers["Location"] == holder.api + "/db/execute?redirect"


def test_shapes_transactions_and_bad_input(cluster):
    holder, standby = pair(cluster)
    api = standby.api  # everything through the standby: forwarding keeps shapes and codes
    body = json.dumps([
        "CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT, data BLOB, score REAL)",
        ["INSERT INTO foo(name, data, score) VALUES(?, ?, ?)", "fiona", [0, 255, 7], 1.5],
        ["INSERT INTO foo(name) VALUES(:name)", {"name": "declan"}],
        ["INSERT INTO foo(name) VALUES(@name)", {"@name": "aoife"}],
    ]).encode()
    status, text = http("POST", api + "/db/execute?timings", body=body, headers=auth())
    answer = json.loads(text)
    assert status == 200 and [r.get("error") for r in answer["results"]] == [None] * 4, text
    assert answer["results"][1] == {"last_insert_id": 1, "rows_affected": 1, "time": answer["results"][1]["time"]}
    assert isinstance(answer["time"], float)

    status, text = http("POST", api + "/db/query", body=b'["SELECT id, name, data, score FROM foo WHERE id = 1"]',
                        headers=auth())
    result = json.loads(text)["results"][0]
    assert result["columns"] == ["id", "name", "data", "score"]
    assert result["types"] == ["integer", "text", "blob", "real"]
    assert result["values"] == [[1, "fiona", base64.b64encode(bytes([0, 255, 7])).decode(), 1.5]]
    status, text = http("GET", api + "/db/query?q=SELECT+name+FROM+foo+WHERE+id+%3E+5&associative", headers=auth())
    assert json.loads(text)["results"][0] == {"types": {"name": "text"}, "rows": []}

    # /db/request mixes reads and writes; SQL errors are per statement and the rest still run.
    body = b'["SELECT count(*) AS n FROM foo", "INSERT INTO foo(name) VALUES(\'x\')", "SELEC nonsense", "SELECT count(*) FROM foo"]'
    status, text = http("POST", api + "/db/request?pretty", body=body, headers=auth())
    results = json.loads(text)["results"]
    assert status == 200 and "\n" in text
    assert results[0]["values"] == [[3]] and results[1]["rows_affected"] == 1
    assert "syntax error" in results[2]["error"] and results[3]["values"] == [[4]]

    # ?transaction: all or nothing; the first error stops and rolls back.
    body = b'["INSERT INTO foo(name) VALUES(\'t1\')", "INSERT INTO nowhere VALUES(1)", "INSERT INTO foo(name) VALUES(\'t2\')"]'
    status, text = http("POST", api + "/db/execute?transaction", body=body, headers=auth())
    results = json.loads(text)["results"]
    assert len(results) == 2 and "no such table" in results[1]["error"]
    status, text = http("GET", api + "/db/query?q=SELECT+count(*)+FROM+foo", headers=auth())
    assert json.loads(text)["results"][0]["values"] == [[4]]

    # Writes through /db/query are refused per statement; parameters are checked.
    status, text = http("POST", api + "/db/query", body=b'["DELETE FROM foo"]', headers=auth())
    assert "use /db/execute" in json.loads(text)["results"][0]["error"]
    status, text = http("POST", api + "/db/execute", body=b'[["INSERT INTO foo(name) VALUES(?)", 1, 2]]',
                        headers=auth())
    assert "1 parameters but 2 were given" in json.loads(text)["results"][0]["error"]
    status, text = http("POST", api + "/db/execute", body=b'[["INSERT INTO foo(name) VALUES(:a)", {"b": 1}]]',
                        headers=auth())
    assert "no value given for parameter :a" in json.loads(text)["results"][0]["error"]

    for bad, fragment in [(b"{", "not valid JSON"), (b'{"a": 1}', "JSON array"), (b"[]", "empty"),
                          (b"[42]", "statement 0"), (b'[["SELECT ?", {"x": {"y": 1}}]]', "not a SQLite value")]:
        status, text = http("POST", api + "/db/execute", body=bad, headers=auth())
        assert status == 400 and fragment in json.loads(text)["error"], (bad, text)
    status, text = http("POST", api + "/db/execute?queue", body=b'["SELECT 1"]', headers=auth())
    assert status == 400 and "unknown parameter queue" in text
    status, text = http("POST", api + "/db/execute", body=b'["' + b"x" * 70000 + b'"]', headers=auth())
    assert status == 413 and "relay.maxBodyBytes" in text
    status, text = http("GET", api + "/db/query", headers=auth())
    assert status == 400 and "q=" in text
    # Still serving, nothing changed by any of that.
    status, text = http("GET", holder.api + "/db/query?q=SELECT+count(*)+FROM+foo", headers=auth())
    assert status == 200 and json.loads(text)["results"][0]["values"] == [[4]]


def test_unauthenticated_requests_never_touch_the_database(cluster):
    holder, standby = pair(cluster)
    status, _ = http("POST", holder.api + "/db/execute", body=b'["CREATE TABLE k (v)"]', headers=auth())
    assert status == 200
    for member in (holder, standby):
        for headers in ({}, {"Authorization": "Bearer wrong"},
                        {"Authorization": "Basic " + base64.b64encode(b"app:wrong").decode()}):
            status, text = http("POST", member.api + "/db/execute", body=b'["INSERT INTO k VALUES(1)"]',
                                headers=headers)
            assert status == 401, text
        status, _ = http("GET", member.api + "/db/query?q=SELECT+1", headers={})
        assert status == 401
    basic = {"Authorization": "Basic " + base64.b64encode(f"anyone:{TOKEN}".encode()).decode()}
    status, text = http("GET", holder.api + "/db/query?q=SELECT+count(*)+FROM+k", headers=basic)
    assert status == 200 and json.loads(text)["results"][0]["values"] == [[0]], text
    with pytest.raises(rqlite.Error, match="401"):
        rqlite.connect(host="127.0.0.1", port=port_of(holder), user="app", password="wrong").cursor().execute(
            "INSERT INTO k VALUES(1)")
    status, text = http("GET", holder.api + "/db/query?q=SELECT+count(*)+FROM+k", headers=basic)
    assert json.loads(text)["results"][0]["values"] == [[0]], text


@pytest.mark.parametrize("cluster", [None, RAILS], ids=["one-database", "group-of-4"], indirect=True)
def test_relay_writes_during_a_handoff_neither_fail_nor_get_lost(cluster):
    holder, standby = pair(cluster)
    status, text = http("POST", holder.api + "/db/execute", body=b'["CREATE TABLE h (k TEXT)"]', headers=auth())
    assert status == 200, text
    acked, failed = [], []
    stop = threading.Event()

    def writer(api, prefix):
        count = 0
        while not stop.is_set():
            count += 1
            body = json.dumps([["INSERT INTO h(k) VALUES(?)", f"{prefix}-{count}"]]).encode()
            sent = time.monotonic()
            status, text = http("POST", api + "/db/execute", body=body, headers=auth(), timeout=30)
            (acked if status == 200 and "error" not in json.loads(text)["results"][0] else failed).append(
                (f"{prefix}-{count}", status, text[:200], round(time.monotonic() - sent, 3)))

    threads = [threading.Thread(target=writer, args=(m.api, f"{m.name}{i}")) for m in (holder, standby)
               for i in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    result = subprocess.run([BATON, "handoff", "--node", holder.api], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "BATON_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    assert cluster.holder(among=[standby], timeout=10) is standby
    time.sleep(1)
    stop.set()
    for thread in threads:
        thread.join(60)
    assert failed == [], failed[:3]
    status, text = http("GET", standby.api + "/db/query?q=SELECT+k+FROM+h", headers=auth())
    stored = {row[0] for row in json.loads(text)["results"][0]["values"]}
    assert [key for key, _, _, _ in acked if key not in stored] == []
    assert len(acked) > 20
    # The old holder's relay connections closed before its file became a standby copy (one left open
    # would leave a WAL beside it), and open again when the baton comes back.
    cluster.wait_streaming(holder)
    result = subprocess.run([BATON, "handoff", "--node", standby.api], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "BATON_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    assert cluster.holder(among=[holder], timeout=10) is holder
    body = json.dumps([["INSERT INTO h(k) VALUES(?)", "back"]]).encode()
    status, text = http("POST", holder.api + "/db/execute", body=body, headers=auth(), timeout=30)
    assert status == 200 and "error" not in json.loads(text)["results"][0], text
    for member in (holder, standby):
        log = member.log_text()
        assert "beside the standby copy" not in log and "diverged" not in log, log[-2000:]


def test_a_client_past_the_rate_limit_gets_429_with_retry_after_and_runs_nothing(tmp_path):
    cluster = Cluster(tmp_path, f"file://{tmp_path}/replica", names=("a",), ttl="3s",
                      extra_yaml="relay:\n  rateLimit: 5\n")
    try:
        cluster.start()
        (holder,) = cluster.members
        cluster.holder()
        assert http("POST", holder.api + "/db/execute", body=b'["CREATE TABLE k (v)"]')[0] == 200
        answers = []
        for n in range(12):
            request = urllib.request.Request(holder.api + "/db/execute", method="POST",
                                             data=json.dumps([f"INSERT INTO k VALUES({n})"]).encode())
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    answers.append((response.status, None))
            except urllib.error.HTTPError as error:
                answers.append((error.code, error.headers.get("Retry-After")))
        refused = [answer for answer in answers if answer[0] == 429]
        assert refused and all(retry == "1" for _, retry in refused), answers
        admitted = len([answer for answer in answers if answer[0] == 200])
        assert 4 <= admitted <= 6, answers  # the burst (5, minus the CREATE, plus what refilled)
        time.sleep(1.2)
        status, text = http("GET", holder.api + "/db/query?q=SELECT+count(*)+FROM+k")
        assert status == 200 and json.loads(text)["results"][0]["values"] == [[admitted]], text
    finally:
        cluster.stop()
