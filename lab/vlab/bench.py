"""lab/vlab/bench.py: the IPVS and health-check benchmarks of `make bench`
(issue 5), run in one lab VM (the host kernel has no IPVS): vigil against
keepalived 2.2.7 (and ipvsadm-restore) in the same VM, same run.
Owns: booting lb1 alone (a flash with its appliance block only, vigil.service stopped), copying the
probe and the generated configs in, the three measures below, the JSON
figures in target/bench/, and tearing everything down (VM, namespaces, the
TCP target server) on any exit. Must not: leave a process, namespace or VM
behind, or change anything outside its VLAB_PREFIX namespaces.

Measures (the in-VM timing is examples/bench_probe.rs, the same code for
every contender):
- cold: 100 virtual servers x 100 real servers (no checkers: the table is
  deterministic). Per run: table flushed, `bench_probe cold 100 10000 --
  CMD`: t0 just before CMD is spawned, t1 the first 5 ms poll of the
  kernel's sockopt counters that sees 100 services and 10,000
  destinations. CMD: `vigil run --config`, `vigil run --store` (the same
  config imported into a store file by the image's vigil, so the commit
  carries that build's check stamp and its start does not check it again,
  as on a box; an --alt-vigil of another build checks it: the appliance's
  path), `keepalived
  -n -f` (same file), `ipvsadm-restore` of the same table; and vigil (both
  ways) and keepalived again with the process's layout fixed (`setarch -R`,
  see FIXED: the figure without the VM's re-translation of each new
  process's code). Contenders rotate within a run; the figure is the
  median over runs. Between runs the daemon is
  SIGKILLed (keepalived would delete its 10,000 entries on SIGTERM), the
  table flushed and ip_vs reloaded (Bench.clean(): a flush leaves the
  destinations in the kernel's trash list, which every add then walks), so
  every run starts from the same kernel state.
- noop: the table in place (after a vigil cold run), vigil restarted: (a)
  the pass time vigil logs for its first reconcile pass (dump of 10,000
  destinations + diff, zero ops; absolute, there is no keepalived
  equivalent); (b) `vigil reload` with the same config (timed around the
  command), (c) `vigil restart` (the hitless restart, the same binary):
  from the handover to the new image's "table reconciled: 0 ops" (planned
  against the table handed over) and to its first read of the kernel's
  table after, and (c') a start on the table in place after a SIGKILL (as
  after a crash: spawn to "table reconciled: 0 ops", the kernel's table
  read), from the text config and from the flash store, each
  against keepalived's no-change reload (SIGHUP: from its "Reloading ..."
  line to "Reload complete"): all re-read the config and leave the table
  as it is; (d) the restart's dump alone, split into vigil's CPU and the
  kernel's (`bench_probe dump`, a fresh process per read).
- checks: 10 virtual servers x 100 real servers with TCP_CHECK, delay_loop
  1 s, against 1,000 listening ports (192.168.1.102:20000-20999, one
  accept-and-close server in the rs1 namespace). After a warm-up, CPU
  (utime + stime of every process in the daemon's process group, from
  /proc/PID/stat) over CHECK_WINDOWS consecutive windows of
  CHECK_WINDOW_S in the one warmed-up spawn per daemon (the samples: 5
  full runs would take 25 minutes under TCG), and RSS (sum of VmRSS) at
  each window's end.
  The checks done in the window are the VM's TCP ActiveOpens (only the
  daemon opens connections there): checks/s and CPU per check are
  reported, so a daemon that checks less, or a saturated VM, is seen: a
  VM with under IDLE_MIN % of its CPU idle marks the CPU figures untrusted
  (saturated). Then the same at delay_loop SLOW_LOOP (500 checks/s
  scheduled), which leaves the VM CPU to spare.
  Runs start with no TIME_WAIT socket left by the previous contender.
- reload (issue 19; `--only reload`, part of `make bench-config-lab`): the
  table at the config bound, 1,000 x 100 = 100,000 destinations with a
  TCP_CHECK each (bench/config_scale.py's generator, delay_loop 3600 s),
  in a VM of 1 GB (the box the bound is set for). keepalived -t's peak RSS
  on that config (`bench_probe peak`: the child's ru_maxrss) is the
  baseline. vigil runs it with the kernel's table programmed, then
  reloads to the table less one service and back, --reload-runs times: each
  figure is the growth of the daemon's RSS over a reload (VmHWM, reset
  through /proc/PID/clear_refs, less VmRSS before), the first reload of
  the daemon apart from the later ones. Here the reload's pass programs
  the kernel (the host's bench has no ip_vs).
- scale (issue 15; `--only scale`, `make bench-scale`): the scaling curve
  at 1,000, 10,000 and 100,000 destinations in the VM of 1 GB, see
  lab/vlab/bench_scale.py.

Every figure goes out through bench/figures.py: the median of --runs
samples (default 5) per contender with min and max, and a "trusted"
verdict; the summary table is printed at the end.

Run: `make bench` (after the netns benches), or from lab/:
`python3 -m vlab.bench --probe PATH [--runs N] [--only cold,noop,checks,drpath,reload,scale]`."""
import argparse
import atexit
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

from . import breakdown, net, paths
from .lab import _interrupt, stop_all
from .node import Node, appliance_block
from .proc import kill_recorded, spawn

COLD_SERVICES, COLD_DESTS = 100, 100
CHECK_SERVICES, CHECK_DESTS = 10, 100
TARGET_PORT0 = 20000
TARGET_ADDR = net.HOSTS["rs1"]
# The window starts in steady state: TIME_WAIT sockets of the daemon's own
# checks (60 s in Linux) are being reaped, a cost a FIN-closing checker pays
# and one that closes with RST does not.
WARMUP_S = 65
# The measure: consecutive windows in one warmed-up spawn per daemon (5
# full runs of warm-up + window would take ~25 minutes under TCG).
CHECK_WINDOWS = 5
CHECK_WINDOW_S = 8
# A checks figure is trusted only when the VM's CPU had this much idle (%,
# the median of the windows) with each daemon: at less, it was saturated
# and the figure measures the VM's TCP under TCG more than the daemons.
IDLE_MIN = 5
# The same 1,000 checks at this delay_loop (500 checks/s scheduled), which
# leaves the lab VM CPU to spare: at delay_loop 1, both daemons did 680-830
# checks/s with system time over 90 % of their CPU.
SLOW_LOOP = 2
TIME_WAIT_S = 60
BASELINE = "keepalived 2.2.7"
FILE_PORT = 8765
PROBE = "/root/bench_probe"
VIGIL_CONTROL = "/run/vigil-bench.sock"
# The bench's own pid-file name for the TCP target server (see proc.py).
TARGETS = "bench-targets"


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# -- configs (the same text for vigil and keepalived) ------------------------
def cold_conf(services=COLD_SERVICES):
    """`services` x COLD_DESTS DR real servers, no checkers (the scaling
    curve's tables too: the first 100 services are the same at any size)."""
    out = ["global_defs {\n  router_id bench\n}\n"]
    for s in range(services):
        out.append(f"virtual_server 10.10.{s // 250}.{s % 250 + 1} 80 {{\n  delay_loop 60\n"
                   "  lvs_sched wlc\n  lvs_method DR\n  protocol TCP\n")
        for d in range(COLD_DESTS):
            out.append(f"  real_server 10.{20 + s // 256}.{s % 256}.{d + 1} 80 {{\n"
                       "    weight 1\n  }\n")
        out.append("}\n")
    return "".join(out)


