"""lab/vlab/net.py: the lab's network, entirely inside namespaces named vl-*.
Owns: the switch namespace (bridge `lan` for the seed's 192.168.1.0/24,
bridge `sync` for the appliances' eth1 link, the VMs' taps), the real servers'
and the client's namespaces wired to `lan` by veths, the real servers' DR
setup, their echo servers, the optional LVS-NAT real servers behind the
appliances' eth1, an optional third DR real server, extra client addresses,
WebSocket clients run in the background, links up/down, and deleting it
all; the taps of an optional appliance (lb3) and the anycast tests' upstream
router with the far clients behind it live in lab/vlab/router.py. Nothing is
connected to the host's own network."""
import json
import os
import subprocess
import sys
import threading
import time

from . import paths
from .proc import kill_recorded, recorded, sh, spawn

# Every namespace the lab makes is named PREFIX + role. VLAB_PREFIX (which
# must start with "vl") lets a second lab run beside the first on one
# machine; `make stop` deletes only namespaces with this lab's prefix.
PREFIX = os.environ.get("VLAB_PREFIX", "vl-")
if not PREFIX.startswith("vl"):
    raise SystemExit(f"VLAB_PREFIX={PREFIX!r} must start with 'vl'")
SWITCH = PREFIX + "sw"
LAN = "192.168.1.0/24"
VIP = "192.168.1.200"
HOSTS = {"rs1": "192.168.1.102", "rs2": "192.168.1.103", "client": "192.168.1.10"}
REAL_SERVERS = ("rs1", "rs2")
# Hosts a test adds when it needs them (add_real_server); down() removes them.
OPTIONAL = {"rs3": "192.168.1.104"}
# Extra client addresses (client_sources): with the seed's source-IP
# persistence, one client address means one real server for every client.
CLIENT_SOURCES = ("192.168.1", 11, 90)   # .11 .. .90
NODES = ("lb1", "lb2")
# Appliances a test boots only when it needs them (Lab.add_node): the
# scale-out test's third box. Their taps are made then (add_taps).
OPTIONAL_NODES = ("lb3",)
ALL_NODES = NODES + OPTIONAL_NODES
# LVS-NAT (lab/tests/test_nat.py only, made by nat_up()): real servers on the
# `sync` bridge beside the appliances' eth1, on their own subnet, whose
# default gateway is the internal VIP the VRRP master holds on eth1.
NAT_NET_PREFIX = 24
NAT_GW = "10.10.0.254"
NAT_SERVERS = {"nat1": "10.10.0.11", "nat2": "10.10.0.12"}


def ns(host: str) -> str:
    return PREFIX + host


def tap(node: str, nic: int) -> str:
    return f"{node}e{nic}"           # lives in vl-sw; the guest sees it as eth<nic>


def in_ns(host, *argv, **kw):
    return sh("ip", "netns", "exec", ns(host), *argv, **kw)


def existing():
    out = sh("ip", "netns", "list").stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX)]


def up():
    """Create every namespace, bridge, tap and veth; configure the hosts."""
    for h in ("sw",) + tuple(HOSTS):
        sh("ip", "netns", "add", ns(h))
        sh("ip", "-n", ns(h), "link", "set", "lo", "up")
    for br in ("lan", "sync"):
        sh("ip", "-n", SWITCH, "link", "add", br, "type", "bridge", "stp_state", "0",
           "forward_delay", "0", "mcast_snooping", "0")
        sh("ip", "-n", SWITCH, "link", "set", br, "up")
    for node in NODES:
        add_taps(node)
    for h, addr in HOSTS.items():
        wire_host(h, addr)
    for rs in REAL_SERVERS:
        setup_real_server(rs)


def add_taps(node):
    """The VM `node`'s two taps on the switch: eth0 on `lan`, eth1 on
    `sync` (a no-op for a tap that is there)."""
    have = sh("ip", "-n", SWITCH, "-br", "link", "show").stdout.split()
    for nic, br in ((0, "lan"), (1, "sync")):
        t = tap(node, nic)
        if t not in have:
            sh("ip", "-n", SWITCH, "tuntap", "add", "dev", t, "mode", "tap")
        sh("ip", "-n", SWITCH, "link", "set", t, "master", br, "up")


