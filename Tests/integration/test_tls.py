"""TLS between everything (`tls:` in baton.yml): the node API, the front
proxy and peer traffic over TLS with certificates made by openssl in the
test; mutual TLS between nodes instead of a token; a peer from another CA,
a client without a certificate, an expired certificate and plain HTTP on a
TLS port refused clearly; certificates reloaded on SIGHUP and on change
without the lease being dropped."""
import datetime
import signal
import socket
import ssl
import subprocess
import time

from certificates import CertificateAuthority, der
from cluster import Cluster, Load, http, keys
from conftest import BATON, baton, wait_for


def tls_args(ca, cert, key):
    return ["--ca", ca, "--cert", cert, "--key", key]


def served_certificate(address, ca):
    """The DER certificate a TLS port presents now (a new connection)."""
    host, port = address.split("//")[1].split(":")
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = False
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=host) as wrapped:
            return wrapped.getpeercert(binary_form=True)


def test_a_cluster_over_mutual_tls_streams_hands_over_and_fails_over_without_a_token(tmp_path):
    ca = CertificateAuthority(tmp_path / "ca")
    cluster = Cluster(tmp_path / "cluster", f"file://{tmp_path}/replica", ttl="3s", replication="sync", tls=ca,
                      tls_client_auth="require")
    load = None
    try:
        cluster.start()
        holder = cluster.holder()
        standby = cluster["b" if holder.name == "a" else "a"]
        assert holder.api.startswith("https://") and holder.proxy.startswith("https://")
        cluster.wait_streaming(standby)
        # The app's clients reach the proxy with the CA only (no client certificate).
        users = ca.client_context()
        load = Load([holder.proxy, standby.proxy], threads=4, context=users)
        load.start()
        time.sleep(2)

        # A hand-over asked for by the CLI over mutual TLS.
        operator = tls_args(ca.cert, *cluster.tls.issue("cli", label="cli"))
        result = baton("handoff", "--node", holder.api, "--to", standby.name, *operator, timeout=60)
        assert f"to {standby.name}" in result.stdout
        assert cluster.holder(among=[standby], timeout=10) is standby
        cluster.wait_streaming(holder)
        status = baton("status", "--node", standby.api, *operator)
        assert "role      holder" in status.stdout

        # A crash failover: the old holder streamed every acknowledged write over TLS.
        standby.kill()
        assert cluster.holder(among=[holder], timeout=20) is holder
        time.sleep(1)
        load.stop()
        assert load.acks, load.failures[:3]
        stored = keys(holder.proxy, context=users)
        lost = [key for key, _, _, _ in load.acks if key not in stored]
        assert lost == [], lost[:5]
        assert sorted({epoch for _, epoch, _, _ in load.acks})[-1] == 3
    finally:
        if load:
            load.stop()
        cluster.stop()


def test_plain_http_no_client_certificate_and_another_ca_are_refused_clearly(tmp_path):
    ca = CertificateAuthority(tmp_path / "ca")
    other = CertificateAuthority(tmp_path / "other", name="Someone else's CA")
    cluster = Cluster(tmp_path / "cluster", f"file://{tmp_path}/replica", ttl="3s", tls=ca,
                      tls_client_auth="require")
    a, b = cluster.members
    # b's certificate comes from another CA: a must not take it as a peer.
    b.tls_files = other.issue("b", label="b")
    try:
        cluster.start()
        assert cluster.holder(among=[a]) is a

        # Plain HTTP on the TLS ports: a 400 that says what to do, then the connection closes.
        for port in (a.api_port, a.proxy_port):
            status, text = http("GET", f"http://127.0.0.1:{port}/status")
            assert status == 400 and "speaks HTTPS" in text, (status, text)

        # No client certificate on the API: refused in the handshake; the proxy does not ask for one.
        assert http("GET", a.api + "/status", context=ca.client_context())[0] == 0
        assert http("GET", a.proxy + "/health", context=ca.client_context())[0] != 0
        # A client certificate from another CA: refused.
        assert http("GET", a.api + "/status", context=ca.client_context(*other.issue("x", label="x")))[0] == 0

        # The CLI trusting another CA says why it could not connect.
        refused = subprocess.run([BATON, "status", "--node", a.api, "--ca", str(other.cert)], capture_output=True,
                                 text=True, timeout=60)
        assert refused.returncode != 0 and "TLS handshake failed" in refused.stderr, refused.stderr

        # b never streams from a (each refuses the other) and says so in its log.
        wait_for(lambda: "TLS handshake failed" in b.log_text(), 20, "b to log the refused handshake")
        assert b.get("/replica") != 200
        assert a.get("/primary") == 200
    finally:
        cluster.stop()


