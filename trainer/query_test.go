package trainer

import (
	"context"
	"errors"
	"math"
	"runtime"
	"sync"
	"testing"
)

// quickWordnet is a short run on WordNet definitions with pairs: a small
// encoder and one epoch, a second or so.
func quickWordnet(t *testing.T, pairs string) *Run {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Epochs, cfg.Hidden, cfg.Dim, cfg.Pairs = 1, []int{32}, 16, pairs
	return mustNew(t, cfg, bundled(t, "wordnet"))
}

// TestEmbedTextMatchesItems: after training, an item's exact text embeds as
// the run published the item, for each kind of text pairs (headword pairs
// give the bag rows for headwords no item uses, which a query ignores).
func TestEmbedTextMatchesItems(t *testing.T) {
	for _, pairs := range []string{PairsLabels, PairsHeadword} {
		t.Run(pairs, func(t *testing.T) {
			r := quickWordnet(t, pairs)
			if _, err := r.EmbedText("a word"); err == nil {
				t.Error("EmbedText before Run: no error")
			}
			eps, err := runAll(t, r)
			if err != nil {
				t.Fatal(err)
			}
			last := eps[len(eps)-1]
			d := r.Dataset()
			const tol = 1e-5
			for i := 0; i < d.Len(); i += 397 {
				got, err := r.EmbedText(d.Text[i])
				if err != nil {
					t.Fatalf("item %d %q: %v", i, d.Text[i], err)
				}
				want := last.Embeddings[i*last.Dim : (i+1)*last.Dim]
				if len(got) != last.Dim {
					t.Fatalf("item %d: %d values, want %d", i, len(got), last.Dim)
				}
				for j := range want {
					if math.Abs(float64(got[j]-want[j])) > tol {
						t.Fatalf("item %d %q: embedding %v, published %v (tolerance %g)", i, d.Text[i], got, want, tol)
					}
				}
			}
		})
	}
}

// TestEmbedTextErrors: queries without known features, and datasets that
// are not text, are errors.
func TestEmbedTextErrors(t *testing.T) {
	r := quickWordnet(t, PairsLabels)
	r.newTraining() // builds the encoder, as Run does first
	for _, q := range []string{"", "   ", "?!… — ;-)"} {
		if v, err := r.EmbedText(q); !errors.Is(err, ErrNoKnownWords) || v != nil {
			t.Errorf("EmbedText(%q) = %v, %v; want ErrNoKnownWords", q, v, err)
		}
	}
	if err := ErrNoKnownWords.Error(); err != "query has no words the encoder knows" {
		t.Errorf("message %q", err)
	}
	// A query with some features no item has still embeds, renormalised.
	v, err := r.EmbedText("zzxqj wordnet qqqzzv")
	if err != nil {
		t.Fatal(err)
	}
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if math.Abs(ss-1) > 1e-5 {
		t.Errorf("embedding has squared norm %v, want 1", ss)
	}

	img := mustNew(t, DefaultConfig(), digits(t))
	img.newTraining()
	if _, err := img.EmbedText("seven"); err == nil || errors.Is(err, ErrNoKnownWords) {
		t.Errorf("EmbedText on images: %v, want an error about the dataset", err)
	}
}

// TestEmbedTextWhileTraining embeds queries concurrently with training
// (meaningful under -race): every answer is a unit vector of Dim values.
func TestEmbedTextWhileTraining(t *testing.T) {
	r := quickWordnet(t, PairsLabels)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	embedded := 0
	for g := range 3 {
		wg.Go(func() {
			q := []string{"a large body of water", "the act of running", "a feeling of joy"}[g]
			for ctx.Err() == nil {
				v, err := r.EmbedText(q)
				if err != nil {
					runtime.Gosched() // the encoder may not be built yet
					continue
				}
				var ss float64
				for _, x := range v {
					ss += float64(x) * float64(x)
				}
				if len(v) != r.Config().Dim || math.Abs(ss-1) > 1e-4 {
					t.Errorf("%q: %d values, squared norm %v", q, len(v), ss)
					return
				}
				mu.Lock()
				embedded++
				mu.Unlock()
			}
		})
	}
	err := r.Run(context.Background())
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if embedded == 0 {
		t.Error("no query was embedded during training")
	}
	t.Logf("%d queries embedded", embedded)
}
