"""lab/vlab/bench_scale.py: the scaling curve of `make bench-scale` (issue
15, part 2): how vigil's cold start, its no-op pass, a no-change reload and
its RSS grow with the table, against keepalived's cold start and RSS, at
1,000, 10,000 and 100,000 destinations (100,000 = config::bounds'
DESTINATIONS_MAX, the largest table vigil allows), in the bench's one lab
VM (lab/vlab/bench.py's Bench, booted with RELOAD_MEM_MB).
Owns: the tables (100 real servers per virtual server, no checkers: the
table is deterministic, like bench.cold_conf()), the measures per size,
target/bench/scale.json, the figures scale_<measure>_<n>.json, the
Markdown table (returned, and printed) with the growth exponents between
successive sizes, and target/bench/scale.svg (a log-log plot written as
SVG text). Must not: leave a daemon running or the table programmed.

Per run and size, contenders alternated; before each cold start the table
is emptied and ip_vs reloaded (Bench.clean(): a flush alone left the next
contender's 100,000 adds ~20 times slower).
- vigil: `bench_probe cold` (spawn to all destinations in the kernel);
  its own pass time for that programming pass (journal, which must show
  it programmed the whole table);
  RSS of its process group once the pass is logged (settled_rss_mib: the
  largest of 5 reads a second apart); at the largest size, its CPU over
  IDLE_WINDOW_S once programmed (idle_cpu_pct); restart on the table
  (SIGKILL, spawn) to its "0 ops planned" pass: the no-op pass time it
  logs; then `vigil reload` with the unchanged config, timed around the
  command in the VM.
- keepalived: table emptied, `bench_probe cold`, then the RSS summed over
  its processes, read as vigil's, and at the largest size its idle CPU,
  read as vigil's. A size keepalived does not program within
  KEEPALIVED_BOUND_S is recorded as not completed, and no larger size is
  tried for it."""
import json
import math
import os
import re
import statistics
import time

from . import bench as B

SIZES = (1_000, 10_000, 100_000)
REALS = 100
# Runs at the bound, at most (--runs caps it): each programs 100,000
# destinations twice under TCG (about 3 minutes a run, measured).
RUNS_AT_BOUND = 5
KEEPALIVED_BOUND_S = 900
VIGIL_BOUND_S = 1200
# The idle daemon's CPU is read over this window, at the largest size
# only: there vigil's whole-table read back (counters, what the kernel
# holds) is spaced to 19 times its cost, about 40 s under TCG, so the
# window holds one; at smaller sizes it runs every 2 s and costs little.
IDLE_WINDOW_S = 40
PASS_RX = re.compile(r"table reconciled: (\d+) ops planned.* \((\d+) services, (\d+) "
                     r"destinations; pass ([0-9.]+) ms\)")
MEASURES = {
    # key: (title, column head, unit, contenders measured)
    "cold": ("cold start (spawn to all in the kernel)", "cold start", "s",
             ("vigil", "keepalived")),
    "program_pass": ("programming pass (its log)", "programming pass", "s", ("vigil",)),
    "noop_pass": ("no-op pass after a restart (its log)", "no-op pass", "s", ("vigil",)),
    "reload": ("no-change `vigil reload`", "no-change reload", "s", ("vigil",)),
    "rss": ("RSS with the table programmed (the largest of 5 reads, 1 s apart)", "RSS", "MiB",
            ("vigil", "keepalived")),
    "idle_cpu": (f"CPU (user + system) of the idle daemon over {IDLE_WINDOW_S} s, "
                 "the table programmed (at the largest size only)", "idle CPU", "%",
                 ("vigil", "keepalived")),
}


def conf(services):
    return B.cold_conf(services)


def group_rss_mib(b, pgid):
    return B.group_usage(b, pgid)[2] / 1024


# RSS is read SETTLE_READS times, a second apart, and the largest kept: a
# window over vigil's status dump every 2 s (which allocates while it
# reads the table) and its heap trim after the first pass, for both
# daemons alike, rather than one read at whatever moment the pass's log
# line came.
SETTLE_READS = 5


def settled_rss_mib(b, pgid):
    reads = []
    for i in range(SETTLE_READS):
        if i:
            time.sleep(1)
        reads.append(group_rss_mib(b, pgid))
    return max(reads)


def idle_cpu_pct(b, pgid, window=IDLE_WINDOW_S):
    """User + system CPU of process group `pgid` over `window` seconds, in %
    of one CPU."""
    up0, t0, *_ = B.group_usage(b, pgid)
    time.sleep(window)
    up1, t1, *_ = B.group_usage(b, pgid)
    hz = int(b.sh("getconf CLK_TCK").strip())
    return (sum(t1) - sum(t0)) / hz / (up1 - up0) * 100


