#!/usr/bin/env python3
"""PyTorch CPU reference for the trainer benchmark (docs/benchmarks.md).

Trains the same encoder as `explorer train` on the same data and writes a
metrics.json in the same shape, so bench/trainer/compare.py can put the two
side by side.

Data: the first 10,000 training and first 2,000 test images of Fashion-MNIST,
read from the four idx .gz files of the Debian package dataset-fashion-mnist.
Pass their folder as --data (or FASHION_MNIST_DIR); find it with

    dpkg -L dataset-fashion-mnist | grep idx3

Model: MLP 784-256-128-32, ReLU, L2-normalised output, PyTorch default init,
Adam (lr 1e-3), float32. Losses (rows i != j are positives when their groups
match; groups are the labels for --pairs labels, the item for --pairs augment):

  supcon       Khosla et al. L_out: mean over anchors with a positive of
               -1/|P(i)| sum_p log(exp(s_ip/t) / sum_{a != i} exp(s_ia/t))
  ntxent       the same formula with groups = items (one positive per row)
  triplet      margin m on Euclidean distances of the normalised embeddings;
               --mining all: mean over (a,p,n) triplets with positive loss;
               semihard: TF-Addons triplet_semihard_loss semantics; hard:
               hardest positive and hardest negative per anchor
  contrastive  1/2 d^2 on positive pairs, 1/2 max(0, m-d)^2 on negative pairs,
               mean over positive pairs + mean over negative pairs

One epoch is one pass over the 10,000 training items in a fresh random order:
ceil(10000/256) = 40 steps of 256 rows for label pairs; for augment pairs
ceil(10000/128) = 79 steps of 128 items x 2 views = 256 rows. With the default
--last fill the last, short batch is topped up to full size with the first
items of that epoch's order, as trainer/pairs.go does, so every step has the
same number of rows (40 x 256 = 10,240 rows; 79 x 128 = 10,112 items).

Augment pairs: two independent views of each item, by default as the issue's
reference defines them (shift up to 2 px with zero fill, gaussian noise 0.1,
clamped to [0, 1]); --rotate 10 --cutout 6 add what `explorer train
--augment 0.5` also does (see augment()).

Per epoch: mean step loss, seconds of the step loop only (batch assembly,
augmentation, forward, loss, backward, Adam; evaluation excluded; wall time,
with the process CPU time over the same loop as cpu_seconds), and kNN
accuracy (k=5, cosine, majority vote, ties to the nearest tied class) of the
test embeddings against the training embeddings.

Usage:
    python3 torch_train.py --data DIR --loss supcon --out OUTDIR
"""

import argparse
import gzip
import json
import math
import os
import resource
import struct
import sys
import time


def _preset_threads(argv):
    """Thread pools read their size when the library loads, so the count is
    put in the environment before numpy and torch are imported. Debian's
    torch multiplies matrices with OpenBLAS, whose pool torch.set_num_threads
    does not control."""
    n = "1"
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            n = argv[i + 1]
        elif a.startswith("--threads="):
            n = a.split("=", 1)[1]
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = n


