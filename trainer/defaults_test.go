package trainer

import (
	"reflect"
	"testing"

	sampledata "github.com/contrastive-explorer/explorer/sample-data"
)

// TestDefaultsBeatBaselines trains every bundled dataset with its defaults
// (DefaultConfigFor, what the home page, the API and the CLI start from)
// and checks that the last epoch beats the dataset's baseline: kNN above
// raw inputs for digits, Fashion-MNIST and WordNet, recall@10 above the
// most popular tracks for the listening histories, with SupCon and with
// NT-Xent. About a minute on 2 cores.
func TestDefaultsBeatBaselines(t *testing.T) {
	if testing.Short() {
		t.Skip("trains every bundled dataset")
	}
	for _, tc := range []struct{ dataset, loss string }{
		{"digits", ""}, {"fashion", ""}, {"wordnet", ""},
		{"interactions", LossSupCon}, {"interactions", LossNTXent},
	} {
		t.Run(tc.dataset+"/"+tc.loss, func(t *testing.T) {
			d, err := sampledata.Load(tc.dataset)
			if err != nil {
				t.Fatal(err)
			}
			cfg := DefaultConfigFor(d)
			if tc.loss != "" {
				cfg.Loss = tc.loss
			}
			eps, err := runAll(t, mustNew(t, cfg, d))
			if err != nil {
				t.Fatal(err)
			}
			if len(eps) != cfg.Epochs+1 {
				t.Fatalf("%d epochs published, want %d and the untrained epoch 0", len(eps), cfg.Epochs)
			}
			m := eps[len(eps)-1].Metrics
			if m.HasRecall {
				t.Logf("%s %s, %d epochs: recall@10 %.4f, most popular %.4f, random %.4f", cfg.Loss, cfg.Pairs, cfg.Epochs, m.RecallAt10, m.PopularityRecallAt10, m.RandomRecallAt10)
				if m.RecallAt10 <= m.PopularityRecallAt10 {
					t.Errorf("recall@10 %.4f with the defaults, want above the most popular tracks' %.4f", m.RecallAt10, m.PopularityRecallAt10)
				}
				return
			}
			t.Logf("%s %s, %d epochs: kNN %.4f, raw %.4f", cfg.Loss, cfg.Pairs, cfg.Epochs, m.KNNAccuracy, m.RawKNNAccuracy)
			if !m.HasKNN || m.KNNAccuracy <= m.RawKNNAccuracy {
				t.Errorf("held-out kNN %.4f with the defaults, want above the raw-input baseline %.4f", m.KNNAccuracy, m.RawKNNAccuracy)
			}
		})
	}
}

// TestSelfSupervisedDefaultsTeach trains the self-supervised pair sources
// with their defaults (DefaultConfigForPairs) and checks that they teach:
// two views of an item lift held-out kNN clearly above the untrained
// encoder's and to raw inputs on digits and Fashion-MNIST (within a point
// of them: docs/benchmarks.md, "Self-supervised defaults", has 3 seeds of
// each, at or above raw), and above raw n-grams on WordNet; a word and its
// definition lift WordNet well above the untrained encoder but not to raw
// n-grams (0.61 against 0.69: the page says so). About 45 s on 2 cores.
func TestSelfSupervisedDefaultsTeach(t *testing.T) {
	if testing.Short() {
		t.Skip("trains Fashion-MNIST for 40 epochs")
	}
	for _, tc := range []struct {
		dataset, pairs string
		gain, belowRaw float64 // over the untrained encoder; under raw inputs at most
	}{
		{"digits", PairsAugment, 0.01, 0.01},
		{"fashion", PairsAugment, 0.03, 0.01},
		{"wordnet", PairsAugment, 0.3, 0},
		{"wordnet", PairsHeadword, 0.2, 0.12},
	} {
		t.Run(tc.dataset+"/"+tc.pairs, func(t *testing.T) {
			d, err := sampledata.Load(tc.dataset)
			if err != nil {
				t.Fatal(err)
			}
			cfg := DefaultConfigForPairs(d, tc.pairs)
			eps, err := runAll(t, mustNew(t, cfg, d))
			if err != nil {
				t.Fatal(err)
			}
			untrained, m := eps[0].Metrics, eps[len(eps)-1].Metrics
			t.Logf("%s %s, %d epochs: kNN %.4f, untrained %.4f, raw %.4f", cfg.Loss, cfg.Pairs, cfg.Epochs, m.KNNAccuracy, untrained.KNNAccuracy, m.RawKNNAccuracy)
			if m.KNNAccuracy < untrained.KNNAccuracy+tc.gain {
				t.Errorf("kNN %.4f, want at least %.2f above the untrained encoder's %.4f", m.KNNAccuracy, tc.gain, untrained.KNNAccuracy)
			}
			if m.KNNAccuracy < m.RawKNNAccuracy-tc.belowRaw {
				t.Errorf("kNN %.4f, want at most %.2f under raw inputs' %.4f", m.KNNAccuracy, tc.belowRaw, m.RawKNNAccuracy)
			}
		})
	}
}

// TestDefaulted: Defaulted takes every field of DefaultedFields that was
// not given from the defaults (a field without a copy would panic), and
// leaves the given ones and the fields outside the list.
func TestDefaulted(t *testing.T) {
	d, err := sampledata.Load("wordnet")
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultConfigForPairs(d, PairsHeadword)
	mine := DefaultConfig()
	mine.Loss, mine.Epochs, mine.Hidden, mine.Seed = "triplet", 7, []int{9}, 42
	got := mine.Defaulted(def, func(f string) bool { return f == "epochs" || f == "hidden" })
	want := mine
	want.Pairs, want.Batch, want.LR, want.Schedule = PairsHeadword, 128, 3e-3, "cosine"
	want.Temperature, want.Augment, want.Dim, want.Embed = 0.5, def.Augment, def.Dim, 256
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Defaulted =\n %+v\nwant\n %+v", got, want)
	}
}

// TestUnusablePairsOfBundled: each bundled dataset is offered the pair
// sources it can make, and no other.
func TestUnusablePairsOfBundled(t *testing.T) {
	for name, want := range map[string][]string{
		"digits":       {PairsHeadword, PairsCooccur},
		"fashion":      {PairsHeadword, PairsCooccur},
		"wordnet":      {PairsCooccur},
		"interactions": {PairsLabelsAugment, PairsAugment, PairsHeadword},
	} {
		d, err := sampledata.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		got := UnusablePairs(d)
		if len(got) != len(want) {
			t.Errorf("%s: unusable %v, want %v", name, got, want)
		}
		for _, p := range want {
			if got[p] == "" {
				t.Errorf("%s: %s is offered, want it refused with a reason", name, p)
			}
		}
		for _, p := range PairModes {
			cfg := DefaultConfigFor(d)
			cfg.Pairs = p
			if err := cfg.Validate(d); (err != nil) != (got[p] != "") {
				t.Errorf("%s with %s: Validate says %v, UnusablePairs %q", name, p, err, got[p])
			}
		}
	}
}
