"""lab/tests/test_continuity.py: 200 WebSocket clients through the VIP,
each exchanging a message a second with its real server, and not one of
their connections lost while the balancers change under them:
(a) `systemctl restart vigil` on the master (it resigns, lb2 holds the VIP
    for about a second, lb1 takes it back);
(b) a failover: lb1's eth0 cable pulled (the guest sees the carrier go:
    FAULT, no priority-0 advert; lb2 takes over on its master-down timer),
    then plugged back (lb1 preempts);
(c) a config commit adding rs3, applied live (`vigil reload`, same PID);
    new clients then reach rs3;
(d) rs2 removed by a config commit, live: rs2's clients keep exchanging
    messages with rs2 (drained at weight 0, never reset) and new clients
    (fresh addresses and addresses whose persistence pointed to rs2) all
    go to rs1.
Every test runs with `lvs_sync_daemon eth1 VI_1 id 51` (and `lvs_timeouts
tcpfin 5`, see FIN) on both nodes (the module fixture adds them, and puts
the configs back after): without the sync daemon the
backup has no connection table, and each of (a) and (b) resets every
connection (measured: 200 of 200 for (a)).
(0) comes first, without the sync daemon: `vigil restart` on the master is
hitless (same PID, MASTER resumed at once, lb2 never takes over).
The clients come from addresses of their own (net.client_sources): with the
seed's source-IP persistence one address means one real server."""
import contextlib
import time

import pytest

from conftest import ensure_ready, report
from vlab import flashconf, ipvsadm, net

CLIENTS = 200
INTERVAL = 1.0       # s between a client's messages: 200 messages/s through lb1
RAMP = 4.0           # s over which the clients connect
REPLY_TIMEOUT = 30.0  # a reply later than this is a drop: a takeover (~3.6 s)
#                      plus TCP's retransmit backoff answers in ~7 s
HOLD = 5.0           # s of traffic kept after each change has settled
DRAIN_MARGIN = 10.0  # s for a loaded TCG guest, on top of tcpfin + vigil's 2 s dump
SYNC = "lvs_sync_daemon eth1 VI_1 id 51"
# A closed connection stays in the kernel's table (FIN_WAIT) for tcpfin,
# and a drain ends when its server has none: 5 s instead of 2 min lets (d)
# see rs2 deleted after its clients leave. Put back to the kernel's 120 s
# after the module (vigil leaves what the config no longer sets).
TCPFIN = 5
FIN = f"lvs_timeouts tcpfin {TCPFIN}"
MASTER = ipvsadm.sync_daemon("master", "eth1", 51)
BACKUP = ipvsadm.sync_daemon("backup", "eth1", 51)
SERVICE = f"TCP {net.VIP}:80"
# Client addresses (indexes into net.CLIENT_SOURCES): persistence templates
# last an hour, so the clients that must be scheduled afresh get addresses
# no earlier test used.
LONG = (0, 40)       # the 200 long-lived clients of every test
FRESH_C = (40, 20)   # (c): new clients after rs3 was added
FRESH_D = (60, 20)   # (d): new clients after rs2 was removed
RS3 = net.OPTIONAL["rs3"]


