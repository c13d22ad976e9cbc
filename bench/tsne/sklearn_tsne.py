"""Runs scikit-learn's Barnes-Hut TSNE on a TSV of vectors and writes the 2D
layout as TSV.

Usage: python3 sklearn_tsne.py IN.tsv OUT.tsv [N_JOBS]
"""
import inspect
import sys
import time

import numpy as np
from sklearn.manifold import TSNE


def main():
    x = np.loadtxt(sys.argv[1], delimiter="\t", dtype=np.float32)
    n_jobs = int(sys.argv[3]) if len(sys.argv) > 3 else None
    iters = "max_iter" if "max_iter" in inspect.signature(TSNE).parameters else "n_iter"
    tsne = TSNE(n_components=2, perplexity=30.0, angle=0.5, init="pca",
                learning_rate="auto", method="barnes_hut", random_state=1,
                n_jobs=n_jobs, **{iters: 1000})
    t0 = time.perf_counter()
    y = tsne.fit_transform(x)
    t1 = time.perf_counter()
    np.savetxt(sys.argv[2], y, delimiter="\t", fmt="%.9g")
    print(f"tsne_seconds {t1 - t0:.3f}")
    print(f"reported_kl {tsne.kl_divergence_:.4f}")


if __name__ == "__main__":
    main()
