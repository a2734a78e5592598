"""lab/tests/test_dr_path.py: DR-path checks (issue 18).

A fourth real server, rs4 (192.168.1.105), is set up as the seed's own
real-server script sets one up: its sysctls are right, but the script's
`ifconfig lo:0 VIP netmask 256.256.256.255` fails, so the VIP never reaches
its loopback. It answers on its own address, and drops every packet LVS-DR
sends it (their destination, the VIP, is not one of its addresses).

A virtual server 192.168.1.200:8080 (DR, round robin, no persistence: every
new connection goes to the next server) with rs1, rs2 and rs4, each with a
TCP_CHECK, is committed to both nodes' flash (live, `vigil reload`). On the
appliance DR-path checks are on by default:
- both nodes put a fwmark service per real server in their table (the
  paths), and take rs4 out of the 8080 service (lb1, the MASTER, holds the
  VIP; lb2 does not: both ways of reaching a path are covered);
- lb1's `vigil status` says why, in the words the issue asks for;
- 30 WebSocket clients through the VIP all connect (no client is sent to
  rs4).
Then the baseline: keepalived 2.2.7 runs the same config on both nodes
(`Lab.use_keepalived`): its plain TCP_CHECK passes rs4, rs4 is in the
table, and the share of the same clients that fail is measured (about one
in three with round robin). The lab's vigil, flash and table are back at
the end."""
import time

import pytest

from conftest import ensure_ready, report
from vlab import flashconf, ipvsadm, net

RS4 = "192.168.1.105"
PORT = 8080
SERVICE = f"TCP {net.VIP}:{PORT}"
REALS = {"rs1": net.HOSTS["rs1"], "rs2": net.HOSTS["rs2"], "rs4": RS4}
CLIENTS = 30
WHY = f"answers on {RS4}:{PORT} but not for the VIP {net.VIP}:{PORT} delivered to its MAC: " \
      "is the VIP on its loopback?"


def service_block():
    reals = "".join(
        f"    real_server {addr} {PORT} {{\n"
        "        TCP_CHECK {\n            connect_timeout 2\n            retry 1\n"
        "            delay_before_retry 1\n        }\n    }\n"
        for addr in REALS.values())
    return (f"virtual_server {net.VIP} {PORT} {{\n    delay_loop 2\n    lvs_sched rr\n"
            f"    lvs_method DR\n    protocol TCP\n{reals}}}\n")


def seed_script_real_server():
    """rs4 as the seed's script leaves it: ARP sysctls set, no VIP on lo."""
    net.add_host("rs4", RS4)
    for key, val in (("arp_ignore", 1), ("arp_announce", 2)):
        for dev in ("all", "eth0"):
            net.in_ns("rs4", "sysctl", "-qw", f"net.ipv4.conf.{dev}.{key}={val}")


@pytest.fixture(scope="module")
def dr(lab):
    missing = lab.part_missing("ipvs") or lab.part_missing("reload")
    if missing:
        pytest.xfail(missing)
    lb1, lb2 = lab["lb1"], lab["lb2"]
    for n in ("lb1", "lb2"):
        ensure_ready(lab, n)
    saved = flashconf.Saved(lb1, lb2)
    try:
        seed_script_real_server()
        for rs in REALS:
            net.start_server(rs, PORT)
        for n in (lb2, lb1):
            flashconf.commit(n, saved.text(n) + service_block(), apply="reload")
        yield lab
    finally:
        try:
            for n in (lb1, lb2):
                flashconf.commit(n, saved.text(n), apply="reload")
        finally:
            for rs in REALS:
                net.stop_server(rs, PORT)
            net.sh("ip", "netns", "del", net.ns("rs4"), check=False)
        assert lab.wait_vip("lb1", 30) is not None, lab.vip_holders()


def through_vip():
    """CLIENTS WebSocket clients to VIP:8080 for 3 s -> client.py's answer."""
    return net.client("ws", net.VIP, "--port", str(PORT), "--clients", str(CLIENTS),
                      "--duration", "3", "--interval", "0.5", "--ramp", "1",
                      "--timeout", "4", timeout=90)


def failures(r):
    return r.get("connect_failures") or 0


def test_a_real_server_without_the_vip_on_lo_is_taken_out_with_the_reason(dr):
    lab = dr
    lb1, lb2 = lab["lb1"], lab["lb2"]
    want = {f"{a}:{PORT}" for a in REALS.values()} - {f"{RS4}:{PORT}"}
    for node in (lb1, lb2):
        took, tab = ipvsadm.wait(node, lambda t: set(t.get(SERVICE, {})) == want, 40)
        paths = {d for s, ds in tab.items() if s.startswith("FWM ") for d in ds}
        assert took is not None, f"{node.name}: 8080 not {sorted(want)}: {tab}\n" \
                                 f"{node.check('vigil status')}"
        assert {f"{a}:0" for a in REALS.values()} <= paths, f"{node.name}: no path for each: {tab}"
    deadline, status = time.monotonic() + 30, ""
    while time.monotonic() < deadline:
        status = lb1.check("vigil status")
        if WHY in status:
            break
        time.sleep(1)
    assert WHY in status, status
    ours = through_vip()
    report(f"dr path: rs4 (VIP not on lo) out of 8080 on lb1 and lb2 after {took:.1f} s; "
           f"{CLIENTS} clients through the VIP with vigil: connect failures {failures(ours)}, "
           f"servers {sorted(ours.get('per_server', {}))}")
    assert ours.get("connected_at_end", 0) + failures(ours) > 0, ours
    assert failures(ours) == 0, f"clients failed with vigil: {ours}"
    assert "rs4" not in ours.get("per_server", {}), ours

    # The baseline: keepalived, same config, plain TCP_CHECK.
    lab.use_keepalived()
    try:
        assert lab.wait_vip("lb1", 30) is not None, lab.vip_holders()
        took, tab = ipvsadm.wait(lb1, lambda t: f"{RS4}:{PORT}" in t.get(SERVICE, {}), 40)
        assert took is not None, f"keepalived did not put rs4 in: {tab}"
        theirs = through_vip()
    finally:
        lab.use_vigil()
    assert lab.wait_vip("lb1", 60) is not None, lab.vip_holders()
    report(f"dr path: keepalived keeps rs4 in 8080 (its TCP_CHECK passes): "
           f"{failures(theirs)} of {CLIENTS} clients failed to connect")
    assert failures(theirs) > 0, f"keepalived's clients all connected: {theirs}"