def cold_rules():
    """The same table as cold_conf(), as `ipvsadm-save -n` would print it."""
    out = []
    for s in range(COLD_SERVICES):
        v = f"10.10.0.{s + 1}:80"
        out.append(f"-A -t {v} -s wlc\n")
        for d in range(COLD_DESTS):
            out.append(f"-a -t {v} -r 10.20.{s}.{d + 1}:80 -g -w 1\n")
    return "".join(out)


def checks_conf(addr=TARGET_ADDR, delay_loop=1):
    """1,000 TCP_CHECKs at `delay_loop` s to the targets on `addr`
    (bench/checks_host.py's too, on loopback)."""
    out = ["global_defs {\n  router_id bench\n}\n"]
    for s in range(CHECK_SERVICES):
        out.append(f"virtual_server 10.30.0.{s + 1} 80 {{\n  delay_loop {delay_loop}\n"
                   "  lvs_sched wlc\n  lvs_method NAT\n  protocol TCP\n")
        for d in range(CHECK_DESTS):
            port = TARGET_PORT0 + s * CHECK_DESTS + d
            out.append(f"  real_server {addr} {port} {{\n    weight 1\n"
                       "    TCP_CHECK {\n      connect_timeout 2\n    }\n  }\n")
        out.append("}\n")
    return "".join(out)


def dr_checks_conf(on):
    """The same 1,000 TCP_CHECKs to rs1 as DR real servers, one virtual
    server each on the lab's VIP (a DR service holds an address once): by
    the DR path (`dr_path_check on`: one fwmark service for rs1, through
    IPVS) or plain (`off`: to rs1's own address, as keepalived checks). The
    bench VM holds no VIP: this is a BACKUP's path (the MASTER's differs by
    its reply coming from a local address)."""
    out = ["global_defs {\n  router_id bench\n}\n"]
    for n in range(CHECK_SERVICES * CHECK_DESTS):
        port = TARGET_PORT0 + n
        out.append(f"virtual_server {net.VIP} {port} {{\n  delay_loop 1\n  lvs_sched rr\n"
                   f"  lvs_method DR\n  protocol TCP\n  dr_path_check {'on' if on else 'off'}\n"
                   f"  real_server {TARGET_ADDR} {port} {{\n    weight 1\n"
                   "    TCP_CHECK {\n      connect_timeout 2\n    }\n  }\n}\n")
    return "".join(out)


DAEMONS = {
    "vigil": lambda conf: f"vigil run --config {conf} --control {VIGIL_CONTROL}",
    "keepalived": lambda conf: f"keepalived -n -f {conf}",
}


# -- the VM ------------------------------------------------------------------
ALT = "/root/vigil-alt"
# A contender's process with its address-space layout fixed (no ASLR):
# the lab's QEMU (7.2, TCG) keys its translations of guest code by
# virtual address, so a program mapped at a fresh random base has every
# code path it runs translated again, run after run; with the layout
# fixed, the translations of the earlier runs serve. Measured: vigil's
# cold start 414 -> 298 ms, keepalived's 766 -> 729 ms. A CPU translates
# nothing: this figure is the daemons' own work, the other one the VM's.
FIXED = "setarch x86_64 -R"