def wait_pass(b, pid, since, timeout):
    t, msg = B.wait_line(b, "table reconciled", since, pid=pid, timeout=timeout)
    m = PASS_RX.search(msg)
    if not m:
        raise RuntimeError(f"vigil: unreadable pass line {msg!r}")
    return t, int(m.group(1)), int(m.group(3)), float(m.group(4)) / 1000


def vigil_run(b, path, services, n, res):
    b.clean()
    since = b.now_us()
    r = b.probe_json(f"cold {services} {n} --timeout-s {VIGIL_BOUND_S} -- "
                     f"{B.DAEMONS['vigil'](path)}", timeout=VIGIL_BOUND_S + 60)
    pid = r["pid"]
    try:
        _, ops, dests, took = wait_pass(b, pid, since, 300)
        if dests != n or ops != n + services:
            raise RuntimeError(f"vigil's first pass: {ops} ops, {dests} destinations, want "
                               f"{n + services} ops programming {n} (was the table empty?)")
        rss = settled_rss_mib(b, pid)
        idle = idle_cpu_pct(b, pid) if res["idle"] else None
        b.stop_group(pid)
        s = b.probe_json(f"spawn -- {B.DAEMONS['vigil'](path)}")
        pid = s["pid"]
        _, ops0, dests0, noop = wait_pass(b, pid, s["mono_us"], 600)
        if ops0 != 0 or dests0 != n:
            raise RuntimeError(f"vigil restart: {ops0} ops over {dests0} dests, want 0 over {n}")
        for _ in range(600):
            if b.node.run(f"vigil status --control {B.VIGIL_CONTROL} >/dev/null", 60)[0] == 0:
                break
            time.sleep(0.5)
        # Its stderr apart: a long reload says "still working" there.
        out = b.sh(f"s=$(date +%s%N); vigil reload --control {B.VIGIL_CONTROL} >/tmp/reload.out "
                   f"2>/tmp/reload.err; e=$(date +%s%N); echo $((e - s)); cat /tmp/reload.out",
                   timeout=600)
        lines = out.strip().splitlines()
        if len(lines) < 2 or not lines[1].startswith("no change"):
            raise RuntimeError(f"vigil reload: not a no-change reload: {out!r}")
        reload_s = int(lines[0]) / 1e9
    finally:
        b.stop_group(pid)
    for k, v in (("cold", r["ms"] / 1000), ("program_pass", took), ("noop_pass", noop),
                 ("reload", reload_s), ("rss", rss), ("idle_cpu", idle)):
        if v is not None:
            res["vigil"][k].append(v)
    B.log(f"scale {n}: vigil cold {r['ms'] / 1000:.2f} s (pass {took:.2f} s, {ops} ops), "
          f"RSS {rss:.1f} MiB, no-op pass {noop * 1000:.0f} ms, reload {reload_s:.3f} s"
          + ("" if idle is None else f", idle CPU {idle:.1f} %"))


def keepalived_run(b, path, services, n, res):
    """False when keepalived did not program the table within the bound."""
    b.clean()
    rc, out = b.node.run(f"{B.PROBE} cold {services} {n} --timeout-s {KEEPALIVED_BOUND_S} -- "
                         f"{B.DAEMONS['keepalived'](path)}", KEEPALIVED_BOUND_S + 60)
    try:
        r = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        r = None
    if rc != 0 or not r or "pid" not in r:
        # The probe leaves CMD running on its timeout and names its PID.
        m = re.search(r"\(pid (\d+)\)", out)
        if m:
            b.stop_group(int(m.group(1)))
        B.log(f"scale {n}: keepalived did not program {n} destinations within "
              f"{KEEPALIVED_BOUND_S} s: {out.strip()[-200:]!r}")
        b.flush()
        return False
    try:
        rss = settled_rss_mib(b, r["pid"])
        idle = idle_cpu_pct(b, r["pid"]) if res["idle"] else None
    finally:
        b.stop_group(r["pid"])
    res["keepalived"]["cold"].append(r["ms"] / 1000)
    res["keepalived"]["rss"].append(rss)
    if idle is not None:
        res["keepalived"]["idle_cpu"].append(idle)
    B.log(f"scale {n}: keepalived cold {r['ms'] / 1000:.2f} s, RSS {rss:.1f} MiB"
          + ("" if idle is None else f", idle CPU {idle:.1f} %"))
    return True


