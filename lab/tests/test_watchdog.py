"""lab/tests/test_watchdog.py: the box heals itself. vigil owns the
i6300esb (qemu: -action watchdog=reset, seen as a QMP WATCHDOG event, then
a new boot) and systemd's watchdog (Type=notify, WatchdogSec=5s):
- vigil pets both, and says so in `vigil status` and to systemd;
- `systemctl stop vigil` disarms the hardware: no reset follows;
- a frozen vigil (kill -STOP) on the master: systemd restarts it before
  the hardware fires, the backup serves the VIP meanwhile, the master
  returns;
- one stalled task (the fault-hooks build, `vigil fault`): the hardware
  resets the box, which then says "last reset by the watchdog" and runs the
  `notify_reset` script;
- a hung kernel (sysrq crash with panic=0): the hardware resets the box and
  it serves the VIP again;
- and the i6300esb itself resets the VM when a shell stops petting it."""
import json
import time

import pytest

from conftest import ensure_ready, report
from vlab import fault, flashconf, net

HW_TIMEOUT = 20          # the config's default hardware timeout, seconds
RESET_MARK = "/var/tmp/vlab-reset-mark"
RESET_SCRIPT = "/usr/local/sbin/vlab-reset-mark"


def status(n):
    return json.loads(n.check("vigil status --json"))


def unit(n, prop):
    return n.check(f"systemctl show -p {prop} --value vigil").strip()


def no_reset_within(n, seconds, since):
    """Asserts that no QMP WATCHDOG event comes within `seconds`."""
    try:
        _, ev = n.qmp.wait_event("WATCHDOG", timeout=seconds, since=since)
    except Exception:  # noqa: BLE001 - the wait timing out is the pass
        return
    raise AssertionError(f"the hardware watchdog fired: {ev}")


