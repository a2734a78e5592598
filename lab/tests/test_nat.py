"""lab/tests/test_nat.py: LVS-NAT beside the seed's LVS-DR on the same
front VIP. Real servers nat1/nat2 (10.10.0.11/.12) sit behind the
appliances' eth1 with the internal VIP 10.10.0.254 as their default
gateway; fixtures/nat/ gives each appliance a second VRRP instance for it,
in a sync group with the front one, and a NAT service 192.168.1.200:8080.
Each node's NAT-side address on eth1 comes from the appliance block of
its NAT config. Each node's flash config, eth1 addresses and table are
restored after the module, and the NAT namespaces deleted (the seed plan never sees them)."""
import os
import time

import pytest

from conftest import ensure_ready, report
from vlab import net, paths

from vlab.node import STORE, appliance_block
DIR = "/run/vigil-nat"
FIXTURES = os.path.join(paths.REPO, "fixtures", "nat")
# Each node's config, and its own address on the NAT subnet (health checks
# from the BACKUP need a route to the real servers too).
ROLES = {"lb1": ("master.conf", "10.10.0.1/24"), "lb2": ("backup.conf", "10.10.0.2/24")}
PORT = 8080
FAILOVER = 15.0   # advert 1 s: ~3.6 s master-down interval, on a loaded TCG VM


def answers(n=4):
    """Servers that answered `n` HTTP GETs on the front VIP's NAT port."""
    out = []
    for _ in range(n):
        r = net.client("http", net.VIP, "--port", str(PORT))
        out.append(r.get("server") if r.get("ok") else f"error: {r.get('error')}")
    return out


def wait_both(lab, name, since, timeout=FAILOVER):
    """Wait until `name` alone holds the front VIP and the internal one ->
    (seconds to the front VIP, seconds to the internal VIP), since `since`."""
    front = lab.wait_vip(name, timeout, since=since)
    internal = lab.wait_vip(name, timeout, vip=net.NAT_GW, dev="eth1", since=since)
    assert front is not None and internal is not None, (
        f"want both VIPs on {name}: front on {lab.vip_holders()}, "
        f"internal on {lab.vip_holders(net.NAT_GW, 'eth1')}")
    return front, internal


@pytest.fixture(scope="module")
def nat(lab):
    missing = lab.part_missing("ipvs")
    if missing:
        pytest.xfail(missing)
    for name in ROLES:
        ensure_ready(lab, name)
    net.nat_up()
    try:
        for name, (conf, addr) in ROLES.items():
            node = lab[name]
            node.check("systemctl stop vigil")
            node.check(f"mkdir -p {DIR} && vigil config export --store {STORE} > {DIR}/orig.conf")
            with open(os.path.join(FIXTURES, "services.conf"), "rb") as fh:
                node.put(f"{DIR}/services.conf", fh.read())
            # The node's appliance block with its NAT-side address on eth1:
            # vigil adds it (and the VIP check wants eth1 to hold the subnet).
            with open(os.path.join(FIXTURES, conf)) as fh:
                text = fh.read() + "\n" + appliance_block(name, eth1_extra=[addr])
            node.put(f"{DIR}/{conf}", text.encode())
            node.check(f"vigil config import {DIR}/{conf} --store {STORE}")
        t0 = time.monotonic()
        lab["lb2"].check("systemctl start vigil")
        lab["lb1"].check("systemctl start vigil")
        wait_both(lab, "lb1", t0, timeout=45)
        yield lab
    finally:
        for name, (_, addr) in ROLES.items():
            node = lab[name]
            node.run("ip link set eth0 up")     # if a test left it down
            node.run("systemctl stop vigil")
            node.run(f"test -s {DIR}/orig.conf && vigil config import {DIR}/orig.conf "
                     f"--store {STORE}")
            # vigil leaves services its config does not name alone.
            node.run(f"ipvsadm -D -t {net.VIP}:{PORT}")
            # vigil removes an address its block dropped on a reload; across a
            # restart it has forgotten the old block, so the test does it.
            node.run(f"ip addr del {addr} dev eth1")
        for name in ("lb2", "lb1"):
            lab[name].run("systemctl start vigil")
        net.nat_down()
        assert lab.wait_vip("lb1", 30) is not None, f"VIP on {lab.vip_holders()} after restore"


def test_http_through_the_front_vip_reaches_a_nat_real_server(nat):
    table = nat["lb1"].check(f"ipvsadm -Ln -t {net.VIP}:{PORT}")
    assert sum("Masq" in x for x in table.splitlines()) == 2, table
    got = answers()
    report(f"nat: {net.VIP}:{PORT} answered by {got}")
    # rr over two healthy servers: both answer, through lb1 both ways.
    assert set(got) == set(net.NAT_SERVERS), got


def away_and_back(lab, break_cmd, mend_cmd):
    """Runs `break_cmd` on lb1: both VIPs must reach lb2 and NAT must still
    answer; then `mend_cmd`: both VIPs must come back to lb1. Returns
    (front, internal, answers) for the way there and for the way back."""
    lb1 = lab["lb1"]
    t0 = time.monotonic()
    lb1.check(break_cmd)
    try:
        front, internal = wait_both(lab, "lb2", t0)
        got = answers()
        assert set(got) == set(net.NAT_SERVERS), got
    finally:
        t0 = time.monotonic()
        lb1.check(mend_cmd)
    front_back, internal_back = wait_both(lab, "lb1", t0)
    got_back = answers()
    assert set(got_back) == set(net.NAT_SERVERS), got_back
    return (front, internal, got), (front_back, internal_back, got_back)


def test_failover_moves_both_vips_and_nat_still_answers(nat):
    (front, internal, got), (fb, ib, got_back) = away_and_back(
        nat, "systemctl stop vigil", "systemctl start vigil")
    report(f"nat: `systemctl stop vigil` on lb1: front VIP on lb2 after {front:.1f} s, "
           f"internal VIP after {internal:.1f} s; {net.VIP}:{PORT} answered by {got}")
    report(f"nat: vigil back on lb1: both VIPs back after {max(fb, ib):.1f} s; "
           f"answered by {got_back}")


def test_sync_group_takes_the_internal_vip_along(nat):
    """lb1's eth0 goes down (inside the guest): VI_1 faults and the sync
    group takes VI_2 down with it, although eth1 is fine and lb1 has the
    higher priority there. lb2 takes both VIPs; NAT flows through lb2."""
    (front, internal, got), (fb, ib, _) = away_and_back(
        nat, "ip link set eth0 down", "ip link set eth0 up")
    report(f"nat: lb1 eth0 down: front VIP on lb2 after {front:.1f} s, internal VIP "
           f"after {internal:.1f} s (sync group); answered by {got}")
    report(f"nat: lb1 eth0 up: both VIPs back on lb1 after {max(fb, ib):.1f} s")
