package trainer

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

func testMaker(t *testing.T, cfg Config, d *dataset.Dataset) (*pairMaker, *batch) {
	t.Helper()
	if err := cfg.Validate(d); err != nil {
		t.Fatal(err)
	}
	pm := newPairMaker(cfg, d, nil, rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(3, 4)))
	return pm, newBatch(pm.rows, d.Dim, cfg.Dim)
}

// TestPairsClasses: with labels and a batch small enough that classes would
// often appear once, every row still has a positive, and an epoch visits
// the training items in ceil(ntrain/B) steps.
func TestPairsClasses(t *testing.T) {
	d := blobs(500, 6, 10, 1)
	cfg := DefaultConfig()
	cfg.Batch = 6
	pm, b := testMaker(t, cfg, d)
	ntrain := len(d.Indices(dataset.Train))
	if got, want := pm.stepsPerEpoch(), (ntrain+5)/6; got != want {
		t.Fatalf("stepsPerEpoch = %d, want %d", got, want)
	}
	seen := map[int]bool{}
	pm.beginEpoch()
	for s := 0; s < pm.stepsPerEpoch(); s++ {
		pm.fill(b)
		for r, i := range b.rows {
			if d.Splits[i] != dataset.Train {
				t.Fatalf("row %d is item %d, not a training item", r, i)
			}
			if b.groups[r] != d.Labels[i] {
				t.Fatalf("row %d: group %d, label %d", r, b.groups[r], d.Labels[i])
			}
			if !slices.Equal(b.x[r*d.Dim:(r+1)*d.Dim], d.Row(i)) {
				t.Fatalf("row %d: input is not item %d's features", r, i)
			}
			partners := 0
			for q := range b.rows {
				if q != r && b.groups[q] == b.groups[r] {
					partners++
				}
			}
			if partners == 0 {
				t.Fatalf("step %d: row %d (class %d) has no positive in %v", s, r, b.groups[r], b.groups)
			}
			seen[i] = true
		}
	}
	// Rows given up for partners are not visited, but most items are.
	if len(seen) < ntrain/2 {
		t.Errorf("an epoch visited %d of %d training items", len(seen), ntrain)
	}
}

// TestPairsNTXent: with labels, ntxent pairs each anchor with another item
// of its class; the anchors are an epoch's shuffled order.
func TestPairsNTXent(t *testing.T) {
	d := blobs(300, 4, 5, 2)
	cfg := DefaultConfig()
	cfg.Loss, cfg.Batch = "ntxent", 17 // odd: 8 pairs
	pm, b := testMaker(t, cfg, d)
	if pm.rows != 16 || pm.perStep != 8 {
		t.Fatalf("rows %d, per step %d; want 16 and 8", pm.rows, pm.perStep)
	}
	anchors := map[int]int{}
	pm.beginEpoch()
	for s := 0; s < pm.stepsPerEpoch(); s++ {
		pm.fill(b)
		for k := 0; k < 8; k++ {
			a, p := b.rows[2*k], b.rows[2*k+1]
			if a == p || d.Labels[a] != d.Labels[p] {
				t.Fatalf("pair %d: items %d and %d (classes %d, %d)", k, a, p, d.Labels[a], d.Labels[p])
			}
			if b.groups[2*k] != int32(k) || b.groups[2*k+1] != int32(k) {
				t.Fatalf("pair %d: groups %d, %d", k, b.groups[2*k], b.groups[2*k+1])
			}
			anchors[a]++
		}
	}
	ntrain := len(d.Indices(dataset.Train))
	if len(anchors) != ntrain {
		t.Errorf("an epoch anchored %d distinct items, want all %d", len(anchors), ntrain)
	}
}

// TestPairsAugment: two differently augmented views of each item, in
// adjacent rows sharing a group.
func TestPairsAugment(t *testing.T) {
	d := blobs(200, 8, 4, 3)
	cfg := DefaultConfig()
	cfg.Pairs, cfg.Batch, cfg.Augment = "augment", 10, 1
	pm, b := testMaker(t, cfg, d)
	pm.beginEpoch()
	pm.fill(b)
	for k := 0; k < 5; k++ {
		r0, r1 := 2*k, 2*k+1
		if b.rows[r0] != b.rows[r1] || b.groups[r0] != b.groups[r1] {
			t.Fatalf("pair %d: rows %d/%d groups %d/%d", k, b.rows[r0], b.rows[r1], b.groups[r0], b.groups[r1])
		}
		v0, v1 := b.x[r0*8:(r0+1)*8], b.x[r1*8:(r1+1)*8]
		if slices.Equal(v0, v1) || slices.Equal(v0, d.Row(b.rows[r0])) {
			t.Fatalf("pair %d: views are not independently augmented", k)
		}
	}
	if got, want := pm.stepsPerEpoch(), (160+4)/5; got != want {
		t.Errorf("stepsPerEpoch = %d, want %d", got, want)
	}
}