def test_hitless_restart_without_the_sync_daemon(lab):
    """(0) `vigil restart` on the master, with the seed's configs (no sync
    daemon): vigil execs itself in place (same PID), resumes MASTER at once
    and leaves VIPs and table alone; lb2 never takes over, no connection
    notices. Runs before the module fixture turns the sync daemon on."""
    missing = lab.part_missing("restart") or lab.part_missing("ipvs")
    if missing:
        pytest.xfail(missing)
    lb1, lb2 = lab["lb1"], lab["lb2"]
    for n in ("lb1", "lb2"):
        ensure_ready(lab, n)
    assert lab.wait_vip("lb1", 30) is not None, lab.vip_holders()
    for n in (lb1, lb2):
        assert "sync" not in n.check("ipvsadm -L --daemon").lower(), \
            f"{n.name}: a sync daemon runs; this test is about doing without"
    pid = main_pid(lb1)
    marker = lb2.check("date +%s.%N").strip()
    marker1 = lb1.check("date +%s.%N").strip()
    # The clients' closed connections would otherwise stay FIN_WAIT for the
    # kernel's 2 minutes and hold up (d)'s drain, which counts them.
    lb1.check(f"ipvsadm --set 0 {TCPFIN} 0")
    try:
        with clients(LONG) as (c, ready):
            assert set(ready["servers"]) == {"rs1", "rs2"}, ready
            time.sleep(2)
            out = lb1.check("vigil restart", timeout=60)
            after = time.time()
            # Past lb2's master-down interval (3 x 1 s + skew) after the
            # handover.
            time.sleep(HOLD)
            r = c.finish()
    finally:
        lb1.run("ipvsadm --set 0 120 0")
    report(f"continuity (0) hitless `vigil restart` on lb1 without the sync daemon, "
           f"{CLIENTS} clients: {summary(r)}; vigil said: {' / '.join(out.split(chr(10)))}")
    assert "resumed MASTER: VI_1" in out, out
    assert main_pid(lb1) == pid, "not restarted in place"
    # The journal's fields, not the message text (`-o cat` prints only the
    # MESSAGE, so a grep for a field there could never match).
    _, took_over = lb2.run(f"journalctl -q -u vigil --since @{marker} --no-pager -o cat "
                           "'MESSAGE=vrrp state change' STATE=MASTER")
    assert not took_over.strip(), f"lb2 became MASTER: {took_over}"
    assert lab.vip_holders() == ["lb1"], lab.vip_holders()
    # The same build: the new image took the config and the IPVS table
    # handed over, planned its first pass against that table, then read
    # the kernel's and found it as handed over.
    _, passes = lb1.run(f"journalctl -q -u vigil --since @{marker1} --no-pager -o cat "
                        "| grep -e 'handed over' -e 'table read after'")
    for said in ("is handed over, not read again",
                 "0 ops planned, 0 applied (against the table the previous process handed over",
                 "the kernel's table read after the hitless restart: 0 ops planned"):
        assert said in passes, f"{said!r} not in lb1's journal:\n{passes}"
    assert_kept(r, "vigil restart on the master", after)


@pytest.fixture(scope="module")
def synced(lab):
    """The session's lab with the sync daemon on both nodes (lb1 MASTER,
    lb2 BACKUP); the flash configs restored after the module."""
    missing = lab.part_missing("ipvs")
    if missing:
        pytest.xfail(missing)
    lb1, lb2 = lab["lb1"], lab["lb2"]
    for n in ("lb1", "lb2"):
        ensure_ready(lab, n)
    saved = flashconf.Saved(lb1, lb2)
    try:
        for n in (lb2, lb1):
            text = flashconf.with_global(flashconf.with_global(saved.text(n), FIN), SYNC)
            flashconf.commit(n, text, apply="restart")
        settle(lab)
        yield lab
    finally:
        try:
            lb1.cable(0, True)
            saved.restore()
        finally:
            for n in (lb1, lb2):
                n.run("ipvsadm --stop-daemon master; ipvsadm --stop-daemon backup")
                n.run("ipvsadm --set 0 120 0")
                n.run(f"ipvsadm -d -t {net.VIP}:80 -r {RS3}:80 2>/dev/null")
            net.stop_server("rs3")
        assert lab.wait_vip("lb1", 30) is not None, lab.vip_holders()


def settle(lab):
    """lb1 alone holds the VIP and runs the master sync daemon, lb2 the
    backup one."""
    assert lab.wait_vip("lb1", 30) is not None, lab.vip_holders()
    ipvsadm.wait_daemons(lab["lb1"], [MASTER])
    ipvsadm.wait_daemons(lab["lb2"], [BACKUP])


@contextlib.contextmanager
def clients(sources, n=CLIENTS):
    """n clients from `sources` (first, count), running in the background
    until finish(); yields (handle, READY counters). Each must have
    connected and exchanged its first message."""
    c = net.BackgroundClients(net.VIP, "--clients", str(n), "--interval", str(INTERVAL),
                              "--duration", "600", "--ramp", str(RAMP),
                              "--timeout", str(REPLY_TIMEOUT),
                              "--sources", net.client_sources(*sources))
    try:
        ready = c.ready(RAMP + 60)
        assert ready is not None, f"the clients never got ready: {c.finish(10)}"
        assert ready["messages_ok"] >= n and not ready["connect_failures"] \
            and not ready["drops"], f"not every client connected: {ready}"
        yield c, ready
    finally:
        c.kill()