def measure(b, runs, sizes=SIZES):
    """{n: {"vigil": {measure: [samples]}, "keepalived": {...}, "runs": k,
    "keepalived_done": bool}}."""
    points = {}
    keepalived_ok = True
    for n in sizes:
        services = n // REALS
        path = f"/root/scale-{n}.conf"
        b.put(path, conf(services).encode())
        k = runs if n < 100_000 else min(runs, RUNS_AT_BOUND)
        res = {"vigil": {m: [] for m in MEASURES},
               "keepalived": {"cold": [], "rss": [], "idle_cpu": []},
               "idle": n == max(sizes)}
        t0 = time.monotonic()
        for run in range(k):
            order = [vigil_run, keepalived_run] if run % 2 == 0 else [keepalived_run, vigil_run]
            for f in order:
                if f is keepalived_run and not keepalived_ok:
                    continue
                ok = f(b, path, services, n, res)
                if f is keepalived_run and not ok:
                    keepalived_ok = False
        b.clean()
        del res["idle"]
        points[n] = {"runs": k, "keepalived_done": keepalived_ok, **res}
        B.log(f"scale {n}: {k} runs in {time.monotonic() - t0:.0f} s")
    return points


def exponent(n1, t1, n2, t2):
    if not t1 or not t2 or t1 <= 0 or t2 <= 0:
        return None
    return math.log(t2 / t1) / math.log(n2 / n1)


