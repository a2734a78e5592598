#!/usr/bin/env bash
# Prints target/bench/*.json (written by tests/it/netns_bench.rs) as a table.
set -euo pipefail
dir=${1:-target/bench}
shopt -s nullglob
files=("$dir"/*.json)
if [ ${#files[@]} -eq 0 ]; then
    echo "no figures in $dir: run make bench" >&2
    exit 1
fi
python3 - "${files[@]}" <<'PY'
import json, sys
rows = [json.load(open(p)) for p in sorted(sys.argv[1:])]
def f(x):
    return "-" if x is None else f"{x:.3f}"
print(f"{'figure':<30} {'vigil':>10} {'baseline':>10} {'ratio':>7}  unit  baseline")
for r in rows:
    print(f"{r['name']:<30} {f(r['vigil']):>10} {f(r['baseline']):>10} "
          f"{('-' if r['ratio'] is None else format(r['ratio'], '.2f')):>7}  "
          f"{r['unit']:<4}  {r['baseline_name']}")
PY
