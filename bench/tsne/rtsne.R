# Runs Rtsne (the reference Barnes-Hut t-SNE) on a TSV of vectors and writes
# the 2D layout as TSV.
# Usage: Rscript rtsne.R IN.tsv OUT.tsv [THREADS]
args <- commandArgs(trailingOnly = TRUE)
suppressMessages(library(Rtsne))
x <- as.matrix(read.table(args[1], sep = "\t", header = FALSE, colClasses = "numeric"))
threads <- if (length(args) >= 3) as.integer(args[3]) else 1L
set.seed(1)
t0 <- proc.time()[["elapsed"]]
r <- Rtsne(x, dims = 2, perplexity = 30, theta = 0.5, max_iter = 1000,
           pca = FALSE, check_duplicates = FALSE, num_threads = threads,
           verbose = FALSE)
t1 <- proc.time()[["elapsed"]]
write.table(r$Y, args[2], sep = "\t", row.names = FALSE, col.names = FALSE)
cat(sprintf("tsne_seconds %.3f\n", t1 - t0))
cat(sprintf("reported_kl %.4f\n", tail(r$itercosts, 1)))
