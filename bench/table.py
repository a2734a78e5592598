#!/usr/bin/env python3
"""bench/table.py: the end of `make bench` (and `make bench-table`): every
target/bench/*.json figure as one Markdown table (bench/figures.py's
format: median (min–max, n) per contender, ratio, trusted), the scaling
curve's table (scale.md) under it, printed and written to
target/bench/summary.md. Owns only that summary; the figures are the
benches' own. Says loudly when any figure is not trusted (the machine was
too loaded: its samples spread over figures.SPREAD_MAX).

Usage: table.py [DIR]   (default target/bench)"""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import figures  # noqa: E402


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "target/bench"
    paths = sorted(p for p in glob.glob(os.path.join(d, "*.json"))
                   if os.path.basename(p) != "scale.json")
    if not paths:
        print(f"no figures in {d}: run make bench", file=sys.stderr)
        return 1
    figs = []
    for p in paths:
        with open(p) as f:
            j = json.load(f)
        # Figures only: the start-up breakdowns (lab/vlab/breakdown.py) are
        # printed by the bench that measured them.
        if isinstance(j, dict) and "name" in j and "unit" in j:
            figs.append(figures.normalize(j))
    text = "# vigil against keepalived 2.2.7: `make bench`\n\n" + figures.markdown(figs)
    scale = os.path.join(d, "scale.md")
    if os.path.exists(scale):
        with open(scale) as f:
            text += "\n## Scaling curve (scale.svg)\n\n" + f.read()
    with open(os.path.join(d, "summary.md"), "w") as f:
        f.write(text)
    print(text)
    bad = sum(1 for j in figs if not j["trusted"])
    if bad:
        print(f"WARNING: {bad} of {len(figs)} figures not trusted: the machine was too loaded "
              "(see above)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
