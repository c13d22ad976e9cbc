package trainer

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
	"github.com/contrastive-explorer/explorer/trainer/nearest"
)

// TestKNN checks the vote and both tie-breaks on a tiny 2-D set with k
// limited to the 4 training items: a 2–2 vote goes to the class of the
// nearest neighbour.
func TestKNN(t *testing.T) {
	s := float32(math.Sqrt(0.5))
	d := &dataset.Dataset{
		Name: "tiny", Kind: dataset.Vectors, Dim: 2,
		X: []float32{
			1, 0, // train, A
			s, s, // train, B
			0, 1, // train, B
			-1, 0, // train, A
			1, 0.01, // test, A: neighbours A, B, B, A → 2–2, nearest is A → right
			0.01, 1, // test, A: neighbours B, B, A, A → 2–2, nearest is B → wrong
			s, s, // test, B: nearest B
		},
		Labels:     []int32{0, 1, 1, 0, 0, 0, 1},
		ClassNames: []string{"A", "B"},
		Splits:     []dataset.Split{dataset.Train, dataset.Train, dataset.Train, dataset.Train, dataset.Test, dataset.Test, dataset.Test},
	}
	e := newEvaluator(d)
	got := e.embeddingKNN(d.X, 2)
	if want := 2.0 / 3; math.Abs(got-want) > 1e-12 {
		t.Errorf("kNN accuracy %v, want %v", got, want)
	}
	if raw := e.rawAccuracy(); math.Abs(raw-2.0/3) > 1e-12 {
		t.Errorf("raw kNN accuracy %v, want %v (the features are already unit rows)", raw, 2.0/3)
	}
}

// TestKNNChunks: scoring in chunks gives the same answer as a brute-force
// classifier on more held-out items than one chunk.
func TestKNNChunks(t *testing.T) {
	d := blobs(3000, 8, 6, 11)
	for i := range d.Splits { // 2,571 train, 429 test: two chunks
		d.Splits[i] = dataset.Train
		if i%7 == 0 {
			d.Splits[i] = dataset.Test
		}
	}
	unit := append([]float32(nil), d.X...)
	nearest.Unit(unit, d.Dim)
	e := newEvaluator(d)
	got := e.embeddingKNN(unit, d.Dim)

	correct := 0
	for _, q := range e.test {
		type nb struct {
			s float32
			j int
		}
		var best []nb
		for j, tr := range e.train {
			var s float32
			for k := 0; k < d.Dim; k++ {
				s += unit[q*d.Dim+k] * unit[tr*d.Dim+k]
			}
			best = append(best, nb{s, j})
		}
		// Selection of the 5 best, lower index first on ties.
		for a := 0; a < knnK; a++ {
			for b := a + 1; b < len(best); b++ {
				if best[b].s > best[a].s || (best[b].s == best[a].s && best[b].j < best[a].j) {
					best[a], best[b] = best[b], best[a]
				}
			}
		}
		nbs := make([]int, knnK)
		for a := range nbs {
			nbs[a] = best[a].j
		}
		if majority(d.Labels, e.train, nbs) == d.Labels[q] {
			correct++
		}
	}
	want := float64(correct) / float64(len(e.test))
	// The gemm scores may round differently from the float32 loop above.
	if math.Abs(got-want) > 2.0/float64(len(e.test)) {
		t.Errorf("chunked kNN accuracy %v, brute force %v", got, want)
	}
	if got < 0.5 {
		t.Errorf("kNN accuracy %v on well separated blobs", got)
	}
}

// majority returns the label most of the neighbours (positions in train,
// best first) have; a tie goes to the class of the best ranked of them.
func majority(labels []int32, train, neighbours []int) int32 {
	votes := map[int32]int{}
	for _, j := range neighbours {
		votes[labels[train[j]]]++
	}
	top, label := 0, int32(-1)
	for _, j := range neighbours {
		if l := labels[train[j]]; votes[l] > top {
			top, label = votes[l], l
		}
	}
	return label
}