def del_taps(node):
    for nic in (0, 1):
        sh("ip", "-n", SWITCH, "link", "del", tap(node, nic), check=False)


def wire_host(h, addr, bridge="lan", prefix=24):
    """A namespace's eth0 on `bridge` with addr/prefix."""
    sh("ip", "-n", SWITCH, "link", "add", h, "type", "veth", "peer", "name", "eth0",
       "netns", ns(h))
    sh("ip", "-n", SWITCH, "link", "set", h, "master", bridge, "up")
    sh("ip", "-n", ns(h), "addr", "add", f"{addr}/{prefix}", "dev", "eth0")
    sh("ip", "-n", ns(h), "link", "set", "eth0", "up")


def add_host(h, addr, bridge="lan", prefix=24):
    """A namespace of its own (lo up), wired to `bridge` (wire_host)."""
    sh("ip", "netns", "add", ns(h))
    sh("ip", "-n", ns(h), "link", "set", "lo", "up")
    wire_host(h, addr, bridge, prefix)


def add_real_server(rs):
    """An OPTIONAL real server (rs3): namespace, DR setup, echo server; a
    no-op if it is already there."""
    if ns(rs) not in existing():
        add_host(rs, OPTIONAL[rs])
        setup_real_server(rs)
    if not recorded(rs):
        start_server(rs)


def client_sources(first=0, count=None):
    """Addresses first .. first+count-1 of CLIENT_SOURCES (all of them are
    added to the client's eth0 on first use) -> "A.B.C.D-E" for client.py
    --sources. A persistence template lasts an hour: a test that needs
    clients the balancer has not seen yet takes addresses no test used."""
    prefix, lo, hi = CLIENT_SOURCES
    have = in_ns("client", "ip", "-br", "-4", "addr", "show", "dev", "eth0").stdout
    for n in range(lo, hi + 1):
        if f" {prefix}.{n}/" not in f" {have}":
            in_ns("client", "ip", "addr", "add", f"{prefix}.{n}/24", "dev", "eth0")
    count = hi - lo + 1 - first if count is None else count
    if first < 0 or count < 1 or lo + first + count - 1 > hi:
        raise ValueError(f"client sources {first}+{count}: only {hi - lo + 1} exist")
    return f"{prefix}.{lo + first}-{lo + first + count - 1}"


def setup_real_server(rs):
    """LVS-DR real server, as the seed intends (with its netmask typo fixed):
    the VIP on lo as a /32, and ARP kept from answering or announcing it."""
    for key, val in (("arp_ignore", 1), ("arp_announce", 2)):
        for dev in ("all", "eth0"):
            in_ns(rs, "sysctl", "-qw", f"net.ipv4.conf.{dev}.{key}={val}")
    sh("ip", "-n", ns(rs), "addr", "add", f"{VIP}/32", "dev", "lo")


def start_servers():
    for rs in REAL_SERVERS:
        start_server(rs)


def start_server(rs, port=80, *extra):
    """The echo server of `rs` on `port` (recorded as rs, or rs-PORT for
    another port); `extra`: more echo_server.py arguments. Returns once it
    listens (its log says so; at most LISTEN_WAIT_S): a caller that
    connects right away is not refused by a server still starting."""
    log = paths.run_path(f"{server_name(rs, port)}.log")
    before = _listening_lines(log)
    spawn(server_name(rs, port), ["ip", "netns", "exec", ns(rs), sys.executable,
                                  os.path.join(paths.VLAB, "echo_server.py"), rs,
                                  "--port", str(port), *extra],
          log, needle="echo_server.py")
    deadline = time.monotonic() + LISTEN_WAIT_S
    while _listening_lines(log) <= before:
        if time.monotonic() > deadline:
            raise RuntimeError(f"echo server of {rs} on port {port} not listening after "
                               f"{LISTEN_WAIT_S} s (see {log})")
        time.sleep(0.05)