def wait_for(what, pred, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {timeout} s")


def test_vigil_pets_the_i6300esb_and_systemd(lab):
    for name in ("lb1", "lb2"):
        n = lab[name]
        w = status(n)["watchdog"]
        assert w["state"] == "petting", w
        assert w["device"] == "/dev/watchdog", w
        assert "6300" in (w["identity"] or ""), w
        assert w["timeout_s"] == HW_TIMEOUT, w
        assert w["systemd_ms"] == 5000, w
        assert unit(n, "Type") == "notify"
        assert unit(n, "WatchdogUSec") in ("5s", "5000000")
        text = unit(n, "StatusText")
        assert "watchdog /dev/watchdog" in text and "petting" in text, text


def test_systemctl_stop_disarms_and_no_reset_follows(node_lb2):
    n = node_lb2
    t_stop = time.monotonic()
    n.check("systemctl stop vigil")
    log = n.check("journalctl -u vigil -b --no-pager -o cat | tail -n 40")
    assert "watchdog disarmed (deliberate stop)" in log, log
    no_reset_within(n, HW_TIMEOUT + 8, t_stop)
    report(f"watchdog: `systemctl stop vigil`: no reset in {HW_TIMEOUT + 8} s (disarmed)")
    n.check("systemctl start vigil", timeout=60)


def test_a_frozen_master_is_restarted_by_systemd_and_the_backup_serves(lab):
    lb1, lb2 = lab["lb1"], lab["lb2"]
    assert lab.wait_vip("lb1", 30) is not None, f"VIP on {lab.vip_holders()}"
    restarts = int(unit(lb1, "NRestarts"))
    t0 = time.monotonic()
    lb1.check("kill -STOP $(systemctl show -p MainPID --value vigil)")
    # A frozen vigil cannot take its VIP down: lb1 keeps the address until
    # its next vigil starts; lb2 takes over by VRRP and announces itself.
    took_over = wait_for("the backup taking the VIP", lb2.has_vip, 20)
    served = net.client("http", net.VIP)
    assert served.get("ok"), f"the VIP did not answer while lb1 was frozen: {served}"
    restarted = wait_for("systemd restarting the frozen vigil",
                         lambda: int(unit(lb1, "NRestarts")) > restarts, 30)
    back = lab.wait_vip("lb1", 40, since=t0)
    assert back is not None, f"the master did not return: VIP on {lab.vip_holders()}"
    no_reset_within(lb1, 5, t0)     # nothing came meanwhile either
    assert status(lb1)["watchdog"]["state"] == "petting"
    report(f"watchdog: kill -STOP on the master: lb2 took the VIP after {took_over:.1f} s "
           f"(served by {served.get('server')}), "
           f"systemd restarted vigil after {restarted:.1f} s, VIP back on lb1 after "
           f"{back:.1f} s; no hardware reset")


def with_reset_script(text):
    """`text` (canonical export) with the appliance block's watchdog running
    RESET_SCRIPT on a reset."""
    lines = text.splitlines()
    i = lines.index("appliance {")
    lines[i + 1:i + 1] = ["    watchdog {", f"        notify_reset {RESET_SCRIPT}", "    }"]
    return "\n".join(lines) + "\n"


def test_a_stalled_task_resets_the_box_which_says_so(lab):
    why = fault.available()
    if why:
        pytest.fail(f"the fault-hooks build is missing: {why}")
    n = lab["lb2"]
    saved = flashconf.Saved(n)
    try:
        n.check(f"printf '#!/bin/sh\\necho \"$*\" >> {RESET_MARK}\\n' > {RESET_SCRIPT} "
                f"&& chmod 755 {RESET_SCRIPT} && rm -f {RESET_MARK}")
        flashconf.commit(n, with_reset_script(saved.text(n)), apply=None)
        fault.use_fault_build(n)
        assert status(n)["watchdog"]["state"] == "petting"
        since = n.console.mark()
        t = time.monotonic()
        fault.fault(n, "health", "stall")
        t_event, ev = n.qmp.wait_event("WATCHDOG", timeout=90, since=t)
        assert ev["data"]["action"] == "reset", ev
        n.wait_ready(since=since)
        back = time.monotonic() - t_event
        w = wait_for_status(n)["watchdog"]
        assert w["reset_by_watchdog"] is True, w
        assert "last reset by the watchdog" in n.check("vigil status")
        log = n.check("journalctl -u vigil -b --no-pager -o cat")
        assert "last reset by the watchdog" in log, log
        wait_for("the notify_reset script's mark",
                 lambda: n.run(f"grep -q 'WATCHDOG /dev/watchdog RESET' {RESET_MARK}")[0] == 0,
                 15)
        report(f"watchdog: `vigil fault health stall` (health's deadline 10 s): the i6300esb "
               f"reset lb2 {t_event - t:.1f} s after the stall; ready marker {back:.1f} s "
               "after the reset; it said \"last reset by the watchdog\" and ran notify_reset")
    finally:
        ensure_ready(lab, "lb2")
        saved.restore()


def wait_for_status(n, timeout=60):
    out = {}

    def answered():
        rc, text = n.run("vigil status --json")
        if rc == 0:
            out["s"] = json.loads(text)
        return rc == 0
    wait_for("vigil status", answered, timeout)
    return out["s"]


def test_a_hung_kernel_is_reset_and_the_box_serves_again(lab):
    lb1 = lab["lb1"]
    assert lab.wait_vip("lb1", 60) is not None, f"VIP on {lab.vip_holders()}"
    # panic=0: the kernel waits for ever after the crash; only the hardware
    # can bring the box back.
    lb1.check("sysctl -qw kernel.panic=0 kernel.sysrq=1")
    since = lb1.console.mark()
    t = time.monotonic()
    lb1.console.send("echo c > /proc/sysrq-trigger\n")
    t_event, ev = lb1.qmp.wait_event("WATCHDOG", timeout=90, since=t)
    assert ev["data"]["action"] == "reset", ev
    # lb1's console is dead until it boots: ask lb2 and the client only.
    assert lab["lb2"].has_vip(), "lb2 did not take the VIP while lb1 hung"
    served = net.client("http", net.VIP)
    assert served.get("ok"), f"the VIP did not answer while lb1 hung: {served}"
    lb1.wait_ready(since=since)
    ready = time.monotonic() - t_event
    back = lab.wait_vip("lb1", 60)
    assert back is not None, f"lb1 did not serve the VIP again: {lab.vip_holders()}"
    report(f"watchdog: kernel crash with panic=0 on lb1: the i6300esb reset it "
           f"{t_event - t:.1f} s later; ready marker {ready:.1f} s after the reset, "
           f"the VIP on lb1 again {back:.1f} s after that")


def test_i6300esb_resets_when_a_shell_stops_petting(node_lb2):
    n = node_lb2
    # vigil owns /dev/watchdog: stop it (it disarms) so the shell can open it.
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