func TestProbeMetrics(t *testing.T) {
	// (1,0) and (0,1) are positives at √2; (1,0)–(−1,0) a negative at 2 and
	// (0,1)–(−1,0) a negative at √2.
	z := []float32{1, 0, 0, 1, -1, 0}
	var m Metrics
	e := &evaluator{}
	e.probeMetrics(&m, z, 3, 2, []int32{0, 0, 1})
	check := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("alignment", m.Alignment, 2)
	check("uniformity", m.Uniformity, math.Log((2*math.Exp(-4)+math.Exp(-8))/3))
	check("pos distance", m.PosDistance, math.Sqrt2)
	check("neg distance", m.NegDistance, (2+math.Sqrt2)/2)
	if m.PosHist[28] != 1 || m.NegHist[28] != 1 || m.NegHist[HistBins-1] != 1 {
		t.Errorf("histograms pos %v neg %v", m.PosHist, m.NegHist)
	}
}

func TestEffectiveRank(t *testing.T) {
	tests := []struct {
		eig  []float64
		want float64
	}{
		{[]float64{1, 0, 0}, 1},
		{[]float64{1, 1, 0, 0}, 2},
		{[]float64{2, 2, 2, 2, 2}, 5},
		{[]float64{0, 0}, 0},
	}
	for _, tt := range tests {
		n := len(tt.eig)
		// Rotate the diagonal so the eigenvalues are not simply read off.
		q := mat.NewDense(n, n, nil)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				q.Set(i, j, math.Cos(float64(i*j+i+1)))
			}
		}
		var qr mat.QR
		qr.Factorize(q)
		var orth mat.Dense
		qr.QTo(&orth)
		var c mat.Dense
		c.Mul(&orth, mat.NewDiagDense(n, tt.eig))
		c.Mul(&c, orth.T())
		cov := mat.NewSymDense(n, nil)
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				cov.SetSym(i, j, (c.At(i, j)+c.At(j, i))/2)
			}
		}
		if got := effectiveRank(cov); math.Abs(got-tt.want) > 1e-6 {
			t.Errorf("effective rank of eigenvalues %v = %v, want %v", tt.eig, got, tt.want)
		}
	}
}

func TestCollapseAlarm(t *testing.T) {
	const n, d = 500, 8
	rng := rand.New(rand.NewPCG(1, 1))
	point := make([]float32, n*d)  // everything at one point (tiny jitter)
	line := make([]float32, n*d)   // two antipodal points: a line
	sphere := make([]float32, n*d) // spread over the sphere
	for r := 0; r < n; r++ {
		point[r*d] = 1
		point[r*d+1] = float32(rng.NormFloat64() * 1e-5)
		line[r*d] = float32(1 - 2*(r%2))
		for j := 0; j < d; j++ {
			sphere[r*d+j] = float32(rng.NormFloat64())
		}
	}
	nearest.Unit(point, d)
	nearest.Unit(sphere, d)
	for _, tt := range []struct {
		name    string
		emb     []float32
		classes int
		want    bool
	}{
		{"point", point, 0, true}, {"line", line, 0, true}, {"sphere", sphere, 0, false},
		// Two classes pulled each to its own point is what label pairs ask.
		{"two classes on a line", line, 2, false}, {"two classes in a point", point, 2, true}, {"line of ten classes", line, 10, true},
	} {
		var m Metrics
		spread(&m, tt.emb, n, d, tt.classes)
		if m.Collapsed != tt.want {
			t.Errorf("%s: Collapsed %v (effective rank %.3f, mean std %.2g), want %v", tt.name, m.Collapsed, m.EffectiveRank, m.MeanStd, tt.want)
		}
	}
}

// TestSparseRawKNN: kNN on sparse features through the inverted index
// agrees with dense kNN on the same features, densified.
func TestSparseRawKNN(t *testing.T) {
	d := glosses(300, 1<<9) // few buckets: collisions and shared columns
	dense := &dataset.Dataset{
		Name: "dense", Kind: dataset.Vectors, Dim: d.Dim, X: make([]float32, d.Len()*d.Dim),
		Labels: d.Labels, ClassNames: d.ClassNames, Splits: d.Splits,
	}
	for i := range d.Len() {
		cols, vals := d.SparseRow(i)
		for k, c := range cols {
			dense.X[i*d.Dim+int(c)] = 2 * vals[k] // scaled: cosine does not care
		}
	}
	got, want := newEvaluator(d).rawAccuracy(), newEvaluator(dense).rawAccuracy()
	ntest := float64(len(d.Indices(dataset.Test)))
	if math.Abs(got-want) > 1.5/ntest { // a tie may round differently
		t.Errorf("sparse raw kNN %v, dense %v", got, want)
	}
	if got < 0.5 {
		t.Errorf("raw kNN %v on topical glosses", got)
	}
	t.Logf("raw kNN %.4f (dense %.4f)", got, want)
}

