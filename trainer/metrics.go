package trainer

import (
	"cmp"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
	"github.com/contrastive-explorer/explorer/trainer/gemm"
	"github.com/contrastive-explorer/explorer/trainer/nearest"
)

// Metrics describes the encoder after one epoch. Loss and Seconds are about
// the epoch's training steps; everything else is measured after them, on the
// encoder as it then is, and is not included in Seconds.
type Metrics struct {
	// Loss is the mean training loss over the epoch's steps. For epoch 0 it
	// is the mean loss of the untrained encoder over the first 16 batches
	// of an epoch (fewer if the epoch is shorter), computed without updating
	// anything.
	Loss float64 `json:"loss"`

	// KNNAccuracy is the fraction of labelled held-out items whose label is
	// the majority label of their 5 nearest training items by cosine
	// similarity of embeddings (ties: the class of the nearest tied
	// neighbour). RawKNNAccuracy is the same on the raw input features, the
	// baseline an encoder should beat; it does not change between epochs.
	// Both are 0 when HasKNN is false: the dataset has no labelled held-out
	// or training items. The raw features of text are its hashed n-gram
	// weights, compared by sparse cosine similarity; those of interactions
	// are one-hot item ids, which are all orthogonal, so there the raw
	// baseline is a constant guess (the majority of the first 5 training
	// items).
	KNNAccuracy    float64 `json:"knn_accuracy"`
	RawKNNAccuracy float64 `json:"raw_knn_accuracy"`
	HasKNN         bool    `json:"has_knn"`

	// RecallAt10 is, for interactions, the fraction of users whose held-out
	// play is among the 10 items the embeddings recommend: the items most
	// cosine-similar to the mean embedding of the user's training plays,
	// leaving out items the user already played. PopularityRecallAt10 is the
	// same for recommending the 10 most played items the user has not
	// played, and RandomRecallAt10 the expectation for 10 items drawn at
	// random from those the user has not played: the two baselines, which
	// do not change between epochs. Ties rank the lower item index first.
	// All are 0 when HasRecall is false: the dataset has no users with a
	// held-out play.
	RecallAt10           float64 `json:"recall_at_10"`
	PopularityRecallAt10 float64 `json:"popularity_recall_at_10"`
	RandomRecallAt10     float64 `json:"random_recall_at_10"`
	HasRecall            bool    `json:"has_recall"`

	// Alignment is E‖f(x)−f(y)‖² over positive pairs of the probe batch and
	// Uniformity is log E exp(−2‖f(x)−f(y)‖²) over all its pairs (Wang &
	// Isola 2020, α = 2, t = 2). Lower is better for both; uniformity of
	// points spread evenly on the sphere approaches −4 in high dimensions,
	// and a collapsed encoder scores 0 on both.
	Alignment  float64 `json:"alignment"`
	Uniformity float64 `json:"uniformity"`

	// PosDistance and NegDistance are the mean Euclidean distances of the
	// probe's positive and negative pairs, and PosHist and NegHist count
	// them in HistBins equal bins over [0, 2] (the diameter of the unit
	// sphere).
	PosDistance float64 `json:"pos_distance"`
	NegDistance float64 `json:"neg_distance"`
	PosHist     []int   `json:"pos_hist"`
	NegHist     []int   `json:"neg_hist"`

	// EffectiveRank is exp of the entropy of the normalised eigenvalues of
	// the covariance of all items' embeddings (Roy & Vetterli 2007): 1 when
	// they lie on a line, D when they fill every direction equally. MeanStd
	// is the mean over dimensions of the embeddings' standard deviation.
	// Collapsed is true when EffectiveRank < CollapseRank or
	// MeanStd < CollapseStd: the encoder maps (nearly) everything to one
	// point or one line, and the loss can no longer tell items apart.
	EffectiveRank float64 `json:"effective_rank"`
	MeanStd       float64 `json:"mean_std"`
	Collapsed     bool    `json:"collapsed"`

	// Seconds is the wall time of the epoch's training steps only (0 for
	// epoch 0); Steps is their number and LR the learning rate of the last.
	// CPUSeconds is the CPU time (user + system) the whole process spent
	// over those same steps, summed over all its threads (so with several
	// gemm threads it can exceed Seconds); unlike wall time it hardly grows
	// when other jobs share the machine. Work of other goroutines of the
	// process in those intervals (a web server's, the garbage collector's)
	// counts too. It is 0 where the platform does not report it.
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds"`
	Steps      int     `json:"steps"`
	LR         float64 `json:"lr"`
}