def short_run(sources, n, duration=5.0):
    """n new clients from `sources` for `duration` s -> client.py's answer."""
    return net.client("ws", net.VIP, "--clients", str(n), "--duration", str(duration),
                      "--interval", str(INTERVAL), "--ramp", "1", "--timeout",
                      str(REPLY_TIMEOUT), "--sources", net.client_sources(*sources),
                      timeout=duration + 60)


def summary(r):
    keys = ("messages_ok", "drops", "resets", "reconnects", "connect_failures", "switched",
            "slow", "latency_max", "at_end")
    return ", ".join(f"{k} {r.get(k)}" for k in keys)


def assert_kept(r, what, after):
    """Every connection lived through `what` and was still answered after
    `after` (a time.time() once the change had settled)."""
    lost = {k: r.get(k) for k in ("drops", "resets", "reconnects", "connect_failures",
                                  "switched") if r.get(k) != 0}
    assert not lost and r.get("connected_at_end") == CLIENTS, \
        f"{what}: connections lost: {lost}; {r}"
    silent = {s: round(after - v["last"], 1) for s, v in r["per_server"].items()
              if v["last"] < after}
    assert not silent, f"{what}: no answer from {silent} (s before the end of the change): {r}"


def main_pid(node):
    return node.check("systemctl show -p MainPID --value vigil").strip()


def test_restart_of_vigil_on_the_master(synced):
    lb1 = synced["lb1"]
    pid = main_pid(lb1)
    with clients(LONG) as (c, ready):
        assert set(ready["servers"]) == {"rs1", "rs2"}, ready
        time.sleep(2)
        t0 = time.monotonic()
        lb1.check("systemctl restart vigil")
        settle(synced)
        took = time.monotonic() - t0
        after = time.time()
        time.sleep(HOLD)
        r = c.finish()
    report(f"continuity (a) restart of vigil on lb1 (back as MASTER after {took:.1f} s), "
           f"{CLIENTS} clients: {summary(r)}")
    assert main_pid(lb1) != pid, "vigil was not restarted"
    assert_kept(r, "systemctl restart vigil on the master", after)


def test_failover_to_the_backup_and_back(synced):
    lb1 = synced["lb1"]
    with clients(LONG) as (c, _):
        time.sleep(2)
        try:
            t0 = time.monotonic()
            lb1.cable(0, False)
            over = synced.wait_vip("lb2", 30, since=t0)
            assert over is not None, f"lb2 did not take over: {synced.vip_holders()}"
            ipvsadm.wait_daemons(synced["lb2"], [MASTER])
            time.sleep(HOLD)
        finally:
            lb1.cable(0, True)
        t1 = time.monotonic()
        settle(synced)
        back = time.monotonic() - t1
        after = time.time()
        time.sleep(HOLD)
        r = c.finish()
    report(f"continuity (b) lb1's eth0 cable pulled: lb2 MASTER after {over:.1f} s; plugged: "
           f"lb1 MASTER again after {back:.1f} s; {CLIENTS} clients: {summary(r)}")
    assert_kept(r, "failover to lb2 and back", after)


@pytest.fixture
def live(synced):
    """The module's lab, where `vigil reload` exists (else an expected
    failure naming what is missing); each node's config put back after."""
    missing = synced.part_missing("reload")
    if missing:
        pytest.xfail(missing)
    lb1, lb2 = synced["lb1"], synced["lb2"]
    saved = flashconf.Saved(lb1, lb2)
    yield synced, saved
    saved.restore()
    settle(synced)


def commit_live(lab, saved, edit):
    """Commit edit(saved text) on lb2 then lb1, each applied by `vigil
    reload`; -> lb1's reload output. vigil must keep its PID."""
    pids = {n: main_pid(lab[n]) for n in ("lb1", "lb2")}
    out = {}
    for n in ("lb2", "lb1"):
        out[n] = flashconf.commit(lab[n], edit(saved.text(lab[n])), apply="reload")
    for n, pid in pids.items():
        assert main_pid(lab[n]) == pid, f"{n}: vigil restarted ({pid} -> {main_pid(lab[n])})"
    return out["lb1"]


