package trainer

import (
	"math"
	"math/rand/v2"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// batch is one training step's input: rows dataset rows, their input
// features and their positive groups, plus the embeddings the step computed
// for them (kept for ExamplePairs).
type batch struct {
	rows   []int      // B dataset indices
	x      []float32  // B×Dim dense inputs as fed to the encoder (augmented views when augmenting); dense datasets
	sp     sparseRows // B sparse input rows in bag rows; sparse datasets
	groups []int32    // B group ids: rows i≠j are positives iff groups equal
	z      []float32  // B×D embeddings from the step's forward pass
	logQ   []float64  // cooccur: B log-probabilities that each row's item is in a batch; nil otherwise

	// Text datasets: row r was fed the text text[views[r].from:views[r].to]
	// (an augmented view or a headword), or its item's own text when from
	// is -1.
	text  []byte
	views []textRange
}

// textRange is a byte range of batch.text; from -1 means none.
type textRange struct{ from, to int32 }

// newBatch returns a batch of b rows: dense inputs of dim features, or
// sparse ones when dim is 0; embeddings of dimension d.
func newBatch(b, dim, d int) *batch {
	bt := &batch{
		rows:   make([]int, b),
		x:      make([]float32, b*dim),
		groups: make([]int32, b),
		z:      make([]float32, b*d),
		views:  make([]textRange, b),
	}
	for r := range bt.views {
		bt.views[r] = textRange{-1, 0}
	}
	bt.sp.reset()
	return bt
}

// reserveSparse sizes a sparse batch's buffers for rows of up to nnz
// features and texts of up to text bytes, so that steps do not grow them.
func (b *batch) reserveSparse(nnz, text int) {
	n := len(b.rows) * nnz
	b.sp.cols = make([]int32, 0, n)
	b.sp.vals = make([]float32, 0, n)
	b.sp.ptr = make([]int, 1, len(b.rows)+1)
	b.text = make([]byte, 0, len(b.rows)*text)
}

// viewText returns the text row r was fed, or "" if it was its item's own.
func (b *batch) viewText(r int) (string, bool) {
	if r >= len(b.views) || b.views[r].from < 0 {
		return "", false
	}
	v := b.views[r]
	return string(b.text[v.from:v.to]), true
}

// pairMaker builds the batches of a run. Each epoch walks the anchors (the
// training items; for cooccur, the training plays) in a fresh shuffled
// order, consuming perStep anchors per step, so an epoch is
// ceil(anchors/perStep) steps; the last step of an epoch tops up from the
// start of the same order so every batch has the same number of rows.
//
// The ways of building a batch of B rows:
//
//   - pairs=labels (supcon, contrastive, triplet): B items,
//     groups = class. A row that would be the only one of its class in the
//     batch gets a random same-class training item as a partner, which
//     replaces a row of a class with at least three rows (or another lone
//     row), so every row has a positive whenever its class has two training
//     items. The sampling is otherwise uniform over items, not balanced over
//     classes.
//   - pairs=labels+augment (supcon, contrastive, triplet): B/2 items, each as
//     two independently augmented views in adjacent rows; groups = class
//     (SupCon's recipe: positives are the other view and every same-class
//     row).
//   - pairs=labels or labels+augment with ntxent: B/2 anchors, each followed
//     by a random other training item of its class (with labels+augment,
//     each side one augmented view); groups = pair id. Same-class rows of other pairs count as
//     negatives: the classic N-pair / InfoNCE setup, where the label only
//     chooses the positive.
//   - pairs=augment (any loss): B/2 items, each as two independently
//     augmented views in adjacent rows; groups = pair id.
//   - pairs=headword: B/2 training items with headwords, each as one of its
//     headwords (chosen at random, hashed like the texts) followed by its
//     own text; groups = pair id.
//   - pairs=cooccur: B/2 training plays, each followed by another random
//     training play of the same user (item2vec: a user's items are one
//     context, whatever their order); rows are the played items, groups =
//     pair id. Negatives are the other rows of the batch, which holds every
//     item at most once (see fillCooccur). Popular items are drawn more
//     often, as positives and as negatives alike; each row carries the log
//     of its item's probability of being in a batch (logQ) for the
//     softmax losses' sampling-bias correction (batchLoss.ComputeCorrected),
//     without which the embeddings learn to push popular items away and
//     recommend obscure ones.
//
// An odd B in the paired modes uses B−1 rows.
type pairMaker struct {
	d        *dataset.Dataset
	sp       *sparseInputs // nil for dense datasets
	mode     int
	views    bool // rows are augmented views of their items
	strength float64
	rows     int // rows per batch
	perStep  int // anchors consumed per step
	order    []int
	pos      int
	byClass  [][]int // training indices per class (labels modes)
	counts   []int   // per-class scratch for the current batch
	rng      *rand.Rand
	augRNG   *rand.Rand
	aug      *Augmenter // dense views

	// cooccur: plays lists every training play of the users with two or
	// more, user after user; play k belongs to the user whose plays are
	// plays[from[k]:to[k]].
	plays    []int32
	from, to []int32
	inBatch  []bool    // per item: already in the batch being built
	logQ     []float64 // per item: log of the probability that it is in a batch
}

const (
	modeClasses  = iota // labels, groups = class
	modePairs           // labels, pairs of same-class items (ntxent)
	modeViews           // augment, two views per item
	modeHeadword        // headword then text
	modeCooccur         // two plays of one user
)

// newPairMaker returns the pair maker of a run configured by cfg (resolved)
// on d; sp holds d's sparse features (nil for dense data).
func newPairMaker(cfg Config, d *dataset.Dataset, sp *sparseInputs, rng, augRNG *rand.Rand) *pairMaker {
	p := &pairMaker{d: d, sp: sp, rng: rng, augRNG: augRNG, strength: cfg.Augment}
	p.mode, p.views, p.rows, p.perStep = pairLayout(cfg)
	switch p.mode {
	case modeHeadword:
		p.order = headwordItems(d, dataset.Train)
	case modeCooccur:
		p.initPlays()
	default:
		p.order = d.Indices(dataset.Train)
	}
	if p.views && sp == nil {
		a := cfg.Augmentation(d.Kind, d.Width, d.Height)
		p.aug = NewAugmenter(a, d.Kind, d.Width, d.Height)
	}
	if p.mode == modeCooccur {
		p.initLogQ()
	}
	if p.mode == modeClasses || p.mode == modePairs {
		p.byClass = make([][]int, len(d.ClassNames))
		for _, i := range p.order {
			l := d.Labels[i]
			p.byClass[l] = append(p.byClass[l], i)
		}
		p.counts = make([]int, len(d.ClassNames))
	}
	return p
}

// pairLayout returns how the pair maker of a run configured by cfg
// (resolved) builds its batches: the mode, whether rows are augmented views
// of their items, the rows of a batch and the anchors each consumes.
func pairLayout(cfg Config) (mode int, views bool, rows, perStep int) {
	switch cfg.Pairs {
	case PairsAugment:
		mode, views = modeViews, true
	case PairsHeadword:
		mode = modeHeadword
	case PairsCooccur:
		mode = modeCooccur
	default:
		mode = modeClasses
		if cfg.Loss == LossNTXent {
			mode = modePairs
		}
		views = cfg.Pairs == PairsLabelsAugment
	}
	if mode == modeClasses && !views {
		return mode, views, cfg.Batch, cfg.Batch
	}
	perStep = max(cfg.Batch/2, 1)
	return mode, views, 2 * perStep, perStep
}

// initPlays lists the cooccur anchors.
func (p *pairMaker) initPlays() {
	n := countPlays(p.d)
	p.plays = make([]int32, 0, n)
	p.from, p.to = make([]int32, 0, n), make([]int32, 0, n)
	for _, u := range p.d.Users {
		if len(u) < 2 {
			continue
		}
		a := int32(len(p.plays))
		p.plays = append(p.plays, u...)
		b := int32(len(p.plays))
		for range u {
			p.from, p.to = append(p.from, a), append(p.to, b)
		}
	}
	p.order = make([]int, n)
	for i := range p.order {
		p.order[i] = i
	}
	p.inBatch = make([]bool, p.d.Len())
}

// initLogQ estimates, for the sampling-bias correction, the probability
// that each item is in a batch of rows rows: every row draws an item about
// as often as it is played, a share f of the plays, so an item is in the
// batch with probability 1 − (1 − f)^rows (the batch holds no copies).
func (p *pairMaker) initLogQ() {
	counts := make([]float64, p.d.Len())
	for _, it := range p.plays {
		counts[it]++
	}
	p.logQ = make([]float64, p.d.Len())
	for i, c := range counts {
		f := max(c, 1) / float64(len(p.plays))
		p.logQ[i] = math.Log(-math.Expm1(float64(p.rows) * math.Log1p(-f)))
	}
}

// stepsPerEpoch is ceil(anchors / perStep).
func (p *pairMaker) stepsPerEpoch() int { return (len(p.order) + p.perStep - 1) / p.perStep }

// beginEpoch reshuffles the anchors (Fisher–Yates, the same draws as
// rand.Shuffle without its closure's allocation).
func (p *pairMaker) beginEpoch() {
	for i := len(p.order) - 1; i > 0; i-- {
		j := p.rng.IntN(i + 1)
		p.order[i], p.order[j] = p.order[j], p.order[i]
	}
	p.pos = 0
}

// nextItem returns the next anchor of the epoch's order, wrapping to its
// start for the top-up of the last step.
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
		if p.views {
			for k := 0; k < p.perStep; k++ {
				i := p.nextItem()
				b.rows[2*k], b.rows[2*k+1] = i, i
				b.groups[2*k], b.groups[2*k+1] = p.d.Labels[i], p.d.Labels[i]
			}
			break
		}
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
	case modeViews, modeHeadword:
		for k := 0; k < p.perStep; k++ {
			i := p.nextItem()
			b.rows[2*k], b.rows[2*k+1] = i, i
			b.groups[2*k], b.groups[2*k+1] = int32(k), int32(k)
		}
	case modeCooccur:
		p.fillCooccur(b)
	}
	p.inputs(b)
}