// TestRecall checks recall@10 and its baselines against a brute-force
// recommender on a small interactions dataset, and the known cases: an
// embedding that puts every held-out play next to its user's plays scores
// 1, and a user whose held-out item is among the training plays never
// scores.
func TestRecall(t *testing.T) {
	d := plays(60, 80)
	d.HeldOut[0] = d.Users[0][0] // played before: no recommender can hit it
	d.HeldOut[1] = dataset.NoLabel
	e := newEvaluator(d)
	if len(e.users) != 79 {
		t.Fatalf("%d users with a held-out play, want 79", len(e.users))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const dim = 4
	emb := randomSlice(rng, d.Len()*dim, 1)
	nearest.Unit(emb, dim)

	counts := make([]int, d.Len())
	for _, u := range d.Users {
		for _, it := range u {
			counts[it]++
		}
	}
	// brute ranks the unplayed items by score (ties: lower index) and
	// reports whether the held-out play is in the top 10, and the expected
	// recall of 10 random unplayed items.
	brute := func(u int, score func(j int) float64) (bool, float64) {
		played := map[int]bool{}
		for _, it := range d.Users[u] {
			played[int(it)] = true
		}
		h := int(d.HeldOut[u])
		if played[h] {
			return false, 0
		}
		var cand []int
		for j := range d.Len() {
			if !played[j] {
				cand = append(cand, j)
			}
		}
		slices.SortStableFunc(cand, func(a, b int) int { return cmp.Compare(score(b), score(a)) })
		return slices.Index(cand[:min(10, len(cand))], h) >= 0, min(1, 10/float64(len(cand)))
	}
	var hits, pop, rnd float64
	for _, u := range e.users {
		q := make([]float64, dim)
		for _, it := range d.Users[u] {
			for k := range dim {
				q[k] += float64(emb[int(it)*dim+k])
			}
		}
		hit, r := brute(u, func(j int) float64 {
			var s float32 // as gemm: float32 products
			for k := range dim {
				s += float32(q[k]) * emb[j*dim+k]
			}
			return float64(s)
		})
		if hit {
			hits++
		}
		if hit, _ := brute(u, func(j int) float64 { return float64(counts[j]) }); hit {
			pop++
		}
		rnd += r
	}
	n := float64(len(e.users))
	if got := e.recall(emb, dim); math.Abs(got-hits/n) > 1.5/n {
		t.Errorf("recall@10 %v, brute force %v", got, hits/n)
	}
	if math.Abs(e.popRecall-pop/n) > 1e-12 || math.Abs(e.randRecall-rnd/n) > 1e-12 {
		t.Errorf("baselines %v, %v; brute force %v, %v", e.popRecall, e.randRecall, pop/n, rnd/n)
	}

	// Every item at its genre's corner: a user's plays (mostly of one genre)
	// point at their genre, and held-out plays of that genre tie with it.
	perfect := make([]float32, d.Len()*dim)
	for i := range d.Len() {
		perfect[i*dim+int(d.Labels[i])] = 1
	}
	want := 0.0
	for _, u := range e.users {
		votes := make([]int, dim)
		for _, it := range d.Users[u] {
			votes[d.Labels[it]]++
		}
		hit, _ := brute(u, func(j int) float64 { return float64(votes[d.Labels[j]]) })
		if hit {
			want++
		}
	}
	if got := e.recall(perfect, dim); math.Abs(got-want/n) > 1e-12 || got < 0.3 {
		t.Errorf("recall@10 of genre corners %v, brute force %v", got, want/n)
	}
}
