"""lab/tests/test_console.py: the box configured from its serial console.

Every test types into `vigil console` on a real UART (ttyS1: the shipped
serial-getty drop-in, as on a box's ttyS0; the lab keeps ttyS0 for its root
shell), through qemu's serial socket, as a technician would: the password,
commands, Tab, `?`, a pasted keepalived.conf. The root shell is used only
to look at what the console cannot show (the flash store's history) and to
put things back."""
import os
import random
import re
import time

from conftest import ensure_ready, report
from vlab import flashconf, net, paths
from vlab.node import CONSOLE_PASSWORD, STORE
from vlab.vconsole import VigilConsole

# Power cuts in the middle of console commits: a few in `make test`, at
# least 50 in `make soak` (VIGIL_CONSOLE_CUTS=50).
CUTS = int(os.environ.get("VIGIL_CONSOLE_CUTS", "2"))


def fresh_box_commands():
    """What a technician types to set up lb1 from nothing: its NICs, the
    seed's VRRP instance and virtual server with both real servers
    (fixtures/console/fresh-box.cmds, which console::candidate's unit test
    also builds and checks)."""
    with open(os.path.join(paths.REPO, "fixtures", "console", "fresh-box.cmds")) as fh:
        lines = [l.strip() for l in fh]
    return [l for l in lines if l and not l.startswith("#")]


def history(node):
    """The flash store's commit history as the root shell's CLI lists it."""
    return node.check(f"vigil config show --store {STORE} | sed -n '/seq/,$p'")


def logged_in(node, timeout=180):
    """The console at a fresh operational prompt (logged in with the lab's
    password when it asks)."""
    vc = VigilConsole(node.serial)
    got = vc.wake(timeout)
    if "assword" in got:
        vc.login(CONSOLE_PASSWORD, timeout)
    elif got.rstrip().endswith("#"):
        vc.cmd("exit discard")
    return vc


def no_errors(out):
    assert "error" not in out.lower(), out
    return out


def test_a_factory_fresh_box_is_configured_from_its_serial_console(lab):
    lb1 = lab["lb1"]
    saved = flashconf.stored(lb1)
    lb1.power_cut()
    lb1.erase_config()
    try:
        lb1.start()
        lb1.wait_ready()
        vc = VigilConsole(lb1.serial)
        got = vc.wake(180)
        assert "assword" in got, got
        t0 = time.monotonic()
        host, mode = vc.choose_password("technician-1")
        assert mode == ">", (host, mode)
        assert vc.cmd("configure").startswith("configuration mode"), "no configure"
        cmds = fresh_box_commands()
        for c in cmds:
            no_errors(vc.cmd(c))
        diff = vc.cmd("show | compare")
        assert f"+        {net.VIP}/24" in diff, diff
        t1 = time.monotonic()
        out = no_errors(vc.cmd('commit comment "first config from the serial console"'))
        report(f"console: commit of the seed config, typed to its answer (written, applied): "
               f"{time.monotonic() - t1:.2f} s")
        report(f"console: factory-fresh lb1 configured over its serial line in "
               f"{time.monotonic() - t0:.1f} s ({len(cmds)} "
               f"set commands); commit said: {out.strip().splitlines()[-1] if out.strip() else ''}")
        assert lab.wait_vip("lb1", 60) is not None
        assert vc.cmd("exit") == ""
        # The config survives a reboot; the new password guards the console.
        lb1.reboot()
        assert lab.wait_vip("lb1", 90) is not None
        assert lb1.check("hostname").strip() == "lb1"
        vc = VigilConsole(lb1.serial)
        assert "assword" in vc.wake(180)
        since = lb1.serial.mark()
        lb1.serial.send("wrong-password\r")
        lb1.serial.wait_for(r"[Ww]rong password|[Ii]ncorrect", 30, since)
        host, mode = vc.login("technician-1")
        assert (host, mode) == ("lb1", ">")
        commits = vc.cmd("show system commit")
        assert "first config from the serial console" in commits, commits
        assert "VI_1 MASTER" in vc.cmd("show vrrp")
    finally:
        flashconf.commit(lb1, saved, apply="restart")
        lab.wait_vip("lb1", 60)


def test_a_bad_set_or_paste_changes_nothing_on_screen_or_flash(lab):
    lb1 = lab["lb1"]
    before = history(lb1)
    vc = logged_in(lb1)
    no_errors(vc.cmd("configure"))
    bad = {
        "set vrrp_instance VI_1 priority 300": r"expected .*1.*255",
        "set vrrp_instance VI_1 no_such_keyword 1": r"no_such_keyword",
        "set vrrp_instance VI_1 virtual_ipaddress 10.99.0.1": r"not inside any subnet",
        "set no_such_block x": r"no_such_block",
    }
    for cmd, why in bad.items():
        out = vc.cmd(cmd)
        assert re.search(why, out), f"{cmd}: {out}"
        assert vc.cmd("show | compare").strip() == "", cmd
    out = vc.load("vrrp_instance VI_1 {\n    priority 999\n    bogus_word 1\n")
    assert "the candidate is unchanged" in out, out
    assert re.search(r"candidate:\d+:\d+", out) or "line" in out, out
    assert vc.cmd("show | compare").strip() == ""
    # Nothing was written: the flash's history is as it was.
    assert vc.cmd("exit") == ""
    assert history(lb1) == before