class Bench:
    def __init__(self, probe: str, mem_mb=None, alt=None):
        self.probe = probe
        # Another vigil binary (--alt-vigil), measured beside the image's.
        self.alt = alt
        # qemu's default translation cache: this VM never resets (node.TB_MIB).
        self.node = Node("lb1", mem_mb, tb_mib=None) if mem_mb else Node("lb1", tb_mib=None)
        self.cleaned = False

    def up(self):
        if not os.path.exists(os.path.join(paths.IMAGE, "done")):
            raise RuntimeError("no lab image: run `make lab-image`")
        stop_all()
        kill_recorded(TARGETS)
        atexit.register(self.cleanup)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, _interrupt)
        net.up()
        self.node.fresh_root()
        # A flash with lb1's appliance block alone: vigil sets eth0's address
        # up at boot and runs no instance; the address stays when the bench
        # stops vigil.service.
        self.node.write_text(appliance_block("lb1"), "lb1's appliance block")
        self.node.start()
        log(f"lb1 booted in {self.node.wait_ready(300):.0f} s")
        self.sh("systemctl stop vigil; ipvsadm -C; modprobe ip_vs; modprobe ip_vs_wlc; "
                "modprobe ip_vs_rr")
        self.put(PROBE, open(self.probe, "rb").read(), mode="755")
        if self.alt:
            self.put(ALT, open(self.alt, "rb").read(), mode="755")
        self.put("/root/cold.conf", cold_conf().encode())
        self.put("/root/cold.rules", cold_rules().encode())
        self.put("/root/checks.conf", checks_conf().encode())
        self.put(f"/root/checks-{SLOW_LOOP}s.conf", checks_conf(delay_loop=SLOW_LOOP).encode())
        for on in (True, False):
            self.put(f"/root/dr-{'on' if on else 'off'}.conf", dr_checks_conf(on).encode())
        self.sh("vigil config import /root/cold.conf --store /root/cold.store --create", timeout=120)
        # Warm-up: every module a contender needs is loaded before run 1.
        self.sh("echo '-A -t 10.10.0.1:80 -s wlc' | ipvsadm-restore && ipvsadm -C")

    def cleanup(self):
        if self.cleaned:
            return
        self.cleaned = True
        kill_recorded(TARGETS)
        self.node.stop()
        stop_all()

    def sh(self, cmd, timeout=60):
        return self.node.check(cmd, timeout)

    def put(self, path, data: bytes, mode="644"):
        """Copy `data` to `path` in the VM: a one-shot TCP server in the
        client namespace, read by the guest's bash (/dev/tcp)."""
        src = paths.run_path("bench-put.bin")
        with open(src, "wb") as f:
            f.write(data)
        server = subprocess.Popen(
            ["ip", "netns", "exec", net.ns("client"), sys.executable, "-c",
             "import socket,sys\n"
             "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
             f"s.bind(('{net.HOSTS['client']}', {FILE_PORT})); s.listen(1); s.settimeout(30)\n"
             "c,_=s.accept(); c.sendall(open(sys.argv[1],'rb').read()); c.close()\n",
             src])
        try:
            out = ""
            for _ in range(50):   # the server binds within a moment
                rc, out = self.node.run(
                    f"cat < /dev/tcp/{net.HOSTS['client']}/{FILE_PORT} > {path} && "
                    f"chmod {mode} {path} && stat -c %s {path}", 60)
                if rc == 0:
                    break
                time.sleep(0.1)
            if out.strip() != str(len(data)):
                raise RuntimeError(f"copy to {path}: {out.strip()!r}, want {len(data)} bytes")
            server.wait(10)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
            os.unlink(src)

    def probe_json(self, args, timeout=150):
        out = self.sh(f"{PROBE} {args}", timeout)
        return json.loads(out.strip().splitlines()[-1])

    def stop_group(self, pid):
        """SIGKILL the process group `pid` leads (the daemon and its children)
        and wait until it is gone. Then the hardware watchdog is closed the
        magic way: `vigil run --store` (the appliance's path) arms it, and
        a SIGKILL leaves it armed, which reset the VM 20 s later."""
        self.sh(f"kill -KILL -- -{pid} 2>/dev/null; for i in $(seq 100); do "
                f"kill -0 -- -{pid} 2>/dev/null || break; sleep 0.1; done; "
                f"kill -0 -- -{pid} 2>/dev/null && exit 1; "
                "if [ -e /dev/watchdog ]; then echo V > /dev/watchdog; fi 2>/dev/null; exit 0")

    def flush(self):
        self.sh("ipvsadm -C")
        if self.probe_json("count") != {"services": 0, "dests": 0}:
            raise RuntimeError("ipvsadm -C left entries behind")

    def clean(self):
        """An empty table and a fresh ip_vs: after a flush the kernel keeps
        the destinations in its trash list (for minutes) and every add then
        walks it; at 100,000 that made the next contender's cold start ~20
        times slower (190 s instead of 10-16 s, measured). Unloading ip_vs
        frees the trash: every cold run starts from the same kernel state."""
        self.sh("ipvsadm -C && modprobe -r ip_vs_wlc ip_vs_rr ip_vs && "
                "modprobe ip_vs && modprobe ip_vs_wlc && modprobe ip_vs_rr", timeout=300)
        if self.probe_json("count") != {"services": 0, "dests": 0}:
            raise RuntimeError("the table is not empty after ip_vs was reloaded")

    def journal(self, since_us, text, ident=None, pid=None):
        """Journal entries containing `text` from CLOCK_MONOTONIC `since_us`
        on, of one PID or one syslog identifier: [(mono_us, message)]."""
        sel = f"_PID={pid}" if pid else f"SYSLOG_IDENTIFIER={ident}"
        out = self.sh(f"journalctl --no-pager -o json --output-fields=MESSAGE {sel} "
                      f"| grep -F '{text}' || true", 60)
        rows = []
        for line in out.splitlines():
            try:
                j = json.loads(line)
            except ValueError:
                continue
            t = int(j.get("__MONOTONIC_TIMESTAMP", 0))
            msg = j.get("MESSAGE")
            if t >= since_us and isinstance(msg, str) and text in msg:
                rows.append((t, msg))
        return rows

    def now_us(self):
        """The VM's CLOCK_MONOTONIC (the journal's clock), in microseconds."""
        return self.probe_json("now")["mono_us"]


# -- measures ----------------------------------------------------------------
def cold(b: Bench, runs: int):
    """Cold programming; also leaves data for the no-op pass (see noop())."""
    cmds = {
        "vigil": ("", DAEMONS["vigil"]("/root/cold.conf")),
        # The appliance's own path: the config from flash (postcard).
        "vigil-store": ("", f"vigil run --store /root/cold.store --control {VIGIL_CONTROL}"),
        "keepalived": ("", DAEMONS["keepalived"]("/root/cold.conf")),
        "ipvsadm-restore": ("--stdin /root/cold.rules", "ipvsadm-restore"),
    }
    # The same daemons with the process's layout fixed (see FIXED).
    for name in ("vigil", "vigil-store", "keepalived"):
        opt, cmd = cmds[name]
        cmds[f"{name}-fixed"] = (opt, f"{FIXED} {cmd}")
    # vigil's own account of each start (its start-up line, see breakdown.py).
    steps = {"vigil": [], "vigil-store": [], "vigil-fixed": [], "vigil-store-fixed": []}
    if b.alt:
        for name in ("vigil", "vigil-store"):
            opt, cmd = cmds[name]
            # The same command line, the other binary.
            cmds[name.replace("vigil", "vigil-alt")] = (opt, ALT + cmd.removeprefix("vigil"))
        steps.update({"vigil-alt": [], "vigil-alt-store": []})
    order = list(cmds)
    times = {k: [] for k in cmds}
    want = COLD_SERVICES * COLD_DESTS
    # One round first, not counted: a program's first run in a freshly
    # booted VM also reads its binary from disk and has TCG translate its
    # code, so every counted run starts alike. Measured in a fresh VM:
    # vigil's first cold start 0.47 s, the next two 0.44 s; keepalived's
    # 0.89 s, then 0.82 and 0.81 s.
    for name in order:
        opt, cmd = cmds[name]
        b.clean()
        r = b.probe_json(f"cold {COLD_SERVICES} {want} {opt} -- {cmd}")
        b.stop_group(r["pid"])
        log(f"cold warm-up {name:<16} {r['ms'] / 1000:.3f} s (not counted)")
    for run in range(runs):
        for name in order[run % len(order):] + order[:run % len(order)]:
            opt, cmd = cmds[name]
            b.clean()
            since = b.now_us()
            r = b.probe_json(f"cold {COLD_SERVICES} {want} {opt} -- {cmd}")
            if name in steps:
                # Logged once the first pass is over (after its dump again,
                # which follows the table's completion).
                _, line = wait_line(b, "start-up:", since, pid=r["pid"], timeout=60)
                steps[name].append(breakdown.parse(line))
            b.stop_group(r["pid"])
            times[name].append(r["ms"] / 1000)
            log(f"cold run {run + 1}/{runs} {name:<16} {r['ms'] / 1000:.3f} s ({r['polls']} polls)")
    b.flush()
    return times, steps


