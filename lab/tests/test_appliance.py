"""lab/tests/test_appliance.py: the boxes set themselves up from their flash.
Nothing in the lab image configures a NIC or names the box: each node's
flash holds the seed config plus its `appliance` block (lab/vlab/node.py),
and vigil applies it at start and live on a reload. Also: a blank config
partition and a disk without one both run the factory default, and say so."""
import json
import os
import time

from conftest import ensure_ready, report
from vlab import flashconf, net
from vlab.node import NODE_ADDRS, STORE, base_disk
from vlab.proc import sh

NEW_ETH1 = "10.255.1.1/30"
ROUTE = "10.20.0.0/24"
GATEWAY = "10.255.1.2"


def addrs(node, dev):
    """The IPv4 addresses (with prefix) on `dev`, from `ip -br -4 addr`."""
    out = node.check(f"ip -br -4 addr show dev {dev}")
    return set(out.split()[2:]) if out.split() else set()


def partition_number(disk, name):
    """The number of the GPT partition named `name` of a raw disk image."""
    table = json.loads(sh("sfdisk", "-J", disk).stdout)["partitiontable"]
    for i, p in enumerate(table["partitions"], 1):
        if p.get("name") == name:
            return i
    raise AssertionError(f"{disk}: no partition named {name!r}")


def power_on_to_state(node, state):
    """Seconds from qemu's start to the node's first VRRP change to `state`:
    the firmware and grub's time (the host's clock since start, less the
    guest's uptime, both read now) plus the journal's monotonic time of the
    change (since the kernel started)."""
    host = time.monotonic() - node.started_at
    uptime = float(node.check("cut -d' ' -f1 /proc/uptime").split()[0])
    line = node.check(f"journalctl -b -u vigil -o json 'MESSAGE=vrrp state change' "
                      f"STATE={state} | head -n 1")
    assert line.strip(), f"{node.name}: no change to {state} in the journal"
    at = int(json.loads(line)["__MONOTONIC_TIMESTAMP"]) / 1e6
    return host - uptime + at


def status_of(node):
    """`vigil status`, or None while the daemon does not answer."""
    rc, out = node.run("vigil status")
    return out if rc == 0 else None


def wait_until(what, pred, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        got = pred()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout} s")


def test_both_boxes_come_up_from_flash_alone(lab):
    for name in net.NODES:
        eth0, eth1 = NODE_ADDRS[name]
        n = lab[name]
        # The shell may be up before vigil: its control socket answers once
        # the set-up is applied (it comes before VRRP starts).
        status = wait_until(f"vigil status on {name}", lambda: status_of(n), 60)
        assert "APPLIANCE ERROR" not in status, status
        cmdline = n.check("cat /proc/cmdline")
        assert "lab.ip" not in cmdline and "hostname" not in cmdline, cmdline
        n.check("test ! -e /etc/systemd/system/vigil-lab-net.service")
        assert n.check("hostname").strip() == name
        assert eth0 in addrs(n, "eth0"), n.check("ip -br addr")
        assert addrs(n, "eth1") == {eth1}, n.check("ip -br addr")
        assert n.check("sysctl -n net.ipv4.ip_forward").strip() == "1"
    assert lab.wait_vip("lb1", 30) is not None, f"VIP on {lab.vip_holders()}"
    for name, want in (("lb1", "MASTER"), ("lb2", "BACKUP")):
        report(f"appliance: {name}: power-on to {want} "
               f"{power_on_to_state(lab[name], want):.1f} s (TCG, both booting together)")
    rss = lab["lb1"].check("grep VmRSS /proc/$(systemctl show -p MainPID --value vigil)/status")
    report(f"appliance: vigil on lb1 (seed config, MASTER): {' '.join(rss.split()[1:])} RSS")
    boots = ", ".join(f"{k} {v.boot_seconds:.0f} s" for k, v in lab.nodes.items()
                      if v.boot_seconds)
    report(f"appliance: both boxes named and addressed by vigil from their flash "
           f"(power-on to ready marker: {boots})")