// cooccurTries is how many partners fillCooccur draws for an anchor before
// passing it over.
const cooccurTries = 8

// fillCooccur builds a batch of distinct items: an anchor whose item is
// already in the batch is passed over, and so is one whose partner draws
// all land on items already there. In-batch negatives then never include
// a copy of the row itself, and popular items (which would otherwise fill
// batches with copies) are drawn at most once per batch, which also makes
// them less dominant as negatives.
func (p *pairMaker) fillCooccur(b *batch) {
	// After a whole pass over the anchors without filling the batch (data
	// with fewer distinct items than rows), copies are let in.
	skips := 0
	for k := 0; k < p.perStep; {
		a := p.nextItem()
		unique := skips < len(p.order)
		ia := int(p.plays[a])
		if unique && p.inBatch[ia] {
			skips++
			continue
		}
		lo, hi := int(p.from[a]), int(p.to[a])
		iq := -1
		for range cooccurTries {
			q := lo + p.rng.IntN(hi-lo-1)
			if q >= a {
				q++
			}
			if it := int(p.plays[q]); !unique || it != ia && !p.inBatch[it] {
				iq = it
				break
			}
		}
		if iq < 0 {
			skips++
			continue
		}
		p.inBatch[ia], p.inBatch[iq] = true, true
		b.rows[2*k], b.rows[2*k+1] = ia, iq
		b.groups[2*k], b.groups[2*k+1] = int32(k), int32(k)
		k++
	}
	for r, i := range b.rows[:p.rows] {
		p.inBatch[i] = false
		b.logQ[r] = p.logQ[i]
	}
}

