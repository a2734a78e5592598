"""lab/tests/test_flash.py: the config flash (the partition labelled
`config` on the flash disk) survives a reboot and a power cut mid-boot."""
import time

from conftest import report
from vlab.node import STORE

SHOW = f"vigil config show --store {STORE}"


def root_writes(node):
    stats = node.qmp.cmd("query-blockstats")
    return sum(d["stats"]["wr_operations"] for d in stats if d.get("device") == "root")


def test_reboot_keeps_config(node_lb2):
    before = node_lb2.check(SHOW)
    assert "VI_1" in before or "192.168.1.200" in before, before
    secs = node_lb2.reboot()
    report(f"reboot: lb2 back to the ready marker in {secs:.1f} s")
    assert node_lb2.check(SHOW) == before


def test_power_cut_during_boot_is_survived(node_lb2):
    before = node_lb2.check(SHOW)
    full_boot = node_lb2.boot_seconds or 30
    node_lb2.power_cut()
    node_lb2.start()
    # Mid-boot: as soon as the root fs is mounted read-write and being
    # written (plus a moment, so writes are in flight), well before the
    # shell is up. Not a fraction of an earlier boot's time: that boot may
    # have been slower (two VMs booting together on a loaded machine), and
    # then the cut would come after this boot had finished.
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120 and root_writes(node_lb2) == 0:
        time.sleep(0.1)
    time.sleep(0.5)
    assert root_writes(node_lb2) > 0, "the guest never wrote its root disk"
    assert "VIGIL-LAB-READY" not in node_lb2.console.buf, "booted before the cut"
    report(f"power cut mid-boot: cut {time.monotonic() - t0:.1f} s after power-on "
           f"(a full boot takes {full_boot:.0f} s), {root_writes(node_lb2)} root writes done")
    node_lb2.power_cut()
    node_lb2.start()
    secs = node_lb2.wait_ready()
    report(f"power cut mid-boot: lb2 booted again in {secs:.1f} s")
    assert node_lb2.check(SHOW) == before
    node_lb2.check("touch /var/tmp/after-power-cut && findmnt -no OPTIONS / | grep -q rw")


def test_reset_button_keeps_config(node_lb2):
    before = node_lb2.check(SHOW)
    since = node_lb2.console.mark()
    t0 = time.monotonic()
    node_lb2.reset()
    node_lb2.wait_ready(since=since)
    report(f"reset (QMP system_reset): lb2 back in {time.monotonic() - t0:.1f} s")
    assert node_lb2.check(SHOW) == before
