#!/usr/bin/env python3
"""bench/checks_host.py: CPU and system calls per TCP_CHECK on this host,
vigil against keepalived 2.2.7, in one run (issue 15, part 3).

Owns: the host-side twin of lab/vlab/bench.py's checks bench, at a size
that runs in under a minute: the same config shape (10 virtual servers x
100 real servers, TCP_CHECK, delay_loop 1, connect_timeout 2) against one
accept-and-close listener (lab/vlab/bench_targets.py) on 1,000 ports of
127.0.0.1, all inside a network namespace of its own (`unshare -n`:
loopback only, nothing toward the host's uplink, no DNS).
Must not: leave anything behind: every process it starts is ended by its
PID, the namespace goes with the last of them, its temporary directory is
removed (kept when a daemon failed: its log is there).

For each daemon: a warm-up, then user and sys CPU from /proc/PID/stat of
every process of the daemon over WINDOW_S, checks counted as the
namespace's TCP ActiveOpens over the same window; then, if --strace,
`strace -c -f -p PID` for STRACE_S (system calls per check, by name; the
daemon runs slower under strace, so its CPU is measured before).
No IPVS here (the host has no ip_vs): vigil's IPVS task retries in the
background; keepalived's checker exits without IPVS, so it runs with
bench/ipvs_shim.c preloaded (built here with cc), which answers its IPVS
socket options as an empty table that takes every change. In steady state
(every server up) neither daemon talks to IPVS.

Usage: run as root, `python3 bench/checks_host.py VIGIL_BIN [--before
VIGIL_BIN] [--strace S] [--window S] [--only vigil|keepalived]`; prints
one line per daemon and, with --json FILE, writes the figures. About
2 x (8 + window + strace) s per daemon."""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = os.path.join(HERE, "..", "lab", "vlab", "bench_targets.py")
sys.path.insert(0, os.path.join(HERE, "..", "lab"))
from vlab.bench import CHECK_DESTS as DESTS  # noqa: E402
from vlab.bench import CHECK_SERVICES as SERVICES  # noqa: E402
from vlab.bench import TARGET_PORT0 as PORT0  # noqa: E402
from vlab.bench import checks_conf  # noqa: E402

ADDR = "127.0.0.1"
WARMUP_S = 8


def conf():
    """lab/vlab/bench.py's checks bench config, with the targets on loopback."""
    return checks_conf(ADDR)


def tree(pid):
    """`pid` and every descendant."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def usage(pid):
    """(user, sys) clock ticks over `pid`'s process tree; TCP ActiveOpens."""
    ticks = [0, 0]
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks[0] += int(fields[11])
        ticks[1] += int(fields[12])
    with open("/proc/net/snmp") as f:
        tcp = [line.split() for line in f if line.startswith("Tcp:")]
    return ticks, int(tcp[1][5])


def strace_counts(pid, seconds):
    """{syscall: calls} of `pid`'s threads and children over `seconds`."""
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        pids = [a for p in tree(pid) for a in ("-p", str(p))]
        p = subprocess.Popen(["strace", "-c", "-f", "-q", "-o", out.name, *pids],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(seconds)
        p.send_signal(signal.SIGINT)
        p.wait(timeout=30)
        counts = {}
        for line in out.read().splitlines():
            f = line.split()
            if len(f) >= 5 and f[0][0].isdigit() and f[-1] not in ("total",):
                counts[f[-1]] = int(f[3])
        return counts


def measure(name, cmd, env, window, strace_s, tmp):
    log = open(os.path.join(tmp, f"{name}.log"), "w")
    d = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                         env={**os.environ, **env})
    try:
        time.sleep(WARMUP_S)
        if d.poll() is not None:
            raise RuntimeError(f"{name} exited ({d.returncode}); see {log.name}")
        hz = os.sysconf("SC_CLK_TCK")
        t0, n0, w0 = *usage(d.pid), time.monotonic()
        time.sleep(window)
        t1, n1, w1 = *usage(d.pid), time.monotonic()
        checks = max(1, n1 - n0)
        dt = w1 - w0
        r = {"checks_per_s": (n1 - n0) / dt,
             "user_pct": (t1[0] - t0[0]) / hz / dt * 100,
             "sys_pct": (t1[1] - t0[1]) / hz / dt * 100,
             "user_ms_per_check": (t1[0] - t0[0]) / hz * 1000 / checks,
             "sys_ms_per_check": (t1[1] - t0[1]) / hz * 1000 / checks}
        if strace_s:
            _, s0 = usage(d.pid)
            calls = strace_counts(d.pid, strace_s)
            _, s1 = usage(d.pid)
            per = max(1, s1 - s0)
            r["syscalls_per_check"] = {k: round(v / per, 3) for k, v in
                                       sorted(calls.items(), key=lambda kv: -kv[1])}
        return r
    finally:
        os.killpg(d.pid, signal.SIGTERM)
        try:
            d.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(d.pid, signal.SIGKILL)
            d.wait()
        log.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vigil")
    ap.add_argument("--window", type=float, default=10)
    ap.add_argument("--strace", type=float, default=0, help="seconds of strace -c; 0: none")
    ap.add_argument("--before", help="a second vigil binary, measured first as vigil-before")
    ap.add_argument("--only", choices=["vigil", "keepalived"])
    ap.add_argument("--json")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if not a.inner:
        # Into a namespace of our own: loopback only.
        os.execvp("unshare", ["unshare", "-n", sys.executable, *sys.argv, "--inner"])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    tmp = tempfile.mkdtemp(prefix="checks-host-")
    cfg = os.path.join(tmp, "checks.conf")
    with open(cfg, "w") as f:
        f.write(conf())
    targets = subprocess.Popen([sys.executable, TARGETS, ADDR, str(PORT0),
                                str(SERVICES * DESTS), os.path.join(tmp, "accepts")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    daemons = {}
    if a.before:
        daemons["vigil-before"] = [a.before, "run", "--config", cfg, "--control",
                                   os.path.join(tmp, "ctl0.sock")]
    daemons |= {
        "vigil": [a.vigil, "run", "--config", cfg, "--control", os.path.join(tmp, "ctl.sock")],
        "keepalived": ["keepalived", "-n", "-l", "-f", cfg,
                       "-p", os.path.join(tmp, "k.pid"), "-r", os.path.join(tmp, "v.pid"),
                       "-c", os.path.join(tmp, "c.pid")],
    }
    shim = os.path.join(tmp, "ipvs_shim.so")
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", shim,
                    os.path.join(HERE, "ipvs_shim.c"), "-ldl"], check=True)
    env = {"keepalived": {"LD_PRELOAD": shim}}
    res = {}
    try:
        time.sleep(1)
        for name, cmd in daemons.items():
            if a.only and not name.startswith(a.only):
                continue
            res[name] = measure(name, cmd, env.get(name, {}), a.window, a.strace, tmp)
            r = res[name]
            print(f"{name:<12} {r['checks_per_s']:.0f} checks/s, user {r['user_pct']:.1f} % "
                  f"sys {r['sys_pct']:.1f} %, per check: user {r['user_ms_per_check']:.4f} ms "
                  f"sys {r['sys_ms_per_check']:.4f} ms", flush=True)
            if "syscalls_per_check" in r:
                print("  syscalls per check: " + ", ".join(
                    f"{k} {v}" for k, v in r["syscalls_per_check"].items() if v >= 0.01),
                    flush=True)
    finally:
        targets.terminate()
        targets.wait()
    # Kept only when a daemon failed (its log is there).
    shutil.rmtree(tmp)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
