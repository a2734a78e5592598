"""lab/tests/test_anycast.py: route health injection. lb1 gets a `bgp` block
and an anycast virtual server 192.0.2.80:80 (LVS-DR to rs1 and rs2, added to
its flash config for this module, then restored: lab/vlab/anycast.py); the
router namespace on the LAN (lab/vlab/router.py) runs BIRD and peers with
lb1's BIRD (vigil-bird.service, started by its
path unit once vigil writes the config). What the router learns is the
test's measure:

- the route is there while the service has quorum, and goes when both real
  servers stop answering, back when they answer;
- `vigil drain` (drain prepend 2) lengthens its AS path, `undrain` restores;
- BIRD stopped: vigil says so and the route goes; BIRD killed: systemd
  starts it again and the route comes back;
- a hitless restart (`vigil restart`) never withdraws it, not for a poll;
- lb1's NIC cut off (a dead box, seen from the router): withdrawn at the
  hold timer (3 s) without BFD, in well under a second with it;
- `systemctl stop vigil` withdraws it at once (not at the hold timer), and
  the start announces it again;
- the block's `sync_daemon` runs the kernel's master and backup sync daemons
  at once (after a start: the reload that added it lists it as pending), the
  backup alone while vigil is stopped.

Three boxes behind the router's ECMP, with connection sync among them:
test_scaleout.py."""
import time

import pytest

from conftest import ensure_ready, report
from vlab import anycast as ac
from vlab import net, router
from vlab.anycast import ADDR as ANYCAST
from vlab.ipvsadm import sync_daemon, wait_daemons
from vlab.node import STORE

SERVICE = ac.service("lb1", drain="prepend 2", sync_id=52)
wait_status = ac.wait_status


def route():
    """The router's route to the anycast VIP, as `birdc show route all`
    prints it ('' when it has none)."""
    return router.route(ac.PREFIX)