def noop(b: Bench, runs: int):
    """The table in place; vigil restarted `runs` times, keepalived reloaded
    `runs` times."""
    want = COLD_SERVICES * COLD_DESTS
    b.flush()
    r = b.probe_json(f"cold {COLD_SERVICES} {want} -- {DAEMONS['vigil']('/root/cold.conf')}")
    pid = r["pid"]
    wait_reconciled(b, pid, 0)
    passes, restarts, steps = [], {"text": [], "store": []}, {"text": [], "store": []}
    rx = re.compile(r"table reconciled: 0 ops planned.* \((\d+) services, (\d+) destinations; "
                    r"pass ([0-9.]+) ms\)")
    # From the text config, then from the store (the appliance's own path:
    # no text to parse).
    starts = {"text": DAEMONS["vigil"]("/root/cold.conf"),
              "store": f"vigil run --store /root/cold.store --control {VIGIL_CONTROL}"}
    for run in range(runs):
        for source, cmd in starts.items():
            b.stop_group(pid)
            s = b.probe_json(f"spawn -- {cmd}")
            pid = s["pid"]
            t, msg = wait_reconciled(b, pid, s["mono_us"], quiet=QUIET_S)
            m = rx.search(msg)
            if not m or int(m.group(2)) != want:
                raise RuntimeError(f"vigil restart: not a no-op pass over {want} dests: {msg!r}")
            restarts[source].append((t - s["mono_us"]) / 1e6)
            log(f"noop run {run + 1}/{runs} vigil ({source}): pass {float(m.group(3)):.1f} ms, "
                f"restart to adopted {restarts[source][-1]:.3f} s")
            if source == "text":
                passes.append(float(m.group(3)) / 1000)
            # The start-up line goes out before the pass's "table reconciled".
            steps[source].append(breakdown.parse(wait_line(b, "start-up:", s["mono_us"],
                                                           pid=pid)[1]))
    hitless, hsteps = hitless_restarts(b, pid, runs, rx, want)
    # Again with the layout fixed (FIXED: across the exec too), so that
    # TCG's translations of the earlier images serve the new one.
    b.stop_group(pid)
    s = b.probe_json(f"spawn -- {FIXED} {starts['store']}")
    pid = s["pid"]
    wait_reconciled(b, pid, s["mono_us"], quiet=QUIET_S)
    hitless["fixed"] = hitless_restarts(b, pid, runs, rx, want)[0]["reconciled"]
    # vigil's own reload: `vigil reload` (re-read, compare, nothing to do),
    # timed around the command in the VM.
    vreloads = []
    for run in range(runs):
        out = b.sh(f"s=$(date +%s%N); vigil reload --control {VIGIL_CONTROL} >/tmp/reload.out "
                   f"2>/dev/null; e=$(date +%s%N); echo $((e - s)); cat /tmp/reload.out")
        lines = out.strip().splitlines()
        if len(lines) < 2 or not lines[1].startswith("no change"):
            raise RuntimeError(f"vigil reload: not a no-change reload: {out!r}")
        vreloads.append(int(lines[0]) / 1e9)
        log(f"noop run {run + 1}/{runs} vigil: reload {vreloads[-1]:.3f} s")
    if b.probe_json("count")["dests"] != want:
        raise RuntimeError("vigil's reload changed the table")
    b.stop_group(pid)
    dumps = dump_split(b, runs)
    # keepalived: started on the table it will own, then reloaded.
    b.flush()
    started = b.now_us()
    r = b.probe_json(f"cold {COLD_SERVICES} {want} -- {DAEMONS['keepalived']('/root/cold.conf')}")
    pid = r["pid"]
    wait_line(b, "Startup complete", since=started, ident="Keepalived", timeout=60)
    reloads = []
    for run in range(runs):
        since = b.now_us()
        b.sh(f"kill -HUP {pid}")
        t_end, _ = wait_line(b, "Reload complete", since, ident="Keepalived", timeout=60,
                             quiet=QUIET_S)
        start = [t for t, m in b.journal(since, "Reloading", ident="Keepalived")]
        if not start:
            raise RuntimeError("keepalived: no 'Reloading' line before 'Reload complete'")
        if b.probe_json("count")["dests"] != want:
            raise RuntimeError("keepalived's reload changed the table")
        reloads.append((t_end - start[0]) / 1e6)
        log(f"noop run {run + 1}/{runs} keepalived: reload {reloads[-1]:.3f} s")
    b.stop_group(pid)
    b.flush()
    return passes, restarts, vreloads, reloads, steps, dumps, hitless, hsteps


def hitless_restarts(b: Bench, pid, runs, rx, want):
    """`vigil restart` of the running daemon (`pid`, the same binary),
    `runs` times: ({"reconciled": [s], "read": [s]}, [start-up lines]).
    Timed from the handover (its CLOCK_MONOTONIC, in the old image's last
    line before the exec) to the new image's first pass ("table
    reconciled: 0 ops", planned against the table handed over) and to the
    pass after it, the first to read the kernel's table."""
    out, steps = {"reconciled": [], "read": []}, []
    for run in range(runs):
        since = b.now_us()
        said = b.sh(f"vigil restart --control {VIGIL_CONTROL}", timeout=90)
        if "resumed" not in said and "restarted" not in said:
            raise RuntimeError(f"vigil restart: {said!r}")
        _, line = wait_line(b, "hitless restart: exec", since, pid=pid, quiet=QUIET_S)
        m = re.search(r"handed over at monotonic (\d+) us", line)
        if not m:
            raise RuntimeError(f"vigil restart: no handover time in {line!r}")
        at = int(m.group(1))
        t, msg = wait_reconciled(b, pid, at)
        m = rx.search(msg)
        if not m or int(m.group(2)) != want or "handed over" not in msg:
            raise RuntimeError(f"vigil restart: not a no-op pass against the handed table: {msg!r}")
        t_read, read = wait_line(b, "table read after the hitless restart", at, pid=pid)
        if "0 ops planned" not in read:
            raise RuntimeError(f"vigil restart: the kernel's table was not as handed: {read!r}")
        out["reconciled"].append((t - at) / 1e6)
        out["read"].append((t_read - at) / 1e6)
        steps.append(breakdown.parse(wait_line(b, "start-up:", at, pid=pid)[1]))
        log(f"noop run {run + 1}/{runs} vigil restart: handover to 0 ops "
            f"{out['reconciled'][-1]:.3f} s, to the kernel's table read {out['read'][-1]:.3f} s")
    return out, steps