// The collapse alarm's thresholds. An effective rank under 1.5 means one
// direction holds most of the variance; a mean per-dimension standard
// deviation under 1e-3 means the unit-norm embeddings all sit within about
// a thousandth of the sphere's radius of one point (spread-out embeddings in
// D dimensions have a standard deviation near 1/sqrt(D) per dimension).
const (
	CollapseRank = 1.5
	CollapseStd  = 1e-3
)

// HistBins is the number of bins of Metrics.PosHist and NegHist.
const HistBins = 40

// knnK is the number of neighbours of the kNN classifier.
const knnK = 5

// knnChunk is how many held-out rows are scored against all training rows
// at once, bounding the score matrix at knnChunk×ntrain.
const knnChunk = 256

// recallK is the length of the recommendation lists of RecallAt10.
const recallK = 10

// recallScores bounds the user×item score matrix recall works on at once
// (16 MiB of float32).
const recallScores = 1 << 22

// evaluator computes the per-epoch metrics of one run on one dataset.
type evaluator struct {
	d             *dataset.Dataset
	train         []int // training indices with a label
	test          []int // held-out indices with a label
	classes       int
	trainEmb      []float32 // ntrain×D scratch
	testEmb       []float32 // ntest×D scratch
	trainLabels   []int32   // labels of train
	testLabels    []int32   // labels of test
	classifier    *nearest.KNN
	classifierDim int
	rawKNN        float64
	rawDone       bool
	probeGram     []float32
	probeDists    []float32

	// Recall: users with a held-out play and training plays, per item the
	// last user (index+1 in users) that played it, and the baselines.
	users      []int
	stamp      []int32
	query      []float32 // knnChunk×D
	recScores  []float32 // knnChunk×n
	popRecall  float64
	randRecall float64
}

func newEvaluator(d *dataset.Dataset) *evaluator {
	e := &evaluator{d: d, classes: len(d.ClassNames)}
	for i, s := range d.Splits {
		if d.Labels[i] == dataset.NoLabel {
			continue
		}
		if s == dataset.Train {
			e.train = append(e.train, i)
			e.trainLabels = append(e.trainLabels, d.Labels[i])
		} else {
			e.test = append(e.test, i)
			e.testLabels = append(e.testLabels, d.Labels[i])
		}
	}
	for u, h := range d.HeldOut {
		if h != dataset.NoLabel && len(d.Users[u]) > 0 {
			e.users = append(e.users, u)
		}
	}
	if len(e.users) > 0 {
		e.stamp = make([]int32, d.Len())
		e.baselines()
	}
	return e
}

func (e *evaluator) hasKNN() bool { return len(e.train) > 0 && len(e.test) > 0 }

func (e *evaluator) hasRecall() bool { return len(e.users) > 0 }

// rawAccuracy returns the kNN accuracy on raw input features, computing it
// on first use: dense features by the cosine similarity of package nearest,
// sparse features by sparse cosine similarity.
func (e *evaluator) rawAccuracy() float64 {
	if e.rawDone || !e.hasKNN() {
		return e.rawKNN
	}
	if e.d.Sparse != nil {
		e.rawKNN = e.sparseKNN()
		e.rawDone = true
		return e.rawKNN
	}
	dim := e.d.Dim
	gather := func(idx []int) []float32 {
		out := make([]float32, len(idx)*dim)
		for r, i := range idx {
			copy(out[r*dim:(r+1)*dim], e.d.Row(i))
		}
		return out
	}
	e.rawKNN = e.knn(gather(e.train), gather(e.test), dim)
	e.rawDone = true
	return e.rawKNN
}

// sparseKNN is the kNN accuracy on the sparse features by cosine
// similarity, through an inverted index of the training items' features:
// each held-out item's scores accumulate over the training items sharing a
// feature with it.
func (e *evaluator) sparseKNN() float64 {
	type posting struct {
		col int32
		pos int32 // position in e.train
		val float32
	}
	norm := func(vals []float32) float32 {
		var ss float64
		for _, v := range vals {
			ss += float64(v) * float64(v)
		}
		if ss == 0 {
			return 0
		}
		return float32(1 / math.Sqrt(ss))
	}
	var index []posting
	for pos, i := range e.train {
		cols, vals := e.d.SparseRow(i)
		inv := norm(vals)
		for k, c := range cols {
			index = append(index, posting{c, int32(pos), vals[k] * inv})
		}
	}
	slices.SortFunc(index, func(a, b posting) int { return cmp.Compare(a.col, b.col) })
	scores := make([]float32, len(e.train))
	voter := nearest.NewKNN(nil, 1, e.trainLabels, knnK)
	correct := 0
	for _, q := range e.test {
		clear(scores)
		cols, vals := e.d.SparseRow(q)
		inv := norm(vals)
		for k, c := range cols {
			j, _ := slices.BinarySearchFunc(index, c, func(p posting, c int32) int { return cmp.Compare(p.col, c) })
			for ; j < len(index) && index[j].col == c; j++ {
				scores[index[j].pos] += vals[k] * inv * index[j].val
			}
		}
		if voter.Vote(scores) == e.d.Labels[q] {
			correct++
		}
	}
	return float64(correct) / float64(len(e.test))
}

