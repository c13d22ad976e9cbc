#!/usr/bin/env python3
"""Side-by-side table of the PyTorch reference and `explorer train`.

    python3 compare.py OUTDIR [CONFIG ...]

Reads OUTDIR/roundR/{torch,go}/CONFIG/metrics.json, as bench/trainer/run.sh
writes them (R = 1, 2, ...), with the rss.json and the load samples beside
each, and prints a Markdown table:

  s/epoch   the median over the rounds of each round's median per-epoch wall
            time of the training steps; "CPU" the same for the process CPU
            time over those steps (cpu_seconds)
  load      the mean of the 1-minute load average sampled every second while
            that side ran, over all rounds
  ratio     ours/torch of the wall and of the CPU medians, printed only when
            the two sides' loads differ by at most 0.5: a ratio of figures
            taken under different loads is not a property of the code
  kNN       held-out kNN accuracy (k=5, cosine) at the final epoch, the median
            over the rounds
  peak MB   peak RSS of the whole process, the largest over the rounds

and the issue's targets for supcon and ntxent: ours/torch <= 0.75 at one
thread, <= 0.6 at two (THREADS, from the metrics' config), held-out kNN no
more than 0.5 point under PyTorch's.
"""

import glob
import json
import os
import statistics
import sys

DEFAULT_CONFIGS = ["supcon", "ntxent", "triplet-semihard", "triplet-all", "triplet-hard"]
SPEED_TARGET = {1: 0.75, 2: 0.6}  # by threads, for the configs below
TARGETED = {"supcon", "ntxent"}
KNN_POINTS = 0.5
LOAD_GAP = 0.5


def load_one(d):
    path = os.path.join(d, "metrics.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        m = json.load(f)
    eps = m.get("epochs") or []
    secs = [e["seconds"] for e in eps if e.get("seconds")]
    cpu = [e["cpu_seconds"] for e in eps if e.get("cpu_seconds")]
    peak = None
    rss = os.path.join(d, "rss.json")
    if os.path.exists(rss):
        with open(rss) as f:
            peak = json.load(f).get("peak_rss_mb")
    loads = []
    lf = os.path.join(d, "load")
    if os.path.exists(lf):
        with open(lf) as f:
            loads = [float(x) for x in f.read().split() if x.strip()]
    return {
        "spe": statistics.median(secs) if secs else None,
        "cpu": statistics.median(cpu) if cpu else None,
        "knn": eps[-1].get("knn_accuracy") if eps else None,
        "raw": m.get("raw_knn_accuracy"),
        "peak": peak or m.get("peak_rss_mb"),
        "loads": loads,
        "threads": (m.get("config") or {}).get("threads"),
        "collapsed": bool(eps and eps[-1].get("collapsed")),
    }


def summary(outdir, side, cfg):
    runs = [load_one(d) for d in sorted(glob.glob(os.path.join(outdir, "round*", side, cfg)))]
    runs = [r for r in runs if r and r["spe"] is not None]
    if not runs:
        return None
    med = lambda k: statistics.median([r[k] for r in runs if r[k] is not None]) if any(r[k] is not None for r in runs) else None
    loads = [x for r in runs for x in r["loads"]]
    return {
        "rounds": len(runs),
        "spe": med("spe"),
        "cpu": med("cpu"),
        "knn": med("knn"),
        "raw": med("raw"),
        "peak": max((r["peak"] for r in runs if r["peak"] is not None), default=None),
        "load": statistics.mean(loads) if loads else None,
        "collapsed": any(r["collapsed"] for r in runs),
    }


def fmt(x, spec):
    return "—" if x is None else format(x, spec)


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    outdir = sys.argv[1]
    configs = sys.argv[2:] or DEFAULT_CONFIGS
    threads = int(os.environ.get("THREADS", "1"))
    rows, missed, notes = [], [], []
    for cfg in configs:
        t = summary(outdir, "torch", cfg)
        g = summary(outdir, "go", cfg)
        if not t or not g:
            missed.append(cfg + ": a side has no results")
            rows.append([cfg] + ["—"] * 12)
            continue
        gap = abs(t["load"] - g["load"]) if t["load"] is not None and g["load"] is not None else None
        comparable = gap is not None and gap <= LOAD_GAP
        ratio = g["spe"] / t["spe"] if comparable else None
        cpu_ratio = g["cpu"] / t["cpu"] if comparable and g["cpu"] and t["cpu"] else None
        if not comparable:
            notes.append("%s: no ratio, the load differed by %s between the sides (%s vs %s)"
                         % (cfg, fmt(gap, ".2f"), fmt(t["load"], ".2f"), fmt(g["load"], ".2f")))
        dknn = 100 * (g["knn"] - t["knn"]) if g["knn"] is not None and t["knn"] is not None else None
        checks = []
        if cfg in TARGETED:
            target = SPEED_TARGET.get(threads)
            if target and ratio is not None:
                ok = ratio <= target
                checks.append("speed ok" if ok else "SPEED (target %.2f)" % target)
                if not ok:
                    missed.append(cfg + " speed")
            elif target:
                missed.append(cfg + " speed (no comparable ratio)")
            if dknn is not None:
                ok = dknn >= -KNN_POINTS
                checks.append("kNN ok" if ok else "KNN")
                if not ok:
                    missed.append(cfg + " kNN")
        name = cfg + (" (torch collapsed)" if t["collapsed"] else "") + (" (ours collapsed)" if g["collapsed"] else "")
        rows.append([
            name, str(min(t["rounds"], g["rounds"])),
            fmt(t["spe"], ".3f"), fmt(t["cpu"], ".3f"), fmt(t["load"], ".2f"),
            fmt(g["spe"], ".3f"), fmt(g["cpu"], ".3f"), fmt(g["load"], ".2f"),
            fmt(ratio, ".2f"), fmt(cpu_ratio, ".2f"),
            fmt(t["knn"], ".4f") + " / " + fmt(g["knn"], ".4f") + " (" + fmt(dknn, "+.1f") + ")",
            fmt(t["peak"], ".0f") + " / " + fmt(g["peak"], ".0f"),
            ", ".join(checks) or "—",
        ])
    head = ["config", "rounds", "PyTorch s/epoch", "PyTorch CPU", "load", "ours s/epoch", "ours CPU", "load",
            "ours/torch wall", "ours/torch CPU", "kNN PyTorch / ours (Δ pts)", "peak MB PyTorch / ours", "targets"]
    print("| " + " | ".join(head) + " |")
    print("| " + " | ".join("---" for _ in head) + " |")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    for n in notes:
        print(n)
    print("threads %d; targets: %s" % (threads, "all met" if not missed else "missed: " + ", ".join(missed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
