package trainer

import (
	"math"
	"math/rand/v2"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// batch is one training step's input: rows dataset rows, their input
// vectors and their positive groups, plus the embeddings the step computed
// for them (kept for ExamplePairs).
type batch struct {
	rows   []int     // B dataset indices
	x      []float32 // B×Dim inputs as fed to the encoder (augmented views in augment mode)
	groups []int32   // B group ids: rows i≠j are positives iff groups equal
	z      []float32 // B×D embeddings from the step's forward pass
}

func newBatch(b, dim, d int) *batch {
	return &batch{
		rows:   make([]int, b),
		x:      make([]float32, b*dim),
		groups: make([]int32, b),
		z:      make([]float32, b*d),
	}
}

// pairMaker builds the batches of a run. Each epoch walks the training items
// in a fresh shuffled order, consuming perStep items per step, so an epoch is
// ceil(ntrain/perStep) steps; the last step of an epoch tops up from the
// start of the same order so every batch has the same number of rows.
//
// The three ways of building a batch of B rows:
//
//   - pairs=labels (supcon, contrastive, triplet): B items, groups = class.
//     A row that would be the only one of its class in the batch gets a
//     random same-class training item as a partner, which replaces a row of a
//     class with at least three rows (or another lone row), so every row has
//     a positive whenever its class has two training items. The sampling is
//     otherwise uniform over items, not balanced over classes.
//   - pairs=labels with ntxent: B/2 anchors, each followed by a random other
//     training item of its class; groups = pair id. Same-class rows of other
//     pairs count as negatives: the classic N-pair / InfoNCE setup, where the
//     label only chooses the positive.
//   - pairs=augment (any loss): B/2 items, each as two independently
//     augmented views in adjacent rows; groups = pair id.
//
// An odd B in the paired modes uses B−1 rows.
type pairMaker struct {
	d       *dataset.Dataset
	mode    int
	rows    int // rows per batch
	perStep int // training items consumed per step
	order   []int
	pos     int
	byClass [][]int // training indices per class (labels modes)
	counts  []int   // per-class scratch for the current batch
	rng     *rand.Rand
	augRNG  *rand.Rand
	aug     *Augmenter
}

const (
	modeClasses = iota // labels, groups = class
	modePairs          // labels, pairs of same-class items (ntxent)
	modeViews          // augment, two views per item
)

func newPairMaker(cfg Config, d *dataset.Dataset, rng, augRNG *rand.Rand) *pairMaker {
	p := &pairMaker{d: d, rng: rng, augRNG: augRNG, order: d.Indices(dataset.Train)}
	switch {
	case cfg.Pairs == "augment":
		p.mode = modeViews
		a := DefaultAugment(d.Kind, d.Width, d.Height, cfg.Augment)
		p.aug = NewAugmenter(a, d.Kind, d.Width, d.Height)
	case cfg.Loss == "ntxent":
		p.mode = modePairs
	default:
		p.mode = modeClasses
	}
	if p.mode == modeClasses {
		p.rows, p.perStep = cfg.Batch, cfg.Batch
	} else {
		p.perStep = max(cfg.Batch/2, 1)
		p.rows = 2 * p.perStep
	}
	if p.mode != modeViews {
		p.byClass = make([][]int, len(d.ClassNames))
		for _, i := range p.order {
			l := d.Labels[i]
			p.byClass[l] = append(p.byClass[l], i)
		}
		p.counts = make([]int, len(d.ClassNames))
	}
	return p
}

// stepsPerEpoch is ceil(ntrain / perStep).
func (p *pairMaker) stepsPerEpoch() int { return (len(p.order) + p.perStep - 1) / p.perStep }

// beginEpoch reshuffles the training order (Fisher–Yates, the same draws
// as rand.Shuffle without its closure's allocation).
func (p *pairMaker) beginEpoch() {
	for i := len(p.order) - 1; i > 0; i-- {
		j := p.rng.IntN(i + 1)
		p.order[i], p.order[j] = p.order[j], p.order[i]
	}
	p.pos = 0
}

// nextItem returns the next training item of the epoch's order, wrapping to
// its start for the top-up of the last step.
func (p *pairMaker) nextItem() int {
	if p.pos >= len(p.order) {
		p.pos = 0
	}
	i := p.order[p.pos]
	p.pos++
	return i
}

// fill builds the next batch into b, which has room for p.rows rows.
func (p *pairMaker) fill(b *batch) {
	switch p.mode {
	case modeClasses:
		for r := 0; r < p.rows; r++ {
			b.rows[r] = p.nextItem()
		}
		p.partnerLoners(b.rows[:p.rows])
		for r, i := range b.rows[:p.rows] {
			b.groups[r] = p.d.Labels[i]
		}
	case modePairs:
		for k := 0; k < p.perStep; k++ {
			a := p.nextItem()
			b.rows[2*k], b.rows[2*k+1] = a, p.partner(a)
			b.groups[2*k], b.groups[2*k+1] = int32(k), int32(k)
		}
	case modeViews:
		for k := 0; k < p.perStep; k++ {
			i := p.nextItem()
			b.rows[2*k], b.rows[2*k+1] = i, i
			b.groups[2*k], b.groups[2*k+1] = int32(k), int32(k)
		}
	}
	p.inputs(b)
}

// inputs copies (classes, pairs) or augments (views) each row's features.
func (p *pairMaker) inputs(b *batch) {
	dim := p.d.Dim
	for r, i := range b.rows[:p.rows] {
		dst := b.x[r*dim : (r+1)*dim]
		if p.mode == modeViews {
			p.aug.Apply(dst, p.d.Row(i), p.augRNG)
		} else {
			copy(dst, p.d.Row(i))
		}
	}
}

// partner returns a random training item of a's class other than a, or a
// itself when the class has no other.
func (p *pairMaker) partner(a int) int {
	members := p.byClass[p.d.Labels[a]]
	if len(members) < 2 {
		return a
	}
	for {
		j := members[p.rng.IntN(len(members))]
		if j != a {
			return j
		}
	}
}

// partnerLoners gives every row whose class appears once in rows a
// same-class partner (see pairMaker).
func (p *pairMaker) partnerLoners(rows []int) {
	clear(p.counts)
	for _, i := range rows {
		p.counts[p.d.Labels[i]]++
	}
	for r, i := range rows {
		c := p.d.Labels[i]
		if p.counts[c] != 1 || len(p.byClass[c]) < 2 {
			continue
		}
		v := p.victim(rows, r)
		if v < 0 {
			return
		}
		p.counts[p.d.Labels[rows[v]]]--
		rows[v] = p.partner(i)
		p.counts[c]++
	}
}

// victim picks the row to give up for a partner of row r: the last row of a
// class with at least three rows, else the last other lone row; -1 if none.
func (p *pairMaker) victim(rows []int, r int) int {
	lone := -1
	for v := len(rows) - 1; v >= 0; v-- {
		n := p.counts[p.d.Labels[rows[v]]]
		if n >= 3 {
			return v
		}
		if n == 1 && v != r && lone < 0 {
			lone = v
		}
	}
	return lone
}

// probeItems is how many items the metrics probe holds (twice as many rows
// in augment mode).
const probeItems = 512

// newProbe builds the fixed batch that alignment, uniformity and the
// distance histograms are measured on, from its own random stream so it is
// the same every epoch: up to probeItems held-out items (training items when
// fewer than 64 are held out). With pairs=labels, rows are items and groups
// their classes (positives = same class; unlabelled items are grouped alone);
// with pairs=augment, each of up to probeItems/2 items appears as two
// augmented views grouped together.
func newProbe(cfg Config, d *dataset.Dataset, rng *rand.Rand) *batch {
	pool := d.Indices(dataset.Test)
	if len(pool) < 64 {
		pool = d.Indices(dataset.Train)
	}
	views := cfg.Pairs == "augment"
	n := min(probeItems, len(pool))
	if views {
		n = min(probeItems/2, len(pool))
	}
	for i := 0; i < n; i++ { // partial Fisher–Yates: pool[:n] is a random sample
		j := i + rng.IntN(len(pool)-i)
		pool[i], pool[j] = pool[j], pool[i]
	}
	items := pool[:n]
	rows := n
	if views {
		rows = 2 * n
	}
	b := newBatch(rows, d.Dim, cfg.Dim)
	if views {
		aug := NewAugmenter(DefaultAugment(d.Kind, d.Width, d.Height, cfg.Augment), d.Kind, d.Width, d.Height)
		for k, i := range items {
			for v := 0; v < 2; v++ {
				r := 2*k + v
				b.rows[r], b.groups[r] = i, int32(k)
				aug.Apply(b.x[r*d.Dim:(r+1)*d.Dim], d.Row(i), rng)
			}
		}
		return b
	}
	for r, i := range items {
		b.rows[r] = i
		b.groups[r] = d.Labels[i]
		if b.groups[r] == dataset.NoLabel {
			b.groups[r] = math.MinInt32 + int32(r)
		}
		copy(b.x[r*d.Dim:(r+1)*d.Dim], d.Row(i))
	}
	return b
}

// PairExample is one pair of rows from the most recent training batch, for
// showing a learner what the loss is looking at.
type PairExample struct {
	A, B     int       // dataset row indices of the two sides
	XA, XB   []float32 // the input vectors fed to the encoder (augmented views in augment mode)
	Positive bool      // whether the loss treated the pair as positive
	Distance float64   // Euclidean distance of their embeddings in that step's forward pass, in [0, 2]
}

// examplePairs picks up to n pairs (at most one per row) from b (rows rows,
// input dimension dim, embedding dimension d): half positives (the first positive partner of
// rows spread over the batch) and the rest negatives, deterministically. The
// vectors are copies.
func examplePairs(b *batch, rows, dim, d, n int) []PairExample {
	if n <= 0 || rows < 2 {
		return nil
	}
	n = min(n, rows)
	out := make([]PairExample, 0, n)
	add := func(i, j int, pos bool) {
		var ss float64
		for k := 0; k < d; k++ {
			diff := float64(b.z[i*d+k] - b.z[j*d+k])
			ss += diff * diff
		}
		out = append(out, PairExample{
			A: b.rows[i], B: b.rows[j],
			XA:       append([]float32(nil), b.x[i*dim:(i+1)*dim]...),
			XB:       append([]float32(nil), b.x[j*dim:(j+1)*dim]...),
			Positive: pos, Distance: math.Sqrt(ss),
		})
	}
	wantPos := (n + 1) / 2
	stride := max(rows/n, 1)
	for s := 0; s < rows && len(out) < wantPos; s++ {
		i := (s * stride) % rows
		for j := 0; j < rows; j++ {
			if j != i && b.groups[j] == b.groups[i] {
				add(i, j, true)
				break
			}
		}
	}
	for s := 0; s < rows && len(out) < n; s++ {
		i := (s * stride) % rows
		for k := 1; k < rows; k++ {
			j := (i + rows/2 + k) % rows
			if b.groups[j] != b.groups[i] {
				add(i, j, false)
				break
			}
		}
	}
	return out
}