def test_commit_adding_rs3_is_live(live):
    lab, saved = live
    lb1 = lab["lb1"]
    net.add_real_server("rs3")
    rs3 = f"{RS3}:80"
    block = f"real_server {RS3} 80 {{\n    weight 1\n    TCP_CHECK {{\n" \
            f"        connect_timeout 3\n        retry 3\n        delay_loop 5\n    }}\n}}"
    with clients(LONG) as (c, _):
        time.sleep(2)
        said = commit_live(lab, saved, lambda t: flashconf.with_real_server(t, f"{net.VIP} 80",
                                                                           block))
        took, tab = ipvsadm.wait(lb1, lambda t: rs3 in t.get(SERVICE, {}), 15)
        assert took is not None, f"rs3 not in lb1's table after the commit: {tab}"
        after = time.time()
        new = short_run(FRESH_C, 40)
        time.sleep(HOLD)
        r = c.finish()
    report(f"continuity (c) commit adding rs3, `vigil reload` said: {said.strip()!r}; "
           f"rs3 in lb1's table after {took:.1f} s; {CLIENTS} clients: {summary(r)}")
    report(f"continuity (c) 40 new clients after the commit: servers {new.get('servers')}, "
           f"drops {new.get('drops')}")
    assert_kept(r, "commit adding rs3", after)
    assert "rs3" in new.get("servers", {}) and not new.get("drops"), \
        f"no new client reached rs3: {new}"


def test_commit_removing_rs2_drains_it(live):
    lab, saved = live
    lb1 = lab["lb1"]
    rs2 = f"{net.HOSTS['rs2']}:80"
    with clients(LONG) as (c, ready):
        on_rs2 = ready["connected"].get("rs2", 0)
        assert on_rs2, f"no client on rs2 before the commit: {ready}"
        time.sleep(2)
        t_commit = time.time()
        said = commit_live(lab, saved,
                           lambda t: flashconf.without_real_server(t, net.HOSTS["rs2"], 80))
        took, tab = ipvsadm.wait(lb1, lambda t: rs2 in t.get(SERVICE, {})
                                 and t[SERVICE][rs2].weight == 0, 15)
        assert took is not None, f"rs2 not drained (weight 0) in lb1's table: {tab}"
        assert tab[SERVICE][rs2].active > 0, f"rs2's connections gone at once: {tab}"
        # New clients: fresh addresses, and the long-lived ones' (half of
        # which had their persistence on rs2).
        new = short_run(FRESH_D, 40)
        reused = short_run(LONG, 40)
        time.sleep(HOLD)
        during = ipvsadm.table(lb1)
        r = c.finish()
    # Its clients gone, rs2's connections leave the kernel after tcpfin;
    # vigil sees that on its next status dump (every 2 s) and deletes rs2.
    t_end = time.monotonic()
    drain_bound = TCPFIN + 2 + DRAIN_MARGIN
    gone, tab = ipvsadm.wait(lb1, lambda t: rs2 not in t.get(SERVICE, {}), drain_bound,
                             since=t_end)
    report(f"continuity (d) commit removing rs2, `vigil reload` said: {said.strip()!r}; "
           f"rs2 at weight 0 after {took:.1f} s; {CLIENTS} clients ({r['at_end'].get('rs2')} "
           f"on rs2): {summary(r)}")
    report(f"continuity (d) new clients after the commit: fresh addresses -> "
           f"{new.get('servers')}, addresses that were on rs2 -> {reused.get('servers')}; rs2 "
           f"left lb1's table {'after %.1f s' % gone if gone is not None else 'not'} after the "
           f"clients' end (bound {drain_bound:g} s)")
    assert_kept(r, "commit removing rs2", t_commit + HOLD)
    assert r["at_end"].get("rs2") == on_rs2, f"{on_rs2} clients on rs2 before the commit: {r}"
    assert rs2 in during.get(SERVICE, {}), f"rs2 left while its clients ran: {during}"
    for batch in (new, reused):
        assert set(batch.get("servers", {})) == {"rs1"} and not batch.get("drops"), \
            f"new clients not all on rs1 after rs2's removal: {batch}"
    assert gone is not None, f"rs2 still in lb1's table {drain_bound:g} s after its " \
                             f"clients left: {tab}\n{lb1.check('ipvsadm -Lnc | head -20')}\n" \
                             f"{lb1.check('ipvsadm -L --timeout')}"
