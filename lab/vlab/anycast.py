"""lab/vlab/anycast.py: what the anycast tests (test_anycast.py,
test_scaleout.py) put on the boxes and on the router.
Owns: the boxes' `bgp` block and anycast virtual server ADDR:80 (LVS-DR to
rs1 and rs2, mh), the real servers' copy of ADDR on lo, adding that text to
a box's flash config (its own config exported first, kept for the restore)
and restoring it, the router's BIRD config (one BGP session per box, ECMP
into its kernel, BFD on request), and waiting for a line in `vigil status`.
Must not: boot or stop anything (lab.py and the tests do)."""
import time

from . import net, router
from .node import NODE_ADDRS, STORE

ADDR = "192.0.2.80"
PREFIX = f"{ADDR}/32"
LOCAL_AS, ROUTER_AS = 65010, 65000
DIR = "/run/vigil-anycast"      # on the box: its own config, exported
# vigil's defaults for BFD; the router uses the same.
BFD = 'protocol bfd {\n    interface "*" { interval 100 ms; multiplier 3; };\n}\n'


def box_addr(name):
    return NODE_ADDRS[name][0].split("/")[0]


def service(name, drain="withdraw", sync_id=52, bfd=False, quorum=None,
            real_servers=net.REAL_SERVERS):
    """Box `name`'s `bgp` block and the anycast virtual server (keepalived.conf
    text): its own router id, the router as its one neighbour (hold time
    3 s, BFD if asked), `drain`, both sync daemons on eth1 with `sync_id`,
    the service's `quorum` if given, `real_servers` in that order."""
    addr = {**net.HOSTS, **net.OPTIONAL}
    real_servers = "".join(
        f"    real_server {addr[rs]} 80 {{\n        TCP_CHECK {{\n"
        f"            connect_timeout 1\n        }}\n    }}\n" for rs in real_servers)
    return (f"\nbgp {{\n    local_as {LOCAL_AS}\n    router_id {box_addr(name)}\n"
            f"    neighbor {router.ADDR} {{\n        remote_as {ROUTER_AS}\n"
            f"        hold_time 3\n" + ("        bfd on\n" if bfd else "") + "    }\n"
            f"    drain {drain}\n    sync_daemon eth1 id {sync_id}\n}}\n\n"
            f"virtual_server {ADDR} 80 {{\n    delay_loop 1\n    lvs_sched mh\n"
            f"    lvs_method DR\n    protocol TCP\n    dr_path_check off\n    anycast\n"
            + (f"    quorum {quorum}\n" if quorum else "") + real_servers + "}\n")


def router_conf(boxes, bfd=False):
    """The router's BIRD config: a BGP session to each of `boxes` (AS
    LOCAL_AS, hold time 3 s, fast retries), imported; equal paths merged into
    one multipath kernel route; BFD to every box if `bfd`."""
    sessions = "".join(
        f"protocol bgp {b} from box {{ neighbor {box_addr(b)} as {LOCAL_AS}; }}\n"
        for b in boxes)
    return (f"router id {router.ADDR};\nprotocol device {{}}\n"
            "protocol kernel {\n    ipv4 { import none; export all; };\n    merge paths on;\n}\n"
            f"template bgp box {{\n    local {router.ADDR} as {ROUTER_AS};\n"
            "    hold time 3;\n    connect retry time 2;\n    error wait time 1, 5;\n"
            + ("    bfd on;\n" if bfd else "")
            + "    ipv4 { import all; export none; };\n}\n" + sessions
            + (BFD if bfd else ""))


def real_servers_up():
    """ADDR on each real server's lo (LVS-DR) and their echo servers running."""
    for rs in net.REAL_SERVERS:
        net.in_ns(rs, "ip", "addr", "replace", PREFIX, "dev", "lo")
        if not net.server_running(rs):
            net.start_server(rs)


def real_servers_down():
    for rs in net.REAL_SERVERS:
        net.in_ns(rs, "ip", "addr", "del", PREFIX, "dev", "lo", check=False)
        if not net.server_running(rs):
            net.start_server(rs)


def install(node, text):
    """Box `node`'s flash config becomes its own (exported to DIR/orig.conf
    first, unless already there) plus `text`; not applied (the caller
    reloads or restarts)."""
    node.check(f"mkdir -p {DIR} && {{ test -s {DIR}/orig.conf || "
               f"vigil config export --store {STORE} > {DIR}/orig.conf; }}")
    replace(node, node.check(f"cat {DIR}/orig.conf") + text)


def replace(node, text, name="anycast.conf"):
    """Box `node`'s flash config becomes `text` (DIR/`name` on the box)."""
    node.check(f"mkdir -p {DIR}")
    node.put(f"{DIR}/{name}", text.encode())
    node.check(f"vigil config import {DIR}/{name} --store {STORE}")


def restore(node):
    """Box `node` back to the config it had before install(), restarted
    (a change of sync daemons waits for one): no anycast service, sync
    daemon, BIRD config or address left."""
    node.run("vigil undrain")
    node.run(f"test -s {DIR}/orig.conf && vigil config import {DIR}/orig.conf "
             f"--store {STORE} && rm -f {DIR}/orig.conf")
    node.run("systemctl restart vigil", timeout=90)
    node.run(f"ipvsadm -D -t {ADDR}:80")
    node.run("ipvsadm --stop-daemon master; ipvsadm --stop-daemon backup")
    node.run("systemctl stop vigil-bird.path vigil-bird; rm -f /run/vigil/bird.conf")
    node.run("systemctl start vigil-bird.path")
    node.run(f"ip addr del {PREFIX} dev lo")


def wait_status(node, *lines, timeout=15.0):
    """Poll `vigil status` until it has every one of `lines` (vigil reads
    BIRD every 2 s) -> the status."""
    t0 = time.monotonic()
    while True:
        status = node.check("vigil status")
        if all(x in status for x in lines):
            return status
        assert time.monotonic() - t0 < timeout, (lines, status)
        time.sleep(0.5)