// embeddingKNN returns the kNN accuracy of the held-out items using the
// embeddings emb (n×d for all items, dataset order).
func (e *evaluator) embeddingKNN(emb []float32, d int) float64 {
	if !e.hasKNN() {
		return 0
	}
	e.trainEmb = gatherRows(e.trainEmb, emb, e.train, d)
	e.testEmb = gatherRows(e.testEmb, emb, e.test, d)
	return e.knn(e.trainEmb, e.testEmb, d)
}

func gatherRows(dst, src []float32, idx []int, d int) []float32 {
	if cap(dst) < len(idx)*d {
		dst = make([]float32, len(idx)*d)
	}
	dst = dst[:len(idx)*d]
	for r, i := range idx {
		copy(dst[r*d:(r+1)*d], src[i*d:(i+1)*d])
	}
	return dst
}

// knn returns the kNN accuracy of the held-out rows test (ntest×d) against
// the training rows train (ntrain×d), both in e.train and e.test order.
func (e *evaluator) knn(train, test []float32, d int) float64 {
	if e.classifier == nil || e.classifierDim != d {
		e.classifier, e.classifierDim = nearest.NewKNN(train, d, e.trainLabels, knnK), d
	} else {
		e.classifier.SetTrain(train)
	}
	return e.classifier.Accuracy(test, e.testLabels)
}

// baselines computes the popularity and random recommenders' recall.
func (e *evaluator) baselines() {
	d, n := e.d, e.d.Len()
	plays := make([]int, n)
	for _, items := range d.Users {
		for _, it := range items {
			plays[it]++
		}
	}
	var pop, rnd float64
	for k, u := range e.users {
		distinct := e.mark(k, u)
		h := int(d.HeldOut[u])
		if e.played(k, h) {
			continue
		}
		rnd += min(1, float64(recallK)/float64(n-distinct))
		rank := 0
		for j, c := range plays {
			if (c > plays[h] || c == plays[h] && j < h) && !e.played(k, j) {
				rank++
			}
		}
		if rank < recallK {
			pop++
		}
	}
	e.popRecall = pop / float64(len(e.users))
	e.randRecall = rnd / float64(len(e.users))
}

// mark records the training plays of users[k] in stamp and returns how many
// distinct items they are.
func (e *evaluator) mark(k, u int) int {
	distinct := 0
	for _, it := range e.d.Users[u] {
		if e.stamp[it] != int32(k+1) {
			e.stamp[it] = int32(k + 1)
			distinct++
		}
	}
	return distinct
}

// played reports whether users[k], marked last, played item j.
func (e *evaluator) played(k, j int) bool { return e.stamp[j] == int32(k+1) }

// recall returns RecallAt10 for the embeddings emb (n×d, unit rows): each
// user's query is the sum of the embeddings of their training plays (the
// mean up to a positive factor, which does not change the ranking by
// cosine similarity), scored against every item in chunks of users.
func (e *evaluator) recall(emb []float32, d int) float64 {
	n := e.d.Len()
	chunk := min(knnChunk, max(recallScores/n, 1)) // users scored at once
	if e.query == nil {
		e.query = make([]float32, chunk*d)
		e.recScores = make([]float32, chunk*n)
	}
	hits := 0
	for start := 0; start < len(e.users); start += chunk {
		users := e.users[start:min(start+chunk, len(e.users))]
		q := e.query[:len(users)*d]
		clear(q)
		for r, u := range users {
			for _, it := range e.d.Users[u] {
				axpy(q[r*d:(r+1)*d], 1, emb[int(it)*d:(int(it)+1)*d])
			}
		}
		s := e.recScores[:len(users)*n]
		gemm.Sgemm(false, true, len(users), n, d, 1, q, d, emb, d, 0, s, n)
		for r, u := range users {
			k := start + r
			e.mark(k, u)
			h := int(e.d.HeldOut[u])
			if e.played(k, h) {
				continue
			}
			row := s[r*n : (r+1)*n]
			sh, rank := row[h], 0
			for j, v := range row {
				if (v > sh || v == sh && j < h) && !e.played(k, j) {
					if rank++; rank >= recallK {
						break
					}
				}
			}
			if rank < recallK {
				hits++
			}
		}
	}
	return float64(hits) / float64(len(e.users))
}

