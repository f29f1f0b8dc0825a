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
import time


class Context:
    """What a fault may touch: the cluster, the run's random source and its TTL."""

    def __init__(self, cluster, rng, ttl_seconds, log):
        self.cluster = cluster
        self.rng = rng
        self.ttl = ttl_seconds
        self.log = log

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


def kill_app(context):
    """kill -9 of the holder's app: the node starts it again."""
    holder, _ = context.roles()
    found = subprocess.run(["pgrep", "-f", f"demo-app --listen 127.0.0.1:{holder.app_port}"], capture_output=True,
                           text=True)
    pids = [int(pid) for pid in found.stdout.split()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(context.rng.uniform(0.5, 2))
    return f"kill -9 of holder {holder.name}'s app ({len(pids)} process)"


def starve_cpu(context):
    """Both cores oversubscribed twice over (stress-ng) for a while. Nothing
    else is wrong: the holder must keep the baton (no spurious fencing)."""
    holder, _ = context.roles()
    epoch = (holder.status() or {}).get("epoch")
    seconds = context.rng.uniform(2 * context.ttl, 4 * context.ttl)
    workers = 2 * len(os.sched_getaffinity(0))
    subprocess.run(["stress-ng", "--cpu", str(workers), "--timeout", f"{seconds:.0f}s", "--quiet"], check=False,
                   timeout=seconds + 60)
    after = holder.status() or {}
    kept = after.get("role") == "holder" and after.get("epoch") == epoch
    if not kept:
        context.log.append({"spurious_fencing": f"holder {holder.name} of epoch {epoch} lost the baton under CPU "
                                                f"load alone (now {after.get('role')}, epoch {after.get('epoch')})"})
    return f"CPU oversubscribed {workers}/{workers // 2} for {seconds:.0f} s; holder {holder.name} " + \
        ("kept the baton" if kept else "LOST the baton")


FAULTS = {
    "kill-holder": kill_holder,
    "kill-standby": kill_standby,
    "pause-holder-long": pause_holder_long,
    "pause-holder-short": pause_holder_short,
    "pause-standby": pause_standby,
    "kill-app": kill_app,
    "starve-cpu": starve_cpu,
}
