"""lab/vlab/fault.py: running a node's vigil.service on the fault-hooks build
(`vigil fault TASK panic|stall|end`), for the tests that break vigil on
purpose. Owns: copying the build from the VM's read-only `tools` disk
(paths.FAULT_VIGIL, made by `make lab-fault`) to the node's disk, and a
runtime drop-in (under /run: a reboot or reset forgets it) that starts
vigil.service with it. Must not: touch the shipped /usr/bin/vigil or leave
the drop-in after `back_to_shipped`."""
import os

from . import paths

BIN = "/root/vigil-fault"
DROPIN_DIR = "/run/systemd/system/vigil.service.d"
DROPIN = f"{DROPIN_DIR}/fault-hooks.conf"


def available() -> str | None:
    """None when the fault build can be used, else why not."""
    if not os.path.exists(paths.FAULT_VIGIL):
        return f"no {paths.FAULT_VIGIL} (make lab-fault)"
    return None


def use_fault_build(node):
    """Restart `node`'s vigil.service on the fault-hooks build (same flags
    as the unit's ExecStart)."""
    node.check(f"cat /dev/disk/by-id/virtio-tools > {BIN}.tmp && chmod 755 {BIN}.tmp "
               f"&& mv {BIN}.tmp {BIN}", timeout=120)
    node.check(f"{BIN} --version")
    start = node.check("systemctl show -p ExecStart --value vigil")
    argv = start.split("argv[]=", 1)[1].split(" ;", 1)[0].split()
    assert argv[0] == "/usr/bin/vigil", start
    args = " ".join(argv[1:])
    # One line on the console: printf makes the newlines.
    unit = f"[Service]\\nExecStart=\\nExecStart={BIN} {args}\\n"
    node.check(f"mkdir -p {DROPIN_DIR} && printf '{unit}' > {DROPIN}")
    node.check("systemctl daemon-reload && systemctl restart vigil", timeout=60)


def fault(node, task: str, what: str):
    """Arm a fault in the running daemon's task `task`."""
    node.check(f"{BIN} fault '{task}' {what}")


def back_to_shipped(node):
    """vigil.service on /usr/bin/vigil again (after a test that did not
    reset the node)."""
    node.run(f"rm -f {DROPIN}")
    node.check("systemctl daemon-reload && systemctl restart vigil", timeout=60)
