"""The deployment files under deploy/: Prometheus alert rules checked and
unit-tested by promtool itself, and every metric they use exported by a
real node."""
import re
import subprocess

from certificates import CertificateAuthority
from cluster import Cluster, http
from conftest import ROOT

RULES = ROOT / "deploy" / "prometheus" / "baton-rules.yml"


def promtool(*args):
    done = subprocess.run(["promtool", *map(str, args)], capture_output=True, text=True, timeout=120,
                          cwd=RULES.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_alert_rules_are_valid_and_each_alert_fires_when_it_should():
    assert "SUCCESS: 11 rules found" in promtool("check", "rules", RULES)
    assert "SUCCESS" in promtool("test", "rules", RULES.parent / "baton-rules.test.yml")


def test_every_metric_the_rules_use_is_exported_by_a_node(tmp_path):
    used = set(re.findall(r"\bbaton_[a-z_]+", RULES.read_text()))
    ca = CertificateAuthority(tmp_path / "ca")
    cluster = Cluster(tmp_path / "cluster", f"file://{tmp_path}/replica", ttl="3s", tls=ca,
                      extra_yaml="verify:\n  every: 1h\n")
    try:
        cluster.start()
        holder = cluster.holder()
        assert http("POST", holder.proxy + "/write?key=k", body=b"", context=cluster.client_context)[0] == 200
        exported = set()
        for member in cluster.members:
            text = http("GET", member.api + "/metrics", context=cluster.client_context)[1]
            exported |= {line.split("{")[0].split()[0] for line in text.splitlines() if line.startswith("baton_")}
        # Counters appear once something was counted (a store error); the rest must be there.
        missing = {name for name in used - exported if name != "baton_store_requests_total"}
        assert not missing, f"the rules use metrics no node exports: {sorted(missing)}"
        assert any(name.startswith("baton_store_requests_total") for name in exported)
    finally:
        cluster.stop()