def test_an_expired_certificate_stops_the_node_before_it_listens(tmp_path):
    ca = CertificateAuthority(tmp_path / "ca")
    cert, key = ca.issue("a", start="20200101000000Z", end="20200102000000Z")
    config = tmp_path / "baton.yml"
    config.write_text(f"""name: a
database: {tmp_path}/app.db
store: file://{tmp_path}/replica
tls:
  cert: {cert}
  key: {key}
  ca: {ca.cert}
""")
    refused = subprocess.run([BATON, "node", "--config", str(config)], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert f"tls.cert {cert} expired on 2020-01-02 00:00:00 UTC" in refused.stderr, refused.stderr
    assert not (tmp_path / "replica").exists()

    # A key that is not the certificate's: named too.
    _, stranger = ca.issue("b")
    config.write_text(config.read_text().replace(f"key: {key}", f"key: {stranger}").replace(
        f"cert: {cert}", f"cert: {ca.issue('a', label='a-now')[0]}"))
    refused = subprocess.run([BATON, "node", "--config", str(config)], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "does not fit tls.cert" in refused.stderr, refused.stderr


def test_certificates_are_reloaded_on_sighup_and_on_change_without_dropping_the_lease(tmp_path):
    ca = CertificateAuthority(tmp_path / "ca")
    cluster = Cluster(tmp_path / "cluster", f"file://{tmp_path}/replica", names=("a",), ttl="3s", tls=ca)
    (a,) = cluster.members
    try:
        cluster.start()
        assert cluster.holder() is a
        cert, key = a.tls_files
        assert served_certificate(a.api, ca.cert) == der(cert)
        epoch = a.status()["epoch"]

        # Renewed in place (same paths, a new certificate valid for longer), then SIGHUP.
        until = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(days=90)
        renewed, _ = ca.issue("a", key=key, label="a-renewed", end=until.strftime("%Y%m%d%H%M%SZ"))
        cert.write_bytes(renewed.read_bytes())
        a.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: served_certificate(a.api, ca.cert) == der(renewed), 10, "the renewed certificate on the API")
        assert served_certificate(a.proxy, ca.cert) == der(renewed)
        assert "tls: SIGHUP" in a.log_text()
        metrics = http("GET", a.api + "/metrics", context=cluster.client_context)[1]
        expiry = [line for line in metrics.splitlines() if line.startswith("baton_tls_certificate_expiry_timestamp")]
        assert expiry and float(expiry[0].split()[-1]) == until.timestamp(), expiry

        # Changed without a signal: picked up within a few seconds.
        again, _ = ca.issue("a", key=key, label="a-again")
        cert.write_bytes(again.read_bytes())
        wait_for(lambda: served_certificate(a.api, ca.cert) == der(again), 15, "the changed certificate")

        # A broken file is refused and the certificate in use stays.
        cert.write_text("not a certificate\n")
        a.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "the certificate in use stays" in a.log_text(), 10, "the refusal in the log")
        assert served_certificate(a.api, ca.cert) == der(again)

        assert a.proc.poll() is None
        assert a.status()["epoch"] == epoch and a.get("/primary") == 200
    finally:
        cluster.stop()
