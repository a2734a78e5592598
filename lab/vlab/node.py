"""lab/vlab/node.py: one appliance VM (lb1, lb2, lb3) of the lab.
Owns: its disk (a qcow2 overlay of the shared read-only image disk, which
has the box's own GPT layout: EFI partition with grub and the kernel, the
4 MiB `config` partition vigil finds by its label, the root; it persists
across VM restarts) and its UEFI variables, writing a config into its
`config` partition from the host, its `appliance` block (the box's hostname
and addresses: vigil sets the box up from it), its qemu process (TCG,
booted through OVMF and grub, run inside the switch namespace so it opens
its taps), its serial
console and QMP sockets, booting to the lab's ready marker, running commands,
and power control: stop, power cut, reset, freeze/thaw; cables; putting a
file on it through the console."""
import base64
import json
import os
import shlex
import shutil
import time

from . import net, paths
from .console import Console
from .proc import kill_recorded, recorded, sh, spawn
from .qmp import QMP

READY = r"VIGIL-LAB-READY {name}\n"
# vigil's store: the image disk's partition labelled `config`
# (board/x86_64/genimage.cfg), found by vigil without a path in its unit.
STORE = "/dev/disk/by-partlabel/config"
# UEFI firmware (Debian's ovmf): code shared read-only, variables per VM.
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
# Each box's own addresses: written into its `appliance` block on flash,
# applied by vigil (nothing else in the lab image configures a NIC). eth1's
# subnet holds all three: the anycast boxes sync connections over it.
NODE_ADDRS = {
    "lb1": ("192.168.1.100/24", "10.255.0.1/24"),
    "lb2": ("192.168.1.101/24", "10.255.0.2/24"),
    "lb3": ("192.168.1.110/24", "10.255.0.3/24"),
}


# TCG's translation cache, in MiB. qemu keeps translated blocks across a
# guest reset (a reboot, the watchdog's reset, the reset button), and their
# pages stay write-protected, so the next boot's kernel decompressor takes a
# slow path on nearly every write: with qemu 7.2's default (1 GiB, flushed
# only when full) each reset added 34 to 56 s to the next boot (a cold boot
# 42 s, after one reset 76 s, after two 132 s). 64 MiB fills and flushes
# within a boot: 43 s cold and 40 to 43 s after each reset; 32 MiB
# re-translates too often (54 s cold). The bench, whose VM never resets,
# keeps qemu's default so its figures stay comparable run to run.
TB_MIB = 64

# The lab boxes' console password (`vigil console --login` on ttyS1) and its
# SHA-512-crypt hash (`openssl passwd -6 -salt vigillab vigil-lab-console`).
CONSOLE_PASSWORD = "vigil-lab-console"
CONSOLE_HASH = ("$6$vigillab$CF0C3fOpSIvSJtl/DXJwmRpxbwQwWsy6x8F4XdloSVVgEr.ktKiSQdytEW"
                ".EKfJbg9FSUfncDc2rFvEARopDY1")


def appliance_block(name: str, eth1_extra=()) -> str:
    """The `appliance` block of node `name`: its hostname, eth0's and eth1's
    addresses (plus `eth1_extra` on eth1), the lab's console password."""
    eth0, eth1 = NODE_ADDRS[name]
    eth1_lines = "".join(f"        address {a}\n" for a in (eth1, *eth1_extra))
    return (f"appliance {{\n    hostname {name}\n"
            f"    interface eth0 {{\n        address {eth0}\n    }}\n"
            f"    interface eth1 {{\n{eth1_lines}    }}\n"
            f"    console {{\n        password_hash \"{CONSOLE_HASH}\"\n    }}\n}}\n")


def partition(disk: str, name: str):
    """(offset, size) in bytes of the GPT partition named `name` of a raw
    disk image, from its partition table (sfdisk -J)."""
    table = json.loads(sh("sfdisk", "-J", disk).stdout)["partitiontable"]
    sector = table.get("sectorsize", 512)
    for p in table["partitions"]:
        if p.get("name") == name:
            return p["start"] * sector, p["size"] * sector
    raise RuntimeError(f"{disk}: no partition named {name!r}")


def base_disk() -> str:
    return os.path.realpath(os.path.join(paths.IMAGE, "disk.img"))