def dump_split(b: Bench, runs: int):
    """{"ms", "user_ms", "sys_ms"}: lists, one per run, of a whole read of
    the table in place as vigil's IPVS task reads it, each the first read
    of a fresh process (as in a restart; `bench_probe dump`): its wall
    time, and its CPU in user space (vigil's decoding) and in the kernel
    (filling the dump: the floor of a restart's dump)."""
    out = {"ms": [], "user_ms": [], "sys_ms": []}
    for _ in range(runs):
        j = b.probe_json("dump 1")
        for i, k in enumerate(("ms", "user_ms", "sys_ms")):
            out[k].append(j["first"][i])
    return out


# The VM has one vCPU, and every journal poll (a bash and a journalctl in the
# VM; a bare /bin/true spawned from bash takes 52 ms there under TCG) takes
# it from the daemon being timed: measured, polling from the spawn on made a
# restart's config read about 2.3 times as long (254-293 ms against 97-138
# ms) and the restart 0.65-0.73 s against 0.38-0.59 s. The time comes from
# the journal's own timestamps, so a timed wait first lets the measured
# daemon run alone for QUIET_S.
QUIET_S = 2.5


def wait_line(b, text, since, ident=None, pid=None, timeout=60, quiet=0.0):
    """The first journal line holding `text` from `since` on: (mono_us, message).
    `quiet`: seconds to leave the VM alone before the first poll (a timed
    wait: see QUIET_S). The polls then come ever further apart (0.5 s
    growing to 4 s): a long wait (a pass over 100,000 destinations, whose
    time vigil logs) is not slowed by a journalctl every half second."""
    deadline = time.monotonic() + timeout
    time.sleep(quiet)
    pause = 0.5
    while time.monotonic() < deadline:
        for t, m in b.journal(since, text, ident=ident, pid=pid):
            return t, m
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 1.5, 4.0)
    for t, m in b.journal(since, text, ident=ident, pid=pid):
        return t, m
    raise RuntimeError(f"no journal line {text!r} within {timeout} s")


def wait_reconciled(b, pid, since, quiet=0.0):
    return wait_line(b, "table reconciled", since, pid=pid, timeout=90, quiet=quiet)


def group_usage(b, pgid):
    """(uptime s, [user, sys] CPU ticks, RSS kB, processes, TCP active opens,
    [idle, all] ticks of the VM's CPU) over the process group; the VM's TCP
    ActiveOpens counter (only the daemon under test opens TCP connections
    in the VM) counts its checks."""
    out = b.sh(f"cat /proc/uptime; grep '^Tcp:' /proc/net/snmp | tail -1; head -1 /proc/stat; "
               f"for p in $(ps -e -o pid=,pgid= | awk '$2 == {pgid} "
               "{print $1}'); do echo \"S $(cat /proc/$p/stat)\"; "
               "echo \"R $(grep VmRSS /proc/$p/status)\"; done")
    lines = out.splitlines()
    up = float(lines[0].split()[0])
    opens = int(lines[1].split()[5])      # Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens
    # cpu user nice system idle iowait irq softirq steal ...
    cpu = [int(x) for x in lines[2].split()[1:9]]
    vm = [cpu[3] + cpu[4], sum(cpu)]
    ticks = [0, 0]
    rss = procs = 0
    for line in lines[3:]:
        if line.startswith("S "):
            f = line.rsplit(")", 1)[1].split()
            ticks[0] += int(f[11])   # utime (field 14)
            ticks[1] += int(f[12])   # stime (field 15)
            procs += 1
        elif line.startswith("R ") and "VmRSS" in line:
            rss += int(line.split()[2])
    return up, ticks, rss, procs, opens, vm


def start_targets(addr=TARGET_ADDR):
    """The 1,000 TCP targets: one accept-and-close server in rs1's
    namespace, counting accepts into a file once a second; on `addr`
    (0.0.0.0 for DR-path checks, which arrive for the VIP)."""
    count = paths.run_path("bench-targets.count")
    if os.path.exists(count):
        os.unlink(count)
    spawn(TARGETS, ["ip", "netns", "exec", net.ns("rs1"), sys.executable,
                    os.path.join(paths.VLAB, "bench_targets.py"), addr,
                    str(TARGET_PORT0), str(CHECK_SERVICES * CHECK_DESTS), count],
          paths.run_path("bench-targets.log"), needle="bench_targets.py")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if read_count(count) is not None:
            return count
        time.sleep(0.2)
    raise RuntimeError("bench_targets.py did not start (see target/lab/run/bench-targets.log)")


