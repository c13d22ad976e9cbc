package trainer

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// checkpointCase is a run whose checkpoints the tests restore.
type checkpointCase struct {
	name string
	cfg  Config
	d    *dataset.Dataset
}

// checkpointCases cover dense images with augmented views (the augment
// stream, Adam), hashed text views through the embedding bag (AdamW, the
// lazy row optimiser), cooccur pairs of interactions (SGD momentum on the
// MLP and the bag, the sampling-bias correction) and a cosine schedule with
// warmup, whose learning rate depends on the step counter.
func checkpointCases(t *testing.T) []checkpointCase {
	small := func(loss, pairs, optimizer string, epochs int) Config {
		cfg := DefaultConfig()
		cfg.Loss, cfg.Pairs, cfg.Optimizer, cfg.Epochs = loss, pairs, optimizer, epochs
		cfg.Hidden, cfg.Batch = []int{32}, 128
		return cfg
	}
	imgs := small(LossSupCon, PairsLabelsAugment, "adam", 4)
	imgs.Augment = 0.3
	text := small(LossNTXent, PairsAugment, "adamw", 3)
	text.Embed, text.Batch, text.WeightDecay = 16, 32, 0.01
	inter := small(LossTriplet, PairsCooccur, "sgd", 3)
	inter.Embed, inter.Batch, inter.LR = 16, 32, 0.05
	cosine := small(LossNTXent, PairsLabels, "adam", 4)
	cosine.Schedule, cosine.Warmup = "cosine", 1
	return []checkpointCase{
		{"digits/supcon/labels+augment", imgs, digits(t)},
		{"glosses/ntxent/augment", text, glosses(300, 1<<12)},
		{"plays/triplet/cooccur", inter, plays(300, 400)},
		{"digits/ntxent/cosine", cosine, digits(t)},
	}
}

// publishedAfter runs r and returns its epochs; it fails on an error.
func publishedAfter(t *testing.T, r *Run) []Epoch {
	t.Helper()
	eps, err := runAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	return eps
}

// sameEpoch reports how a and b differ but for timing, or "".
func sameEpoch(a, b Epoch) string {
	ma, mb := a.Metrics, b.Metrics
	ma.Seconds, mb.Seconds, ma.CPUSeconds, mb.CPUSeconds = 0, 0, 0, 0
	switch {
	case a.Epoch != b.Epoch:
		return "epoch numbers"
	case ma.Loss != mb.Loss || ma.KNNAccuracy != mb.KNNAccuracy:
		return "loss or kNN accuracy"
	case !reflect.DeepEqual(ma, mb):
		return "metrics"
	case !slices.Equal(a.Embeddings, b.Embeddings):
		return "embeddings"
	case !bytes.Equal(a.Checkpoint, b.Checkpoint):
		return "checkpoints"
	}
	return ""
}

// TestRestoreContinuesExactly: a run restored from its epoch-k checkpoint
// publishes epochs k+1..E bit for bit as the run that was not interrupted,
// including their checkpoints and the last batch's example pairs. It is
// restored from the middle, from epoch 0 and from the last epoch, after
// which it has nothing left to train.
func TestRestoreContinuesExactly(t *testing.T) {
	for _, c := range checkpointCases(t) {
		t.Run(c.name, func(t *testing.T) {
			whole := mustNew(t, c.cfg, c.d)
			whole.EnableCheckpoints()
			eps := publishedAfter(t, whole)
			if len(eps) != c.cfg.Epochs+1 {
				t.Fatalf("%d epochs published, want %d", len(eps), c.cfg.Epochs+1)
			}
			for _, e := range eps {
				if got, err := CheckpointEpoch(e.Checkpoint); err != nil || got != e.Epoch {
					t.Fatalf("CheckpointEpoch of epoch %d = %d, %v", e.Epoch, got, err)
				}
			}
			for _, k := range []int{c.cfg.Epochs / 2, 0, c.cfg.Epochs} {
				r, err := Restore(c.cfg, c.d, eps[k].Checkpoint)
				if err != nil {
					t.Fatalf("Restore after epoch %d: %v", k, err)
				}
				r.EnableCheckpoints()
				if ex := r.ExamplePairs(4); ex != nil {
					t.Errorf("restored run has example pairs before Run")
				}
				got := publishedAfter(t, r)
				if len(got) != c.cfg.Epochs-k {
					t.Fatalf("restored after epoch %d: %d epochs published, want %d", k, len(got), c.cfg.Epochs-k)
				}
				for i, e := range got {
					if diff := sameEpoch(eps[k+1+i], e); diff != "" {
						t.Errorf("restored after epoch %d: epoch %d: %s differ", k, e.Epoch, diff)
					}
				}
				if r.State() != Done {
					t.Errorf("restored after epoch %d: state %v, want done", k, r.State())
				}
				if k < c.cfg.Epochs && !reflect.DeepEqual(r.ExamplePairs(6), whole.ExamplePairs(6)) {
					t.Errorf("restored after epoch %d: the last batch's example pairs differ", k)
				}
			}
		})
	}
}