class Node:
    def __init__(self, name: str, mem_mb: int = 384, tb_mib: int | None = TB_MIB):
        self.name = name
        self.index = net.ALL_NODES.index(name) + 1
        self.mem_mb = mem_mb
        self.tb_mib = tb_mib       # None: qemu's default translation cache
        self.console = None
        # vigil's own console (`vigil console --login`, as on ttyS0 of a
        # shipped box) on the second UART: the lab keeps ttyS0 for its
        # root shell.
        self.serial = None
        self.qmp = None
        self.boot_seconds = None
        self.started_at = None
        f = lambda suffix: paths.run_path(f"{name}{suffix}")  # noqa: E731
        self.root = f("-disk.qcow2")
        self.vars = f("-ovmf-vars.fd")
        self.console_sock = f("-console.sock")
        self.serial_sock = f("-serial.sock")
        self.serial_log = f("-serial.log")
        self.qmp_sock = f("-qmp.sock")
        self.console_log = f("-console.log")
        self.qemu_log = f("-qemu.log")

    # -- disks ------------------------------------------------------------
    def fresh_root(self):
        """A new disk overlay on the shared base image and fresh UEFI
        variables (discards guest writes; the `config` partition is erased,
        as on a freshly flashed box)."""
        if os.path.exists(self.root):
            os.unlink(self.root)
        sh("qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", base_disk(), self.root)
        shutil.copyfile(OVMF_VARS, self.vars)

    def erase_config(self):
        """Zeros over the `config` partition (the VM must be off)."""
        offset, size = partition(base_disk(), "config")
        sh("qemu-io", "-f", "qcow2", "-c", f"write -z {offset} {size}", self.root)

    def write_config(self, conf: str, appliance: bool = True):
        """A blank flash with keepalived.conf `conf` imported into its
        `config` partition by the host-side CLI; with `appliance`, the
        node's `appliance` block is added to the config first (the seed
        files have none: they are the tutorial's, verbatim)."""
        with open(conf) as fh:
            text = fh.read()
        if appliance:
            text = text.rstrip("\n") + "\n\n" + appliance_block(self.name)
        self.write_text(text, conf)

    def write_text(self, text: str, what: str = "the config"):
        """keepalived.conf text `text` imported by the host-side CLI into an
        erased partition-sized file, written over the disk's `config`
        partition (the VM must be off)."""
        offset, size = partition(base_disk(), "config")
        part = self.root + ".config"
        src = self.root + ".conf"
        with open(part, "wb") as fh:
            fh.truncate(size)
        with open(src, "w") as fh:
            fh.write(text)
        try:
            r = sh(paths.VIGIL, "config", "import", src, "--store", part, check=False)
            if r.returncode != 0:
                raise RuntimeError(f"vigil config import of {what} for {self.name}: "
                                   f"exit {r.returncode}: {r.stderr}")
            sh("qemu-io", "-f", "qcow2", "-c", f"write -s {part} {offset} {size}", self.root)
        finally:
            for f in (part, src):
                if os.path.exists(f):
                    os.unlink(f)

    # -- qemu -------------------------------------------------------------
    def argv(self):
        i = self.index
        # The kernel command line is grub's (board/x86_64/grub.cfg), the same
        # on both nodes; the ready marker names the node from the SMBIOS
        # serial number.
        a = ["qemu-system-x86_64", "-name", f"vigil-lab-{self.name}",
             "-accel", "tcg" + (f",tb-size={self.tb_mib}" if self.tb_mib else ""),
             "-m", str(self.mem_mb), "-smp", "1",
             "-no-user-config", "-nodefaults", "-display", "none",
             "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
             "-drive", f"if=pflash,format=raw,unit=1,file={self.vars}",
             "-smbios", f"type=1,serial={self.name}",
             "-drive", f"file={self.root},if=none,id=root,format=qcow2",
             "-device", "virtio-blk-pci,drive=root,serial=root,addr=0x5,bootindex=0",
             "-device", "i6300esb,addr=0x7", "-action", "watchdog=reset",
             "-chardev", f"socket,id=con,path={self.console_sock},server=on,wait=off,"
                         f"logfile={self.console_log},logappend=on",
             "-serial", "chardev:con",
             "-chardev", f"socket,id=ser,path={self.serial_sock},server=on,wait=off,"
                         f"logfile={self.serial_log},logappend=on",
             "-serial", "chardev:ser",
             "-chardev", f"socket,id=qmp,path={self.qmp_sock},server=on,wait=off",
             "-mon", "chardev=qmp,mode=control"]
        if os.path.exists(paths.FAULT_VIGIL):
            a += ["-drive", f"file={paths.FAULT_VIGIL},if=none,id=tools,format=raw,readonly=on",
                  "-device", "virtio-blk-pci,drive=tools,serial=tools,addr=0x8"]
        for nic in (0, 1):
            a += ["-netdev", f"tap,id=n{nic},ifname={net.tap(self.name, nic)},"
                             "script=no,downscript=no",
                  "-device", f"virtio-net-pci,netdev=n{nic},"
                             f"mac=52:54:00:76:0{i}:0{nic},addr=0x{3 + nic}"]
        return a

    def pid(self):
        return recorded(self.name)

    def running(self) -> bool:
        return self.pid() is not None

    def start(self):
        """Start qemu (the disks must exist) and attach console and QMP."""
        if self.running():
            raise RuntimeError(f"{self.name} already running (pid {self.pid()})")
        if not os.path.exists(self.root):
            self.fresh_root()
        for s in (self.console_sock, self.serial_sock, self.qmp_sock):
            if os.path.exists(s):
                os.unlink(s)
        with open(self.console_log, "a") as fh:
            fh.write(f"\n===== vigil-lab: {self.name} started {time.ctime()} =====\n")
        self.started_at = time.monotonic()
        spawn(self.name, ["ip", "netns", "exec", net.SWITCH] + self.argv(), self.qemu_log,
              needle=f"vigil-lab-{self.name}")
        self.attach()

    def attach(self):
        self.console = Console(self.console_sock)
        self.serial = Console(self.serial_sock)
        self.qmp = QMP(self.qmp_sock)

    def wait_ready(self, timeout: float = 300, since: int = 0) -> float:
        """Wait for the serial shell's ready marker -> seconds since start()."""
        self.console.wait_for(READY.format(name=self.name), timeout, since)
        self.boot_seconds = time.monotonic() - self.started_at
        return self.boot_seconds

    def boot(self, timeout: float = 300) -> float:
        self.start()
        return self.wait_ready(timeout)

    # -- commands ---------------------------------------------------------
    def run(self, cmd: str, timeout: float = 30):
        """(exit status, output) of `cmd` run by the serial console's shell."""
        return self.console.run(cmd, timeout)

    def check(self, cmd: str, timeout: float = 30) -> str:
        rc, out = self.run(cmd, timeout)
        if rc != 0:
            raise RuntimeError(f"{self.name}: `{cmd}` exited {rc}:\n{out}")
        return out

    def put(self, path: str, data: bytes, chunk: int = 1500):
        """Write `data` to `path` on the guest through the serial console
        (base64 in chunks: one command line is at most 4 KiB on a tty)."""
        b64 = base64.b64encode(data).decode()
        tmp = shlex.quote(path + ".b64")
        self.check(f": > {tmp}")
        for i in range(0, len(b64), chunk):
            self.check(f"printf %s {b64[i:i + chunk]} >> {tmp}")
        self.check(f"base64 -d {tmp} > {shlex.quote(path)} && rm -f {tmp}")

    def has_vip(self, vip: str = net.VIP, dev: str = "eth0") -> bool:
        _, out = self.run(f"ip -br addr show {dev}")
        return f" {vip}/" in f" {out}"

    def reboot(self, timeout: float = 300) -> float:
        """Clean reboot from inside; -> seconds to the ready marker again."""
        since = self.console.mark()
        t0 = time.monotonic()
        self.console.send("systemctl reboot\n")
        self.console.wait_for(READY.format(name=self.name), timeout, since)
        return time.monotonic() - t0

    # -- power ------------------------------------------------------------
    def power_cut(self):
        """Pull the plug: qemu quits at once, the guest gets no shutdown."""
        if self.qmp:
            try:
                self.qmp.cmd("quit")
            except Exception:  # noqa: BLE001 - qemu may already be gone
                pass
        deadline = time.monotonic() + 10
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.stop()    # kills by PID if quit did not work, detaches

    def reset(self):
        """Press the reset button (no shutdown)."""
        self.qmp.cmd("system_reset")

    def cable(self, nic: int, plugged: bool):
        """Pull or plug eth<nic>'s cable: the guest sees the carrier go (QMP
        set_link; net.link() instead downs the switch port, unseen by it)."""
        self.qmp.cmd("set_link", name=f"n{nic}", up=plugged)

    def freeze(self):
        self.qmp.cmd("stop")

    def thaw(self):
        self.qmp.cmd("cont")

    def detach(self):
        for c in (self.console, self.serial, self.qmp):
            if c:
                c.close()
        self.console = self.serial = self.qmp = None

    def stop(self):
        """Stop the VM (kill by recorded PID) and detach."""
        self.detach()
        kill_recorded(self.name)
