"""lab/tests/test_ipvs_differential.py: the IPVS table vigil programs equals
the one keepalived 2.2.7 programs from the same config on the same kernel.

For the seed's master config and for fixtures/ipvs/all-features.conf (every
scheduler of the 6.1 kernel, NAT/DR/TUN, TCP/UDP/SCTP, IPv6, fwmark,
persistence with IPv4 masks and IPv6 prefixes, weights, thresholds, sorry
servers, inhibit_on_failure, quorum, alpha), and for fixtures/ipvs/groups.conf
(virtual_server_group: addresses, IPv4/IPv6 ranges, every-port members,
fwmarks, a failing real server out of every service of its group), and for
fixtures/ipvs/flags.conf (sh-port, sh-fallback, mh-fallback, flag-N, ops;
in a group too), on lb1
with its own vigil
stopped: keepalived runs the file, its table is captured once stable, it is
stopped and the table flushed; then `vigil run --config` runs the same file
and its table is captured the same way. The captures must be equal. Each
daemon runs as a transient systemd unit; lb1's vigil (and the VIP) are back
at the end. Also: a scheduler the kernel lacks (twos) is a clear error that
names its module, and the other services are programmed anyway."""
import os
import time

import pytest

from conftest import ensure_ready, report
from vlab import paths
from vlab.flashconf import FOR_KEEPALIVED, STORE

NODE = "lb1"
DIR = "/run/vigil-diff"
IPVS_FIXTURES = os.path.join(paths.REPO, "fixtures", "ipvs")
# What is compared: the listing the issue names, the same with thresholds
# and with tunnel details, the save format (every field of every entry,
# one self-contained line each), and the protocol timeouts (lvs_timeouts).
VIEWS = ("ipvsadm -Ln", "ipvsadm -Ln --thresholds", "ipvsadm -Ln --tun-info",
         "ipvsadm -Sn", "ipvsadm -Ln --timeout")
# Counters are not configuration: connections from earlier tests (or a
# health check's) may show up in one capture and not the other.
COUNTERS = ("ActiveConn", "InActConn", "PersistConn")
SETTLE_MIN = 6.0       # s after start: checks run every 1 s with retry 0
SETTLE_QUIET = 4.0     # s without any change in the table
SETTLE_MAX = 90.0
UNITS = {"keepalived": "vigil-diff-keepalived", "vigil": "vigil-diff-vigil"}


def normalize(text):
    """Drop the counter columns (found by the header line's names); ipvsadm
    itself sorts services and real servers (its default --sort), and the
    save format is sorted here, its lines being self-contained."""
    lines, drop = [], []
    for line in text.strip().splitlines():
        words = line.split()
        if words[:1] == ["->"] and "RemoteAddress:Port" in line:
            drop = [i for i, w in enumerate(words) if w in COUNTERS]
        if words[:1] == ["->"]:
            words = [w for i, w in enumerate(words) if i not in drop]
        lines.append(" ".join(words))
    if all(x.startswith(("-A ", "-a ")) for x in lines):
        lines.sort()
    return lines


def capture(node):
    return {v: normalize(node.check(v)) for v in VIEWS}


def settle(node, since):
    """Poll until the table has not changed for SETTLE_QUIET s, and at
    least SETTLE_MIN s after `since` -> the captured views."""
    last, changed = None, time.monotonic()
    while time.monotonic() - since < SETTLE_MAX:
        now = capture(node)
        if now != last:
            last, changed = now, time.monotonic()
        elif time.monotonic() - changed >= SETTLE_QUIET and \
                time.monotonic() - since >= SETTLE_MIN:
            return last
        time.sleep(1.0)
    raise AssertionError(f"{node.name}: IPVS table still changing after {SETTLE_MAX:.0f} s")


def start(node, daemon, conf):
    argv = {"keepalived": f"/usr/sbin/keepalived --dont-fork --log-console -f {conf}",
            "vigil": f"/usr/bin/vigil run --config {conf} --log-to stderr "
                     f"--control {DIR}/control.sock"}[daemon]
    node.check(f"systemctl reset-failed {UNITS[daemon]} 2>/dev/null; "
               f"systemd-run --quiet --unit={UNITS[daemon]} {argv}")


def stop(node, daemon):
    node.run(f"systemctl stop {UNITS[daemon]}; systemctl reset-failed {UNITS[daemon]} 2>/dev/null")


def journal(node, daemon, lines=15):
    _, out = node.run(f"journalctl -u {UNITS[daemon]} --no-pager -o cat | tail -n {lines}")
    return out


