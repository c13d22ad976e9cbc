package trainer

import (
	"encoding/json"
	"math/rand/v2"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// MemoryEstimate returns about how many bytes of memory a run of c on d
// holds at its peak, so that a server can refuse a configuration before it
// exhausts the machine. It fills in c's defaults as New does, so c need not
// be resolved; it must be valid for d (Validate), else the figure means
// nothing, and d must satisfy dataset.Validate.
//
// It counts what the run allocates: the encoder's parameters and gradients,
// the optimiser's moments, the embedding bag and its optimiser (sparse
// data), the activations of a batch, the two training batches and the
// metrics probe, the loss's scratch space (20·B² bytes for a batch of B
// rows, which dominates at large batches), the pair maker, the evaluator's
// kNN and recall scratch, what epoch 0 builds once (the raw-input kNN
// baseline copies the labelled items' features), and what every epoch
// allocates: the embeddings of all items (n×Dim float32) and a checkpoint
// (counted whether or not EnableCheckpoints is called), three times each,
// because while one epoch is measured the newest published epoch is still
// referenced and the one before it is garbage not yet collected (training
// steps allocate nothing, so the collector waits for the next epoch's
// allocations). Transient buffers are summed rather than overlapped, and a
// thirty-second is added for the allocator's rounding, so the figure errs
// high: by 5–65% on the configurations the tests measure.
//
// It does not count the dataset itself, the epochs a subscriber keeps,
// package gemm's packing buffers (shared by all runs of the process: about
// 4 MiB per goroutine multiplying at once), nor the garbage collector's
// headroom: with the default GOGC=100 the heap may grow to twice the live
// bytes between collections.
func (c Config) MemoryEstimate(d *dataset.Dataset) int64 {
	var total int64
	for _, p := range c.memoryParts(d) {
		total += p.bytes
	}
	return total
}

// memoryPart is one term of MemoryEstimate.
type memoryPart struct {
	what  string
	bytes int64
}

// Sizes in bytes of the values the run's slices hold.
const (
	sizeF32  = 4
	sizeF64  = 8
	sizeInt  = 8
	sizeI32  = 4
	sizeView = 8  // textRange
	sizeDist = 16 // distRow
	sizePost = 12 // sparseKNN's posting
)

// memoryParts lists MemoryEstimate's terms.
func (c Config) memoryParts(d *dataset.Dataset) []memoryPart {
	c = c.resolved(d)
	n, din, dim := int64(d.Len()), int64(d.Dim), int64(max(c.Dim, 1))
	var ntrain, labTrain, labTest, ntest int64
	for i, s := range d.Splits {
		labelled := i < len(d.Labels) && d.Labels[i] != dataset.NoLabel
		switch {
		case s == dataset.Train:
			ntrain++
			if labelled {
				labTrain++
			}
		case labelled:
			ntest++
			labTest++
		default:
			ntest++
		}
	}
	mode, views, rowsInt, _ := pairLayout(c)
	rows := int64(max(rowsInt, 1))
	hasKNN := labTrain > 0 && labTest > 0

	// The anchors an epoch walks, and the probe's rows.
	var anchors, plays, probe int64
	switch mode {
	case modeCooccur:
		plays = int64(countPlays(d))
		anchors = plays
		probe = 2 * min(probeItems/2, plays)
	case modeHeadword:
		anchors = int64(len(headwordItems(d, dataset.Train)))
		pool := int64(len(headwordItems(d, dataset.Test)))
		if pool < 64 {
			pool = anchors
		}
		probe = 2 * min(probeItems/2, pool)
	default:
		anchors = ntrain
		pool := ntest
		if pool < 64 {
			pool = ntrain
		}
		if c.Pairs == PairsLabels || c.Pairs == PairsLabelsAugment {
			probe = min(probeItems, pool)
		} else {
			probe = 2 * min(probeItems/2, pool)
		}
	}

	// The encoder: the MLP, and the bag in front of it for sparse data.
	in := din
	var vocab, embed, nnz, maxNNZ, maxText, words, headwords int64
	if d.Sparse != nil {
		rowsOfBag, hwNNZ := bagRows(d, mode == modeHeadword)
		vocab, embed, nnz = int64(rowsOfBag), int64(max(c.Embed, 0)), int64(d.Sparse.NNZ())
		in = embed
		for i := 0; i+1 < len(d.Sparse.Indptr); i++ {
			maxNNZ = max(maxNNZ, int64(d.Sparse.Indptr[i+1]-d.Sparse.Indptr[i]))
		}
		if mode == modeHeadword {
			maxNNZ = max(maxNNZ, int64(hwNNZ))
			for _, ws := range d.Headwords {
				headwords += int64(len(ws))
				for _, w := range ws {
					maxText = max(maxText, int64(len(w)))
				}
			}
		}
		if views && d.Kind == dataset.Text {
			for _, t := range d.Text {
				maxText = max(maxText, int64(len(t)))
				words += int64(len(t)+1) / 2 // a word and a separator take two bytes at least
			}
		}
	}
	sizes := append(append([]int64{in}, int64s(c.Hidden)...), dim)
	var params, acts, widest int64
	for l := 0; l+1 < len(sizes); l++ {
		params += sizes[l]*sizes[l+1] + sizes[l+1]
		acts += 2 * rows * sizes[l+1] * sizeF32 // activations and deltas
		widest = max(widest, sizes[l+1])
	}
	moments := int64(2) // Adam's m and v, or SGD's velocity alone
	if c.Optimizer == "sgd" {
		moments = 1
	}
	parts := []memoryPart{
		{"encoder", sizeF32 * (2*params + embedChunk*(2*widest+1) + rows*(dim+1))},
		{"activations", acts},
		{"optimiser", sizeF32 * moments * params},
	}
	if d.Sparse != nil {
		touched := min(rows*maxNNZ, vocab)
		parts = append(parts,
			memoryPart{"bag", sizeF32 * (vocab*embed + vocab + 2*rows*embed + embedChunk*embed + touched*(1+embed))},
			memoryPart{"bag optimiser", sizeF32 * moments * vocab * embed},
			memoryPart{"sparse inputs", sizeI32*din + sizeInt*(n+1) + (sizeI32+sizeF32)*nnz +
				// headwords' feature rows, built and then copied (about as many as the longest's each)
				2*(sizeInt*(headwords+1)+(sizeI32+sizeF32)*headwords*maxNNZ) + sizeInt*(n+1) +
				// text views' word spans, grown by appending
				2*sizeView*words + sizeInt*(n+1)},
		)
	}

	// The loss's workspace (see NewLoss), the batches and the gradient.
	parts = append(parts, memoryPart{"loss", (sizeF32+2*sizeF64)*rows*rows + sizeF64*(rows+2*(rows+1)) + 2*sizeDist*rows})
	batch := func(rows int64) int64 {
		b := (sizeInt+sizeI32+sizeView)*rows + sizeF32*rows*dim
		switch {
		case d.Sparse == nil:
			b += sizeF32 * rows * din
		default:
			b += (sizeI32+sizeF32)*rows*2*maxNNZ + sizeInt*(rows+1) + rows*maxText
			if mode == modeCooccur {
				b += sizeF64 * rows
			}
		}
		return b
	}
	parts = append(parts, memoryPart{"batches", 2*batch(rows) + batch(probe) + sizeF32*rows*dim})

	// The pair maker; epoch 0 builds a second one, and the probe a third.
	pairMaker := sizeInt * anchors
	if mode == modeClasses || mode == modePairs {
		pairMaker += 2 * sizeInt * ntrain // byClass, grown by appending
	}
	if mode == modeCooccur {
		pairMaker += (sizeI32+2*sizeI32)*plays + n + sizeF64*n
	}
	parts = append(parts, memoryPart{"pair maker", pairMaker})

	// The evaluator: kNN over the labelled items, the probe's Gram matrix,
	// recall@10 for interactions.
	eval := 2*sizeInt*(labTrain+labTest) + sizeF32*probe*probe
	if hasKNN {
		eval += sizeF32*(labTrain+labTest)*dim + sizeF32*knnChunk*labTrain
	}
	var users int64
	for u, h := range d.HeldOut {
		if h != dataset.NoLabel && u < len(d.Users) && len(d.Users[u]) > 0 {
			users++
		}
	}
	if users > 0 {
		chunk := min(knnChunk, max(recallScores/max(n, 1), 1))
		eval += sizeI32*n + 2*sizeInt*users + sizeF32*chunk*(dim+n) + sizeInt*n
	}
	parts = append(parts, memoryPart{"evaluator", eval})

	// Epoch 0 once: the raw-input kNN baseline and the pair makers of the
	// untrained loss and of the probe.
	raw := int64(0)
	if hasKNN {
		raw = sizeF32 * (labTrain + labTest) * din
		if d.Sparse != nil {
			var trainNNZ int64
			for i, s := range d.Splits {
				if s == dataset.Train && d.Labels[i] != dataset.NoLabel && i+1 < len(d.Sparse.Indptr) {
					trainNNZ += int64(d.Sparse.Indptr[i+1] - d.Sparse.Indptr[i])
				}
			}
			raw = 2*sizePost*trainNNZ + sizeF32*labTrain
		}
	}
	parts = append(parts, memoryPart{"epoch 0", raw + 2*pairMaker})

	// Every epoch: the embeddings of the epoch being measured, of the newest
	// published one and of the one before it, which is garbage from then on
	// but is only collected once the next epoch allocates (training steps
	// allocate nothing); the centred copy of the collapse metrics, the
	// covariance and its eigendecomposition; three checkpoints likewise.
	parts = append(parts,
		memoryPart{"embeddings", 4*sizeF32*n*dim + (sizeF32+4*sizeF64)*dim*dim},
		memoryPart{"checkpoints", 3 * checkpointSize(c, params, moments, vocab*embed, anchors)})

	// The allocator rounds sizes up to its size classes, and the heap holds
	// some garbage between a collection's start and its sweep.
	var sum int64
	for _, p := range parts {
		sum += p.bytes
	}
	return append(parts, memoryPart{"slack", sum/32 + 256<<10})
}

// checkpointSize is the length of a checkpoint of a run of cfg (resolved)
// with params MLP parameters, moments optimiser arrays as long, a bag of
// bag values (0 for none) and anchors anchors: the sections encode writes.
func checkpointSize(cfg Config, params, moments, bag, anchors int64) int64 {
	config, _ := json.Marshal(cfg)
	pcg, _ := rand.NewPCG(0, 0).MarshalBinary()
	size := int64(headerLen + 4)
	for _, payload := range []int64{int64(len(config)), dataLen, progressLen, int64(2 * len(pcg)), sizeF32 * anchors} {
		size += sectionHead + payload
	}
	size += sectionHead // the second stream's
	size += (1 + moments) * (sectionHead + sizeF32*params)
	if bag > 0 {
		size += (1 + moments) * (sectionHead + sizeF32*bag)
	}
	return size
}

func int64s(xs []int) []int64 {
	out := make([]int64, len(xs))
	for i, x := range xs {
		out[i] = int64(max(x, 1))
	}
	return out
}