// inputs builds each row's features: the item's own, an augmented view, or
// (headword pairs, even rows) a headword.
func (p *pairMaker) inputs(b *batch) {
	if p.sp == nil {
		dim := p.d.Dim
		for r, i := range b.rows[:p.rows] {
			dst := b.x[r*dim : (r+1)*dim]
			if p.views {
				p.aug.Apply(dst, p.d.Row(i), p.augRNG)
			} else {
				copy(dst, p.d.Row(i))
			}
		}
		return
	}
	b.sp.reset()
	b.text = b.text[:0]
	for r, i := range b.rows[:p.rows] {
		from := int32(len(b.text))
		switch {
		case p.mode == modeHeadword && r%2 == 0:
			w := p.sp.appendHeadword(&b.sp, i, p.rng.IntN(p.sp.headwordCount(i)))
			b.text = append(b.text, w...)
		case p.views:
			p.sp.appendView(&b.sp, &b.text, i, p.strength, p.augRNG)
		default:
			p.sp.appendItem(&b.sp, i)
			from = -1
		}
		b.views[r] = textRange{from, int32(len(b.text))}
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

// newRunBatch returns a batch for p's rows, sized for d's inputs.
func newRunBatch(rows int, d *dataset.Dataset, sp *sparseInputs, dim int, pairs string) *batch {
	if sp == nil {
		return newBatch(rows, d.Dim, dim)
	}
	b := newBatch(rows, 0, dim)
	b.reserveSparse(2*sp.maxNNZ, sp.maxText)
	if pairs == PairsCooccur {
		b.logQ = make([]float64, rows)
	}
	return b
}

// probeItems is how many items the metrics probe holds (twice as many rows
// in the paired modes).
const probeItems = 512

// newProbe builds the fixed batch that alignment, uniformity and the
// distance histograms are measured on, from its own random stream so it is
// the same every epoch. It is drawn from the held-out items (training items
// when fewer than 64 are held out). With label pairs (with or without
// augmentation), rows are up to
// probeItems items as they are and groups their classes (positives = same
// class; unlabelled items are grouped alone). The other sources build up to
// probeItems/2 pairs the way training does: two augmented views of an item,
// a headword and its text, or (cooccur, from every user's plays) two items
// played by one user.
func newProbe(cfg Config, d *dataset.Dataset, sp *sparseInputs, rng *rand.Rand) *batch {
	if cfg.Pairs != PairsLabels && cfg.Pairs != PairsLabelsAugment {
		return newPairProbe(cfg, d, sp, rng)
	}
	pool := d.Indices(dataset.Test)
	if len(pool) < 64 {
		pool = d.Indices(dataset.Train)
	}
	n := min(probeItems, len(pool))
	sample(pool, n, rng)
	b := newRunBatch(n, d, sp, cfg.Dim, cfg.Pairs)
	for r, i := range pool[:n] {
		b.rows[r] = i
		b.groups[r] = d.Labels[i]
		if b.groups[r] == dataset.NoLabel {
			b.groups[r] = math.MinInt32 + int32(r)
		}
		b.views[r] = textRange{-1, 0}
		if sp == nil {
			copy(b.x[r*d.Dim:(r+1)*d.Dim], d.Row(i))
		} else {
			sp.appendItem(&b.sp, i)
		}
	}
	return b
}

// newPairProbe is newProbe for the paired sources: a pair maker whose one
// batch is the probe.
func newPairProbe(cfg Config, d *dataset.Dataset, sp *sparseInputs, rng *rand.Rand) *batch {
	p := newPairMaker(cfg, d, sp, rng, rng)
	if cfg.Pairs != PairsCooccur {
		split := dataset.Test
		if len(p.heldOutPool(dataset.Test)) < 64 {
			split = dataset.Train
		}
		p.order = p.heldOutPool(split)
	}
	n := min(probeItems/2, len(p.order))
	if cfg.Pairs == PairsCooccur {
		p.beginEpoch() // the anchors are all the plays; fillCooccur passes some over
	} else {
		sample(p.order, n, rng)
		p.order = p.order[:n]
	}
	p.perStep, p.rows = n, 2*n
	b := newRunBatch(p.rows, d, sp, cfg.Dim, cfg.Pairs)
	p.fill(b)
	return b
}

// heldOutPool returns the items of split s that p can make pairs of.
func (p *pairMaker) heldOutPool(s dataset.Split) []int {
	if p.mode == modeHeadword {
		return headwordItems(p.d, s)
	}
	return p.d.Indices(s)
}

// sample moves a random sample of n elements to the front of pool (a
// partial Fisher–Yates shuffle).
func sample(pool []int, n int, rng *rand.Rand) {
	for i := 0; i < n; i++ {
		j := i + rng.IntN(len(pool)-i)
		pool[i], pool[j] = pool[j], pool[i]
	}
}

// PairExample is one pair of rows from the most recent training batch, for
// showing a learner what the loss is looking at.
type PairExample struct {
	A, B     int       // dataset row indices of the two sides
	XA, XB   []float32 // the dense input vectors fed to the encoder (augmented views when augmenting); nil for sparse datasets
	TextA    string    // text datasets: the text side A was fed (its own text, an augmented view or a headword); "" otherwise
	TextB    string    // likewise for side B
	Positive bool      // whether the loss treated the pair as positive
	Distance float64   // Euclidean distance of their embeddings in that step's forward pass, in [0, 2]
}

// examplePairs picks up to n pairs (at most one per row) from b (rows rows,
// dense input dimension dim, 0 for sparse inputs, embedding dimension d):
// half positives (the first positive partner of rows spread over the batch)
// and the rest negatives, deterministically. texts are the items' own texts
// (nil if none). The vectors are copies.
func examplePairs(b *batch, rows, dim, d, n int, texts []string) []PairExample {
	if n <= 0 || rows < 2 {
		return nil
	}
	n = min(n, rows)
	out := make([]PairExample, 0, n)
	text := func(r int) string {
		if s, ok := b.viewText(r); ok {
			return s
		}
		if texts != nil {
			return texts[b.rows[r]]
		}
		return ""
	}
	add := func(i, j int, pos bool) {
		var ss float64
		for k := 0; k < d; k++ {
			diff := float64(b.z[i*d+k] - b.z[j*d+k])
			ss += diff * diff
		}
		e := PairExample{
			A: b.rows[i], B: b.rows[j],
			TextA: text(i), TextB: text(j),
			Positive: pos, Distance: math.Sqrt(ss),
		}
		if dim > 0 {
			e.XA = append([]float32(nil), b.x[i*dim:(i+1)*dim]...)
			e.XB = append([]float32(nil), b.x[j*dim:(j+1)*dim]...)
		}
		out = append(out, e)
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
