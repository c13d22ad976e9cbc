#!/usr/bin/env python3
"""Side-by-side table of the PyTorch reference and `explorer train`.

    python3 compare.py OUTDIR [CONFIG ...]

Reads OUTDIR/torch/CONFIG/metrics.json and OUTDIR/go/CONFIG/metrics.json (as
written by bench/trainer/run.sh), plus the rss.json that peak_rss.py leaves
beside each, and prints a Markdown table:

  s/epoch   median over epochs of the seconds (wall) of the training steps;
            "CPU s/epoch" the same for the process CPU time over those steps
            (cpu_seconds, when the metrics have it): with one thread it is
            hardly affected by other jobs on a shared machine, wall time is.
            The ratios ours/torch are of the wall medians and of the CPU
            medians.
  kNN       held-out kNN accuracy (k=5, cosine) at the final epoch, and in
            brackets its mean over the last 5 epochs (it moves by about a
            point from epoch to epoch; the targets use the final epoch)
  peak MB   peak RSS of the whole process (rss.json, else the metrics file's)

and, when the Go side is there, the issue's targets: ours/torch <= 1.0 for
supcon and ntxent; kNN within 1 point of PyTorch for supcon and triplet
(all, semihard), within 2 points for ntxent; our peak RSS under 300 MB.
"""

import json
import os
import statistics
import sys

DEFAULT_CONFIGS = ["supcon", "ntxent", "triplet-semihard", "triplet-all", "triplet-hard"]
SPEED_TARGET = {"supcon": 1.0, "ntxent": 1.0, "ntxent-aug0.5": 1.0}
KNN_TARGET = {"supcon": 1.0, "triplet-semihard": 1.0, "triplet-all": 1.0,
              "ntxent": 2.0, "ntxent-aug0.5": 2.0}  # points below PyTorch allowed
RSS_TARGET_MB = 300.0


def load(outdir, side, cfg):
    path = os.path.join(outdir, side, cfg, "metrics.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        m = json.load(f)
    rss_path = os.path.join(outdir, side, cfg, "rss.json")
    if os.path.exists(rss_path):
        with open(rss_path) as f:
            m["_rss"] = json.load(f).get("peak_rss_mb")
    return m


def summary(m):
    if not m or not m.get("epochs"):
        return None
    eps = m["epochs"]
    last = eps[-1]
    secs = [e["seconds"] for e in eps if e.get("seconds") is not None]
    cpu = [e["cpu_seconds"] for e in eps if e.get("cpu_seconds") is not None]
    peak = m.get("_rss") or m.get("peak_rss_mb")
    return {
        "spe": statistics.median(secs) if secs else None,
        "cpu": statistics.median(cpu) if cpu else None,
        "knn": last.get("knn_accuracy"),
        "knn5": statistics.mean(e["knn_accuracy"] for e in eps[-5:]),
        "raw": m.get("raw_knn_accuracy"),
        "peak": peak,
        "epochs": len(eps),
        "collapsed": last.get("collapsed"),
    }


def fmt(x, spec):
    return "—" if x is None else format(x, spec)


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    outdir = sys.argv[1]
    configs = sys.argv[2:] or DEFAULT_CONFIGS
    rows = []
    raw_t = raw_g = None
    any_go = False
    failed = []
    for cfg in configs:
        t = summary(load(outdir, "torch", cfg))
        g = summary(load(outdir, "go", cfg))
        any_go = any_go or g is not None
        if t and t["raw"] is not None:
            raw_t = t["raw"]
        if g and g["raw"] is not None:
            raw_g = g["raw"]
        ratio = g["spe"] / t["spe"] if t and g and t["spe"] and g["spe"] is not None else None
        cpu_ratio = g["cpu"] / t["cpu"] if t and g and t["cpu"] and g["cpu"] is not None else None
        dknn = 100 * (g["knn"] - t["knn"]) if t and g and t["knn"] is not None and g["knn"] is not None else None
        checks = []
        if g:
            if cfg in SPEED_TARGET and ratio is not None:
                ok = ratio <= SPEED_TARGET[cfg]
                checks.append("speed ok" if ok else "SPEED")
                if cpu_ratio is not None:
                    checks.append("CPU ok" if cpu_ratio <= SPEED_TARGET[cfg] else "CPU SPEED")
                if not ok:
                    failed.append(cfg + " speed")
            if cfg in KNN_TARGET and dknn is not None:
                ok = dknn >= -KNN_TARGET[cfg]
                checks.append("kNN ok" if ok else "KNN")
                if not ok:
                    failed.append(cfg + " kNN")
            if g["peak"] is not None:
                ok = g["peak"] < RSS_TARGET_MB
                checks.append("mem ok" if ok else "MEM")
                if not ok:
                    failed.append(cfg + " memory")
        note = ""
        if t and t.get("collapsed"):
            note += " (torch collapsed)"
        if g and g.get("collapsed"):
            note += " (ours collapsed)"
        rows.append([
            cfg + note,
            fmt(t and t["spe"], ".3f"),
            fmt(t and t["cpu"], ".3f"),
            fmt(g and g["spe"], ".3f") if g else "pending",
            (fmt(g["cpu"], ".3f") if g["cpu"] is not None else "—") if g else "pending",
            fmt(ratio, ".2f"),
            fmt(cpu_ratio, ".2f"),
            (fmt(t["knn"], ".4f") + " (" + fmt(t["knn5"], ".3f") + ")") if t else "—",
            (fmt(g["knn"], ".4f") + " (" + fmt(g["knn5"], ".3f") + ")") if g else "pending",
            fmt(dknn, "+.1f"),
            fmt(t and t["peak"], ".0f"),
            fmt(g and g["peak"], ".0f") if g else "pending",
            ", ".join(checks) if checks else "—",
        ])
    head = ["config", "PyTorch s/epoch", "PyTorch CPU s/epoch", "ours s/epoch", "ours CPU s/epoch", "ours/torch wall", "ours/torch CPU", "kNN PyTorch", "kNN ours",
            "Δ kNN (pts)", "peak MB PyTorch", "peak MB ours", "targets"]
    print("| " + " | ".join(head) + " |")
    print("| " + " | ".join("---" for _ in head) + " |")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    print("raw-pixel kNN (k=5, cosine): PyTorch side %s, ours %s"
          % (fmt(raw_t, ".4f"), fmt(raw_g, ".4f") if any_go else "pending"))
    if any_go:
        print("targets: " + ("all met" if not failed else "missed: " + ", ".join(failed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
