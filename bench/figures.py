"""bench/figures.py: the one figure format of `make bench` (issue 15), shared
by bench/config_scale.py, lab/vlab/bench.py and bench/table.py
(tests/it/netns_bench.rs writes the same fields from Rust).
Owns: the per-contender sample summary {median, min, max, runs}, the
"trusted" verdict (a spread of the samples over SPREAD_MAX of their
median: the machine was too loaded for the figure to mean much), writing
OUT/<name>.json, and the Markdown summary table.

A figure's JSON: name, vigil, baseline (the medians), baseline_name,
ratio (vigil / baseline), unit, note, samples = {"vigil": summary,
"baseline": summary} (baseline absent for an absolute figure), trusted,
and untrusted_why when trusted is false."""
import json
import os
import statistics

# Spread ((max - min) / median) of the judged contender's samples above
# which a figure is marked untrusted.
SPREAD_MAX = 0.20
# Samples per figure by default (the floor).
RUNS = 5


def summary(runs):
    """{median, min, max, runs} of a list of samples; None for no samples."""
    runs = [x for x in runs or [] if x is not None]
    if not runs:
        return None
    return {"median": statistics.median(runs), "min": min(runs), "max": max(runs),
            "runs": list(runs)}


def spread(s):
    """(max - min) / median of a summary; 0 for a zero median."""
    return (s["max"] - s["min"]) / s["median"] if s and s["median"] else 0.0


def verdict(samples):
    """(trusted, why): the baseline's samples are judged (they measure the
    machine as much as the baseline), vigil's for an absolute figure."""
    who = "baseline" if samples.get("baseline") else "vigil"
    s = samples.get(who)
    if s is None:
        return True, ""
    sp = spread(s)
    if sp > SPREAD_MAX:
        return False, (f"{who}'s samples spread {sp:.0%} of their median "
                       f"(over {SPREAD_MAX:.0%}): the machine was too loaded to trust")
    if len(s["runs"]) < 3:
        return True, f"only {len(s['runs'])} sample(s): a weak spread check"
    return True, ""


def make(name, vigil, baseline, baseline_name, unit, note, untrusted=None):
    """A figure from raw sample lists (`baseline` None or [] for an
    absolute figure). `untrusted`: a reason the measure itself found not
    to trust it (the load it was to put on the machine not reached), on
    top of the spread's verdict."""
    v, b = summary(vigil), summary(baseline)
    samples = {"vigil": v}
    if b:
        samples["baseline"] = b
    vm = v and v["median"]
    bm = b and b["median"]
    trusted, why = verdict(samples)
    if untrusted:
        why = untrusted if trusted else f"{why}; {untrusted}"
        trusted = False
    j = {"name": name, "vigil": vm, "baseline": bm,
         "baseline_name": baseline_name if b else "none (absolute)",
         "ratio": vm / bm if vm is not None and bm else None, "unit": unit,
         "note": note, "samples": samples, "trusted": trusted}
    if why:
        j["untrusted_why" if not trusted else "trust_note"] = why
    return j


def write(out_dir, fig):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, f"{fig['name']}.json"), "w") as f:
        json.dump(fig, f, indent=2, sort_keys=True)
        f.write("\n")
    return fig


def figure(out_dir, name, vigil, baseline, baseline_name, unit, note, untrusted=None):
    return write(out_dir, make(name, vigil, baseline, baseline_name, unit, note, untrusted))


def _num(x):
    if x is None:
        return "-"
    a = abs(x)
    return f"{x:.0f}" if a >= 1000 else f"{x:.1f}" if a >= 100 else \
        f"{x:.2f}" if a >= 1 else f"{x:.3f}" if a >= 0.01 else f"{x:.2g}"


def cell(s):
    """'median (min–max), n' of a summary, or '-'."""
    if not s:
        return "-"
    return f"{_num(s['median'])} ({_num(s['min'])}–{_num(s['max'])}, n={len(s['runs'])})"


def normalize(j):
    """A figure read back from JSON, in this format: older files (samples
    as bare lists, or keyed by contender name) and figures without a
    verdict get one computed here."""
    samples = j.get("samples") or {}
    norm = {}
    keys = list(samples)
    for who in ("vigil", "baseline"):
        s = samples.get(who)
        if s is None and who == "baseline":
            others = [k for k in keys if k != "vigil"]
            s = samples.get(others[0]) if len(others) == 1 else None
        if isinstance(s, list):
            s = summary(s)
        if s:
            norm[who] = s
    if "vigil" not in norm and j.get("vigil") is not None:
        norm["vigil"] = summary([j["vigil"]])
    if "baseline" not in norm and j.get("baseline") is not None:
        norm["baseline"] = summary([j["baseline"]])
    j = dict(j, samples=norm)
    if "trusted" not in j:
        trusted, why = verdict(norm)
        j["trusted"] = trusted
        if not trusted:
            j["untrusted_why"] = why
    return j


def markdown(figs):
    """The summary table (Markdown) of figures, and the untrusted ones'
    reasons under it."""
    rows = ["| figure | vigil median (min–max, n) | baseline median (min–max, n) | ratio "
            "| unit | trusted |",
            "|---|---|---|---|---|---|"]
    why = []
    for j in figs:
        s = j["samples"]
        ratio = "-" if j.get("ratio") is None else f"{j['ratio']:.2f}"
        base = cell(s.get("baseline"))
        if s.get("baseline"):
            base += f" {j.get('baseline_name', '')}"
        trusted = "yes" if j["trusted"] else "**NO**"
        rows.append(f"| {j['name']} | {cell(s.get('vigil'))} | {base} | {ratio} | "
                    f"{j['unit']} | {trusted} |")
        if not j["trusted"]:
            why.append(f"- {j['name']}: {j.get('untrusted_why', 'spread over the bound')}")
    text = "\n".join(rows) + "\n"
    if why:
        text += (f"\n{len(why)} figure(s) not trusted (samples spread over "
                 f"{SPREAD_MAX:.0%}; rerun on an idle machine):\n" + "\n".join(why) + "\n")
    return text
