"""lab/vlab/breakdown.py: vigil's start-up timeline in `make bench`'s output
(issue 15). vigil logs one line when its first IPVS pass is done
(src/startup.rs):

  start-up: first IPVS pass done 1250.9 ms after `vigil run` began (10100
  ops): config read 387.7 ms, runtimes 9.7 ms, ..., IPVS dump again 379.0 ms

Owns: reading that line into steps, the medians over runs, and their
Markdown table and JSON. Must not: run anything (bench.py fetches the lines
from the VM's journal)."""
import json
import os
import re
import statistics

HEAD = re.compile(r"start-up: first IPVS pass done ([0-9.]+) ms after `vigil run` began "
                  r"\((\d+) ops\):(.*)$")
STEP = re.compile(r"\s*(.+?) ([0-9.]+) ms$")


def parse(line):
    """{"total": ms, "ops": n, "steps": [(name, ms)]}, or None when `line`
    is not a start-up line."""
    m = HEAD.search(line)
    if not m:
        return None
    steps = []
    for part in m.group(3).split(","):
        s = STEP.match(part)
        if s:
            steps.append((s.group(1).strip(), float(s.group(2))))
    return {"total": float(m.group(1)), "ops": int(m.group(2)), "steps": steps}


def medians(runs):
    """The median of each step over `runs` (parsed lines), in the order of
    the first run; a step missing from a run counts as 0 there."""
    if not runs:
        return []
    names = [n for n, _ in runs[0]["steps"]]
    out = []
    for name in names:
        vals = [sum(ms for n, ms in r["steps"] if n == name) for r in runs]
        out.append((name, statistics.median(vals), min(vals), max(vals)))
    totals = [r["total"] for r in runs]
    out.append(("total (to the first pass's end)", statistics.median(totals), min(totals),
                max(totals)))
    return out


def markdown(by_contender):
    """One table: a row per step, a column per contender (median ms, min-max)."""
    cols = [k for k, v in by_contender.items() if v]
    if not cols:
        return ""
    rows = {k: medians(v) for k, v in by_contender.items() if v}
    names = [n for n, *_ in rows[cols[0]]]
    lines = ["| step | " + " | ".join(f"{c} (ms, median (min-max) of {len(by_contender[c])})"
                                     for c in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for name in names:
        cells = []
        for c in cols:
            hit = [r for r in rows[c] if r[0] == name]
            cells.append("-" if not hit else f"{hit[0][1]:.1f} ({hit[0][2]:.0f}-{hit[0][3]:.0f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write(out_dir, name, by_contender):
    """target/bench/<name>.json: every run's steps per contender, and the
    medians; returns the Markdown table."""
    os.makedirs(out_dir, exist_ok=True)
    doc = {"name": name, "runs": by_contender,
           "medians": {k: medians(v) for k, v in by_contender.items()}}
    with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    return markdown(by_contender)