def read_count(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def wait_time_wait_drained(b):
    """No run pays for the previous one's TIME_WAIT sockets: wait (at most
    a TIME_WAIT period and a bit) until the VM holds none."""
    deadline = time.monotonic() + TIME_WAIT_S + 15
    while time.monotonic() < deadline:
        n = int(b.sh("ss -tanH state time-wait | wc -l").strip())
        if n == 0:
            return
        time.sleep(5)
    log(f"still {n} TIME_WAIT sockets after {TIME_WAIT_S + 15} s; going on")


def checks(b: Bench, windows: int, daemons=None, want=None, addr=TARGET_ADDR,
           window_s=CHECK_WINDOW_S):
    """{daemon: {"cpu", "rss", "rate", "ms", "procs", "user"}: lists, one per
    window}: one warmed-up spawn per daemon (in turn), then `windows`
    consecutive windows of `window_s`; `want`: the destinations each
    daemon's table holds once its checks pass ({daemon: n}, default 1,000
    each)."""
    daemons = daemons or {k: f("/root/checks.conf") for k, f in DAEMONS.items()}
    count_file = start_targets(addr)
    want = want or {k: CHECK_SERVICES * CHECK_DESTS for k in daemons}
    res = {k: {"cpu": [], "rss": [], "rate": [], "ms": [], "procs": [], "user": [], "idle": []}
           for k in daemons}
    hz = int(b.sh("getconf CLK_TCK").strip())
    for name in daemons:
        b.flush()
        wait_time_wait_drained(b)
        s = b.probe_json(f"spawn -- {daemons[name]}")
        pgid = s["pid"]
        try:
            time.sleep(WARMUP_S)
            c = b.probe_json("count")
            if c["dests"] != want[name]:
                raise RuntimeError(f"{name}: {c['dests']} of {want[name]} real servers in the "
                                   "table after the warm-up: checks are failing")
            up0, t0, _, _, n0, vm0 = group_usage(b, pgid)
            a0 = read_count(count_file)
            for w in range(windows):
                time.sleep(window_s)
                up1, t1, rss, procs, n1, vm1 = group_usage(b, pgid)
                a1 = read_count(count_file)
                dt = up1 - up0
                user, system = ((t1[i] - t0[i]) / hz / dt * 100 for i in (0, 1))
                cpu = user + system
                rate = (n1 - n0) / dt
                accepts = (a1 - a0) / dt
                ms = (sum(t1) - sum(t0)) / hz * 1000 / max(1, n1 - n0)
                idle = (vm1[0] - vm0[0]) / max(1, vm1[1] - vm0[1]) * 100
                for k, v in (("cpu", cpu), ("ms", ms), ("rss", rss / 1024), ("rate", rate),
                             ("procs", procs), ("user", user), ("idle", idle)):
                    res[name][k].append(v)
                log(f"checks window {w + 1}/{windows} {name:<10} CPU {cpu:.2f} % (user "
                    f"{user:.1f}, sys {system:.1f}) over {dt:.1f} s, RSS {rss / 1024:.1f} MiB "
                    f"in {procs} processes, {rate:.0f} checks/s ({accepts:.0f} accepts/s at "
                    f"the targets), {ms:.3f} ms CPU per check, the VM {idle:.0f} % idle")
                up0, t0, n0, a0, vm0 = up1, t1, n1, a1, vm1
        finally:
            b.stop_group(pgid)
    b.flush()
    kill_recorded(TARGETS)
    return res


# -- figures -----------------------------------------------------------------
RELOAD_SERVICES, RELOAD_REALS = 1000, 100
RELOAD_DIR = "/root/reload"
RELOAD_MEM_MB = 1024


def reload_conf(services):
    """{path in the VM: text} of the generated table of `services` x
    RELOAD_REALS (the host bench's generator, same seed: the same table),
    its files under RELOAD_DIR as its includes name them."""
    sys.path.insert(0, os.path.join(paths.REPO, "bench"))
    import config_scale   # noqa: E402 (the generator lives with the host bench)
    tmp = paths.run_path("bench-reload")
    shutil.rmtree(tmp, ignore_errors=True)
    main = config_scale.generate(tmp, services, RELOAD_REALS, delay_loop=3600)
    files = {}
    for name in sorted(os.listdir(tmp)):
        with open(os.path.join(tmp, name)) as f:
            files[f"{RELOAD_DIR}/{name}"] = f.read().replace(tmp, RELOAD_DIR)
    shutil.rmtree(tmp, ignore_errors=True)
    assert os.path.basename(main) == "keepalived.conf"
    return files


def put_conf(b: Bench, services):
    b.sh(f"mkdir -p {RELOAD_DIR}")
    for path, text in reload_conf(services).items():
        b.put(path, text.encode())


def proc_kb(b, pid, field):
    out = b.sh(f"grep '^{field}:' /proc/{pid}/status")
    return int(out.split()[1])


def reload_peaks(b: Bench, runs: int):
    """(keepalived -t peaks in MB, [vigil's growth over each reload in MB])."""
    conf = f"{RELOAD_DIR}/keepalived.conf"
    want = RELOAD_SERVICES * RELOAD_REALS
    put_conf(b, RELOAD_SERVICES)
    baseline = []
    for run in range(runs):
        r = b.probe_json(f"peak -- keepalived -t -f {conf}", timeout=600)
        if r["code"] != 0:
            raise RuntimeError(f"keepalived -t refused the generated config: {r}")
        baseline.append(r["maxrss_kb"] / 1024)
        log(f"reload run {run + 1}/{runs} keepalived -t: {baseline[-1]:.1f} MB, {r['ms']:.0f} ms")
    b.flush()
    # Nothing answers the checks in the VM: a real server whose check has
    # failed leaves the table (40 of them in the 15 minutes TCG took to
    # program it). Programmed is 99% of it here.
    r = b.probe_json(f"cold {RELOAD_SERVICES} {want * 99 // 100} --timeout-s 1200 -- "
                     f"{DAEMONS['vigil'](conf)}", timeout=1260)
    pid = r["pid"]
    log(f"vigil programmed {want} destinations in {r['ms'] / 1000:.1f} s")
    try:
        for _ in range(300):
            if b.node.run(f"vigil status --control {VIGIL_CONTROL} >/dev/null", 60)[0] == 0:
                break
            time.sleep(1)
        time.sleep(10)
        growth = []
        for run in range(runs):
            put_conf(b, RELOAD_SERVICES - (run % 2 == 0))
            before = proc_kb(b, pid, "VmRSS")
            b.sh(f"echo 5 > /proc/{pid}/clear_refs")
            rc, out = b.node.run(f"vigil reload --control {VIGIL_CONTROL}", timeout=900)
            if "1 change applied live" not in out:
                raise RuntimeError(f"vigil reload exited {rc}: {out!r}")
            time.sleep(5)
            peak = proc_kb(b, pid, "VmHWM")
            growth.append((peak - before) / 1024)
            log(f"reload run {run + 1}/{runs} vigil: RSS {before / 1024:.1f} MB before, "
                f"peak {peak / 1024:.1f} (+{growth[-1]:.1f}), "
                f"{proc_kb(b, pid, 'VmRSS') / 1024:.1f} after: {out.splitlines()[0]!r}")
    finally:
        b.stop_group(pid)
        b.flush()
    return baseline, growth


def saturated(r):
    """Why the checks figures of `r` (checks()'s result) are not to be
    trusted: the VM's CPU had under IDLE_MIN % idle (median of the
    windows) while a daemon ran; None when it had CPU to spare for both."""
    busy = {n: round(statistics.median(x["idle"]), 1) for n, x in r.items()
            if statistics.median(x["idle"]) < IDLE_MIN}
    if not busy:
        return None
    return (f"the VM's CPU idle {busy} % (under {IDLE_MIN} %): saturated, the ratio "
            "measures the VM (the kernel's TCP under TCG) more than the daemons")


def checks_figures(fig, r, windows, loop):
    """The CPU figures of checks()'s result `r` for 1,000 checks at
    delay_loop `loop` s."""
    per_s = 1000 // loop
    rates = {k: [round(x) for x in v["rate"]] for k, v in r.items()}
    v, k = r["vigil"], r["keepalived"]
    name = "checks_1000_tcp" if loop == 1 else f"checks_1000_tcp_{loop}s"
    why = saturated(r)
    idle = {n: [round(i) for i in x["idle"]] for n, x in r.items()}
    fig(f"{name}_cpu", v["cpu"], k["cpu"], BASELINE, "%cpu",
        f"1,000 TCP_CHECK at delay_loop {loop} s ({per_s} checks/s scheduled); user+sys "
        f"of all the daemon's processes, % of the VM's one CPU, {windows}; checks/s done "
        f"(TCP active opens): {rates} (under {per_s}: a server's next check waits "
        f"delay_loop from the end of its last, in both daemons); the VM's idle CPU (%): "
        f"{idle}", why)
    fig(f"{name}_cpu_per_check", v["ms"], k["ms"], BASELINE, "ms",
        "CPU (user+sys) per check over the same windows: CPU seconds / TCP active "
        f"opens; user part of the CPU (%): "
        + str({n: [round(x, 1) for x in x_["user"]] for n, x_ in r.items()}), why)


def figures_mod():
    """bench/figures.py: the figure format shared with the host benches."""
    sys.path.insert(0, os.path.join(paths.REPO, "bench"))
    import figures   # noqa: E402 (lives with the host benches)
    return figures


def main():
    ap = argparse.ArgumentParser(prog="vlab.bench")
    ap.add_argument("--probe", required=True, help="static bench_probe binary (examples/)")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 5)))
    ap.add_argument("--check-windows", type=int, default=CHECK_WINDOWS)
    ap.add_argument("--out", default=os.path.join(paths.REPO, "target", "bench"))
    ap.add_argument("--only", default="cold,noop,checks")
    ap.add_argument("--alt-vigil", help="another static vigil binary: `cold` measures it "
                    "too, beside the image's, in the same VM (an A/B of a change)")
    ap.add_argument("--reload-runs", type=int, default=6,
                    help="reloads at the bound: the first, and the later ones' median")
    ap.add_argument("--scale-sizes", default="1000,10000,100000",
                    help="destinations per point of `scale` (multiples of 100)")
    a = ap.parse_args()
    parts = a.only.split(",")
    t0 = time.monotonic()
    fm = figures_mod()
    figs = []
    took = {}
    breakdowns = []
    scale_text = ""

    def fig(name, vigil, baseline, baseline_name, unit, note, untrusted=None):
        figs.append(fm.figure(a.out, name, vigil, baseline, baseline_name, unit, note,
                              untrusted))

    big = "reload" in parts or "scale" in parts
    b = Bench(a.probe, RELOAD_MEM_MB if big else None, a.alt_vigil)
    try:
        b.up()
        took["boot"] = time.monotonic() - t0
        if "cold" in parts:
            t1 = time.monotonic()
            t, steps = cold(b, a.runs)
            breakdowns.append("vigil's cold start at 10,000 destinations, step by step "
                              "(its start-up line; 'IPVS dump again' follows the table's "
                              "completion, the figure above stops before it):\n"
                              + breakdown.write(a.out, "ipvs_cold_10k_breakdown", steps))
            note = (f"median of {a.runs} runs, 100 x 100 = 10,000 destinations, process "
                    "spawn to the first 5 ms poll of the kernel's counters showing all "
                    "(bench_probe cold)")
            fig("ipvs_cold_10k", t["vigil"], t["keepalived"], BASELINE, "s", note)
            fig("ipvs_cold_10k_store", t["vigil-store"], t["keepalived"], BASELINE, "s",
                note + "; vigil from its flash store (vigil run --store), the appliance's path")
            fig("ipvs_cold_10k_vs_restore", t["vigil"], t["ipvsadm-restore"],
                "ipvsadm-restore 1.31", "s", note)
            fixed = ("; both with a fixed layout (setarch -R, no ASLR): TCG's translations of "
                     "the earlier runs reused, as a CPU has none to make (bench.FIXED)")
            fig("ipvs_cold_10k_fixed_layout", t["vigil-fixed"], t["keepalived-fixed"],
                BASELINE, "s", note + fixed)
            fig("ipvs_cold_10k_store_fixed_layout", t["vigil-store-fixed"],
                t["keepalived-fixed"], BASELINE, "s",
                note + "; vigil from its flash store" + fixed)
            if b.alt:
                alt = f"; the vigil of {a.alt_vigil} (--alt-vigil) against the image's"
                fig("ipvs_cold_10k_alt", t["vigil-alt"], t["vigil"], "the image's vigil", "s",
                    note + alt)
                fig("ipvs_cold_10k_alt_store", t["vigil-alt-store"], t["vigil-store"],
                    "the image's vigil (--store)", "s",
                    note + alt + " (the store is the image's vigil's import: its check "
                    "stamp names that build, so another build checks the config as it reads it)")
            took["cold"] = time.monotonic() - t1
        if "noop" in parts:
            t1 = time.monotonic()
            passes, restarts, vreloads, reloads, steps, dumps, hitless, hsteps = noop(b, a.runs)
            breakdowns.append(
                "vigil on the table in place (10,000 destinations, 0 ops), step by step: "
                "`vigil restart` from the handover (the daemon ran from the store), and a start "
                "after a SIGKILL (as after a crash) from `vigil run`, from the store and from "
                "the text:\n"
                + breakdown.write(a.out, "ipvs_noop_restart_10k_breakdown",
                                  {"vigil restart": hsteps, "start, store": steps["store"],
                                   "start, text": steps["text"]}))
            fig("ipvs_hitless_restart_10k", hitless["reconciled"], reloads,
                BASELINE + " (SIGHUP reload)", "s",
                "vigil: `vigil restart` (exec in place, the same build), from the handover "
                "to the new image's 'table reconciled: 0 ops' line (the config and the IPVS "
                "table handed over); keepalived: SIGHUP reload; median of " f"{a.runs}")
            fig("ipvs_hitless_restart_10k_fixed_layout", hitless["fixed"], reloads,
                BASELINE + " (SIGHUP reload)", "s",
                "the same `vigil restart` of a daemon started with a fixed layout (setarch "
                "-R, kept across the exec: TCG's translations of the earlier images reused, "
                "as a CPU has none to make; bench.FIXED); keepalived: SIGHUP reload (in its "
                f"running process); median of {a.runs}")
            fig("ipvs_hitless_restart_10k_read", hitless["read"], reloads,
                BASELINE + " (SIGHUP reload)", "s",
                "the same restarts, from the handover to the pass after, the first to read "
                "the kernel's table (found as handed over: 0 ops); keepalived: SIGHUP "
                f"reload; median of {a.runs}")
            fig("ipvs_noop_pass_10k", passes, None, "none (absolute)", "s",
                "vigil's reconcile pass over 10,000 destinations in place: dump + diff, "
                f"0 ops (the pass time vigil logs), median of {a.runs} restarts")
            fig("ipvs_noop_reload_10k", vreloads, reloads, BASELINE + " (SIGHUP reload)", "s",
                "vigil: `vigil reload` with an unchanged config (re-read and compare), "
                "timed around the command; keepalived: SIGHUP reload, 'Reloading' to "
                "'Reload complete'; both re-read the config and leave the 10,000 entries "
                f"in place; median of {a.runs}")
            fig("ipvs_noop_restart_10k", restarts["text"], reloads,
                BASELINE + " (SIGHUP reload)", "s",
                "vigil: stopped (SIGKILL) and started again on the table in place, as after "
                "a crash: spawn to its 'table reconciled: 0 ops' log line (reading the config "
                f"and the kernel's table); keepalived: SIGHUP reload; median of {a.runs}")
            fig("ipvs_noop_restart_10k_store", restarts["store"], reloads,
                BASELINE + " (SIGHUP reload)", "s",
                "the same start from vigil's flash store (vigil run --store: the "
                f"appliance's path); keepalived: SIGHUP reload; median of {a.runs}")
            user, system = (statistics.median(dumps[k]) for k in ("user_ms", "sys_ms"))
            fig("ipvs_dump_10k", [x / 1000 for x in dumps["ms"]], None, "none (absolute)", "s",
                "a whole read of the 10,000 destinations in place as vigil's IPVS task reads "
                "them, the first read of a fresh process as in a restart (bench_probe dump), "
                f"median of {a.runs}; CPU: user {user:.0f} ms (vigil's decoding), system "
                f"{system:.0f} ms (the kernel filling the dump: the floor of the restart's "
                "'IPVS dump' step)")
            took["noop"] = time.monotonic() - t1
        windows = (f"{a.check_windows} consecutive {CHECK_WINDOW_S} s windows in one spawn per "
                   f"daemon after a {WARMUP_S} s warm-up (5 windows, not 5 runs)")
        if "checks" in parts:
            t1 = time.monotonic()
            r = checks(b, a.check_windows)
            checks_figures(fig, r, windows, 1)
            v, k = r["vigil"], r["keepalived"]
            fig("checks_1000_tcp_rss", v["rss"], k["rss"], BASELINE, "MiB",
                "sum of VmRSS over the daemon's processes "
                f"(vigil {v['procs'][-1]}, keepalived {k['procs'][-1]}) at the end of each "
                f"window, {windows}")
            slow = {n: f(f"/root/checks-{SLOW_LOOP}s.conf") for n, f in DAEMONS.items()}
            checks_figures(fig, checks(b, a.check_windows, slow), windows, SLOW_LOOP)
            took["checks"] = time.monotonic() - t1
        if "drpath" in parts:
            t1 = time.monotonic()
            vigil = DAEMONS["vigil"]
            daemons = {"plain": vigil("/root/dr-off.conf"), "dr-path": vigil("/root/dr-on.conf")}
            n = CHECK_SERVICES * CHECK_DESTS
            # With the path: rs1's fwmark service and its one destination too.
            r = checks(b, a.check_windows, daemons, {"plain": n, "dr-path": n + 1}, "0.0.0.0")
            fig("checks_1000_tcp_dr_path_cpu_per_check", r["dr-path"]["ms"], r["plain"]["ms"],
                "vigil, plain checks", "ms",
                "vigil's CPU (user+sys) per check, 1,000 TCP_CHECK of a DR real server at "
                "delay_loop 1 s: through the VIP by its DR path (SO_MARK, IPVS's fwmark "
                "service, the kernel's forwarding counted in the check's system time) "
                f"against the same checks to its own address, {windows}; checks/s: "
                f"{ {k: [round(x) for x in v['rate']] for k, v in r.items()} }")
            took["drpath"] = time.monotonic() - t1
        if "reload" in parts:
            t1 = time.monotonic()
            ka, growth = reload_peaks(b, max(2, a.reload_runs))
            note = (f"in the lab VM ({RELOAD_MEM_MB} MB, ip_vs loaded): growth of vigil's RSS "
                    f"over a reload of {RELOAD_SERVICES} x {RELOAD_REALS} destinations (to one "
                    "service less, and back), its peak above what it held before, against "
                    f"keepalived -t's whole peak on the same config ({len(ka)} runs)")
            fig("config-reload-100000-lab-first-peak-rss", growth[:1], ka, BASELINE + " (-t)",
                "MB", note + "; the daemon's first reload (one per daemon start: 1 sample)")
            fig("config-reload-100000-lab-later-peak-rss", growth[1:], ka, BASELINE + " (-t)",
                "MB", note + f"; the {len(growth) - 1} later reloads of the same daemon")
            took["reload"] = time.monotonic() - t1
        if "scale" in parts:
            from . import bench_scale
            t1 = time.monotonic()
            sizes = [int(x) for x in a.scale_sizes.split(",")]
            points = bench_scale.measure(b, a.runs, sizes)
            sfigs, scale_text = bench_scale.report(a.out, points, fm)
            figs.extend(sfigs)
            took["scale"] = time.monotonic() - t1
    finally:
        b.cleanup()
    print()
    print(fm.markdown(figs))
    for text in breakdowns:
        print()
        print(text)
    if scale_text:
        print(scale_text)
    print("time per part (s): " + ", ".join(f"{k} {v:.0f}" for k, v in took.items()))
    print(f"IPVS bench took {time.monotonic() - t0:.0f} s; figures in {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