def wait_route(present, timeout=30.0, path=None):
    """Poll the router until the route is there (with `path` as its AS
    path, if given) or gone -> seconds it took."""
    t0 = time.monotonic()
    while True:
        r = route()
        ok = bool(r) == present and (path is None or f"BGP.as_path: {path}\n" in r)
        if ok:
            return time.monotonic() - t0
        assert time.monotonic() - t0 < timeout, (
            f"route {'present' if present else 'absent'} (path {path}) not seen in "
            f"{timeout} s: {r!r}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def anycast(lab):
    missing = lab.part_missing("ipvs")
    if missing:
        pytest.xfail(missing)
    lb1 = lab["lb1"]
    ensure_ready(lab, "lb1")
    router.up(ac.router_conf(["lb1"]))
    ac.real_servers_up()
    try:
        ac.install(lb1, SERVICE)
        lb1.check("vigil reload")
        took = wait_route(True, timeout=60)
        report(f"anycast: announced {took:.1f} s after the reload "
               f"(BIRD started by its path unit, session up, first checks)")
        yield lab
    finally:
        ac.restore(lb1)
        router.down()
        ac.real_servers_down()
        assert lab.wait_vip("lb1", 30) is not None, f"VIP on {lab.vip_holders()} after restore"
        status = lb1.check("vigil status")
        assert "PENDING" not in status and "bgp:" not in status, status


def test_the_route_follows_the_service_quorum(anycast):
    lb1 = anycast["lb1"]
    r = route()
    assert "BGP.as_path: 65010\n" in r, r
    wait_status(lb1, f"announced: {ANYCAST}",
                f"neighbor {router.ADDR} AS 65000: Established, 1 route exported")
    assert lb1.check(f"ip -br addr show dev lo | grep -c {ANYCAST}").strip() == "1"
    try:
        t0 = time.monotonic()
        for rs in net.REAL_SERVERS:
            net.stop_server(rs)
        gone = wait_route(False)
        report(f"anycast: both real servers down -> withdrawn at the router in {gone:.1f} s "
               f"(delay_loop 1, connect_timeout 1)")
        wait_status(lb1, f"withheld: {ANYCAST}")
    finally:
        for rs in net.REAL_SERVERS:
            if not net.server_running(rs):
                net.start_server(rs)
    back = wait_route(True)
    report(f"anycast: real servers back -> announced again in {back:.1f} s "
           f"({time.monotonic() - t0:.1f} s since they stopped)")
    # BIRD beside the vigil daemon: resident memory, and CPU time (clock
    # ticks of 10 ms) since each started.
    pids = lb1.check("echo $(systemctl show -p MainPID --value vigil) $(pidof bird)").split()
    for p in pids:
        comm, ticks, rss, age = lb1.check(
            f"echo $(cat /proc/{p}/comm) $(awk '{{print $14+$15}}' /proc/{p}/stat) "
            f"$(awk '/VmRSS/{{print $2}}' /proc/{p}/status) $(ps -o etimes= -p {p})").split()
        report(f"anycast: {comm}: RSS {int(rss) / 1024:.1f} MiB, CPU {int(ticks) * 10} ms "
               f"over its {age} s")


def test_drain_prepends_and_undrain_restores(anycast):
    lb1 = anycast["lb1"]
    out = lb1.check("vigil drain")
    assert "prepend 2" in out, out
    took = wait_route(True, path="65010 65010 65010")
    report(f"anycast: vigil drain -> AS path 65010 x3 at the router in {took:.1f} s")
    assert '"drained":true' in lb1.check("vigil status --json")
    lb1.check("vigil undrain")
    took = wait_route(True, path="65010")
    report(f"anycast: vigil undrain -> AS path 65010 in {took:.1f} s")


def test_bird_stopped_is_reported_and_killed_is_restarted(anycast):
    lb1 = anycast["lb1"]
    # The path unit starts BIRD whenever vigil's file exists: both stop.
    lb1.check("systemctl stop vigil-bird.path vigil-bird.service")
    try:
        wait_route(False)
        wait_status(lb1, "bgp: BIRD NOT ANSWERING")
    finally:
        lb1.check("systemctl start vigil-bird.path")
    took = wait_route(True)
    report(f"anycast: BIRD started again -> announced in {took:.1f} s")
    before = int(lb1.check("systemctl show -p NRestarts --value vigil-bird").strip() or 0)
    lb1.check("systemctl kill -s KILL vigil-bird")
    wait_route(False)
    took = wait_route(True)
    after = int(lb1.check("systemctl show -p NRestarts --value vigil-bird").strip() or 0)
    assert after == before + 1, (before, after)
    report(f"anycast: BIRD killed -> restarted by systemd, announced again in {took:.1f} s")


def test_a_hitless_restart_never_withdraws(anycast):
    lb1 = anycast["lb1"]
    if lab_missing := anycast.part_missing("restart"):
        pytest.xfail(lab_missing)
    lb1.check("vigil restart", timeout=60)
    # The restart is over when vigil answers; watch the router for a while
    # longer: the new image's first pass decides, and must decide the same.
    t0 = time.monotonic()
    polls = 0
    while time.monotonic() - t0 < 8:
        assert route(), f"withdrawn {time.monotonic() - t0:.1f} s after vigil restart"
        polls += 1
        time.sleep(0.1)
    report(f"anycast: vigil restart: announced at all {polls} polls over 8 s after it")


def cut_off(lab, limit):
    """lb1's LAN link down until the router withdraws (within `limit`
    seconds), then up until it announces again -> seconds to withdraw."""
    net.link("lb1", 0, "down")
    try:
        gone = wait_route(False, timeout=limit)
    finally:
        net.link("lb1", 0, "up")
    wait_route(True, timeout=90)
    return gone


def test_a_dead_box_is_withdrawn_at_the_hold_timer_or_by_bfd(anycast):
    lab, lb1 = anycast, anycast["lb1"]
    try:
        hold = cut_off(lab, 15)
        report(f"anycast: lb1 cut off, no BFD -> withdrawn at the router in {hold:.1f} s "
               f"(hold time 3 s)")
        assert hold > 1.0, hold
        router.configure(ac.router_conf(["lb1"], bfd=True))
        orig = lb1.check(f"cat {ac.DIR}/orig.conf")
        ac.replace(lb1, orig + ac.service("lb1", drain="prepend 2", sync_id=52, bfd=True),
                   "bfd.conf")
        lb1.check("vigil reload")
        t0 = time.monotonic()
        while " Up " not in router.birdc("show", "bfd", "sessions"):
            assert time.monotonic() - t0 < 60, router.birdc("show", "bfd", "sessions")
            time.sleep(0.5)
        wait_route(True, timeout=60)
        bfd = cut_off(lab, 15)
        report(f"anycast: lb1 cut off, BFD 100 ms x 3 -> withdrawn at the router in "
               f"{bfd:.2f} s")
        assert bfd < 1.0, bfd
    finally:
        router.configure(ac.router_conf(["lb1"]))
        lb1.run(f"vigil config import {ac.DIR}/anycast.conf --store {STORE} && vigil reload")
    assert lab.wait_vip("lb1", 30) is not None, lab.vip_holders()
    wait_route(True, timeout=60)


def test_a_stop_withdraws_at_once_and_a_start_announces(anycast):
    lb1 = anycast["lb1"]
    t0 = time.monotonic()
    lb1.check("systemctl stop vigil")
    try:
        gone = wait_route(False, timeout=10)
        report(f"anycast: systemctl stop vigil -> withdrawn at the router in "
               f"{time.monotonic() - t0:.1f} s (hold time 3 s)")
        assert gone < 3.0, gone
        # vigil is gone; BIRD runs on, announcing nothing; the backup sync
        # daemon goes on learning the other boxes' flows.
        assert lb1.check("systemctl is-active vigil-bird").strip() == "active"
        wait_daemons(lb1, [sync_daemon("backup", "eth1", 52)])
    finally:
        t0 = time.monotonic()
        lb1.check("systemctl start vigil")
    took = wait_route(True, timeout=60)
    report(f"anycast: systemctl start vigil -> announced in {took:.1f} s")
    out = wait_daemons(lb1, [sync_daemon("master", "eth1", 52), sync_daemon("backup", "eth1", 52)])
    report(f"anycast: sync_daemon after the start: {out!r}")
    assert "; both, for anycast" in lb1.check("vigil status")