def report(out_dir, points, figures):
    """Write scale.json, the per-size figures and scale.svg; return the
    Markdown table (with exponents)."""
    sizes = sorted(points)
    figs = []
    for n in sizes:
        p = points[n]
        why = "" if p["runs"] >= 5 else f"; {p['runs']} runs only"
        for m, (title, _, unit, who) in MEASURES.items():
            if not p["vigil"].get(m):
                continue    # not measured at this size (idle CPU)
            base = p["keepalived"].get(m) if "keepalived" in who else None
            note = (f"{n:,} destinations ({n // REALS} x {REALS}, no checkers) in the lab VM "
                    f"({B.RELOAD_MEM_MB} MB, TCG): {title}; median of {p['runs']} runs{why}")
            if "keepalived" in who and not base:
                note += f"; keepalived did not program it within {KEEPALIVED_BOUND_S} s"
            figs.append(figures.figure(out_dir, f"scale_{m}_{n}", p["vigil"][m], base,
                                       B.BASELINE, unit, note))
    med = {}
    for f in figs:
        med[f["name"]] = f
    rows = ["| destinations | " + " | ".join(
        f"{who} {MEASURES[m][1]} ({MEASURES[m][2]})"
        for m in MEASURES for who in MEASURES[m][3]) + " |"]
    rows.append("|---" * (1 + sum(len(w) for _, _, _, w in MEASURES.values())) + "|")
    for n in sizes:
        cells = []
        for m, (_, _, _, who) in MEASURES.items():
            s = med[f"scale_{m}_{n}"]["samples"] if f"scale_{m}_{n}" in med else {}
            for w in who:
                cells.append(figures.cell(s.get("vigil" if w == "vigil" else "baseline")))
        rows.append(f"| {n:,} | " + " | ".join(cells) + " |")
    exps = []
    for a, c in zip(sizes, sizes[1:]):
        parts = []
        for m, (_, _, _, who) in MEASURES.items():
            for w in who:
                key = "vigil" if w == "vigil" else "baseline"
                sa = med.get(f"scale_{m}_{a}", {}).get("samples", {}).get(key)
                sc = med.get(f"scale_{m}_{c}", {}).get("samples", {}).get(key)
                e = exponent(a, sa and sa["median"], c, sc and sc["median"])
                parts.append(f"{w} {m} {'-' if e is None else format(e, '.2f')}")
        exps.append(f"- {a:,} → {c:,}: " + ", ".join(parts))
    text = ("\n".join(rows) + "\n\nGrowth exponents log(t2/t1)/log(n2/n1) (1.0 = linear; "
            "RSS includes a fixed base, so its exponent is below 1):\n" + "\n".join(exps) + "\n")
    with open(os.path.join(out_dir, "scale.json"), "w") as f:
        json.dump({"sizes": sizes, "reals_per_service": REALS,
                   "keepalived_bound_s": KEEPALIVED_BOUND_S,
                   "points": {str(n): {"runs": points[n]["runs"],
                                       "keepalived_done": points[n]["keepalived_done"],
                                       "vigil": {m: figures.summary(v) for m, v in
                                                 points[n]["vigil"].items()},
                                       "keepalived": {m: figures.summary(v) for m, v in
                                                      points[n]["keepalived"].items()}}
                              for n in sizes},
                   "exponents": exps}, f, indent=2)
        f.write("\n")
    with open(os.path.join(out_dir, "scale.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out_dir, "scale.svg"), "w") as f:
        f.write(svg(points))
    return figs, text


# -- the plot ------------------------------------------------------------------
COLORS = {"vigil": "#1f6fb4", "keepalived": "#d9541e"}
DASH = {"cold": "", "program_pass": "6,3", "noop_pass": "2,3", "reload": "8,3,2,3", "rss": ""}


def _panel(x0, y0, w, h, title, unit, series):
    """One log-log panel: series = [(label, color, dash, [(n, median, lo, hi)])]."""
    pts = [p for _, _, _, s in series for p in s if p[1] and p[1] > 0]
    if not pts:
        return ""
    xs = [p[0] for p in pts]
    ys = [v for p in pts for v in p[1:] if v and v > 0]
    lx0, lx1 = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
    ly0, ly1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    lx1 = max(lx1, lx0 + 1)
    ly1 = max(ly1, ly0 + 1)

    def px(n):
        return x0 + (math.log10(n) - lx0) / (lx1 - lx0) * w

    def py(v):
        return y0 + h - (math.log10(v) - ly0) / (ly1 - ly0) * h

    o = [f'<text x="{x0 + w / 2}" y="{y0 - 10}" text-anchor="middle" font-size="14">'
         f'{title}</text>',
         f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#444"/>']
    for e in range(lx0, lx1 + 1):
        x = px(10 ** e)
        o.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + h}" stroke="#ddd"/>')
        o.append(f'<text x="{x:.1f}" y="{y0 + h + 16}" text-anchor="middle" font-size="11">'
                 f'{10 ** e:,}</text>')
    # Few decades: 2 and 5 times each labelled too.
    steps = (1, 2, 5) if ly1 - ly0 <= 2 else (1,)
    for e in range(ly0, ly1 + 1):
        for k in steps:
            if k > 1 and e == ly1:
                break
            y = py(k * 10.0 ** e)
            o.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" '
                     f'stroke="{"#ddd" if k == 1 else "#f0f0f0"}"/>')
            o.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
                     f'{k * 10.0 ** e:g}</text>')
    o.append(f'<text x="{x0 + w / 2}" y="{y0 + h + 34}" text-anchor="middle" font-size="12">'
             'destinations</text>')
    o.append(f'<text x="{x0 - 46}" y="{y0 + h / 2}" font-size="12" text-anchor="middle" '
             f'transform="rotate(-90 {x0 - 46} {y0 + h / 2})">{unit}</text>')
    # A slope-1 guide (linear growth) through the first point of the first series.
    first = next((s for _, _, _, s in series if s), None)
    if first:
        n1, v1 = first[0][0], first[0][1]
        n2 = 10 ** lx1
        o.append(f'<line x1="{px(n1):.1f}" y1="{py(v1):.1f}" x2="{px(n2):.1f}" '
                 f'y2="{py(v1 * n2 / n1):.1f}" stroke="#999" stroke-dasharray="1,4"/>')
    for i, (label, color, dash, s) in enumerate(series):
        s = [p for p in s if p[1] and p[1] > 0]
        if not s:
            continue
        d = " ".join(f"{px(n):.1f},{py(v):.1f}" for n, v, _, _ in s)
        o.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="2" '
                 f'stroke-dasharray="{dash}"/>')
        for n, v, lo, hi in s:
            o.append(f'<line x1="{px(n):.1f}" y1="{py(lo):.1f}" x2="{px(n):.1f}" '
                     f'y2="{py(hi):.1f}" stroke="{color}"/>')
            o.append(f'<circle cx="{px(n):.1f}" cy="{py(v):.1f}" r="3" fill="{color}"/>')
        ly = y0 + 14 + i * 16
        o.append(f'<line x1="{x0 + 8}" y1="{ly - 4}" x2="{x0 + 34}" y2="{ly - 4}" '
                 f'stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/>')
        o.append(f'<text x="{x0 + 40}" y="{ly}" font-size="11">{label}</text>')
    o.append(f'<text x="{x0 + w - 6}" y="{y0 + h - 6}" text-anchor="end" font-size="10" '
             'fill="#777">dotted grey: slope 1 (linear)</text>')
    return "\n".join(o)


def svg(points):
    sizes = sorted(points)

    def series(who, m):
        out = []
        for n in sizes:
            s = points[n][who].get(m) or []
            if s:
                out.append((n, statistics.median(s), min(s), max(s)))
        return out

    time_series = [(f"{who} {MEASURES[m][0]}", COLORS[who], DASH[m], series(who, m))
                   for m in ("cold", "program_pass", "noop_pass", "reload")
                   for who in MEASURES[m][3]]
    rss_series = [(f"{who} RSS", COLORS[who], "", series(who, "rss"))
                  for who in MEASURES["rss"][3]]
    w, h = 460, 340
    body = (_panel(80, 40, w, h, "time against table size (median, min–max)", "seconds",
                   time_series) + "\n" +
            _panel(80 + w + 110, 40, w, h, "RSS against table size", "MiB", rss_series))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * w + 220}" height="{h + 100}" '
            f'font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n'
            f"{body}\n</svg>\n")
