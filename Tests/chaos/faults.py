"""The faults a chaos run injects. Each one injects itself, keeps the fault
for a while, heals it, and returns a line saying what it did; the runner
then times how long the cluster takes to be whole again (one holder and a
streaming standby).

Every fault names what it hits by role at the moment it strikes (the holder
or the standby), so a run exercises both nodes in both roles.
"""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from cluster import http  # noqa: E402


class Context:
    """What a fault may touch: the cluster, the run's random source and its TTL."""

    def __init__(self, cluster, rng, ttl_seconds, log, network=None, clocks=None):
        self.cluster = cluster
        self.rng = rng
        self.ttl = ttl_seconds
        self.log = log
        self.network = network
        # Node name -> the file libfaketime reads the node's clock offset from.
        self.clocks = clocks or {}

    def roles(self, timeout=60):
        """(holder, standby) now."""
        holder = self.cluster.holder(timeout=timeout)
        standby = next(member for member in self.cluster.members if member is not holder)
        return holder, standby


def kill_for_a_while(context, member, role):
    """kill -9 of `member`'s node (its app dies with it), restarted after 1 s to 2 TTLs."""
    down = context.rng.uniform(1, 2 * context.ttl)
    member.kill()
    time.sleep(down)
    member.start()
    return f"kill -9 of {role} {member.name}, restarted after {down:.1f} s"