def test_commit_confirmed_rolls_back_by_itself_and_across_a_power_cut(lab):
    lb1 = lab["lb1"]
    saved = flashconf.stored(lb1)
    try:
        vc = logged_in(lb1)
        no_errors(vc.cmd("configure"))
        no_errors(vc.cmd("set vrrp_instance VI_1 priority 120"))
        t0 = time.monotonic()
        out = no_errors(vc.cmd("commit confirmed 20s"))
        assert "confirm" in out.lower(), out
        assert "priority 120" in vc.cmd("show config")
        # No confirm: 20 s later the previous config runs again, not sooner.
        deadline = time.monotonic() + 60
        while "priority 120" in vc.cmd("show config"):
            assert time.monotonic() < deadline, "not rolled back 60 s after a 20 s window"
            time.sleep(1)
        took = time.monotonic() - t0
        assert took >= 19, f"rolled back {took:.1f} s into a 20 s window"
        report(f"console: commit confirmed 20s rolled back {took:.1f} s after the commit")
        commits = vc.cmd("show system commit")
        assert "rollback" in commits.lower(), commits
        # Again, in minutes, and the power goes before the confirm.
        no_errors(vc.cmd("set vrrp_instance VI_1 priority 121"))
        no_errors(vc.cmd("commit confirmed 1"))
        lb1.power_cut()
        lb1.start()
        lb1.wait_ready()
        vc = logged_in(lb1)
        cfg = vc.cmd("show config")
        assert "priority 121" not in cfg and "priority 100" in cfg, cfg
    finally:
        ensure_ready(lab, "lb1")
        flashconf.commit(lb1, saved, apply="restart")
        lab.wait_vip("lb1", 60)


def test_rollback_then_commit_restores_a_commit_exactly(lab):
    lb1 = lab["lb1"]
    saved = flashconf.stored(lb1)
    try:
        vc = logged_in(lb1)
        no_errors(vc.cmd("configure"))
        no_errors(vc.cmd("set vrrp_instance VI_1 priority 110"))
        no_errors(vc.cmd('commit comment "priority 110"'))
        listing = vc.cmd("run show system commit").split("\n", 1)[1]
        seq = int(re.search(r"^\s*\*?\s*(\d+)", listing, re.M).group(1))
        report(f"console: a seed-sized commit on flash: {listing.splitlines()[0].strip()}")
        no_errors(vc.cmd("set vrrp_instance VI_1 priority 111"))
        no_errors(vc.cmd("set vrrp_instance VI_1 advert_interval 2"))
        no_errors(vc.cmd('commit comment "priority 111"'))
        no_errors(vc.cmd(f"rollback {seq}"))
        assert "priority 111" in vc.cmd("show | compare")
        no_errors(vc.cmd("commit"))
        exported = lb1.check(f"vigil config export --store {STORE} --commit {seq}")
        no_errors(vc.load(exported))
        assert vc.cmd("show | compare").strip() == "", "running differs from commit"
        assert "rollback" in vc.cmd("run show system commit").lower()
        vc.cmd("exit discard")
    finally:
        flashconf.commit(lb1, saved, apply="restart")


def test_tab_and_question_mark_work_and_a_dumb_terminal_gets_no_escapes(lab):
    lb2 = lab["lb2"]
    vc = logged_in(lb2)
    # VT100 (the unit's TERM): Tab completes, `?` lists what comes next.
    out = vc.keys("sh\t", r"show $")
    # Up to the prompt after the last word (system): a help line may hold
    # "show " itself ("show log [LINES]").
    out = vc.keys("?", r"system .*\n.*show $")
    assert "vrrp" in out and "ipvs" in out and "dr" in out, out
    lb2.serial.send("\x15")
    latency = vc.echo_latency()
    report(f"console: keystroke-to-echo over the serial line {latency * 1000:.1f} ms "
           "(median of 20)")
    vc.cmd("")
    # TERM=dumb: the same keys, and no escape sequence at all.
    dropin = "/run/systemd/system/serial-getty@ttyS1.service.d"
    lb2.check(f"mkdir -p {dropin} && printf '[Service]\\nEnvironment=TERM=dumb\\n' "
              f"> {dropin}/zz-dumb.conf && systemctl daemon-reload "
              "&& systemctl restart serial-getty@ttyS1.service")
    try:
        raw_from = len(lb2.serial.raw)
        vc = logged_in(lb2)
        vc.keys("sh\t", r"show $")
        out = vc.keys("?", r"system.*\n.*show $")
        assert "vrrp" in out, out
        lb2.serial.send("\x15")
        no_errors(vc.cmd("show vrrp"))
        vc.keys("configure\r", r"# $")
        vc.keys("set vrrp_inst\t", r"vrrp_instance $")
        vc.keys("?", r"VI_1.*# set vrrp_instance $")
        lb2.serial.send("\x15")
        vc.cmd("exit discard")
        assert b"\x1b" not in lb2.serial.raw[raw_from:], lb2.serial.raw[raw_from:][-400:]
    finally:
        lb2.check(f"rm -rf {dropin} && systemctl daemon-reload "
                  "&& systemctl restart serial-getty@ttyS1.service")


