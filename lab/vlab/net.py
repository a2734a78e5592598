"""lab/vlab/net.py: the lab's network, entirely inside namespaces named vl-*.
Owns: the switch namespace (bridge `lan` for the seed's 192.168.1.0/24,
bridge `sync` for the appliances' eth1 link, the VMs' taps), the real servers'
and the client's namespaces wired to `lan` by veths, the real servers' DR
setup, their echo servers, the optional LVS-NAT real servers behind the
appliances' eth1, links up/down, and deleting it all. Nothing is
connected to the host's own network."""
import os
import sys

from . import paths
from .proc import kill_recorded, sh, spawn

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
NODES = ("lb1", "lb2")
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
        for nic, br in ((0, "lan"), (1, "sync")):
            t = tap(node, nic)
            sh("ip", "-n", SWITCH, "tuntap", "add", "dev", t, "mode", "tap")
            sh("ip", "-n", SWITCH, "link", "set", t, "master", br, "up")
    for h, addr in HOSTS.items():
        sh("ip", "-n", SWITCH, "link", "add", h, "type", "veth", "peer", "name", "eth0",
           "netns", ns(h))
        sh("ip", "-n", SWITCH, "link", "set", h, "master", "lan", "up")
        sh("ip", "-n", ns(h), "addr", "add", f"{addr}/24", "dev", "eth0")
        sh("ip", "-n", ns(h), "link", "set", "eth0", "up")
    for rs in REAL_SERVERS:
        setup_real_server(rs)


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


def start_server(rs):
    spawn(rs, ["ip", "netns", "exec", ns(rs), sys.executable,
               os.path.join(paths.VLAB, "echo_server.py"), rs],
          paths.run_path(f"{rs}.log"), needle="echo_server.py")


def stop_server(rs):
    return kill_recorded(rs)


def nat_up():
    """The NAT real servers: a namespace each, a veth to `sync`, the
    internal VIP as default route, an echo server on :80. Nothing on the
    seed's LAN changes."""
    for h, addr in NAT_SERVERS.items():
        sh("ip", "netns", "add", ns(h))
        sh("ip", "-n", ns(h), "link", "set", "lo", "up")
        sh("ip", "-n", SWITCH, "link", "add", h, "type", "veth", "peer", "name", "eth0",
           "netns", ns(h))
        sh("ip", "-n", SWITCH, "link", "set", h, "master", "sync", "up")
        sh("ip", "-n", ns(h), "addr", "add", f"{addr}/{NAT_NET_PREFIX}", "dev", "eth0")
        sh("ip", "-n", ns(h), "link", "set", "eth0", "up")
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
    for rs in REAL_SERVERS + tuple(NAT_SERVERS):
        kill_recorded(rs)
    for name in existing():
        sh("ip", "netns", "delete", name, check=False)


def client(*args, timeout=120):
    """Run lab/vlab/client.py in the client namespace -> its JSON answer."""
    import json
    r = in_ns("client", sys.executable, os.path.join(paths.VLAB, "client.py"), *args,
              check=False, timeout=timeout)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "error": f"client.py exited {r.returncode}: {r.stderr.strip()[-300:]}"}


def ping(host, addr, count=3, wait=1):
    r = in_ns(host, "ping", "-n", "-c", str(count), "-W", str(wait), addr, check=False,
              timeout=count * (wait + 1) + 5)
    return r.returncode == 0, r.stdout.strip().splitlines()[-2:] if r.stdout else r.stderr
