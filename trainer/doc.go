// Package trainer trains small contrastive encoders in pure Go and reports,
// after every epoch, where each item of a dataset lands in embedding space.
//
// A Run owns one training: an MLP encoder whose outputs are L2-normalised
// (for sparse datasets, texts as hashed n-grams and interaction items as
// ids, behind an embedding bag whose output is the MLP's input), a Loss, a
// pair maker that builds each step's batch (from labels, from augmented
// views of each item, from both, from a word and its definition, or from
// items played by the same user), an optimiser (SGD, Adam or AdamW; lazy
// over the bag's touched rows) with a constant or cosine learning-rate
// schedule, and the metrics that tell a learner what is happening: held-out
// kNN accuracy against a raw-input baseline, recall@10 against popularity
// and random recommenders for interactions, alignment and uniformity,
// positive and negative distance histograms and a collapse alarm.
//
// A Run trains in the goroutine that calls Run.Run and publishes an immutable
// Epoch (metrics and the embeddings of every item) to its subscribers after
// each epoch, starting with epoch 0, the untrained encoder. It never blocks
// on a subscriber: a subscriber that falls behind loses its oldest pending
// epochs. Pause, Resume and Step control it from any goroutine; cancelling
// the context stops it within one training step.
//
// Everything random (initial weights, batch sampling, augmentations, the
// metrics probe) comes from math/rand/v2 PCG streams seeded by Config.Seed, so
// the same configuration on the same machine gives bit-for-bit the same
// metrics and embeddings. With EnableCheckpoints every epoch also carries
// the whole training state, from which Restore continues an interrupted run
// bit for bit. Config.MemoryEstimate says beforehand how much memory a run
// will hold.
//
// Matrix products go through package gemm; the training step allocates
// nothing once warm.
package trainer