def test_a_commit_changes_eth1_and_a_route_live(lab):
    lb1 = lab["lb1"]
    old_eth1 = NODE_ADDRS["lb1"][1]
    saved = flashconf.stored(lb1)
    assert f"address {old_eth1}" in saved, saved
    changed = saved.replace(f"address {old_eth1}",
                            f"address {NEW_ETH1}\n        route {ROUTE} via {GATEWAY}", 1)
    try:
        t0 = time.monotonic()
        out = flashconf.commit(lb1, changed, apply="reload")
        took = time.monotonic() - t0
        assert "PENDING" not in out.upper(), out
        assert addrs(lb1, "eth1") == {NEW_ETH1}, lb1.check("ip -br addr")
        route = lb1.check(f"ip route show {ROUTE}")
        assert f"via {GATEWAY} dev eth1 proto 86" in route, route
        assert lb1.has_vip(), "the VIP left lb1 on an eth1 change"
        report(f"appliance: eth1 address and a route changed live by `vigil reload` "
               f"in {took:.1f} s (import + reload over the console); the VIP stayed")
    finally:
        flashconf.commit(lb1, saved, apply="reload")
    # The reload back removes what the changed block had and vigil owned.
    assert addrs(lb1, "eth1") == {old_eth1}, lb1.check("ip -br addr")
    assert lb1.check(f"ip route show {ROUTE}").strip() == ""


def test_a_blank_config_partition_runs_the_factory_default(node_lb2):
    n = node_lb2
    saved = flashconf.stored(n)
    try:
        n.check(f"dd if=/dev/zero of={STORE} bs=1M count=4 conv=fsync status=none")
        n.check("systemctl restart vigil")
        status = wait_until("vigil status on a blank partition", lambda: status_of(n), 30)
        assert "FACTORY DEFAULT" in status and "no vrrp instance" in status, status
        assert not n.has_vip()
        log = n.check("journalctl -u vigil -b --no-pager -o cat | tail -n 200")
        assert "FACTORY DEFAULT" in log, log
    finally:
        flashconf.commit(n, saved, apply="restart")
    status = wait_until("vigil status after the restore", lambda: status_of(n), 30)
    assert "FACTORY DEFAULT" not in status, status


def test_a_disk_without_a_config_partition_runs_the_factory_default(lab, tmp_path):
    """lb2 boots a copy of the image disk whose `config` partition has
    another label: no store for vigil to find."""
    n = lab["lb2"]
    keep = str(tmp_path / "lb2-disk.qcow2")
    unlabelled = str(tmp_path / "disk-unlabelled.img")
    n.power_cut()
    os.replace(n.root, keep)
    try:
        sh("cp", "--sparse=always", base_disk(), unlabelled)
        os.chmod(unlabelled, 0o644)
        num = partition_number(unlabelled, "config")
        sh("sfdisk", "--quiet", "--part-label", unlabelled, str(num), "spare")
        sh("qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", unlabelled, n.root)
        n.start()
        n.wait_ready()
        n.check(f"test ! -e {STORE}")
        status = wait_until("vigil status without a config partition",
                            lambda: status_of(n), 60)
        assert "FACTORY DEFAULT" in status and "no config store" in status, status
        # Nobody else addresses the NICs: without its config the box is bare.
        assert addrs(n, "eth0") == set(), n.check("ip -br addr")
        report("appliance: a disk with no `config` partition: lb2 runs the factory "
               "default (vigil waited for the partition, then said so)")
    finally:
        n.power_cut()
        os.replace(keep, n.root)
        ensure_ready(lab, "lb2")
    assert n.check("hostname").strip() == "lb2"
    # Its own flash again: vigil addresses eth0 as the block says (the
    # hostname alone could be the root partition's from an earlier boot).
    eth0 = NODE_ADDRS["lb2"][0]
    try:
        wait_until("lb2's eth0 address from its flash", lambda: eth0 in addrs(n, "eth0"), 60)
    except AssertionError as e:
        _, log = n.run("journalctl -b -u vigil -o short-monotonic --no-pager | head -n 80; "
                       "vigil status | head -n 30; ip -br link")
        raise AssertionError(f"{e}\n{log}") from None
    assert lab.wait_vip("lb1", 30) is not None and not n.has_vip()
