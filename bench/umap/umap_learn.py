"""Runs umap-learn on a TSV of vectors and writes the 2D layout as TSV.

Usage: python3 umap_learn.py IN.tsv OUT.tsv

n_neighbors 15, min_dist 0.1, umap-learn's other defaults (spectral
initialisation, its epochs). No random_state, so numba runs the SGD on
every core: umap-learn's fastest setting. A fit of 300 random points first
compiles numba's functions, so umap_seconds times the fit itself, not the
compilation (the process's wall time includes both).
"""
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")
import umap  # noqa: E402


def main():
    x = np.loadtxt(sys.argv[1], delimiter="\t", dtype=np.float32)
    umap.UMAP(n_neighbors=15, min_dist=0.1).fit_transform(
        np.random.default_rng(0).normal(size=(300, x.shape[1])).astype(np.float32))
    t0 = time.perf_counter()
    y = umap.UMAP(n_neighbors=15, min_dist=0.1, n_components=2).fit_transform(x)
    t1 = time.perf_counter()
    np.savetxt(sys.argv[2], y, delimiter="\t", fmt="%.9g")
    print(f"umap_seconds {t1 - t0:.3f}")


if __name__ == "__main__":
    main()
