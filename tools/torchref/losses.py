"""PyTorch reference values for the trainer's contrastive losses.

Run it from the repository root with Debian's python3 and its python3-torch
package (apt install python3-torch); it needs nothing else:

    python3 tools/torchref/losses.py

It writes trainer/testdata/loss_reference.json, which is committed: the Go
test TestLossMatchesTorch (trainer/losses_test.go) reads it, so neither CI
nor developers need PyTorch. Re-run it only when a loss's definition changes,
and commit the new JSON with that change. The output is deterministic for a
given PyTorch version (fixed seeds, float64 throughout).

Each loss is written here from its definition with PyTorch tensor ops, and
its gradient comes from autograd, so the Go code (hand-derived gradients
through a Gram matrix) is checked against an independent implementation.
The semihard triplet loss is a line-by-line port of TensorFlow Addons'
triplet_semihard_loss, on Euclidean (non-squared) distances.

Inputs are float32 values (stored with 9 significant digits, which round-trip
float32) so Go sees exactly the rows the reference used. Batches with a
comparison within KINK_TOL of a tie (a hinge at 0, two candidate triplets at
the same distance) are redrawn: there the loss or its gradient jumps, and
float32 rounding in Go could land on the other side.
"""

import json
import os

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

KINK_TOL = 2e-5
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                   "..", "..", "trainer", "testdata", "loss_reference.json")


def pairwise_distance(z):
    """Euclidean distances as TensorFlow Addons' metric_learning.pairwise_distance
    computes them: from the Gram matrix, clamped at 0, with a zero gradient
    where the distance is 0 and on the diagonal."""
    sq = (z * z).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * z @ z.T).clamp(min=0.0)
    zero = d2 <= 0.0
    d = torch.sqrt(d2 + zero.double() * 1e-16) * (~zero).double()
    return d * (1.0 - torch.eye(z.shape[0]))


def contrastive(z, g, cfg):
    b = z.shape[0]
    iu = torch.triu_indices(b, b, 1)
    sq = (z * z).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * z @ z.T).clamp(min=0.0)[iu[0], iu[1]]
    d = pairwise_distance(z)[iu[0], iu[1]]
    pos = (g[:, None] == g[None, :])[iu[0], iu[1]]
    loss = z.new_zeros(())
    if pos.any():
        loss = loss + (0.5 * d2[pos]).mean()
    if (~pos).any():
        loss = loss + (0.5 * (cfg["margin"] - d[~pos]).clamp(min=0.0) ** 2).mean()
    return loss


def _masks(g):
    b = g.shape[0]
    same = g[:, None] == g[None, :]
    eye = torch.eye(b, dtype=torch.bool)
    return same & ~eye, ~same


def triplet_all(z, g, cfg):
    d = pairwise_distance(z)
    pos, neg = _masks(g)
    valid = pos[:, :, None] & neg[:, None, :]  # [a, p, n]
    l = (d[:, :, None] - d[:, None, :] + cfg["margin"]).clamp(min=0.0) * valid
    active = (l > 0).sum()
    if active == 0:
        return l.sum() * 0.0
    return l.sum() / active


def triplet_hard(z, g, cfg):
    d = pairwise_distance(z)
    pos, neg = _masks(g)
    keep = pos.any(1) & neg.any(1)
    hp = torch.where(pos, d, torch.full_like(d, -np.inf)).max(1).values
    hn = torch.where(neg, d, torch.full_like(d, np.inf)).min(1).values
    l = (hp - hn + cfg["margin"]).clamp(min=0.0)
    return l[keep].mean()


def _masked_maximum(data, mask):
    mins = data.min(1, keepdim=True).values
    return ((data - mins) * mask).max(1, keepdim=True).values + mins


def _masked_minimum(data, mask):
    maxs = data.max(1, keepdim=True).values
    return ((data - maxs) * mask).min(1, keepdim=True).values + maxs


def triplet_semihard(z, g, cfg):
    """tfa.losses.triplet_semihard_loss, ported op for op."""
    pdist = pairwise_distance(z)
    labels = g.reshape(-1, 1)
    adjacency = labels == labels.T
    adjacency_not = ~adjacency
    b = g.shape[0]
    pdist_tile = pdist.repeat(b, 1)
    mask = adjacency_not.repeat(b, 1) & (pdist_tile > pdist.T.reshape(-1, 1))
    mask_final = (mask.double().sum(1, keepdim=True) > 0.0).reshape(b, b).T
    negatives_outside = _masked_minimum(pdist_tile, mask.double()).reshape(b, b).T
    negatives_inside = _masked_maximum(pdist, adjacency_not.double()).repeat(1, b)
    semi_hard = torch.where(mask_final, negatives_outside, negatives_inside)
    loss_mat = cfg["margin"] + pdist - semi_hard
    mask_positives = adjacency.double() - torch.eye(b)
    return (loss_mat * mask_positives).clamp(min=0.0).sum() / mask_positives.sum()


def softmax_contrastive(z, g, cfg):
    """NT-Xent / SupCon L_out: mean over anchors with a positive of
    -1/|P(i)| sum_p log softmax_{a != i}(s_ia / tau)[p]."""
    b = z.shape[0]
    eye = torch.eye(b, dtype=torch.bool)
    logits = (z @ z.T / cfg["temperature"]).masked_fill(eye, -np.inf)
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    pos, _ = _masks(g)
    npos = pos.sum(1)
    anchors = npos > 0
    per_anchor = -torch.where(pos, log_prob, torch.zeros_like(log_prob)).sum(1)
    return (per_anchor[anchors] / npos[anchors]).mean()


