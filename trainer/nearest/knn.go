package nearest

// KNN classifies items by the majority label of their K most similar
// training rows by cosine similarity. Among classes with equal votes, the
// one holding the best ranked neighbour wins. It keeps scratch buffers, so
// it is not safe for concurrent use.
type KNN struct {
	K      int
	train  *Rows
	labels []int32 // of the training rows, each in [0, classes)
	votes  []int
	hits   []Hit
	scores []float32
}

// chunk is how many queries are scored against all training rows at once,
// bounding the score buffer at chunk×ntrain.
const chunk = 256

// NewKNN returns a classifier over the training rows x (n×d, not copied;
// nil when only Vote is used)
// labelled by labels (n values, non-negative).
func NewKNN(x []float32, d int, labels []int32, k int) *KNN {
	classes := 0
	for _, l := range labels {
		classes = max(classes, int(l)+1)
	}
	return &KNN{K: k, train: NewRows(x, d), labels: labels, votes: make([]int, classes)}
}

// SetTrain replaces the training rows (same count and labels, new values:
// a trainer's next epoch), keeping the scratch buffers.
func (c *KNN) SetTrain(x []float32) { c.train = NewRows(x, c.train.Dim()) }

// Vote returns the label the K best scores vote for; scores holds one score
// per training row (any similarity: a caller with sparse rows scores them
// itself).
func (c *KNN) Vote(scores []float32) int32 {
	c.hits = topInto(c.hits, scores, c.K, nil)
	clear(c.votes)
	for _, h := range c.hits {
		c.votes[c.labels[h.Item]]++
	}
	top, label := -1, int32(-1)
	for _, h := range c.hits { // best first: a tie goes to the best ranked
		if l := c.labels[h.Item]; c.votes[l] > top {
			top, label = c.votes[l], l
		}
	}
	return label
}

// Accuracy returns the fraction of the test rows (len(labels)×d) whose
// vote is their label; 0 without test rows.
func (c *KNN) Accuracy(test []float32, labels []int32) float64 {
	n, ntest := c.train.Len(), len(labels)
	if ntest == 0 || n == 0 {
		return 0
	}
	if size := min(chunk, ntest) * n; cap(c.scores) < size {
		c.scores = make([]float32, size)
	}
	d := c.train.Dim()
	correct := 0
	for start := 0; start < ntest; start += chunk {
		rows := min(chunk, ntest-start)
		s := c.scores[:rows*n]
		c.train.Sims(test[start*d:(start+rows)*d], rows, s)
		for r := range rows {
			if c.Vote(s[r*n:(r+1)*n]) == labels[start+r] {
				correct++
			}
		}
	}
	return float64(correct) / float64(ntest)
}