def test_power_cuts_in_a_loop_of_console_commits_always_boot_a_whole_commit(lab):
    lb2 = lab["lb2"]
    saved = flashconf.stored(lb2)
    rng = random.Random(1103)
    seen = {}
    done = []
    try:
        for cut in range(CUTS):
            vc = logged_in(lb2)
            no_errors(vc.cmd("configure"))
            # Commits of distinct configs, the power cut at a varied moment
            # (before, during or between commits).
            deadline = time.monotonic() + rng.uniform(0.5, 8.0)
            k = 0
            while time.monotonic() < deadline:
                prio = 10 + (cut * 7 + k) % 80
                seen[prio] = True
                vc.cmd(f"set vrrp_instance VI_1 priority {prio}")
                since = lb2.serial.mark()
                lb2.serial.send(f'commit comment "cut {cut} commit {k}"\r')
                try:
                    lb2.serial.wait_for(r"# $", max(0.1, deadline - time.monotonic()), since)
                except Exception:  # noqa: BLE001 - the cut comes mid-commit
                    break
                k += 1
            done.append(k)
            lb2.power_cut()
            lb2.start()
            lb2.wait_ready()
            vc = logged_in(lb2)
            cfg = vc.cmd("show config")
            m = re.search(r"priority (\d+)", cfg)
            assert m, f"cut {cut}: no instance after the boot:\n{cfg}"
            assert int(m.group(1)) in seen or int(m.group(1)) == 99, cfg
            # Never a mix: the config reads back whole (its VS and RS too).
            assert f"virtual_server {net.VIP} 80" in cfg, cfg
            assert cfg.count("real_server") == 2, cfg
        report(f"console: {CUTS} power cuts in a loop of console commits ({sum(done)} commits "
               f"answered before the cuts, {done}): every boot ran one whole committed config")
    finally:
        ensure_ready(lab, "lb2")
        flashconf.commit(lb2, saved, apply="restart")


BIG = 100   # virtual servers x real servers of the big-config figure

# A 100 x 100 LVS-NAT config written on the guest (1.2 MB of text would
# take minutes through the serial line): lb2's own config (appliance block,
# instance, the seed's service) and BIG more virtual servers of BIG real
# servers each, on rs1's closed ports (every check fails at once with a
# reset; no address is invented). inhibit_on_failure keeps a failed one in
# at weight 0: the count after the commit does not race the checks.
BIG_AWK = (
    "{ vigil config export --store %s; awk -v n=%d -v rs=%s 'BEGIN {"
    " for (v = 0; v < n; v++) {"
    "  printf \"virtual_server 10.1.%%d.1 80 {\\n    lvs_sched wrr\\n"
    "    lvs_method NAT\\n    protocol TCP\\n    delay_loop 60\\n"
    "    inhibit_on_failure\\n\", v;"
    "  for (r = 0; r < n; r++)"
    "   printf \"    real_server %%s %%d {\\n        TCP_CHECK {\\n"
    "            connect_timeout 3\\n        }\\n    }\\n\", rs, 1000 + v * n + r;"
    "  print \"}\" } }'; } > /tmp/big.conf"
)


def test_a_100x100_config_commits_from_the_console(lab):
    """The figure: a commit of a 100 x 100 config, then a one-line change
    to it committed from the console, each timed to its answer (written
    to flash and applied to the kernel)."""
    lb2 = lab["lb2"]
    saved = flashconf.stored(lb2)
    try:
        lb2.check(BIG_AWK % (STORE, BIG, net.HOSTS["rs1"]))
        t0 = time.monotonic()
        lb2.check("vigil commit /tmp/big.conf --comment 100x100", timeout=300)
        whole = time.monotonic() - t0
        dests = int(lb2.check("ipvsadm -Ln | grep -c -- '->  *[0-9]'").strip())
        assert dests >= BIG * BIG, dests
        vc = logged_in(lb2)
        t0 = time.monotonic()
        no_errors(vc.cmd("configure", timeout=300))
        enter = time.monotonic() - t0
        t0 = time.monotonic()
        no_errors(vc.cmd("set virtual_server 10.1.7.1 80 lvs_sched rr", timeout=300))
        edit = time.monotonic() - t0
        t0 = time.monotonic()
        out = no_errors(vc.cmd('commit comment "rr on one of 100"', timeout=300))
        change = time.monotonic() - t0
        assert "committed seq" in out, out
        assert " rr" in lb2.check("ipvsadm -Ln -t 10.1.7.1:80 | grep '^TCP'")
        vc.cmd("exit")
        report(f"console: {BIG}x{BIG} config: vigil commit of all of it {whole:.1f} s; "
               f"in the console: configure {enter:.1f} s, one set {edit:.1f} s, "
               f"commit of the change {change:.1f} s (written and applied)")
    finally:
        flashconf.commit(lb2, saved, apply="restart", timeout=120)