// probeMetrics fills the alignment, uniformity and distance fields of m from
// the embeddings z (rows×d) of the probe batch with the given groups.
func (e *evaluator) probeMetrics(m *Metrics, z []float32, rows, d int, groups []int32) {
	if cap(e.probeGram) < rows*rows {
		e.probeGram = make([]float32, rows*rows)
	}
	g := e.probeGram[:rows*rows]
	gemm.Sgemm(false, true, rows, rows, d, 1, z, d, z, d, 0, g, rows)
	m.PosHist = make([]int, HistBins)
	m.NegHist = make([]int, HistBins)
	var posSum, posSq, negSum, allExp float64
	var npos, nneg int
	for i := 0; i < rows; i++ {
		for j := i + 1; j < rows; j++ {
			// ‖zi − zj‖² from the Gram matrix, clamped against rounding.
			sq := max(float64(g[i*rows+i]+g[j*rows+j]-2*g[i*rows+j]), 0)
			dist := math.Sqrt(sq)
			bin := min(int(dist/2*HistBins), HistBins-1)
			allExp += math.Exp(-2 * sq)
			if groups[i] == groups[j] {
				npos++
				posSum += dist
				posSq += sq
				m.PosHist[bin]++
			} else {
				nneg++
				negSum += dist
				m.NegHist[bin]++
			}
		}
	}
	if npos > 0 {
		m.Alignment = posSq / float64(npos)
		m.PosDistance = posSum / float64(npos)
	}
	if nneg > 0 {
		m.NegDistance = negSum / float64(nneg)
	}
	if npos+nneg > 0 {
		m.Uniformity = math.Log(allExp / float64(npos+nneg))
	}
}

// spread fills the collapse fields of m from the embeddings of all items
// (n×d). classes is the number of classes the pairs pull together (0 when
// the pairs do not come from labels): two or three classes, drawn each to
// its own point, span a line or a plane, which is success, not collapse, so
// only the spread alarm applies to them.
func spread(m *Metrics, emb []float32, n, d, classes int) {
	if n < 2 {
		return
	}
	mean := make([]float64, d)
	for r := 0; r < n; r++ {
		for j, v := range emb[r*d : (r+1)*d] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	// Centre before the product so a collapsed encoder's covariance is
	// its tiny true value, not the rounding error of E[zzᵀ] − μμᵀ.
	centred := make([]float32, n*d)
	for r := 0; r < n; r++ {
		for j, v := range emb[r*d : (r+1)*d] {
			centred[r*d+j] = float32(float64(v) - mean[j])
		}
	}
	cov32 := make([]float32, d*d)
	gemm.Sgemm(true, false, d, d, n, float32(1/float64(n-1)), centred, d, centred, d, 0, cov32, d)
	cov := mat.NewSymDense(d, nil)
	var stdSum float64
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			cov.SetSym(i, j, float64(cov32[i*d+j]+cov32[j*d+i])/2)
		}
		stdSum += math.Sqrt(max(float64(cov32[i*d+i]), 0))
	}
	m.MeanStd = stdSum / float64(d)
	m.EffectiveRank = effectiveRank(cov)
	flat := m.EffectiveRank < CollapseRank && (classes == 0 || classes > 3)
	m.Collapsed = flat || m.MeanStd < CollapseStd
}

// effectiveRank is exp(−Σ pᵢ log pᵢ) with pᵢ the covariance's eigenvalues
// (negatives from rounding clamped to 0) divided by their sum; 0 when they
// are all 0.
func effectiveRank(cov *mat.SymDense) float64 {
	var eig mat.EigenSym
	if !eig.Factorize(cov, false) {
		return 0
	}
	vals := eig.Values(nil)
	var total float64
	for _, v := range vals {
		total += max(v, 0)
	}
	if total <= 0 {
		return 0
	}
	var h float64
	for _, v := range vals {
		if p := max(v, 0) / total; p > 0 {
			h -= p * math.Log(p)
		}
	}
	return math.Exp(h)
}
