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


# ---------------------------------------------------------------------------
# DRAFTS (helper "wd", session 5): NOT RUN YET. vigil owns /dev/watchdog and
# pets systemd's watchdog (issue 10, items 3 and 4). The lead runs and
# finishes these; each says what it must check.

import json  # noqa: E402


def _status(n):
    return json.loads(n.check("vigil status --json"))


def _show(n, prop):
    return n.check(f"systemctl show -p {prop} --value vigil").strip()


def test_vigil_owns_the_watchdog_and_talks_to_systemd(node_lb2):
    n = node_lb2
    w = _status(n)["watchdog"]
    assert w["state"] == "petting", w
    assert w["device"] == "/dev/watchdog", w
    assert "6300" in (w["identity"] or ""), w
    assert w["timeout_s"] == 20, w
    assert w["systemd_ms"] == 5000, w
    assert _show(n, "Type") == "notify"
    assert _show(n, "WatchdogUSec") in ("5s", "5000000")
    status_text = _show(n, "StatusText")
    assert "watchdog /dev/watchdog" in status_text and "petting" in status_text, status_text


def test_systemctl_stop_disarms_and_no_reset_follows(node_lb2):
    n = node_lb2
    since = n.console.mark()
    t_stop = time.monotonic()
    n.check("systemctl stop vigil")
    out = n.check("journalctl -u vigil -b --no-pager | tail -n 30")
    assert "watchdog disarmed (deliberate stop)" in out, out
    # 20 s hardware timeout + margin: no QMP WATCHDOG event.
    try:
        n.qmp.wait_event("WATCHDOG", timeout=35, since=t_stop)
    except Exception:  # noqa: BLE001 - the timeout is what we want
        pass
    else:
        raise AssertionError("the watchdog fired after a deliberate stop")
    n.check("systemctl start vigil")
    del since


def test_sigstop_is_restarted_by_systemd_before_the_hardware_fires(node_lb2):
    n = node_lb2
    restarts = int(_show(n, "NRestarts"))
    t_stop = time.monotonic()
    n.check("kill -STOP $(systemctl show -p MainPID --value vigil)")
    # systemd: WatchdogSec 5 s, SIGABRT + TimeoutAbortSec 2 s, RestartSec 1 s.
    deadline = time.monotonic() + 20
    while int(_show(n, "NRestarts")) == restarts:
        assert time.monotonic() < deadline, "systemd did not restart a stopped vigil"
        time.sleep(0.5)
    report(f"watchdog: SIGSTOP -> systemd restarted vigil after {time.monotonic() - t_stop:.1f} s")
    # The new process pets the hardware: no reset within its 20 s.
    try:
        n.qmp.wait_event("WATCHDOG", timeout=30, since=t_stop)
    except Exception:  # noqa: BLE001
        pass
    else:
        raise AssertionError("the hardware reset the box: systemd's restart came too late")
    assert _status(n)["watchdog"]["state"] == "petting"
    # The lead: the backup (lb1 here, or the other node) serves the VIP
    # meanwhile and the master returns.


def test_a_stalled_task_resets_the_box_and_it_says_so(node_lb2):
    """Needs a vigil built with --features fault-hooks in the image, and a
    `notify_reset` script in lb2's `appliance { watchdog { } }` block that
    leaves a mark on the flash-independent persistent disk (or in the
    journal of the next boot). The lead wires both."""
    n = node_lb2
    rc, _ = n.run("vigil fault --help")
    if rc != 0:
        import pytest
        pytest.skip("vigil is not built with fault hooks")
    since = n.console.mark()
    t = time.monotonic()
    n.check("vigil fault health stall")
    # health's deadline 10 s + one pet interval (1.7 s) + the hardware's 20 s.
    t_event, ev = n.qmp.wait_event("WATCHDOG", timeout=60, since=t)
    assert ev["data"]["action"] == "reset", ev
    report(f"watchdog: a stalled task reset lb2 {t_event - t:.1f} s after the stall")
    n.wait_ready(since=since)
    w = _status(n)["watchdog"]
    assert w["reset_by_watchdog"] is True, w
    assert "last reset by the watchdog" in n.check("vigil status")
    assert "last reset by the watchdog" in n.check("journalctl -u vigil -b --no-pager")
    # The lead: the notify_reset script ran (its mark), the mail went (an
    # SMTP sink on the lab network), and the VIP is served again.