_preset_threads(sys.argv[1:])

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def rss_mb():
    """Peak resident set size of this process so far, in MB (Linux: KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ---------------------------------------------------------------- data


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def load_fashion(folder, n_train, n_test):
    def part(prefix, n):
        x = read_idx(os.path.join(folder, prefix + "-images-idx3-ubyte.gz"))[:n]
        y = read_idx(os.path.join(folder, prefix + "-labels-idx1-ubyte.gz"))[:n]
        x = x.reshape(len(x), -1).astype(np.float32) / np.float32(255.0)
        return np.ascontiguousarray(x), y.astype(np.int64)

    xtr, ytr = part("train", n_train)
    xte, yte = part("t10k", n_test)
    return xtr, ytr, xte, yte


# ---------------------------------------------------------------- model


class Encoder(nn.Module):
    def __init__(self, d_in, hidden, d_out):
        super().__init__()
        layers = []
        prev = d_in
        for h in hidden:
            layers += [nn.Linear(prev, h), nn.ReLU()]
            prev = h
        layers.append(nn.Linear(prev, d_out))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return F.normalize(self.net(x), dim=1)


# ---------------------------------------------------------------- losses


def supcon_loss(z, groups, temperature):
    """Khosla et al. L_out over all rows; NT-Xent when groups are items."""
    b = z.shape[0]
    logits = (z @ z.t()) / temperature
    eye = torch.eye(b, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(eye, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    pos = (groups[:, None] == groups[None, :]) & ~eye
    npos = pos.sum(1)
    has = npos > 0
    # log_prob is -inf on the diagonal only, which pos never selects.
    per_anchor = -(log_prob.masked_fill(~pos, 0.0).sum(1)[has]) / npos[has]
    return per_anchor.mean()


def sq_dists(z):
    # Embeddings are unit length: |a-b|^2 = 2 - 2 a.b, clamped at 0.
    return (2.0 - 2.0 * (z @ z.t())).clamp_min(0.0)


def dists(z):
    # Small floor keeps the gradient of sqrt finite at d = 0.
    return sq_dists(z).clamp_min(1e-12).sqrt()


def masks(groups):
    b = groups.shape[0]
    eye = torch.eye(b, dtype=torch.bool, device=groups.device)
    same = groups[:, None] == groups[None, :]
    return same & ~eye, ~same  # positives, negatives


def triplet_all(z, groups, margin):
    """Batch-all: mean of relu(d_ap - d_an + m) over the (a, p, n) triplets
    whose loss is positive.

    Computed in O(B^2 log B) instead of materialising B^3 triplets: for each
    anchor, sorted negative distances give, for every positive p, the number of
    active negatives (d_an < d_ap + m), and sorted positive distances give, for
    every negative n, the number of active positives. The loss is then
    (sum_ap w_ap d_ap - sum_an w_an d_an + m * count) / count with the counts w
    held constant, which equals the triplet mean in value and in gradient
    (relu is linear on its active set). triplet_all_dense is the direct form.
    """
    d = dists(z)
    pos, neg = masks(groups)
    with torch.no_grad():
        neg_sorted = d.masked_fill(~neg, float("inf")).sort(dim=1).values
        pos_sorted = d.masked_fill(~pos, float("inf")).sort(dim=1).values
        # active negatives per (a, p): d_an < d_ap + m
        w_ap = torch.searchsorted(neg_sorted, (d + margin).contiguous(), side="left")
        w_ap = w_ap.to(d.dtype) * pos
        # active positives per (a, n): d_ap > d_an - m
        npos = pos.sum(1, keepdim=True)
        w_an = npos - torch.searchsorted(pos_sorted, (d - margin).contiguous(), side="right")
        w_an = w_an.to(d.dtype) * neg
        count = w_ap.sum()
    if count == 0:
        return d.sum() * 0.0
    return ((w_ap * d).sum() - (w_an * d).sum() + margin * count) / count


def triplet_all_dense(z, groups, margin):
    """Batch-all written over the full B x B x B triplet tensor (reference for
    --check-losses; slow: about 20 s per epoch at B = 256 on one thread)."""
    d = dists(z)
    pos, neg = masks(groups)
    l = d[:, :, None] - d[:, None, :] + margin
    valid = pos[:, :, None] & neg[:, None, :]
    l = F.relu(l) * valid
    n_active = (l > 1e-16).sum()
    if n_active == 0:
        return l.sum() * 0.0
    return l.sum() / n_active


def triplet_hard(z, groups, margin):
    d = dists(z)
    pos, neg = masks(groups)
    hardest_pos = d.masked_fill(~pos, float("-inf")).max(1).values
    hardest_neg = d.masked_fill(~neg, float("inf")).min(1).values
    ok = pos.any(1) & neg.any(1)
    return F.relu(hardest_pos[ok] - hardest_neg[ok] + margin).mean()


def triplet_semihard(z, groups, margin):
    """tfa.losses.triplet_semihard_loss: for every positive pair (a, p) the
    negative is the nearest one farther than p (d_an > d_ap); if there is none,
    the farthest negative. Loss = sum relu(m + d_ap - d_an) / #positive pairs.

    The negative for each pair is chosen without gradient from each anchor's
    sorted negative distances (O(B^2 log B)); triplet_semihard_dense is the
    direct B^3 form."""
    d = dists(z)
    pos, neg = masks(groups)
    b = d.shape[0]
    with torch.no_grad():
        neg_sorted, order = d.masked_fill(~neg, float("inf")).sort(dim=1)
        nneg = neg.sum(1, keepdim=True)
        first_farther = torch.searchsorted(neg_sorted, d.contiguous(), side="right")  # [a, p]
        farthest = (nneg - 1).clamp_min(0).expand(b, b)
        slot = torch.where(first_farther < nneg, first_farther, farthest)
        n_star = order.gather(1, slot)  # [a, p] -> index of the chosen negative
    d_an = d.gather(1, n_star)
    l = F.relu(margin + d - d_an)
    npos = pos.sum()
    if npos == 0:
        return d.sum() * 0.0
    return (l * pos).sum() / npos


def triplet_semihard_dense(z, groups, margin):
    d = dists(z)
    pos, neg = masks(groups)
    outside = neg[:, None, :] & (d[:, None, :] > d[:, :, None])
    semi = d[:, None, :].expand_as(outside).masked_fill(~outside, float("inf")).min(2).values
    far = d.masked_fill(~neg, float("-inf")).max(1).values
    has_semi = outside.any(2)
    d_an = torch.where(has_semi, semi, far[:, None].expand_as(semi))
    l = F.relu(margin + d - d_an)
    npos = pos.sum()
    if npos == 0:
        return l.sum() * 0.0
    return (l * pos).sum() / npos


def contrastive_loss(z, groups, margin):
    sq = sq_dists(z)
    pos, neg = masks(groups)
    terms = []
    if pos.any():
        terms.append(0.5 * sq[pos].mean())
    if neg.any():
        d = sq[neg].clamp_min(1e-12).sqrt()
        terms.append(0.5 * F.relu(margin - d).pow(2).mean())
    return sum(terms)


def make_loss(args):
    if args.loss in ("supcon", "ntxent"):
        return lambda z, g: supcon_loss(z, g, args.temperature)
    if args.loss == "contrastive":
        return lambda z, g: contrastive_loss(z, g, args.margin)
    if args.loss == "triplet":
        fn = {"all": triplet_all, "hard": triplet_hard, "semihard": triplet_semihard}[args.mining]
        return lambda z, g: fn(z, g, args.margin)
    raise SystemExit("unknown loss " + args.loss)


def check_losses():
    """Compare the fast triplet losses with the dense B^3 forms, in value and
    gradient, on random batches."""
    worst = 0.0
    for trial in range(20):
        g = torch.Generator().manual_seed(trial)
        b = [8, 32, 256][trial % 3]
        z0 = F.normalize(torch.randn(b, 32, generator=g, dtype=torch.float64), dim=1)
        groups = torch.randint(0, [2, 4, 10][trial % 3], (b,), generator=g)
        for fast, dense in ((triplet_all, triplet_all_dense), (triplet_semihard, triplet_semihard_dense)):
            for margin in (0.2, 1.0):
                za = z0.clone().requires_grad_()
                zb = z0.clone().requires_grad_()
                la, lb = fast(za, groups, margin), dense(zb, groups, margin)
                la.backward()
                lb.backward()
                err = max(abs(float(la - lb)), float((za.grad - zb.grad).abs().max()))
                worst = max(worst, err)
                if err > 1e-9:
                    raise SystemExit("check-losses: %s differs from %s by %g (b=%d, m=%g)"
                                     % (fast.__name__, dense.__name__, err, b, margin))
    print("check-losses: fast triplet losses match the dense forms (max abs difference %.2g)" % worst)


# ---------------------------------------------------------------- augmentation


def augment(x, shift, noise, gen, rotate=0.0, cutout=0, side=28):
    """A random view of each row, as trainer.Augmenter.Apply makes it: an
    integer shift dx, dy uniform in [-shift, shift] with zero fill and, if
    rotate > 0, a rotation about the image centre by an angle uniform in
    [-rotate, rotate] degrees (one bilinear warp, zero outside); then gaussian
    noise of std `noise` clamped to [0, 1]; then, if cutout > 0, a cutout x
    cutout square placed uniformly inside the image set to 0. The issue's
    reference uses shift 2 and noise 0.1 only; `explorer train --augment 0.5`
    means shift 2, rotate 10, noise 0.1, cutout 6."""
    b = x.shape[0]
    img = x.view(b, side, side)
    dy = torch.randint(-shift, shift + 1, (b,), generator=gen) if shift > 0 else torch.zeros(b, dtype=torch.long)
    dx = torch.randint(-shift, shift + 1, (b,), generator=gen) if shift > 0 else torch.zeros(b, dtype=torch.long)
    if rotate > 0:
        theta = (2 * torch.rand(b, generator=gen, dtype=torch.float64) - 1) * math.radians(rotate)
        c = (side - 1) / 2.0
        ar = torch.arange(side, dtype=torch.float64)
        # output pixel (x, y) reads the source at R(-theta)(p - c - d) + c
        u = ar[None, None, :] - dx[:, None, None] - c  # [b, 1, side] over x
        v = ar[None, :, None] - dy[:, None, None] - c  # [b, side, 1] over y
        cos, sin = theta.cos()[:, None, None], theta.sin()[:, None, None]
        sx = cos * u + sin * v + c
        sy = -sin * u + cos * v + c
        # grid_sample with align_corners=True maps -1..1 to pixel centres 0..side-1
        grid = torch.stack([sx, sy], dim=-1) * (2.0 / (side - 1)) - 1.0
        img = F.grid_sample(img[:, None], grid.to(img.dtype), mode="bilinear",
                            padding_mode="zeros", align_corners=True)[:, 0]
    elif shift > 0:
        padded = F.pad(img, (shift, shift, shift, shift))
        ar = torch.arange(side)
        iy = ar[None, :] + shift - dy[:, None]  # output row r reads input row r - dy
        ix = ar[None, :] + shift - dx[:, None]
        img = padded[torch.arange(b)[:, None, None], iy[:, :, None], ix[:, None, :]]
    out = img.reshape(b, side * side)
    if noise > 0:
        out = (out + noise * torch.randn(out.shape, generator=gen)).clamp_(0.0, 1.0)
    if cutout > 0:
        c = min(cutout, side)
        x0 = torch.randint(0, side - c + 1, (b,), generator=gen)
        y0 = torch.randint(0, side - c + 1, (b,), generator=gen)
        ar = torch.arange(side)
        inx = (ar[None, :] >= x0[:, None]) & (ar[None, :] < x0[:, None] + c)
        iny = (ar[None, :] >= y0[:, None]) & (ar[None, :] < y0[:, None] + c)
        out = out.view(b, side, side).masked_fill(iny[:, :, None] & inx[:, None, :], 0.0).view(b, -1)
    return out


def spread(z):
    """Effective rank and mean per-dimension std of the embeddings, and the
    collapse alarm, as trainer/metrics.go defines them (rank < 1.5 or mean
    std < 1e-3)."""
    z = z.double()
    zc = z - z.mean(0, keepdim=True)
    cov = zc.t() @ zc / (len(z) - 1)
    mean_std = float(cov.diagonal().clamp_min(0).sqrt().mean())
    ev = torch.linalg.eigvalsh(cov).clamp_min(0)
    tot = float(ev.sum())
    if tot <= 0:
        rank = 0.0
    else:
        p = ev / tot
        p = p[p > 0]
        rank = float(torch.exp(-(p * p.log()).sum()))
    return rank, mean_std, rank < 1.5 or mean_std < 1e-3


# ---------------------------------------------------------------- evaluation


def knn_accuracy(train, ytr, test, yte, k=5, n_classes=10):
    """Cosine kNN, majority vote; a tie goes to the tied class whose member
    comes first in the neighbour list (the nearest)."""
    train = F.normalize(train, dim=1)
    test = F.normalize(test, dim=1)
    # In chunks of test rows, so the similarity matrix stays small.
    nn_idx = np.concatenate([(test[i : i + 250] @ train.t()).topk(k, dim=1).indices.numpy()
                             for i in range(0, len(test), 250)])  # sorted, nearest first
    nl = ytr[nn_idx]  # [n_test, k]
    counts = np.zeros((len(nl), n_classes), dtype=np.int64)
    for j in range(k):
        np.add.at(counts, (np.arange(len(nl)), nl[:, j]), 1)
    best = counts.max(1)
    pred = np.empty(len(nl), dtype=np.int64)
    for i in range(len(nl)):
        for j in range(k):
            if counts[i, nl[i, j]] == best[i]:
                pred[i] = nl[i, j]
                break
    return float((pred == yte).mean())


@torch.no_grad()
def embed(model, x, chunk=2000):
    model.eval()
    out = torch.cat([model(x[i : i + chunk]) for i in range(0, len(x), chunk)])
    model.train()
    return out


# ---------------------------------------------------------------- main


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("FASHION_MNIST_DIR"),
                   help="folder with the Fashion-MNIST idx .gz files (env FASHION_MNIST_DIR); "
                        "see `dpkg -L dataset-fashion-mnist`")
    p.add_argument("--train", type=int, default=10000, help="first N training images")
    p.add_argument("--test", type=int, default=2000, help="first N test images")
    p.add_argument("--loss", default="supcon", choices=["supcon", "ntxent", "triplet", "contrastive"])
    p.add_argument("--pairs", default=None, choices=["labels", "augment"],
                   help="default: augment for ntxent, labels otherwise")
    p.add_argument("--mining", default="semihard", choices=["all", "hard", "semihard"])
    p.add_argument("--temperature", type=float, default=None,
                   help="default 0.1 for supcon, 0.5 for ntxent")
    p.add_argument("--margin", type=float, default=None,
                   help="default 0.2 for triplet, 1.0 for contrastive")
    p.add_argument("--shift", type=int, default=2, help="augment: max shift in pixels")
    p.add_argument("--noise", type=float, default=0.1, help="augment: gaussian noise std")
    p.add_argument("--rotate", type=float, default=0.0, help="augment: max rotation in degrees")
    p.add_argument("--cutout", type=int, default=0, help="augment: cutout square side in pixels")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch", type=int, default=256, help="rows per step (augment: items = batch/2)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--dim", type=int, default=32)
    p.add_argument("--hidden", default="256,128")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--last", default="fill", choices=["fill", "partial"],
                   help="last short batch of an epoch: top up to full size (fill) or keep it short")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--out", default=None, help="write OUT/metrics.json")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--check-losses", action="store_true",
                   help="check the fast triplet losses against the dense forms and exit")
    args = p.parse_args()
    if args.check_losses:
        check_losses()
        return 0

    if not args.data:
        raise SystemExit("torch_train.py: pass --data DIR or set FASHION_MNIST_DIR "
                         "(the folder of train-images-idx3-ubyte.gz; see `dpkg -L dataset-fashion-mnist`)")
    if args.pairs is None:
        args.pairs = "augment" if args.loss == "ntxent" else "labels"
    if args.temperature is None:
        args.temperature = 0.5 if args.loss == "ntxent" else 0.1
    if args.margin is None:
        args.margin = 1.0 if args.loss == "contrastive" else 0.2
    hidden = [int(h) for h in args.hidden.split(",") if h.strip()]

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    gen = torch.Generator().manual_seed(args.seed + 1)

    xtr_np, ytr, xte_np, yte = load_fashion(args.data, args.train, args.test)
    xtr = torch.from_numpy(xtr_np)
    xte = torch.from_numpy(xte_np)
    ytr_t = torch.from_numpy(ytr)
    n = len(xtr)

    raw_knn = knn_accuracy(xtr, ytr, xte, yte, k=args.k)

    model = Encoder(xtr.shape[1], hidden, args.dim)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = make_loss(args)

    augment_pairs = args.pairs == "augment"
    per_step = args.batch // 2 if augment_pairs else args.batch  # items per step
    steps = math.ceil(n / per_step)

    config = {
        "implementation": "pytorch",
        "torch_version": torch.__version__,
        "dataset": "fashion",
        "train_items": n,
        "test_items": len(xte),
        "loss": args.loss,
        "pairs": args.pairs,
        "mining": args.mining if args.loss == "triplet" else None,
        "temperature": args.temperature if args.loss in ("supcon", "ntxent") else None,
        "margin": args.margin if args.loss in ("triplet", "contrastive") else None,
        "augment": ({"shift": args.shift, "rotate": args.rotate, "noise": args.noise, "cutout": args.cutout}
                    if augment_pairs else None),
        "epochs": args.epochs,
        "batch": args.batch,
        "items_per_step": per_step,
        "steps_per_epoch": steps,
        "last_batch": args.last,
        "lr": args.lr,
        "optimizer": "adam",
        "dim": args.dim,
        "hidden": hidden,
        "seed": args.seed,
        "threads": args.threads,
        "knn_k": args.k,
        "knn_metric": "cosine",
    }
    result = {
        "config": config,
        "raw_knn_accuracy": raw_knn,
        "epochs": [],
        "peak_rss_mb": None,
        "rss_after_setup_mb": rss_mb(),
    }
    if not args.quiet:
        print(json.dumps({"config": config, "raw_knn_accuracy": raw_knn}), flush=True)

    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(n)
        batches = [order[i : i + per_step] for i in range(0, n, per_step)]
        if args.last == "fill" and len(batches[-1]) < per_step:
            # Top up from the start of the epoch's order, as the Go trainer
            # does (no duplicates within the batch while n >= 2 * per_step).
            need = per_step - len(batches[-1])
            batches[-1] = np.concatenate([batches[-1], order[:need]])
        batches = [torch.from_numpy(b) for b in batches]

        total = 0.0
        c0 = time.process_time()
        t0 = time.perf_counter()
        for idx in batches:
            x = xtr[idx]
            if augment_pairs:
                m = len(idx)
                x = augment(torch.cat([x, x]), args.shift, args.noise, gen, args.rotate, args.cutout)
                groups = torch.arange(m).repeat(2)
            else:
                groups = ytr_t[idx]
            z = model(x)
            loss = loss_fn(z, groups)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
        seconds = time.perf_counter() - t0
        cpu_seconds = time.process_time() - c0

        ztr = embed(model, xtr)
        zte = embed(model, xte)
        acc = knn_accuracy(ztr, ytr, zte, yte, k=args.k)
        rank, mean_std, collapsed = spread(ztr)
        row = {
            "epoch": epoch,
            "loss": total / len(batches),
            "knn_accuracy": acc,
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,  # CPU time of this process over the same steps
            "steps": len(batches),
            "effective_rank": rank,
            "mean_std": mean_std,
            "mean_cosine": float((ztr.mean(0) ** 2).sum()),  # mean pairwise cosine of train embeddings
            "collapsed": collapsed,
        }
        result["epochs"].append(row)
        if not args.quiet:
            print(json.dumps(row), flush=True)

    result["peak_rss_mb"] = rss_mb()
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "metrics.json"), "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
    if not args.quiet:
        print(json.dumps({"peak_rss_mb": result["peak_rss_mb"]}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
