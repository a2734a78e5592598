"""lab/tests/test_health.py: vigil's health checks against the lab's real
servers, seen in the master's kernel table (`ipvsadm -Ln` on lb1):
- rs1's server stopped: rs1 leaves within delay_loop + connect_timeout x
  retry (the issue's bound, from the checker settings on lb1's flash) plus
  a stated margin for TCG; started again: it returns within delay_loop +
  connect_timeout plus the margin;
- a server that accepts TCP and answers HTTP but not the WebSocket upgrade
  (a second echo server on rs1:8080 with --no-upgrade) fails WS_CHECK and
  passes TCP_CHECK: two virtual servers added to lb1's config for the test
  (then restored), one checking it with WS_CHECK, one with TCP_CHECK.
The lab is the session's; what a test changes it puts back."""
import json
import re
import time

import pytest

from conftest import ensure_ready, report
from vlab import flashconf, ipvsadm, net

SERVICE = f"TCP {net.VIP}:80"
RS1 = net.HOSTS["rs1"]
# Added to the bounds for what the formula leaves out: polling
# `ipvsadm -Ln` over a serial console (~0.5 s a round) and a loaded TCG
# guest that runs its timers late.
TCG_MARGIN = 6.0


@pytest.fixture
def lb1(lab):
    missing = lab.part_missing("ipvs")
    if missing:
        pytest.xfail(missing)
    ensure_ready(lab, "lb1")
    return lab["lb1"]


def checker(node, addr, port):
    """(delay_loop, connect_timeout, retry) of the TCP_CHECK of real server
    addr:port, as `vigil config show` reads the node's flash config."""
    out = node.check(f"vigil config show --store {flashconf.STORE}")
    m = re.search(rf"real_server {re.escape(addr)} {port} .*: TCP_CHECK every ([\d.]+) s, "
                  r"timeout ([\d.]+) s, (\d+) retr", out)
    assert m, f"no TCP_CHECK line for {addr} {port} in:\n{out}"
    return float(m[1]), float(m[2]), int(m[3])


def test_stopped_server_leaves_the_table_and_returns(lb1):
    delay_loop, connect_timeout, retry = checker(lb1, RS1, 80)
    leave_bound = delay_loop + connect_timeout * retry
    return_bound = delay_loop + connect_timeout
    dest = f"{RS1}:80"
    t, tab = ipvsadm.wait(lb1, lambda t: dest in t.get(SERVICE, {}), 30)
    assert t is not None, f"rs1 not in lb1's table before the test: {tab}"
    try:
        t0 = time.monotonic()
        net.stop_server("rs1")
        left, tab = ipvsadm.wait(lb1, lambda t: dest not in t.get(SERVICE, {}),
                                 leave_bound + TCG_MARGIN, since=t0)
        status = lb1.check("vigil status")
        report(f"health: rs1 stopped -> out of lb1's table after "
               f"{left if left is None else round(left, 1)} s (bound {leave_bound:g} s = "
               f"delay_loop {delay_loop:g} + connect_timeout {connect_timeout:g} x retry "
               f"{retry}, + {TCG_MARGIN:g} s TCG margin)")
        assert left is not None, f"rs1 still in the table {leave_bound + TCG_MARGIN:g} s " \
                                 f"after its server stopped: {tab}\n{status}"
        assert health(lb1, SERVICE, dest)[0] == "down", status

        t0 = time.monotonic()
        net.start_server("rs1")
        back, tab = ipvsadm.wait(lb1, lambda t: dest in t.get(SERVICE, {}),
                                 return_bound + TCG_MARGIN, since=t0)
        report(f"health: rs1 started -> back in lb1's table after "
               f"{back if back is None else round(back, 1)} s (bound {return_bound:g} s = "
               f"delay_loop + connect_timeout, + {TCG_MARGIN:g} s)")
        assert back is not None, f"rs1 not back {return_bound + TCG_MARGIN:g} s after its " \
                                 f"server started: {tab}\n{lb1.check('vigil status')}"
        assert tab[SERVICE][dest].weight == 1, tab
    finally:
        if not net.server_running("rs1"):
            net.start_server("rs1")


# Two services for the test: 8080 checks rs1's no-upgrade server with
# WS_CHECK (and rs2's real echo server, the control that WS_CHECK passes
# where the upgrade works), 8081 checks the same rs1 server with TCP_CHECK.
CHECKS = "connect_timeout 2\n            retry 0\n            delay_loop 2\n            warmup 0"
WS_SERVICES = f"""
virtual_server {net.VIP} 8080 {{
    lvs_sched rr
    lvs_method DR
    protocol TCP
    real_server {RS1} 8080 {{
        WS_CHECK {{
            path /echo
            {CHECKS}
        }}
    }}
    real_server {net.HOSTS["rs2"]} 8080 {{
        WS_CHECK {{
            path /echo
            connect_port 80
            {CHECKS}
        }}
    }}
}}

virtual_server {net.VIP} 8081 {{
    lvs_sched rr
    lvs_method DR
    protocol TCP
    real_server {RS1} 8081 {{
        TCP_CHECK {{
            connect_port 8080
            {CHECKS}
        }}
    }}
}}
"""


def health(node, service, dest):
    """(health, last) of a real server in `vigil status --json`."""
    st = json.loads(node.check("vigil status --json"))
    for s in st["ipvs"]["services"]:
        if s["service"] == service:
            for d in s["dests"]:
                if d["dest"] == dest:
                    return d["health"], d["last"]
    return None, None


def test_no_upgrade_fails_ws_check_and_passes_tcp_check(lb1):
    ws, tcp = f"TCP {net.VIP}:8080", f"TCP {net.VIP}:8081"
    ws_rs1, ws_rs2, tcp_rs1 = f"{RS1}:8080", f"{net.HOSTS['rs2']}:8080", f"{RS1}:8081"
    saved = flashconf.Saved(lb1)
    try:
        net.start_server("rs1", 8080, "--no-upgrade")
        r = net.client("http", RS1, "--port", "8080")
        assert r.get("server") == "rs1", f"rs1:8080 does not answer HTTP: {r}"
        flashconf.commit(lb1, saved.text(lb1) + WS_SERVICES, apply="restart")

        def settled(t):
            return (ws in t and tcp in t and ws_rs2 in t[ws] and ws_rs1 not in t[ws]
                    and tcp_rs1 in t[tcp])
        # retry 0, delay_loop 2, warmup 0: one failed check (<= connect_timeout
        # 2 s) takes rs1 out of 8080.
        took, tab = ipvsadm.wait(lb1, settled, 2 + 2 + 20)
        out = lb1.check("ipvsadm -Ln")
        status = lb1.check("vigil status")
        report(f"health: WS_CHECK vs TCP_CHECK on rs1's no-upgrade server: settled after "
               f"{took if took is None else round(took, 1)} s; vigil status: "
               + " | ".join(x.strip() for x in status.splitlines() if ":808" in x))
        assert took is not None, f"want {ws_rs1} out, {ws_rs2} and {tcp_rs1} in:\n{out}\n{status}"
        assert health(lb1, ws, ws_rs1)[0] == "down", status
        assert health(lb1, ws, ws_rs2)[0] == "up", status
        assert health(lb1, tcp, tcp_rs1)[0] == "up", status
    finally:
        net.stop_server("rs1", 8080)
        saved.restore()
        # The restored config has no 8080/8081: take them out if the
        # restarted vigil left them (it leaves services it does not own).
        for port in (8080, 8081):
            lb1.run(f"ipvsadm -D -t {net.VIP}:{port} 2>/dev/null")
