"""lab/vlab/lab.py: the whole lab: network, real servers, both appliances.
Owns: bringing it up from scratch (seed configs on the flashes, both VMs
booted in parallel), an optional third appliance added and removed by a test
(its taps, flash and boot), tearing everything down by recorded PIDs and vl-*
namespace names, cleanup on failure/interrupt (context manager, atexit,
SIGTERM/SIGHUP), and the questions tests ask (who holds the VIP, is
`vigil run` built)."""
import atexit
import os
import signal
import threading
import time

from . import net, paths
from .flashconf import FOR_KEEPALIVED
from .node import STORE, Node, appliance_block
from .proc import kill_recorded

SEED_CONFIGS = {"lb1": "master.conf", "lb2": "backup.conf"}


def stop_all():
    """Stop every VM and server the lab recorded, delete every vl-* namespace."""
    for name in net.ALL_NODES:
        kill_recorded(name)
    net.down()


def _interrupt(signum, _frame):
    # KeyboardInterrupt, not SystemExit: pytest turns a SystemExit inside a
    # test into a mere failure and goes on; an interrupt ends the session and
    # runs the fixtures' teardown.
    raise KeyboardInterrupt(f"signal {signum}")


class Lab:
    def __init__(self, keep: bool = False, log=print):
        self.keep = keep          # leave it running on a clean exit (make run)
        self.log = log
        self.nodes = {n: Node(n) for n in net.NODES}
        self._cleaned = False
        self._ipvs = None
        self._subcommands = {}

    def __getitem__(self, name) -> Node:
        return self.nodes[name]

    # -- lifecycle --------------------------------------------------------
    def up(self, configs=SEED_CONFIGS, timeout: float = 420):
        """Start from nothing: network, real servers, seed configs on flash,
        both VMs booted in parallel. Returns {node: boot seconds}."""
        if not os.path.exists(os.path.join(paths.IMAGE, "done")):
            raise RuntimeError("no lab image: run `make lab-image`")
        stop_all()
        atexit.register(self.cleanup)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, _interrupt)
        net.up()
        net.start_servers()
        for name, node in self.nodes.items():
            node.fresh_root()
            node.write_config(os.path.join(paths.FIXTURES, configs[name]))
        return self.boot(list(self.nodes), timeout)

    def add_node(self, name, text, timeout: float = 420):
        """Boot optional appliance `name` (net.OPTIONAL_NODES) on a fresh disk
        whose flash holds keepalived.conf `text` plus its `appliance` block
        -> seconds to ready."""
        node = self.nodes.get(name) or Node(name)
        if node.running():
            raise RuntimeError(f"{name} is already running")
        net.add_taps(name)
        node.fresh_root()
        node.write_text(text.rstrip("\n") + "\n\n" + appliance_block(name), name)
        self.nodes[name] = node
        return self.boot([name], timeout)[name]

    def remove_node(self, name):
        """Power optional appliance `name` off and take its taps away."""
        node = self.nodes.pop(name, None)
        if node:
            node.stop()
        kill_recorded(name)
        net.del_taps(name)

    def boot(self, names, timeout: float = 420):
        """Start the named VMs together, wait for each to be ready."""
        for n in names:
            self.nodes[n].start()
        times, errors = {}, {}

        def wait(n):
            try:
                times[n] = self.nodes[n].wait_ready(timeout)
            except Exception as e:  # noqa: BLE001 - reported below
                errors[n] = e
        threads = [threading.Thread(target=wait, args=(n,)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise RuntimeError(f"boot failed: {errors}")
        for n in names:
            self.log(f"boot: {n} ready (root shell on serial) in {times[n]:.1f} s")
        return times

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is not None or not self.keep:
            self.cleanup()
        else:
            self.detach()

    def detach(self):
        """Let go of consoles and QMP, leave the lab running."""
        for node in self.nodes.values():
            node.detach()
        self._cleaned = True

    def cleanup(self):
        if self._cleaned:
            return
        self._cleaned = True
        for node in self.nodes.values():
            node.detach()
        stop_all()

    # -- baseline ---------------------------------------------------------
    def use_keepalived(self):
        """Baseline: stop vigil, run keepalived (installed in the lab image,
        disabled) on each node with the config on its flash, as exported by
        `vigil config export`."""
        for node in self.nodes.values():
            node.check(f"systemctl stop vigil; vigil config export --store {STORE} "
                       f"| {FOR_KEEPALIVED} > /etc/keepalived/keepalived.conf "
                       "&& systemctl start keepalived")

    def use_vigil(self):
        """Back from the baseline: keepalived stopped (it releases the VIP and
        its IPVS services on SIGTERM), vigil started."""
        for node in self.nodes.values():
            node.check("systemctl stop keepalived; ipvsadm -C; systemctl start vigil")

    # -- questions --------------------------------------------------------
    def vip_holders(self, vip: str = net.VIP, dev: str = "eth0"):
        return [n for n, node in self.nodes.items()
                if node.running() and node.has_vip(vip, dev)]

    def wait_vip(self, name: str, timeout: float, vip: str = net.VIP, since=None,
                 dev: str = "eth0"):
        """Poll until `name` alone holds the VIP (on `dev`) -> seconds since
        `since` (a time.monotonic(), default now), or None after `timeout`."""
        t0 = time.monotonic() if since is None else since
        while time.monotonic() - t0 < timeout:
            if self.vip_holders(vip, dev) == [name]:
                return time.monotonic() - t0
            time.sleep(0.2)
        return None

    def vigil_run_missing(self):
        """None if `vigil run` exists on the appliance, else the plain reason."""
        return self.subcommand_missing("run")

    def subcommand_missing(self, sub):
        """None if `vigil SUB` exists on the appliance (lb1), else the plain
        reason."""
        if sub not in self._subcommands:
            rc, out = self.nodes["lb1"].run(f"vigil {sub} --help >/dev/null 2>&1; echo rc=$?")
            code = out.strip().rpartition("rc=")[2]
            self._subcommands[sub] = "" if code == "0" else (
                f"vigil {sub} is not built yet (`vigil {sub} --help` exits {code})")
        return self._subcommands[sub] or None

    def part_missing(self, part):
        """None if the appliance's vigil has `part` ("vigil": the daemon;
        "ipvs": it programs IPVS; "reload": live config reload, `vigil
        reload`; "restart": the hitless `vigil restart`), else the plain reason. Probed on the running lb1, never
        assumed."""
        if part == "vigil":
            return self.vigil_run_missing()
        if part == "reload":
            return self.subcommand_missing("run") or self.subcommand_missing("reload")
        if part == "restart":
            return self.subcommand_missing("run") or self.subcommand_missing("restart")
        if part == "ipvs":
            if self.vigil_run_missing():
                return self.vigil_run_missing()
            if self._ipvs is None:
                rc, out = self.nodes["lb1"].run("vigil status --json")
                self._ipvs = "" if rc == 0 and '"ipvs"' in out else (
                    "vigil does not program IPVS yet (`vigil status --json` "
                    "has no ipvs section)")
            return self._ipvs or None
        return None
