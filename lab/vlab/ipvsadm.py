"""lab/vlab/ipvsadm.py: the kernel's IPVS state as a test reads it on a
node: `ipvsadm -Ln` parsed, polling it until a condition holds, and the
connection sync daemons (`ipvsadm -L --daemon`). Owns: the parsing and the
bounded polls. Must not: change the table or the daemons."""
import time
from dataclasses import dataclass


@dataclass
class Dest:
    weight: int
    active: int
    inactive: int


def parse(text):
    """`ipvsadm -Ln` -> {"TCP 192.168.1.200:80": {"192.168.1.102:80": Dest}}."""
    table, service = {}, None
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 2 and f[0] in ("TCP", "UDP", "SCTP", "FWM"):
            service = f"{f[0]} {f[1]}"
            table[service] = {}
        elif len(f) == 6 and f[0] == "->" and service is not None and f[1][0].isdigit():
            table[service][f[1]] = Dest(int(f[3]), int(f[4]), int(f[5]))
    return table


def table(node):
    return parse(node.check("ipvsadm -Ln"))


def wait(node, pred, timeout, period=0.5, since=None):
    """Poll node's table until pred(table) -> (seconds since `since` (a
    time.monotonic(), default now), table), or (None, last table) once
    `timeout` seconds have passed since then."""
    t0 = time.monotonic() if since is None else since
    while True:
        t = table(node)
        if pred(t):
            return time.monotonic() - t0, t
        if time.monotonic() - t0 > timeout:
            return None, t
        time.sleep(period)


# `ipvsadm -L --daemon` lines start so (then ", maxlen=..., group=..., ...)").
def sync_daemon(state, ifname, syncid):
    return f"{state} sync daemon (mcast={ifname}, syncid={syncid}"


def wait_daemons(node, want, timeout=30):
    """Poll `ipvsadm -L --daemon` until its lines start with `want`'s, one
    each -> output."""
    t0 = time.monotonic()
    out = ""
    while time.monotonic() - t0 < timeout:
        out = node.check("ipvsadm -L --daemon").strip()
        lines = sorted(x.strip() for x in out.splitlines() if x.strip())
        if len(lines) == len(want) and all(
                x.startswith(w) for x, w in zip(lines, sorted(want))):
            return out
        time.sleep(0.5)
    raise AssertionError(f"{node.name}: ipvsadm -L --daemon = {out!r}, want {want!r}")