def table_of(node, daemon, conf):
    """Run `daemon` on `conf` from an empty table -> (views, seconds to settle)."""
    node.check("ipvsadm -C")
    t0 = time.monotonic()
    start(node, daemon, conf)
    try:
        views = settle(node, t0)
        _, active = node.run(f"systemctl is-active {UNITS[daemon]}")
        assert active.strip() == "active", f"{daemon} died:\n{journal(node, daemon)}"
        return views, time.monotonic() - t0
    finally:
        stop(node, daemon)
        node.check("ipvsadm -C")


@pytest.fixture(scope="module")
def node(lab):
    """lb1 with its own vigil stopped (lb2 holds the VIP meanwhile); its
    timeouts, table and vigil restored afterwards."""
    missing = lab.part_missing("ipvs")
    if missing:
        pytest.xfail(missing)
    ensure_ready(lab, NODE)
    n = lab[NODE]
    n.check(f"mkdir -p {DIR}")
    timeouts = n.check("ipvsadm -L --timeout").split(":")[-1].split()
    n.check("systemctl stop vigil")
    try:
        yield n
    finally:
        for d in UNITS:
            stop(n, d)
        n.run("ipvsadm -C; ipvsadm --set " + " ".join(timeouts))
        n.run("systemctl start vigil")
        assert lab.wait_vip(NODE, 30) is not None, f"VIP on {lab.vip_holders()} after restore"


def put_config(node, name, text):
    path = f"{DIR}/{name}"
    node.put(path, text.encode())
    return path


def seed_conf(node):
    """The seed's master config as lb1's flash holds it, exported as
    keepalived.conf text: the same file for both daemons, and the lab's
    baseline path (Lab.use_keepalived). The seed file verbatim would run
    keepalived without VRRP authentication (it drops the seed's `type` and
    `password`) against lb2's vigil: two masters for the test's duration."""
    path = f"{DIR}/seed.conf"
    node.check(f"vigil config export --store {STORE} | {FOR_KEEPALIVED} > {path}")
    return path


def differ(a, b):
    out = []
    for view in VIEWS:
        if a[view] != b[view]:
            ka, vi = set(a[view]), set(b[view])
            out.append(f"{view}:\n  keepalived only: {sorted(ka - vi)}\n"
                       f"  vigil only:      {sorted(vi - ka)}")
    return "\n".join(out)


@pytest.mark.parametrize("which", ["seed", "all-features", "groups", "flags"])
def test_vigil_programs_what_keepalived_programs(node, which):
    if which == "seed":
        conf = seed_conf(node)
    else:
        with open(os.path.join(IPVS_FIXTURES, f"{which}.conf")) as f:
            conf = put_config(node, f"{which}.conf", f.read())
    ka, t_ka = table_of(node, "keepalived", conf)
    vi, t_vi = table_of(node, "vigil", conf)
    services = sum(1 for x in ka["ipvsadm -Sn"] if x.startswith("-A "))
    dests = sum(1 for x in ka["ipvsadm -Sn"] if x.startswith("-a "))
    report(f"ipvs differential {which}: {services} services, {dests} destinations; "
           f"settled in {t_ka:.1f} s (keepalived), {t_vi:.1f} s (vigil); "
           f"{'equal' if ka == vi else 'DIFFERENT'}")
    # The test must be able to fail: an empty table on both sides is no
    # agreement.
    assert services > 0 and dests > 0, ka["ipvsadm -Ln"]
    assert ka == vi, differ(ka, vi)


def test_missing_scheduler_names_its_module(node):
    with open(os.path.join(IPVS_FIXTURES, "twos.conf")) as f:
        conf = put_config(node, "twos.conf", f.read())
    node.check("ipvsadm -C")
    start(node, "vigil", conf)
    try:
        deadline, out = time.monotonic() + 30, ""
        while time.monotonic() < deadline:
            _, out = node.run(f"vigil status --control {DIR}/control.sock")
            if "ip_vs_twos" in out:
                break
            time.sleep(1)
        assert "ip_vs_twos" in out, f"vigil status:\n{out}\njournal:\n{journal(node, 'vigil')}"
        line = next(x for x in out.splitlines() if "ip_vs_twos" in x)
        report(f"ipvs differential twos: vigil status: {line.strip()}")
        assert "ip_vs_twos" in journal(node, "vigil", 50)
        table = node.check("ipvsadm -Ln")
        assert "10.20.9.1:81 rr" in table, table       # the other service is in
        assert "10.20.9.1:80" not in table, table
    finally:
        stop(node, "vigil")
        node.check("ipvsadm -C")