LISTEN_WAIT_S = 20


def _listening_lines(log):
    try:
        with open(log, errors="replace") as f:
            return sum(" listening on " in line for line in f)
    except OSError:
        return 0


def server_name(rs, port=80):
    return rs if port == 80 else f"{rs}-{port}"


def server_running(rs, port=80):
    return recorded(server_name(rs, port)) is not None


def stop_server(rs, port=80):
    return kill_recorded(server_name(rs, port))


# Echo servers a test started on other ports (start_server(rs, port)):
# down() kills them too.
EXTRA_PORTS = (8080,)


def nat_up():
    """The NAT real servers: a namespace each, a veth to `sync`, the
    internal VIP as default route, an echo server on :80. Nothing on the
    seed's LAN changes."""
    for h, addr in NAT_SERVERS.items():
        add_host(h, addr, "sync", NAT_NET_PREFIX)
        sh("ip", "-n", ns(h), "route", "add", "default", "via", NAT_GW)
        start_server(h)


def nat_down():
    for h in NAT_SERVERS:
        stop_server(h)
        sh("ip", "-n", SWITCH, "link", "del", h, check=False)
        sh("ip", "netns", "delete", ns(h), check=False)


def link(node: str, nic: int, state: str):
    """Take an appliance's NIC (its tap on the switch) 'down' or 'up'."""
    sh("ip", "-n", SWITCH, "link", "set", tap(node, nic), state)


def down():
    """Kill the real servers and delete every vl-* namespace (with everything
    in it). qemu must be gone first: see lab.stop_all()."""
    # The anycast test's router (test_anycast.py): its BIRD first.
    kill_recorded("router-bird")
    for rs in REAL_SERVERS + tuple(OPTIONAL) + tuple(NAT_SERVERS):
        kill_recorded(rs)
        for port in EXTRA_PORTS:
            kill_recorded(server_name(rs, port))
    for name in existing():
        sh("ip", "netns", "delete", name, check=False)


def client(*args, timeout=120, host="client"):
    """Run lab/vlab/client.py in the client namespace (or `host`'s) -> its
    JSON answer."""
    r = in_ns(host, sys.executable, os.path.join(paths.VLAB, "client.py"), *args,
              check=False, timeout=timeout)
    return _answer(r.stdout, r.returncode, r.stderr)


def _answer(stdout, returncode, stderr):
    try:
        return json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "error": f"client.py exited {returncode}: {stderr.strip()[-300:]}"}


class BackgroundClients:
    """client.py ws ... --until-stdin running in the client namespace (or
    `host`'s) while a test acts: ready() waits for its READY line (every client had its
    first attempt), finish() stops it (a line on its stdin) -> its answer.
    The process is this object's child, ended by its own PID."""

    def __init__(self, *args, host="client"):
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", ns(host), sys.executable,
             os.path.join(paths.VLAB, "client.py"), "ws", *args, "--until-stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line)
            if line.startswith("READY "):
                self._ready.set()
        self._ready.set()

    def ready(self, timeout):
        """-> the READY counters (dict), or None (it exited or timed out)."""
        self._ready.wait(timeout)
        for line in self.lines:
            if line.startswith("READY "):
                return json.loads(line[len("READY "):])
        return None

    def finish(self, timeout=60):
        try:
            self.p.stdin.write("stop\n")
            self.p.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._reader.join(5)
        stderr = self.p.stderr.read() if self.p.stderr else ""
        return _answer("".join(self.lines), self.p.returncode, stderr)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(10)


def ping(host, addr, count=3, wait=1):
    r = in_ns(host, "ping", "-n", "-c", str(count), "-W", str(wait), addr, check=False,
              timeout=count * (wait + 1) + 5)
    return r.returncode == 0, r.stdout.strip().splitlines()[-2:] if r.stdout else r.stderr