LOSSES = {
    ("contrastive", ""): contrastive,
    ("triplet", "all"): triplet_all,
    ("triplet", "hard"): triplet_hard,
    ("triplet", "semihard"): triplet_semihard,
    ("ntxent", ""): softmax_contrastive,
    ("supcon", ""): softmax_contrastive,
}


def kink_gap(z, g, cfg):
    """The smallest distance to a tie that changes the loss's formula."""
    if cfg["name"] in ("ntxent", "supcon"):
        return np.inf
    d = pairwise_distance(z).numpy()
    pos, neg = (x.numpy() for x in _masks(g))
    m = cfg["margin"]
    gaps = [np.inf]
    b = len(g)
    if cfg["name"] == "contrastive":
        gaps.append(np.abs(d[neg] - m).min(initial=np.inf))
        return min(gaps)
    mining = cfg["mining"]
    for a in range(b):
        dp, dn = d[a][pos[a]], d[a][neg[a]]
        if len(dp) == 0:
            continue
        if mining == "all":
            if len(dn):
                gaps.append(np.abs(dp[:, None] - dn[None, :] + m).min())
        elif mining == "hard":
            if len(dn) == 0:
                continue
            for v in (np.sort(dp)[::-1], np.sort(dn)):
                if len(v) > 1:
                    gaps.append(abs(v[0] - v[1]))
            gaps.append(abs(dp.max() - dn.min() + m))
        else:
            if len(dn) == 0:
                gaps.extend(abs(dp + m))
                continue
            sn = np.sort(dn)
            for x in dp:
                gaps.append(np.abs(dn - x).min())
                above = sn[sn > x]
                cand = above if len(above) else sn[::-1]
                if len(cand) > 1:
                    gaps.append(abs(cand[1] - cand[0]))
                gaps.append(abs(x - cand[0] + m))
    return min(gaps)


def make_groups(rng, b, kind):
    if kind == "pairs":
        g = np.repeat(np.arange(b // 2), 2)
    else:
        g = rng.integers(0, int(kind.removeprefix("classes")), size=b)
    return rng.permutation(g).astype(np.int64)


def make_case(seed, name, cfg, b, d, groups, unit):
    for attempt in range(1000):
        rng = np.random.default_rng([seed, attempt])
        z = rng.standard_normal((b, d))
        if unit:
            z /= np.linalg.norm(z, axis=1, keepdims=True)
        else:
            z *= rng.uniform(0.5, 2.0, size=(b, 1)) / np.sqrt(d)
        z = z.astype(np.float32).astype(np.float64)
        g = make_groups(rng, b, groups)
        zt, gt = torch.tensor(z, requires_grad=True), torch.tensor(g)
        if kink_gap(zt.detach(), gt, cfg) < KINK_TOL:
            continue
        loss = LOSSES[(cfg["name"], cfg.get("mining", ""))](zt, gt, cfg)
        loss.backward()
        return {
            "name": name,
            "config": cfg,
            "b": b,
            "d": d,
            "groups": [int(x) for x in g],
            "z": [float(f"{x:.9g}") for x in z.ravel()],
            "loss": float(loss),
            "grad": [float(f"{x:.10g}") for x in zt.grad.numpy().ravel()],
        }
    raise RuntimeError(f"{name}: no batch away from ties")


def cases():
    # (loss config, [(b, d, groups, unit rows)])
    small, mid, big = (16, 8), (32, 16), (64, 32)
    specs = [
        ({"name": "contrastive", "margin": 1.0},
         [(*small, "pairs", True), (*mid, "classes4", True)]),
        ({"name": "contrastive", "margin": 1.5}, [(*big, "classes8", False)]),
        ({"name": "triplet", "margin": 0.2, "mining": "all"},
         [(*small, "classes3", True), (*big, "pairs", True)]),
        ({"name": "triplet", "margin": 0.5, "mining": "all"}, [(*mid, "classes5", False)]),
        ({"name": "triplet", "margin": 0.2, "mining": "hard"},
         [(*small, "classes3", True), (*big, "classes6", True)]),
        ({"name": "triplet", "margin": 0.5, "mining": "hard"}, [(*mid, "pairs", False)]),
        ({"name": "triplet", "margin": 0.2, "mining": "semihard"},
         [(*small, "classes3", True), (*big, "classes6", True)]),
        ({"name": "triplet", "margin": 0.5, "mining": "semihard"}, [(*mid, "pairs", False)]),
        ({"name": "ntxent", "temperature": 0.5},
         [(*small, "pairs", True), (*big, "pairs", False)]),
        ({"name": "ntxent", "temperature": 0.2}, [(*mid, "pairs", True)]),
        ({"name": "supcon", "temperature": 0.1},
         [(*small, "classes3", True), (*mid, "classes5", True)]),
        ({"name": "supcon", "temperature": 0.07}, [(*big, "classes10", False)]),
    ]
    out = []
    for k, (cfg, shapes) in enumerate(specs):
        for j, (b, d, groups, unit) in enumerate(shapes):
            label = "/".join(filter(None, [cfg["name"], cfg.get("mining")]))
            name = f"{label}/B={b},d={d},{groups},{'unit' if unit else 'raw'}"
            out.append(make_case(1000 * k + j, name, cfg, b, d, groups, unit))
    return out


def main():
    doc = {
        "generator": "tools/torchref/losses.py",
        "torch": torch.__version__.split("+")[0],
        "cases": cases(),
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(doc['cases'])} cases to trainer/testdata/loss_reference.json")


if __name__ == "__main__":
    main()
