"""lab/vlab/router.py: the anycast tests' upstream router.
Owns: the `router` namespace on the LAN (ADDR) running BIRD 2 from the
host's bird2 package (recorded as router-bird; config and control socket
under target/lab/run/), forwarding with ECMP (a multipath route when BIRD's
kernel protocol merges equal BGP paths; the kernel hashes each flow's
5-tuple), the `far` namespace behind it on a veth of its own, holding the
far clients' addresses, the real servers' route back to those clients (LVS-
DR: they answer the client directly, through the router), and the questions
tests ask: the route BIRD holds for a prefix, the next hops the router's
kernel forwards an address to. Must not: touch the appliances (the tests do,
through their consoles)."""
import os
import re

from . import net, paths
from .proc import kill_recorded, sh, spawn

ADDR = "192.168.1.250"          # on the LAN, outside net.CLIENT_SOURCES
FAR_NET = "198.51.100"          # TEST-NET-2: the router's .1, clients from .10
FAR_GATEWAY = f"{FAR_NET}.1"
FAR_FIRST, FAR_COUNT = 10, 200
NAME = "router-bird"


def conf_path():
    return paths.run_path(f"{NAME}.conf")


def ctl():
    return paths.run_path(f"{NAME}.ctl")


def far_sources(count=FAR_COUNT):
    """The first `count` far client addresses, as client.py --sources takes
    them ("A.B.C.D-E")."""
    if not 1 <= count <= FAR_COUNT:
        raise ValueError(f"{count} far sources: only {FAR_COUNT} exist")
    return f"{FAR_NET}.{FAR_FIRST}-{FAR_FIRST + count - 1}"


def up(conf):
    """Router and far namespaces, the real servers' route to the far
    clients, BIRD started with config text `conf`."""
    net.add_host("router", ADDR)
    for key in ("net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=1"):
        net.in_ns("router", "sysctl", "-qw", key)
    sh("ip", "netns", "add", net.ns("far"))
    far = net.ns("far")
    sh("ip", "-n", far, "link", "set", "lo", "up")
    sh("ip", "-n", net.ns("router"), "link", "add", "far", "type", "veth", "peer", "name",
       "eth0", "netns", far)
    sh("ip", "-n", net.ns("router"), "addr", "add", f"{FAR_GATEWAY}/24", "dev", "far")
    sh("ip", "-n", net.ns("router"), "link", "set", "far", "up")
    batch = "".join(f"addr add {FAR_NET}.{n}/24 dev eth0\n"
                    for n in range(FAR_FIRST, FAR_FIRST + FAR_COUNT))
    sh("ip", "-n", far, "-batch", "-", input=batch)
    sh("ip", "-n", far, "link", "set", "eth0", "up")
    sh("ip", "-n", far, "route", "add", "default", "via", FAR_GATEWAY)
    for rs in net.REAL_SERVERS:
        net.in_ns(rs, "ip", "route", "replace", f"{FAR_NET}.0/24", "via", ADDR)
    with open(conf_path(), "w") as fh:
        fh.write(conf)
    spawn(NAME, ["ip", "netns", "exec", net.ns("router"), "bird", "-f", "-c", conf_path(),
                 "-s", ctl()], paths.run_path(f"{NAME}.log"), "bird")


def down():
    kill_recorded(NAME)
    for rs in net.REAL_SERVERS:
        net.in_ns(rs, "ip", "route", "del", f"{FAR_NET}.0/24", check=False)
    # The router's LAN veth goes with its namespace, but not at once (the
    # kernel frees a namespace later): deleted here, a new router can be made
    # right after this one.
    sh("ip", "-n", net.SWITCH, "link", "del", "router", check=False)
    for h in ("router", "far"):
        sh("ip", "netns", "delete", net.ns(h), check=False)
    for f in (conf_path(), ctl()):
        if os.path.exists(f):
            os.unlink(f)


def configure(conf):
    """BIRD's config replaced by `conf` and read again (`birdc configure`)."""
    with open(conf_path(), "w") as fh:
        fh.write(conf)
    out = birdc("configure")
    if "Reconfigured" not in out and "Reconfiguration in progress" not in out:
        raise RuntimeError(f"router BIRD refused its config: {out}")


def birdc(*args):
    return sh("birdc", "-s", ctl(), *args, check=False).stdout or ""


def route(prefix):
    """BIRD's routes for `prefix` (`show route all`), '' when it has none."""
    out = birdc("show", "route", "all", prefix)
    return out if prefix in out else ""


VIA = re.compile(r"\bvia (\S+)")


def next_hops(addr):
    """The gateways the router's kernel forwards `addr` to (one for a plain
    route, each `nexthop via` of a multipath one), sorted; [] without a
    route."""
    out = net.in_ns("router", "ip", "-4", "route", "show", f"{addr}/32", check=False).stdout
    return sorted(VIA.findall(out or ""))
