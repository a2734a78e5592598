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
in three with round robin).

Then rs2 is made to answer ARP for the VIP (`arp_ignore=0`, its VIP on lo):
`vigil doctor` on lb1 names it by address and MAC, says rs1 is fine and
that rs4's DR path fails, and exits 1; rs2 then sends a gratuitous ARP for
the VIP: lb1 counts it (`arp_theft`), logs it with rs2's MAC, and a
gratuitous ARP from lb1's own MAC follows on the LAN within a second.
rs2 set back, the doctor says it is fine. The lab's vigil, flash, table
and rs2 are back at the end."""
import json
import subprocess
import sys
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


def wait_why(lb1):
    """Until lb1's `vigil status` gives rs4's DR-path reason (its second
    failed check: the first has no comparison yet)."""
    deadline, status = time.monotonic() + 30, ""
    while time.monotonic() < deadline:
        status = lb1.check("vigil status")
        if WHY in status:
            return
        time.sleep(1)
    raise AssertionError(f"no DR-path reason for rs4 in lb1's status:\n{status}")


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
    wait_why(lb1)
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


# A gratuitous ARP (an unsolicited reply, broadcast) for the VIP from rs2's
# own MAC, as a real server with arp_ignore=0 sends one when its VIP comes
# up on lo: python on the host, a packet socket in rs2's namespace.
GRATUITOUS = r"""
import socket, sys
vip = bytes(int(x) for x in sys.argv[1].split("."))
mac = bytes.fromhex(open("/sys/class/net/eth0/address").read().strip().replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
arp = bytes.fromhex("0001080006040002") + mac + vip + b"\xff" * 6 + vip
s.send(b"\xff" * 6 + mac + b"\x08\x06" + arp)
"""


# Every ARP frame claiming the VIP (sender IP = VIP) seen on the client's
# eth0 for argv[2] seconds: one line "seconds-since-start mac" each.
LISTEN = r"""
import socket, sys, time
vip = bytes(int(x) for x in sys.argv[1].split("."))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind(("eth0", 0))
t0 = time.monotonic()
s.settimeout(0.2)
print("listening", flush=True)
while time.monotonic() - t0 < float(sys.argv[2]):
    try:
        f = s.recv(100)
    except socket.timeout:
        continue
    if len(f) >= 42 and f[28:32] == vip:
        print(f"{time.monotonic() - t0:.3f} {f[22:28].hex(':')}", flush=True)
"""


def arp_sysctls(rs, ignore, announce):
    for dev in ("all", "eth0"):
        net.in_ns(rs, "sysctl", "-qw", f"net.ipv4.conf.{dev}.arp_ignore={ignore}",
                  f"net.ipv4.conf.{dev}.arp_announce={announce}")


def arp_theft(node):
    s = json.loads(node.check("vigil status --json"))
    return sum(i.get("arp_theft", 0) for i in s["instances"])


def test_the_doctor_names_each_dr_mistake_and_a_stolen_vip_is_reasserted(dr):
    lab = dr
    lb1 = lab["lb1"]
    rs1, rs2 = net.HOSTS["rs1"], net.HOSTS["rs2"]
    own_mac = lb1.check("cat /sys/class/net/eth0/address").strip()
    rs2_mac = net.in_ns("rs2", "cat", "/sys/class/net/eth0/address").stdout.strip()
    wait_why(lb1)
    arp_sysctls("rs2", 0, 0)
    try:
        rc, out = lb1.run(f"vigil doctor --store {flashconf.STORE}")
        report("dr path: vigil doctor on lb1 (rs2 with arp_ignore=0, rs4 without the VIP "
               "on lo):\n" + "\n".join(f"    {x}" for x in out.strip().splitlines()))
        assert rc == 1, out
        assert f"real server {rs2} ({rs2_mac}) answers ARP for the VIP {net.VIP}" in out, out
        assert f"real server {rs1}: answers at L2, does not answer ARP for the VIP" in out, out
        assert f"real server {RS4}: its DR-path check for the VIP {net.VIP} fails" in out, out

        # rs2 claims the VIP: lb1 counts it, logs it, and answers with a
        # gratuitous ARP of its own, seen on the LAN (the client's eth0).
        before = arp_theft(lb1)
        listener = subprocess.Popen(
            ["ip", "netns", "exec", net.ns("client"), sys.executable, "-c", LISTEN, net.VIP,
             "4"], stdout=subprocess.PIPE, text=True)
        try:
            assert listener.stdout.readline().strip() == "listening"
            net.in_ns("rs2", sys.executable, "-c", GRATUITOUS, net.VIP)
            t0 = time.monotonic()
            counted = None
            while time.monotonic() - t0 < 4 and counted is None:
                if arp_theft(lb1) > before:
                    counted = time.monotonic() - t0
                time.sleep(0.1)
            seen = [line.split() for line in listener.communicate(timeout=30)[0].splitlines()]
        finally:
            if listener.poll() is None:
                listener.kill()
                listener.wait()
        claims = [(float(t), mac) for t, mac in seen]
        theirs = next((t for t, mac in claims if mac == rs2_mac), None)
        ours = next((t for t, mac in claims if mac == own_mac and theirs is not None
                     and t >= theirs), None)
        # The line's fields (journald's verbose form: one FIELD=value a line).
        _, journal = lb1.run("journalctl -u vigil --no-pager -o verbose --since -1min "
                             "| grep -E '^ *(MESSAGE=arp theft|MAC=)' | tail -n 6")
        report(f"dr path: rs2's gratuitous ARP for the VIP counted by lb1 after "
               f"{counted if counted is None else round(counted, 2)} s; lb1's own claim on the "
               f"LAN {ours if ours is None else round((ours - theirs) * 1000)} ms after rs2's; "
               f"journal: {journal.strip().splitlines()[-1:] or 'nothing'}")
        assert theirs is not None, f"rs2's frame not seen on the LAN: {claims}"
        assert counted is not None, f"arp_theft still {arp_theft(lb1)}"
        assert rs2_mac in journal, journal
        assert ours is not None and ours - theirs < 1.0, \
            f"no gratuitous ARP from lb1 ({own_mac}) within 1 s of rs2's: {claims}"
    finally:
        arp_sysctls("rs2", 1, 2)
    rc, out = lb1.run(f"vigil doctor --store {flashconf.STORE}")
    assert f"real server {rs2}: answers at L2, does not answer ARP for the VIP" in out, out