// TestNoCheckpointsByDefault: without EnableCheckpoints epochs carry none,
// and enabling them once the run has started is a programmer error.
func TestNoCheckpointsByDefault(t *testing.T) {
	c := checkpointCases(t)[0]
	c.cfg.Epochs = 1
	r := mustNew(t, c.cfg, c.d)
	for _, e := range publishedAfter(t, r) {
		if e.Checkpoint != nil {
			t.Errorf("epoch %d carries a checkpoint of %d bytes", e.Epoch, len(e.Checkpoint))
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("EnableCheckpoints after Run did not panic")
		}
	}()
	r.EnableCheckpoints()
}

// tinyCheckpoint returns a small run's configuration, dataset and its
// epoch-1 checkpoint: dense, or sparse (with an embedding bag).
func tinyCheckpoint(t testing.TB, sparse bool) (Config, *dataset.Dataset, []byte) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Epochs, cfg.Batch, cfg.Hidden, cfg.Dim = 2, 16, []int{4}, 2
	d := blobs(60, 3, 3, 1)
	if sparse {
		cfg.Pairs, cfg.Embed, cfg.Optimizer = PairsCooccur, 2, "sgd"
		d = plays(30, 20)
	}
	r, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	r.EnableCheckpoints()
	ch, _ := r.Subscribe(MaxEpochs + 1)
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-ch
	return cfg, d, (<-ch).Checkpoint
}

// reseal replaces b's checksum with the right one, so that a change to its
// sections gets past the checksum to the decoder.
func reseal(b []byte) []byte {
	b = slices.Clone(b)
	if len(b) >= 4 {
		binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], castagnoli))
	}
	return b
}

// editSections re-encodes ck with edit applied to its sections.
func editSections(t *testing.T, ck []byte, edit func(*sections)) []byte {
	t.Helper()
	sec, err := parseCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	edit(sec)
	b := []byte(checkpointMagic + "\x01")
	for id, p := range sec {
		if p != nil {
			b = append(b, byte(id))
			b = binary.LittleEndian.AppendUint64(b, uint64(len(p)))
			b = append(b, p...)
		}
	}
	return reseal(append(b, 0, 0, 0, 0))
}

