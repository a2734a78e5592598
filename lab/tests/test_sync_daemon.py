"""lab/tests/test_sync_daemon.py: `lvs_sync_daemon eth1 VI_1 id 51` (added
to each node's flash config for this test only, then restored): the kernel
runs the master sync daemon on the VRRP MASTER and the backup one on the
BACKUP, and they swap when vigil stops on the master (vigil stops its master
daemon and keeps a backup one on shutdown)."""
import time

from conftest import report
from vlab.ipvsadm import sync_daemon, wait_daemons
from vlab.node import STORE

LINE = "lvs_sync_daemon eth1 VI_1 id 51"
MASTER = sync_daemon("master", "eth1", 51)
BACKUP = sync_daemon("backup", "eth1", 51)


def with_sync_daemon(node):
    """Stop vigil, save the flash config, add LINE to global_defs, import."""
    node.check("systemctl stop vigil")
    node.check(f"vigil config export --store {STORE} > /run/orig.conf")
    node.check(f"sed '/^global_defs {{/a\\    {LINE}' /run/orig.conf > /run/sync.conf")
    node.check(f"grep -q '{LINE}' /run/sync.conf")
    node.check(f"vigil config import /run/sync.conf --store {STORE}")


def restore(node):
    node.run("systemctl stop vigil")
    node.run(f"test -s /run/orig.conf && vigil config import /run/orig.conf --store {STORE}")
    # No daemon is left behind for the other tests.
    node.run("ipvsadm --stop-daemon master; ipvsadm --stop-daemon backup")
    node.run("systemctl start vigil")


def test_sync_daemon_follows_vrrp(lab):
    lb1, lb2 = lab["lb1"], lab["lb2"]
    try:
        for n in (lb2, lb1):
            with_sync_daemon(n)
        lb2.check("systemctl start vigil")
        lb1.check("systemctl start vigil")
        assert lab.wait_vip("lb1", 30) is not None, lab.vip_holders()
        out1 = wait_daemons(lb1, [MASTER])
        out2 = wait_daemons(lb2, [BACKUP])
        report(f"sync daemon: lb1 (MASTER): {out1!r}; lb2 (BACKUP): {out2!r}")
        st = lb1.check("vigil status")
        line = [x for x in st.splitlines() if x.startswith("sync daemon:")]
        assert line and MASTER in line[0], st
        js = lb1.check("vigil status --json")
        assert '"sync_daemon":"' + MASTER in js, js
        report(f"sync daemon: lb1 vigil status: {line[0]!r}")

        t0 = time.monotonic()
        lb1.check("systemctl stop vigil")
        assert lab.wait_vip("lb2", 30) is not None, lab.vip_holders()
        out2 = wait_daemons(lb2, [MASTER])
        out1 = wait_daemons(lb1, [BACKUP])
        report(f"sync daemon: after `systemctl stop vigil` on lb1 "
               f"({time.monotonic() - t0:.1f} s): lb1: {out1!r}; lb2 (MASTER): {out2!r}")

        lb1.check("systemctl start vigil")
        assert lab.wait_vip("lb1", 30) is not None, lab.vip_holders()
        out1 = wait_daemons(lb1, [MASTER])
        out2 = wait_daemons(lb2, [BACKUP])
        report(f"sync daemon: lb1 back as MASTER: lb1: {out1!r}; lb2: {out2!r}")
        _, log = lb1.run("journalctl -b -u vigil --no-pager -o cat | grep -i 'sync'")
        for x in log.splitlines()[-8:]:
            report(f"sync daemon: lb1 journal: {x}")
    finally:
        for n in (lb1, lb2):
            restore(n)