// TestPairsLabelsAugment: two differently augmented views of each item in
// adjacent rows, grouped by class.
func TestPairsLabelsAugment(t *testing.T) {
	d := blobs(200, 8, 4, 3)
	cfg := DefaultConfig()
	cfg.Pairs, cfg.Batch = PairsLabelsAugment, 11
	pm, b := testMaker(t, cfg, d)
	if pm.rows != 10 || pm.perStep != 5 {
		t.Fatalf("rows %d, per step %d; want 10 and 5", pm.rows, pm.perStep)
	}
	pm.beginEpoch()
	pm.fill(b)
	for k := 0; k < 5; k++ {
		r0, r1 := 2*k, 2*k+1
		i := b.rows[r0]
		if b.rows[r1] != i || b.groups[r0] != d.Labels[i] || b.groups[r1] != d.Labels[i] {
			t.Fatalf("pair %d: rows %d/%d groups %d/%d, label %d", k, i, b.rows[r1], b.groups[r0], b.groups[r1], d.Labels[i])
		}
		v0, v1 := b.x[r0*8:(r0+1)*8], b.x[r1*8:(r1+1)*8]
		if slices.Equal(v0, v1) || slices.Equal(v0, d.Row(i)) {
			t.Fatalf("pair %d: views are not independently augmented", k)
		}
	}
}

// TestPairsHeadword: on text with headwords, each pair is one of the item's
// headwords (hashed like the texts) followed by the item's own text.
func TestPairsHeadword(t *testing.T) {
	d := glosses(60, 1<<12)
	cfg := DefaultConfig()
	cfg.Pairs, cfg.Batch, cfg.Embed = PairsHeadword, 16, 8
	if err := cfg.Validate(d); err != nil {
		t.Fatal(err)
	}
	sp := newSparseInputs(d, true, false)
	pm := newPairMaker(cfg, d, sp, rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(3, 4)))
	b := newRunBatch(pm.rows, d, sp, cfg.Dim, cfg.Pairs)
	pm.beginEpoch()
	for range pm.stepsPerEpoch() {
		pm.fill(b)
		if b.sp.rows() != 16 {
			t.Fatalf("%d sparse rows, want 16", b.sp.rows())
		}
		for k := range 8 {
			i := b.rows[2*k]
			if b.rows[2*k+1] != i || b.groups[2*k] != int32(k) || b.groups[2*k+1] != int32(k) || d.Splits[i] != dataset.Train {
				t.Fatalf("pair %d: rows %d/%d groups %d/%d", k, i, b.rows[2*k+1], b.groups[2*k], b.groups[2*k+1])
			}
			word, ok := b.viewText(2 * k)
			if !ok || !slices.Contains(d.Headwords[i], word) {
				t.Fatalf("pair %d: side A is %q, not a headword of item %d (%v)", k, word, i, d.Headwords[i])
			}
			if _, ok := b.viewText(2*k + 1); ok {
				t.Fatalf("pair %d: side B is a view, want the item's text", k)
			}
			cols, _ := dataset.HashFeatures(word, d.Hash)
			got, _ := b.sp.row(2 * k)
			if len(got) != len(cols) {
				t.Fatalf("pair %d: headword %q has %d features, hashed %d", k, word, len(got), len(cols))
			}
			gotB, _ := b.sp.row(2*k + 1)
			wantB, _ := sp.items.row(i)
			if !slices.Equal(gotB, wantB) {
				t.Fatalf("pair %d: side B features are not item %d's", k, i)
			}
		}
	}
	ex := examplePairs(b, pm.rows, 0, cfg.Dim, 4, d.Text)
	for _, e := range ex {
		if e.XA != nil || e.TextA == "" || e.TextB == "" {
			t.Errorf("example %+v: want texts and no vectors", e)
		}
	}
}

// plays returns a synthetic interactions dataset: items in genres, users
// who play mostly one genre.
func plays(items, users int) *dataset.Dataset {
	rng := rand.New(rand.NewPCG(uint64(items), uint64(users)))
	const genres = 4
	d := &dataset.Dataset{
		Name: "plays", Kind: dataset.Interactions, Dim: items, Sparse: dataset.Identity(items),
		Labels: make([]int32, items), Splits: make([]dataset.Split, items),
		ClassNames: []string{"a", "b", "c", "d"},
		Users:      make([][]int32, users), HeldOut: make([]int32, users),
	}
	for i := range items {
		d.Labels[i] = int32(i % genres)
		if i%5 == 4 {
			d.Splits[i] = dataset.Test
		}
	}
	for u := range users {
		g := u % genres
		n := min(2+rng.IntN(10), items/2)
		seen := map[int]bool{}
		for len(d.Users[u]) < n {
			it := rng.IntN(items/genres)*genres + g
			if rng.IntN(5) == 0 {
				it = rng.IntN(items)
			}
			if !seen[it] {
				seen[it] = true
				d.Users[u] = append(d.Users[u], int32(it))
			}
		}
		d.HeldOut[u] = d.Users[u][n-1]
		d.Users[u] = d.Users[u][:n-1]
	}
	return d
}

