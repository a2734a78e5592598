#!/usr/bin/env python3
"""Config at scale (issue 19): time and peak RSS of `vigil config check`,
`vigil config import` and a reload in a running daemon, next to
`keepalived -t` on the same config, at 1,000, 10,000 and 100,000
destinations (DESTINATIONS_MAX, the largest table vigil allows).

Each figure is the median of RUNS runs (min and max beside it; one
unrecorded warm-up run first, so the page cache is as warm for run 1 as
for run 5) and goes to OUT/<name>.json in bench/figures.py's format like
the other benches. A reload's figure is what the
daemon's resident set grows to above what it held before the reload
(VmHWM reset through /proc/PID/clear_refs), against keepalived -t's
whole peak: the issue's aim is a reload no dearer than keepalived's
check. The daemon runs in a network namespace of its own (bench-owned,
deleted on exit) whose real servers nothing routes to.

Usage: config_scale.py VIGIL_BIN OUT_DIR [RUNS]
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import figures  # noqa: E402

SIZES = [(10, 100), (100, 100), (1000, 100)]
NETNS = "vbc-config"


def generate(dirname, services, reals, delay_loop=None, seed=1):
    """keepalived.conf with `include`s of NAT services, one TCP_CHECK per
    real server, addresses, ports and weights varied (as a real table's
    are: they do not compress away in the flash store)."""
    rnd = random.Random(seed)
    os.makedirs(dirname, exist_ok=True)
    main = [
        "vrrp_instance VI_1 {\n state BACKUP\n interface eth0\n virtual_router_id 51\n"
        " priority 100\n advert_int 1\n virtual_ipaddress {\n  10.0.0.100/24\n }\n}\n"
    ]
    files = 4
    per = (services + files - 1) // files
    g = 0
    for f in range(files):
        name = os.path.join(dirname, f"part{f}.conf")
        with open(name, "w") as fh:
            for v in range(f * per, min(services, (f + 1) * per)):
                loop = delay_loop or rnd.choice([5, 6, 10, 30])
                fh.write(
                    f"virtual_server 172.16.{v // 250}.{v % 250 + 1} {rnd.choice([80, 443, 8080, 3306])} {{\n"
                    f" delay_loop {loop}\n lvs_sched {rnd.choice(['rr', 'wrr', 'lc', 'wlc'])}\n"
                    " lvs_method NAT\n protocol TCP\n"
                )
                for _ in range(reals):
                    g += 1
                    fh.write(
                        f" real_server 10.{g >> 16}.{(g >> 8) & 255}.{g & 255} {rnd.randint(1024, 65535)} {{\n"
                        f"  weight {rnd.randint(1, 100)}\n  TCP_CHECK {{\n"
                        f"   connect_timeout {rnd.randint(1, 10)}\n  }}\n }}\n"
                    )
                fh.write("}\n")
        main.append(f"include {name}\n")
    path = os.path.join(dirname, "keepalived.conf")
    with open(path, "w") as fh:
        fh.write("".join(main))
    return path


def measure(argv):
    """(seconds, peak RSS in MB, exit status) of one run of argv. GNU time
    forks it: a child forked from this Python would start its peak at
    Python's own size (Linux carries the peak across exec)."""
    with tempfile.NamedTemporaryFile("r") as out:
        t = time.monotonic()
        p = subprocess.run(
            ["/usr/bin/time", "-q", "-f", "%x %M", "-o", out.name, *argv],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        took = time.monotonic() - t
        code, kb = out.read().split()[-2:]
    return took, int(kb) / 1024, int(code) if p.returncode == 0 else p.returncode


def write(out, name, vigil, baseline, unit, note=""):
    """vigil, baseline: lists of samples (None: not measured)."""
    return figures.figure(out, name, vigil, baseline, "keepalived 2.2.7 (-t)", unit, note)


def runs_of(argv, runs, ok=(0,)):
    """(times, peak RSSes, 0) over `runs` runs after one unrecorded
    warm-up, or (None, None, exit status) of a refused run."""
    times, rss = [], []
    for i in range(runs + 1):
        t, m, code = measure(argv)
        if code not in ok:
            return None, None, code
        if i:
            times.append(t)
            rss.append(m)
    return times, rss, 0


def status_of(pid, field):
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return None


def ctl(vigil, sock, *args, timeout=300):
    return subprocess.run(
        ["ip", "netns", "exec", NETNS, vigil, *args, "--control", sock],
        capture_output=True, text=True, timeout=timeout,
    )


def reload_peaks(vigil, tmp, services, reals, runs):
    """Peak growth of the daemon's RSS over a reload to the same table
    less one service, and back: `runs` reloads."""
    subprocess.run(["ip", "netns", "del", NETNS], stderr=subprocess.DEVNULL)
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    cmds = [
        "ip link set lo up",
        "ip link add eth0 type veth peer name eth1",
        "ip link set eth0 up",
        "ip link set eth1 up",
        "ip addr add 10.0.0.1/24 dev eth0",
    ]
    for c in cmds:
        subprocess.run(["ip", "-n", NETNS, *c.split()[1:]], check=True)
    conf_dir = os.path.join(tmp, f"daemon-{services}x{reals}")
    conf = generate(conf_dir, services, reals, delay_loop=3600)
    sock = os.path.join(tmp, "ctl.sock")
    log = open(os.path.join(tmp, "daemon.log"), "w")
    d = subprocess.Popen(
        ["ip", "netns", "exec", NETNS, vigil, "run", "--config", conf,
         "--control", sock, "--log-to", "stderr", "--log-level", "error"],
        stdout=log, stderr=log,
    )
    peaks = []
    try:
        deadline = time.monotonic() + 120
        while ctl(vigil, sock, "status").returncode != 0:
            if time.monotonic() > deadline or d.poll() is not None:
                return None
            time.sleep(0.5)
        time.sleep(5)
        for i in range(runs):
            generate(conf_dir, services - (i % 2 == 0), reals, delay_loop=3600)
            before = status_of(d.pid, "VmRSS")
            with open(f"/proc/{d.pid}/clear_refs", "w") as fh:
                fh.write("5")
            r = ctl(vigil, sock, "reload")
            # Without ip_vs (a host, not the lab VM) the reload is parsed,
            # planned and applied to the daemon's tables, then refused at
            # the kernel and rolled back: the same memory, another ending.
            refused_by_kernel = "ip_vs module not loaded" in r.stdout + r.stderr
            if r.returncode != 0 and not refused_by_kernel:
                print(f"reload failed: {r.stdout}{r.stderr}", file=sys.stderr)
                return None
            time.sleep(2)
            peaks.append(status_of(d.pid, "VmHWM") - before)
            print(f"reload {i}: RSS before {before:.1f} MB, peak {status_of(d.pid, 'VmHWM'):.1f}, "
                  f"after {status_of(d.pid, 'VmRSS'):.1f}", file=sys.stderr)
    finally:
        d.send_signal(signal.SIGTERM)
        try:
            d.wait(30)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait()
        log.close()
        subprocess.run(["ip", "netns", "del", NETNS], stderr=subprocess.DEVNULL)
    return peaks


def main():
    vigil, out = os.path.abspath(sys.argv[1]), sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    os.makedirs(out, exist_ok=True)
    keepalived = shutil.which("keepalived") or "/usr/sbin/keepalived"
    tmp = tempfile.mkdtemp(prefix="vigil-bench-config-")
    rows = []
    try:
        for services, reals in SIZES:
            n = services * reals
            conf = generate(os.path.join(tmp, f"{n}"), services, reals)
            kt, km, _ = runs_of([keepalived, "-t", "-f", conf], runs)
            vt, vm, _ = runs_of([vigil, "config", "check", conf], runs)
            rows.append(write(out, f"config-check-{n}-rss", vm, km, "MB"))
            rows.append(write(out, f"config-check-{n}-time", vt, kt, "s"))
            # A store the size of the image's config partition.
            store = os.path.join(tmp, "store")
            with open(store, "wb") as fh:
                fh.truncate(4 << 20)
            imp = [vigil, "config", "import", conf, "--store", store]
            it, im, code = runs_of(imp, runs)
            note = "" if code == 0 else f"refused (exit {code}): does not fit one flash record"
            rows.append(write(out, f"config-import-{n}-rss", im, km, "MB", note))
            rows.append(write(out, f"config-import-{n}-time", it, kt, "s", note))
            if os.path.exists(store):
                os.remove(store)
            if n >= 10_000:
                peaks = reload_peaks(vigil, tmp, services, reals, runs + 1)
                note = "daemon RSS growth over a reload vs keepalived -t's peak"
                if not os.path.exists("/proc/net/ip_vs"):
                    note += " (no ip_vs here: each reload ends refused by the kernel step)"
                # The first reload of a fresh daemon grows it most (later
                # ones reuse what it freed): that is the figure that counts.
                first = peaks and peaks[:1]
                later = peaks and peaks[1:]
                rows.append(write(out, f"config-reload-{n}-first-peak-rss", first, km, "MB", note))
                rows.append(write(out, f"config-reload-{n}-later-peak-rss", later, km, "MB", note))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(figures.markdown(rows))


if __name__ == "__main__":
    main()