// TestRestoreRefuses: damaged checkpoints, and checkpoints of another
// configuration or dataset, are errors that say what is wrong.
func TestRestoreRefuses(t *testing.T) {
	cfg, d, ck := tinyCheckpoint(t, false)
	if _, err := Restore(cfg, d, ck); err != nil {
		t.Fatalf("intact checkpoint: %v", err)
	}
	flipped := slices.Clone(ck)
	flipped[len(flipped)/2] ^= 1
	other := blobs(60, 3, 3, 2)
	lr := cfg
	lr.LR = 3e-3
	progress := func(k int, v uint64) func(*sections) {
		return func(s *sections) {
			p := slices.Clone(s[secProgress])
			binary.LittleEndian.PutUint64(p[8*k:], v)
			s[secProgress] = p
		}
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		d    *dataset.Dataset
		ck   []byte
		want string
	}{
		{"empty", cfg, d, nil, "not a checkpoint"},
		{"magic", cfg, d, append([]byte("CXCX"), ck[4:]...), "not a checkpoint"},
		{"version", cfg, d, reseal(append([]byte("CXCK\x02"), ck[5:]...)), "version 2"},
		{"truncated", cfg, d, ck[:len(ck)-9], "checksum"},
		{"flipped bit", cfg, d, flipped, "checksum"},
		{"long section", cfg, d, reseal(slices.Concat(ck[:6], []byte{0xff, 0xff}, ck[8:])), "claims"},
		{"trailing byte", cfg, d, reseal(slices.Concat(ck[:len(ck)-4], []byte{secOrder, 0, 0, 0, 0})), "truncated section"},
		{"no progress", cfg, d, editSections(t, ck, func(s *sections) { s[secProgress] = nil }), "no progress"},
		{"short params", cfg, d, editSections(t, ck, func(s *sections) { s[secParams] = s[secParams][4:] }), "params"},
		{"no stream", cfg, d, editSections(t, ck, func(s *sections) { s[secSample] = nil }), "random streams"},
		{"stray bag", cfg, d, editSections(t, ck, func(s *sections) { s[secBag] = s[secParams] }), "unexpected section bag"},
		{"order", cfg, d, editSections(t, ck, func(s *sections) { s[secOrder] = make([]byte, len(s[secOrder])) }), "permutation"},
		{"epoch", cfg, d, editSections(t, ck, progress(0, 3)), "epoch 3 of a run of 2"},
		{"steps", cfg, d, editSections(t, ck, progress(1, 1)), "after 1 steps"},
		{"config", lr, d, ck, "lr 0.001 in the checkpoint, 0.003 here"},
		{"dataset contents", cfg, other, ck, "other contents"},
		{"dataset size", cfg, blobs(70, 3, 3, 1), ck, "60 items of dimension 3, not 70"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Restore(tc.cfg, tc.d, tc.ck)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Restore = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := Restore(Config{}, d, ck); err == nil {
		t.Error("Restore with an invalid configuration succeeded")
	}
	if _, err := CheckpointEpoch(ck[:20]); err == nil {
		t.Error("CheckpointEpoch of a truncated checkpoint succeeded")
	}
}

// FuzzRestore: no input makes Restore panic, whether or not its checksum
// holds (the second call reseals it, so that the fuzzer's changes reach the
// section decoder). Seeds: checkpoints of a dense and a sparse run and
// truncations of them.
func FuzzRestore(f *testing.F) {
	dcfg, dd, dck := tinyCheckpoint(f, false)
	scfg, sd, sck := tinyCheckpoint(f, true)
	for _, ck := range [][]byte{dck, sck} {
		f.Add(ck)
		for _, n := range []int{0, 4, 5, 13, len(ck) / 2, len(ck) - 4, len(ck) - 1} {
			f.Add(ck[:n])
			f.Add(reseal(ck[:n]))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, ck := range [][]byte{b, reseal(b)} {
			for _, c := range []struct {
				cfg Config
				d   *dataset.Dataset
			}{{dcfg, dd}, {scfg, sd}} {
				r, err := Restore(c.cfg, c.d, ck)
				if err == nil && r.resumedFrom > c.cfg.Epochs {
					t.Fatalf("restored after epoch %d of %d", r.resumedFrom, c.cfg.Epochs)
				}
			}
			CheckpointEpoch(ck)
		}
	})
}

// BenchmarkCheckpoint encodes the checkpoint of the reference
// configuration (MLP 784-256-128-32, Adam) on fashion-shaped data and
// reports its size (2.9 MB, in about 1 ms), restores a run from it, and
// fingerprints the dataset (which a run with checkpoints does once, and
// Restore every time).
func BenchmarkCheckpoint(b *testing.B) {
	d := fashionShaped()
	r, tr := newTrainingFor(b, benchConfig(), d)
	c := newCheckpointer(r.cfg, d)
	b.Run("encode", func(b *testing.B) {
		var n int
		for b.Loop() {
			n = len(c.encode(tr, 0))
		}
		b.ReportMetric(float64(n), "bytes/checkpoint")
	})
	ck := c.encode(tr, 0)
	b.Run("restore", func(b *testing.B) {
		for b.Loop() {
			if _, err := Restore(benchConfig(), d, ck); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fingerprint", func(b *testing.B) {
		for b.Loop() {
			dataFingerprint(d)
		}
	})
}