// TestPairsCooccur: each pair is two items one user played, a batch never
// holds an item twice, and each row carries its item's log-probability.
func TestPairsCooccur(t *testing.T) {
	d := plays(200, 300)
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Pairs, cfg.Batch = PairsCooccur, 40
	if err := cfg.Validate(d); err != nil {
		t.Fatal(err)
	}
	sp := newSparseInputs(d, false, false)
	pm := newPairMaker(cfg, d, sp, rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(3, 4)))
	b := newRunBatch(pm.rows, d, sp, cfg.Dim, cfg.Pairs)
	if got, want := pm.stepsPerEpoch(), (countPlays(d)+19)/20; got != want {
		t.Errorf("stepsPerEpoch = %d, want %d", got, want)
	}
	together := map[[2]int]bool{}
	for _, u := range d.Users {
		for _, a := range u {
			for _, c := range u {
				together[[2]int{int(a), int(c)}] = true
			}
		}
	}
	pm.beginEpoch()
	for range pm.stepsPerEpoch() {
		pm.fill(b)
		seen := map[int]bool{}
		for r, i := range b.rows {
			if seen[i] {
				t.Fatalf("item %d twice in a batch", i)
			}
			seen[i] = true
			if want := pm.logQ[i]; b.logQ[r] != want || want >= 0 {
				t.Fatalf("row %d: logQ %v, want %v < 0", r, b.logQ[r], want)
			}
			cols, _ := b.sp.row(r)
			if len(cols) != 1 || int(cols[0]) != i {
				t.Fatalf("row %d: features %v, want item %d's id", r, cols, i)
			}
		}
		for k := range 20 {
			a, c := b.rows[2*k], b.rows[2*k+1]
			if !together[[2]int{a, c}] || b.groups[2*k] != int32(k) || b.groups[2*k+1] != int32(k) {
				t.Fatalf("pair %d: items %d and %d (groups %d, %d) were not played by one user", k, a, c, b.groups[2*k], b.groups[2*k+1])
			}
		}
	}
	// More rows than distinct items: copies are let in rather than looping.
	few := plays(8, 40)
	cfg.Batch = 8
	pm = newPairMaker(cfg, few, newSparseInputs(few, false, false), rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(3, 4)))
	pm.perStep, pm.rows = 6, 12
	b = newRunBatch(12, few, pm.sp, cfg.Dim, cfg.Pairs)
	pm.beginEpoch()
	pm.fill(b)
}

// TestProbeFixed: the probe depends only on the seed and is drawn from the
// held-out items.
func TestProbeFixed(t *testing.T) {
	d := blobs(1000, 5, 4, 4)
	for _, pairs := range []string{PairsLabels, PairsLabelsAugment, PairsAugment} {
		cfg := DefaultConfig()
		cfg.Pairs = pairs
		p1 := newProbe(cfg, d, nil, rand.New(rand.NewPCG(9, streamProbe)))
		p2 := newProbe(cfg, d, nil, rand.New(rand.NewPCG(9, streamProbe)))
		if !slices.Equal(p1.rows, p2.rows) || !slices.Equal(p1.x, p2.x) || !slices.Equal(p1.groups, p2.groups) {
			t.Errorf("%s: two probes from the same seed differ", pairs)
		}
		for _, i := range p1.rows {
			if d.Splits[i] != dataset.Test {
				t.Fatalf("%s: probe holds training item %d", pairs, i)
			}
		}
		want := 200 // every held-out item
		if pairs == PairsAugment {
			want = 400 // two views of each
		}
		if len(p1.rows) != want {
			t.Errorf("%s: probe has %d rows, want %d", pairs, len(p1.rows), want)
		}
	}
}

func TestExamplePairs(t *testing.T) {
	const dim, d = 3, 2
	b := &batch{
		rows:   []int{10, 11, 12, 13},
		x:      []float32{1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4},
		groups: []int32{0, 0, 1, 1},
		z:      []float32{1, 0, 0, 1, -1, 0, 0, -1},
	}
	ex := examplePairs(b, 4, dim, d, 4, nil)
	if len(ex) != 4 {
		t.Fatalf("got %d pairs, want 4", len(ex))
	}
	pos := 0
	for _, e := range ex {
		ia, ib := slices.Index(b.rows, e.A), slices.Index(b.rows, e.B)
		if e.Positive != (b.groups[ia] == b.groups[ib]) {
			t.Errorf("pair %d–%d: Positive %v", e.A, e.B, e.Positive)
		}
		if e.Positive {
			pos++
		}
		dx, dy := float64(b.z[ia*d]-b.z[ib*d]), float64(b.z[ia*d+1]-b.z[ib*d+1])
		if want := math.Hypot(dx, dy); math.Abs(e.Distance-want) > 1e-9 {
			t.Errorf("pair %d–%d: distance %v, want %v", e.A, e.B, e.Distance, want)
		}
		if e.XA[0] != float32(ia+1) || e.XB[0] != float32(ib+1) {
			t.Errorf("pair %d–%d: inputs %v, %v", e.A, e.B, e.XA, e.XB)
		}
	}
	if pos != 2 {
		t.Errorf("%d positive pairs, want 2", pos)
	}
	ex[0].XA[0] = 99
	if b.x[0] == 99 || b.x[3] == 99 || b.x[6] == 99 || b.x[9] == 99 {
		t.Error("ExamplePairs vectors alias the batch")
	}
}