def pause_for(member, seconds):
    """SIGSTOP of `member`'s node for `seconds` (its app keeps running), then SIGCONT."""
    member.proc.send_signal(signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        member.proc.send_signal(signal.SIGCONT)


def kill_holder(context):
    """kill -9 of the holder's node; it restarts after a while."""
    holder, _ = context.roles()
    return kill_for_a_while(context, holder, "holder")


def kill_standby(context):
    """kill -9 of the standby's node; it restarts after a while."""
    _, standby = context.roles()
    return kill_for_a_while(context, standby, "standby")


def pause_holder_long(context):
    """SIGSTOP of the holder past its lease: the standby takes over, and the
    old holder must fence itself when it resumes."""
    holder, _ = context.roles()
    paused = context.rng.uniform(context.ttl + 1, 2 * context.ttl + 2)
    pause_for(holder, paused)
    return f"SIGSTOP of holder {holder.name} for {paused:.1f} s (TTL {context.ttl:.0f} s)"


def pause_holder_short(context):
    """SIGSTOP of the holder well within its lease: it must keep the baton."""
    holder, _ = context.roles()
    paused = context.rng.uniform(0.2, context.ttl / 3)
    pause_for(holder, paused)
    return f"SIGSTOP of holder {holder.name} for {paused:.1f} s (TTL {context.ttl:.0f} s)"


def pause_standby(context):
    """SIGSTOP of the standby; sync mode drops it from sync, then takes it back."""
    _, standby = context.roles()
    paused = context.rng.uniform(0.5, 2 * context.ttl)
    pause_for(standby, paused)
    return f"SIGSTOP of standby {standby.name} for {paused:.1f} s"


def app_pids(member):
    """The process ids of `member`'s app."""
    found = subprocess.run(["pgrep", "-f", f"demo-app --listen 127.0.0.1:{member.app_port}"], capture_output=True,
                           text=True)
    return [int(pid) for pid in found.stdout.split()]


def signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def kill_app(context):
    """kill -9 of the holder's app: the node starts it again."""
    holder, _ = context.roles()
    pids = app_pids(holder)
    signal_all(pids, signal.SIGKILL)
    time.sleep(context.rng.uniform(0.5, 2))
    return f"kill -9 of holder {holder.name}'s app ({len(pids)} process)"


def pause_app(context):
    """SIGSTOP of the holder's app for 1 s to 2 TTLs, then SIGCONT: requests
    hang or time out, nothing else is wrong, and the holder must keep the baton."""
    holder, _ = context.roles()
    epoch = (holder.status() or {}).get("epoch")
    seconds = context.rng.uniform(1, 2 * context.ttl)
    pids = app_pids(holder)
    signal_all(pids, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        signal_all(pids, signal.SIGCONT)
    kept = holder_must_keep_the_baton(context, holder, epoch, "while its app was paused")
    return f"SIGSTOP of holder {holder.name}'s app ({len(pids)} process) for {seconds:.1f} s; " + \
        ("holder kept the baton" if kept else "holder LOST the baton")


def starve_cpu(context):
    """Both cores oversubscribed twice over (stress-ng) for a while. Nothing
    else is wrong: the holder must keep the baton (no spurious fencing)."""
    holder, _ = context.roles()
    epoch = (holder.status() or {}).get("epoch")
    seconds = context.rng.uniform(2 * context.ttl, 4 * context.ttl)
    workers = 2 * len(os.sched_getaffinity(0))
    subprocess.run(["stress-ng", "--cpu", str(workers), "--timeout", f"{seconds:.0f}s", "--quiet"], check=False,
                   timeout=seconds + 60)
    kept = holder_must_keep_the_baton(context, holder, epoch, "under CPU load alone")
    return f"CPU oversubscribed {workers}/{workers // 2} for {seconds:.0f} s; holder {holder.name} " + \
        ("kept the baton" if kept else "LOST the baton")


def holder_must_keep_the_baton(context, holder, epoch, why):
    """Records spurious fencing when `holder` (of `epoch`) lost the baton though
    it could reach the store all along."""
    after = holder.status() or {}
    kept = after.get("role") == "holder" and after.get("epoch") == epoch
    if not kept:
        context.log.append({"spurious_fencing": f"holder {holder.name} of epoch {epoch} lost the baton {why} "
                                                f"(now {after.get('role')}, epoch {after.get('epoch')})"})
    return kept


def partition(context, member, targets, seconds, direction="both"):
    """Drops packets between `member` and each target ("store" or a node) for
    `seconds`, then heals."""
    for target in targets:
        context.network.cut(member.name, target, direction)
    try:
        time.sleep(seconds)
    finally:
        context.network.heal(member.name)


def partition_seconds(context):
    """Short (the lease survives) to well past the TTL."""
    return context.rng.uniform(1, 2 * context.ttl + 2)


def partition_holder_store(context):
    """The holder cannot reach the store: past its TTL it must fence itself and
    the standby (which can) takes over; healed, it rejoins as a standby."""
    holder, _ = context.roles()
    seconds = partition_seconds(context)
    partition(context, holder, ["store"], seconds)
    return f"holder {holder.name} cut from the store for {seconds:.1f} s"


def partition_holder_standby(context):
    """Holder and standby cannot reach each other; both reach the store. The
    holder keeps the baton (sync mode drops the standby from sync)."""
    holder, standby = context.roles()
    epoch = (holder.status() or {}).get("epoch")
    seconds = partition_seconds(context)
    partition(context, holder, [standby.name], seconds)
    kept = holder_must_keep_the_baton(context, holder, epoch, "while only cut from its standby")
    return f"holder {holder.name} and standby {standby.name} cut from each other for {seconds:.1f} s; " + \
        ("holder kept the baton" if kept else "holder LOST the baton")


def partition_standby_store(context):
    """The standby cannot reach the store; it keeps streaming from the holder."""
    holder, standby = context.roles()
    epoch = (holder.status() or {}).get("epoch")
    seconds = partition_seconds(context)
    partition(context, standby, ["store"], seconds)
    holder_must_keep_the_baton(context, holder, epoch, "while its standby was cut from the store")
    return f"standby {standby.name} cut from the store for {seconds:.1f} s"


def isolate_standby(context):
    """The standby cut from the store and the holder."""
    holder, standby = context.roles()
    epoch = (holder.status() or {}).get("epoch")
    seconds = partition_seconds(context)
    partition(context, standby, ["store", holder.name], seconds)
    holder_must_keep_the_baton(context, holder, epoch, "while its standby was isolated")
    return f"standby {standby.name} cut from the store and the holder for {seconds:.1f} s"


def isolate_holder(context):
    """The holder cut from the store and the standby: past the TTL the standby
    takes over; the old holder must have fenced itself."""
    holder, standby = context.roles()
    seconds = partition_seconds(context)
    partition(context, holder, ["store", standby.name], seconds)
    return f"holder {holder.name} cut from the store and the standby for {seconds:.1f} s"


def partition_one_way(context):
    """Packets of one direction only dropped, between the holder or the standby
    and the store or the other node."""
    holder, standby = context.roles()
    member = context.rng.choice([holder, standby])
    other = standby if member is holder else holder
    target = context.rng.choice(["store", other.name])
    direction = context.rng.choice(["in", "out"])
    seconds = partition_seconds(context)
    partition(context, member, [target], seconds, direction)
    role = "holder" if member is holder else "standby"
    dropped = "sends" if direction == "out" else "receives"
    return f"what {role} {member.name} {dropped} to/from {target} dropped for {seconds:.1f} s"


def flap(context):
    """A flapping link: the holder's or the standby's link to the store or to
    the other node goes down and up at random (0.2-3 s each) for 10-30 s."""
    holder, standby = context.roles()
    member = context.rng.choice([holder, standby])
    other = standby if member is holder else holder
    target = context.rng.choice(["store", other.name])
    until = time.monotonic() + context.rng.uniform(10, 30)
    flips = 0
    try:
        while time.monotonic() < until:
            context.network.cut(member.name, target)
            time.sleep(context.rng.uniform(0.2, 3))
            context.network.heal(member.name)
            time.sleep(context.rng.uniform(0.2, 3))
            flips += 1
    finally:
        context.network.heal(member.name)
    role = "holder" if member is holder else "standby"
    return f"{role} {member.name}'s link to {target} flapped {flips} times"


def store_slow(context):
    """The store slow for everyone: each node's traffic with it limited to
    128-1024 kbit/s each way for 5 s to 3 TTLs (the lease may be lost if a
    renewal waits behind uploads too long; nothing acknowledged may be)."""
    kbit = context.rng.choice([128, 256, 512, 1024])
    seconds = context.rng.uniform(5, 3 * context.ttl)
    try:
        for member in context.cluster.members:
            context.network.slow(member.name, kbit)
        time.sleep(seconds)
    except subprocess.CalledProcessError as error:
        # A kernel without htb or u32 (tc's qdisc and filter): say so rather than end the run.
        return f"store-slow NOT injected: {' '.join(error.cmd[-8:])}: {(error.stderr or '').strip()[:200]}"
    finally:
        context.network.heal()
    return f"store slowed to {kbit} kbit/s each way for every node for {seconds:.1f} s"


def store_failing(context):
    """The store fails every request of every node (connections reset at
    once, not dropped) for 1 s to 2 TTLs + 2 s."""
    seconds = partition_seconds(context)
    try:
        for member in context.cluster.members:
            context.network.refuse(member.name)
        time.sleep(seconds)
    finally:
        context.network.heal()
    return f"store refused every node's connections for {seconds:.1f} s"


def handoff(context, member):
    """Asks `member` (the holder) to hand the baton over; (status, answer)."""
    token = context.cluster.token
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    return http("POST", member.api + "/handoff", timeout=60, body=b"{}", headers=headers)


def planned_handoff(context):
    """A hand-over asked of the holder, as for a deploy."""
    holder, standby = context.roles()
    status, answer = handoff(context, holder)
    return f"hand-over from holder {holder.name} to {standby.name}: {status} {' '.join(answer.split())[:120]}"


def kill_mid_handoff(context):
    """kill -9 of the holder or of the standby at a random moment of a hand-over."""
    holder, standby = context.roles()
    victim = context.rng.choice([holder, standby])
    delay = context.rng.uniform(0, 1.5)
    result = {}

    def ask():
        result["answer"] = handoff(context, holder)

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    time.sleep(delay)
    down = context.rng.uniform(1, context.ttl)
    victim.kill()
    asking.join(70)
    time.sleep(down)
    victim.start()
    role = "holder" if victim is holder else "standby"
    return f"kill -9 of {role} {victim.name} {delay:.2f} s into a hand-over (answer {result.get('answer', ('?',))[0]}), " \
           f"restarted after {down:.1f} s"


def kill_mid_promotion(context):
    """kill -9 of the holder, then of the standby while it takes over; both restart."""
    holder, standby = context.roles()
    holder.kill()
    delay = context.rng.uniform(0, context.ttl + 3)
    time.sleep(delay)
    standby.kill()
    time.sleep(context.rng.uniform(0.5, 3))
    holder.start()
    standby.start()
    return f"kill -9 of holder {holder.name}, then of standby {standby.name} {delay:.1f} s later (taking over); " \
           f"both restarted"


def clock_jump(context):
    """The wall clock of the holder or the standby jumps forward or back by
    more than the TTL for a while, then back (libfaketime; the node's
    monotonic clock is untouched, as an NTP step leaves it). Nothing else is
    wrong: the holder must keep the baton."""
    holder, standby = context.roles()
    epoch = (holder.status() or {}).get("epoch")
    member = context.rng.choice([holder, standby])
    offset = context.rng.choice([-1, 1]) * context.rng.uniform(context.ttl + 5, 3 * context.ttl + 5)
    seconds = context.rng.uniform(5, 2 * context.ttl)
    clock = context.clocks[member.name]
    clock.write_text(f"{offset:+.0f}\n")
    try:
        time.sleep(seconds)
    finally:
        clock.write_text("+0\n")
    time.sleep(1.5)  # libfaketime re-reads the offset once a second
    kept = holder_must_keep_the_baton(context, holder, epoch, f"when {member.name}'s wall clock jumped")
    role = "holder" if member is holder else "standby"
    return f"wall clock of {role} {member.name} {offset:+.0f} s for {seconds:.1f} s; " + \
        ("holder kept the baton" if kept else "holder LOST the baton")


def clock_drift(context):
    """The wall clock of the holder or the standby drifts, fast or slow, by
    50-500 ms per second for 2-6 TTLs (libfaketime offsets moved every half
    second), then is stepped back to the true time as NTP would. Nothing else
    is wrong: the holder must keep the baton."""
    holder, standby = context.roles()
    epoch = (holder.status() or {}).get("epoch")
    member = context.rng.choice([holder, standby])
    rate = context.rng.choice([-1, 1]) * context.rng.uniform(0.05, 0.5)
    seconds = context.rng.uniform(2 * context.ttl, 6 * context.ttl)
    clock = context.clocks[member.name]
    started = time.monotonic()
    offset = 0.0
    try:
        while time.monotonic() - started < seconds:
            time.sleep(0.5)
            offset = rate * (time.monotonic() - started)
            clock.write_text(f"{offset:+.3f}\n")
    finally:
        clock.write_text("+0\n")
    time.sleep(1.5)  # libfaketime re-reads the offset once a second
    kept = holder_must_keep_the_baton(context, holder, epoch, f"when {member.name}'s wall clock drifted")
    role = "holder" if member is holder else "standby"
    return f"wall clock of {role} {member.name} drifted {rate * 1000:+.0f} ms/s for {seconds:.1f} s " \
           f"(to {offset:+.1f} s), then stepped back; " + ("holder kept the baton" if kept else "holder LOST the baton")


def disk_full(context):
    """The data folder (a small tmpfs) of the holder or the standby fills up
    for a while, then the space comes back."""
    holder, standby = context.roles()
    member = context.rng.choice([holder, standby])
    filler = member.db.parent / "filler"
    if not os.path.ismount(member.db.parent):
        # Never fill a disk the machine needs: only the data folder's own tmpfs (an isolated run).
        raise RuntimeError(f"{member.db.parent} is not a mount of its own; disk-full needs an isolated run")
    seconds = context.rng.uniform(3, 2 * context.ttl)
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M", "status=none"], check=False,
                   capture_output=True)
    try:
        time.sleep(seconds)
    finally:
        filler.unlink(missing_ok=True)
    role = "holder" if member is holder else "standby"
    return f"disk of {role} {member.name} full for {seconds:.1f} s"


NETWORK_FAULTS = {
    "partition-holder-store": partition_holder_store,
    "partition-holder-standby": partition_holder_standby,
    "partition-standby-store": partition_standby_store,
    "isolate-standby": isolate_standby,
    "isolate-holder": isolate_holder,
    "partition-one-way": partition_one_way,
    "flap": flap,
    "store-slow": store_slow,
    "store-failing": store_failing,
}

FAULTS = {
    "kill-holder": kill_holder,
    "kill-standby": kill_standby,
    "pause-holder-long": pause_holder_long,
    "pause-holder-short": pause_holder_short,
    "pause-standby": pause_standby,
    "kill-app": kill_app,
    "pause-app": pause_app,
    "starve-cpu": starve_cpu,
    "handoff": planned_handoff,
    "kill-mid-handoff": kill_mid_handoff,
    "kill-mid-promotion": kill_mid_promotion,
}

# Faults that need an isolated run (root): nodes in network namespaces, each
# one's clock under libfaketime and its data on a tmpfs of its own.
ISOLATED_FAULTS = {
    **NETWORK_FAULTS,
    "clock-jump": clock_jump,
    "clock-drift": clock_drift,
    "disk-full": disk_full,
}
ALL_FAULTS = {**FAULTS, **ISOLATED_FAULTS}
