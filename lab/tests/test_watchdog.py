"""lab/tests/test_watchdog.py: the board's i6300esb watchdog really resets
the VM when petting stops (qemu: -action watchdog=reset, seen as a QMP
WATCHDOG event, then a new boot)."""
import time

from conftest import report


def test_i6300esb_resets_when_petting_stops(node_lb2):
    n = node_lb2
    # vigil will own /dev/watchdog: stop it so the shell can open the device.
    n.check("systemctl stop vigil; modprobe -r i6300esb && modprobe i6300esb heartbeat=4")
    since = n.console.mark()
    t_arm = time.monotonic()
    # Open, pet once, close without the magic 'V': the timer keeps running.
    n.check("echo 1 > /dev/watchdog")
    t_event, ev = n.qmp.wait_event("WATCHDOG", timeout=60, since=t_arm)
    assert ev["data"]["action"] == "reset", ev
    fired = t_event - t_arm
    report(f"watchdog: i6300esb (heartbeat 4 s) reset lb2 {fired:.1f} s after the last pet")
    assert fired < 20, f"reset came {fired:.1f} s after the pet (heartbeat 4 s)"
    n.wait_ready(since=since)
    report(f"watchdog: lb2 back to the ready marker {time.monotonic() - t_event:.1f} s "
           "after the reset")
