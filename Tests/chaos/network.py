"""Real network partitions for a chaos run: each node in a network namespace
of its own, joined to the machine by a veth pair on one bridge; the store
(moto) and the clients stay on the machine, on the bridge's address. A
partition is an nftables drop rule inside a node's namespace: packets are
dropped, not refused, so a cut-off node sees what it would on a real
network (requests that hang until their timeouts).

A slow store is an htb rate limit (tc) on both ends of a node's veth for
the store's traffic; a failing one an nftables reset rule.

Needs root (or CAP_NET_ADMIN), iproute2 (ip, tc) and nftables. Every name carries a
short run id, so two runs on one machine do not collide; `close()` removes
what `open()` made.
"""
import glob
import os
import socket
import subprocess
import sys

SUBNET = "10.77"


def sh(*command, check=True):
    return subprocess.run(list(command), check=check, capture_output=True, text=True, timeout=30)


def libfaketime():
    """The path of libfaketime (Debian's `libfaketime`), or None."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1")) + sorted(glob.glob("/usr/lib/faketime/libfaketime.so.1"))
    return found[0] if found else None


def available():
    """None when an isolated run can be made here, else why not."""
    if os.geteuid() != 0:
        return "an isolated run needs root (network namespaces, nftables, tmpfs mounts)"
    for tool in ("ip", "nft", "tc"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            return f"an isolated run needs `{tool}` (apt-get install iproute2 nftables)"
    if libfaketime() is None:
        return "an isolated run needs libfaketime (apt-get install libfaketime)"
    return None


class Network:
    """A bridge at SUBNET.<id>.1 on the machine and one namespace per node name."""

    def __init__(self, names, run_id=None):
        self.id = (run_id if run_id is not None else os.getpid()) % 250 + 1
        self.bridge = f"bc{self.id}br"
        self.gateway = f"{SUBNET}.{self.id}.1"
        self.names = list(names)
        self.addresses = {name: f"{SUBNET}.{self.id}.{index + 2}" for index, name in enumerate(self.names)}
        self.store_port = None
        self.cuts = {name: set() for name in self.names}
        self.slowed = set()

    def namespace(self, name):
        return f"baton-chaos{self.id}-{name}"

    def prefix(self, name):
        """The command prefix that runs a process inside `name`'s namespace."""
        return ["ip", "netns", "exec", self.namespace(name)]

    def open(self):
        self.close()
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for index, name in enumerate(self.names):
            namespace, outside = self.namespace(name), f"bc{self.id}v{index}"
            sh("ip", "netns", "add", namespace)
            sh("ip", "link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", namespace)
            sh("ip", "link", "set", outside, "master", self.bridge, "up")
            inside = self.prefix(name)
            sh(*inside, "ip", "link", "set", "lo", "up")
            sh(*inside, "ip", "addr", "add", f"{self.addresses[name]}/24", "dev", "eth0")
            sh(*inside, "ip", "link", "set", "eth0", "up")
            self._nft(name, "add table inet chaos\n"
                            "add chain inet chaos input { type filter hook input priority 0; }\n"
                            "add chain inet chaos output { type filter hook output priority 0; }\n")
        # A bridge whose traffic goes through the machine's iptables (br_netfilter) may meet a
        # FORWARD policy of DROP (Docker sets one); say so instead of timing out later.
        with socket.socket() as listener:
            listener.bind((self.gateway, 0))
            listener.listen(8)
            port = listener.getsockname()[1]
            for name in self.names:
                probe = sh(*self.prefix(name), sys.executable, "-c",
                           f"import socket; socket.create_connection(('{self.gateway}', {port}), 2).close()",
                           check=False)
                if probe.returncode != 0:
                    raise RuntimeError(f"namespace {self.namespace(name)} cannot reach {self.gateway}: "
                                       f"{probe.stderr.strip()[-300:]}")
        return self

    def close(self):
        for name in self.names:
            sh("ip", "netns", "del", self.namespace(name), check=False)
        sh("ip", "link", "del", self.bridge, check=False)

    def _nft(self, name, script):
        subprocess.run([*self.prefix(name), "nft", "-f", "-"], input=script, check=True, capture_output=True,
                       text=True, timeout=30)

    def _rules(self, target, direction):
        """nft rule texts (chain, match) that drop `target` ('store' or a node name)."""
        if target == "store":
            out = f"ip daddr {self.gateway} tcp dport {self.store_port}"
            into = f"ip saddr {self.gateway} tcp sport {self.store_port}"
        else:
            out = f"ip daddr {self.addresses[target]}"
            into = f"ip saddr {self.addresses[target]}"
        rules = []
        if direction in ("both", "out"):
            rules.append(("output", out))
        if direction in ("both", "in"):
            rules.append(("input", into))
        return rules

    def cut(self, name, target, direction="both"):
        """Drops packets between node `name` and `target` (the store or another
        node): both ways, or only those `name` sends ("out") or receives ("in")."""
        for chain, match in self._rules(target, direction):
            if (chain, match) not in self.cuts[name]:
                self._nft(name, f"add rule inet chaos {chain} {match} drop\n")
                self.cuts[name].add((chain, match))

    def refuse(self, name):
        """Node `name`'s connections to the store are reset at once (a store
        that fails every request, as opposed to one that cannot be reached)."""
        match = f"ip daddr {self.gateway} tcp dport {self.store_port}"
        if ("output", match + " reject") not in self.cuts[name]:
            self._nft(name, f"add rule inet chaos output {match} reject with tcp reset\n")
            self.cuts[name].add(("output", match + " reject"))

    def slow(self, name, kbit):
        """Traffic between node `name` and the store limited to `kbit` kbit/s
        each way (an htb class with a u32 filter on both ends of its veth)."""
        index = self.names.index(name)
        ends = [(self.prefix(name), "eth0", f"match ip dst {self.gateway}/32 match ip dport {self.store_port} 0xffff"),
                ([], f"bc{self.id}v{index}", f"match ip src {self.gateway}/32 match ip sport {self.store_port} 0xffff")]
        for prefix, device, match in ends:
            sh(*prefix, "tc", "qdisc", "replace", "dev", device, "root", "handle", "1:", "htb", "default", "10")
            sh(*prefix, "tc", "class", "replace", "dev", device, "parent", "1:", "classid", "1:10", "htb", "rate",
               "10gbit")
            sh(*prefix, "tc", "class", "replace", "dev", device, "parent", "1:", "classid", "1:30", "htb", "rate",
               f"{kbit}kbit", "ceil", f"{kbit}kbit")
            sh(*prefix, "tc", "filter", "replace", "dev", device, "parent", "1:", "protocol", "ip", "prio", "1",
               "u32", *match.split(), "flowid", "1:30")
        self.slowed.add(name)

    def heal(self, name=None):
        """Removes every drop, reset and rate rule of `name` (default: of every node)."""
        for each in ([name] if name else self.names):
            if self.cuts[each]:
                self._nft(each, "flush chain inet chaos input\nflush chain inet chaos output\n")
                self.cuts[each].clear()
            if each in self.slowed:
                sh(*self.prefix(each), "tc", "qdisc", "del", "dev", "eth0", "root", check=False)
                sh("tc", "qdisc", "del", "dev", f"bc{self.id}v{self.names.index(each)}", "root", check=False)
                self.slowed.discard(each)
