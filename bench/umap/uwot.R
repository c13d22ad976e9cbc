# Runs R's uwot on a TSV of vectors and writes the 2D layout as TSV.
# Usage: Rscript uwot.R IN.tsv OUT.tsv [THREADS]
# n_neighbors 15, min_dist 0.1, uwot's other defaults; THREADS (default 2)
# goes to both the neighbour search and the SGD (uwot's default SGD is
# single-threaded, for reproducibility).
args <- commandArgs(trailingOnly = TRUE)
suppressMessages(library(uwot))
x <- as.matrix(read.table(args[1], sep = "\t", header = FALSE, colClasses = "numeric"))
threads <- if (length(args) >= 3) as.integer(args[3]) else 2L
set.seed(1)
t0 <- proc.time()[["elapsed"]]
y <- umap(x, n_neighbors = 15, min_dist = 0.1, n_components = 2,
          n_threads = threads, n_sgd_threads = threads, verbose = FALSE)
t1 <- proc.time()[["elapsed"]]
write.table(y, args[2], sep = "\t", row.names = FALSE, col.names = FALSE)
cat(sprintf("umap_seconds %.3f\n", t1 - t0))
