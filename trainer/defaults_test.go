package trainer

import (
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

// TestDefaultsFromInfo: the home page's listing, which has not loaded the
// data, gets the same defaults as the loaded dataset for every bundled one.
func TestDefaultsFromInfo(t *testing.T) {
	for _, in := range sampledata.List() {
		d, err := sampledata.Load(in.Name)
		if err != nil {
			t.Fatal(err)
		}
		got, want := DefaultConfigForInfo(in), DefaultConfigFor(d)
		if got.Pairs != want.Pairs || got.Epochs != want.Epochs || got.LR != want.LR || got.Schedule != want.Schedule || got.Temperature != want.Temperature {
			t.Errorf("%s: from its summary %+v, loaded %+v", in.Name, got, want)
		}
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
