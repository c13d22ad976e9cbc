package trainer

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

func TestConfigValidate(t *testing.T) {
	d := blobs(100, 4, 3, 1) // 80 training items
	unlabelled := blobs(100, 4, 3, 1)
	for i := range unlabelled.Labels {
		unlabelled.Labels[i] = dataset.NoLabel
	}
	oneClass := blobs(100, 4, 1, 1)
	plays := &dataset.Dataset{
		Name: "plays", Kind: dataset.Interactions, Dim: 2,
		Labels: []int32{dataset.NoLabel, dataset.NoLabel}, Splits: []dataset.Split{dataset.Train, dataset.Train},
		Sparse: dataset.Identity(2),
		Users:  [][]int32{{0, 1}}, HeldOut: []int32{dataset.NoLabel},
	}
	lonely := *plays // no user with two plays
	lonely.Users, lonely.HeldOut = [][]int32{{0}, {1}}, []int32{dataset.NoLabel, dataset.NoLabel}
	text := glosses(40, 1<<10)
	noHeadwords := *text
	noHeadwords.Headwords = nil
	manyItems := *plays // 20,000 item ids × MaxEmbed is over MaxBagParams
	manyItems.Dim, manyItems.Sparse = 20000, dataset.Identity(20000)
	manyItems.Labels, manyItems.Splits = make([]int32, 20000), make([]dataset.Split, 20000)
	for i := range manyItems.Labels {
		manyItems.Labels[i] = dataset.NoLabel
	}
	precomputed := blobs(100, 4, 3, 1)
	precomputed.Precomputed = true
	for _, d := range []*dataset.Dataset{plays, &lonely, text, &noHeadwords, &manyItems, precomputed} {
		if err := d.Validate(); err != nil {
			t.Fatalf("test dataset: %v", err)
		}
	}

	tests := []struct {
		name  string
		edit  func(c *Config)
		data  *dataset.Dataset
		field string // "" = valid
	}{
		{"default", func(c *Config) {}, nil, ""},
		{"every loss", func(c *Config) { c.Loss = "triplet"; c.Mining = "hard" }, nil, ""},
		{"augment on unlabelled", func(c *Config) { c.Pairs = "augment"; c.Batch = 16 }, unlabelled, ""},
		{"full batch", func(c *Config) { c.Batch = 80 }, nil, ""},
		{"sgd cosine warmup", func(c *Config) { c.Optimizer = "sgd"; c.Schedule = "cosine"; c.Warmup = 2 }, nil, ""},
		{"no hidden layers", func(c *Config) { c.Hidden = nil }, nil, ""},
		{"labels+augment", func(c *Config) { c.Pairs = "labels+augment" }, nil, ""},
		{"default pairs", func(c *Config) { c.Pairs = "" }, nil, ""},
		{"default pairs on unlabelled", func(c *Config) { c.Pairs = ""; c.Batch = 16 }, unlabelled, ""},
		{"cooccur", func(c *Config) { c.Pairs = "cooccur"; c.Batch = 2 }, plays, ""},
		{"default pairs on plays", func(c *Config) { c.Pairs = ""; c.Batch = 2 }, plays, ""},
		{"aug-noise without strength", func(c *Config) { c.Pairs = "augment"; c.Augment = 0; c.AugNoise = 0.1 }, nil, ""},
		{"aug-shift on vectors", func(c *Config) { c.Pairs = "augment"; c.AugShift = 2 }, nil, "aug_shift"},
		{"aug-mask of 1", func(c *Config) { c.Pairs = "augment"; c.AugMask = 1 }, nil, "aug_mask"},
		{"negative aug-noise", func(c *Config) { c.Pairs = "augment"; c.AugNoise = -0.1 }, nil, "aug_noise"},
		{"aug-noise on text", func(c *Config) { c.Pairs = "augment"; c.AugNoise = 0.1; c.Batch = 16 }, text, "aug_shift"},
		{"headword", func(c *Config) { c.Pairs = "headword"; c.Batch = 8; c.Embed = 8 }, text, ""},
		{"text views", func(c *Config) { c.Pairs = "augment"; c.Batch = 8 }, text, ""},
		{"text labels", func(c *Config) { c.Batch = 8; c.Embed = MaxEmbed }, text, ""},

		{"nil dataset", func(c *Config) {}, (*dataset.Dataset)(nil), "dataset"},
		{"other dataset", func(c *Config) { c.Dataset = "fashion" }, nil, "dataset"},
		{"precomputed", func(c *Config) {}, precomputed, "dataset"},
		{"augmented ids", func(c *Config) { c.Pairs = "augment"; c.Batch = 2 }, plays, "pairs"},
		{"augmented labelled ids", func(c *Config) { c.Pairs = "labels+augment"; c.Batch = 2 }, plays, "pairs"},
		{"augment 0", func(c *Config) { c.Pairs = "augment"; c.Augment = 0 }, nil, "augment"},
		{"labels+augment 0", func(c *Config) { c.Pairs = "labels+augment"; c.Augment = 0 }, nil, "augment"},
		{"labels+augment unlabelled", func(c *Config) { c.Pairs = "labels+augment"; c.Batch = 16 }, unlabelled, "pairs"},
		{"headword on images", func(c *Config) { c.Pairs = "headword" }, nil, "pairs"},
		{"headword without headwords", func(c *Config) { c.Pairs = "headword"; c.Batch = 8 }, &noHeadwords, "pairs"},
		{"cooccur on vectors", func(c *Config) { c.Pairs = "cooccur" }, nil, "pairs"},
		{"cooccur without histories", func(c *Config) { c.Pairs = "cooccur"; c.Batch = 2 }, &lonely, "pairs"},
		{"embed negative", func(c *Config) { c.Embed = -1 }, nil, "embed"},
		{"embed too wide", func(c *Config) { c.Embed = MaxEmbed + 1 }, text, "embed"},
		{"bag too large", func(c *Config) { c.Pairs = "cooccur"; c.Batch = 2; c.Embed = MaxEmbed }, &manyItems, "embed"},
		{"unknown loss", func(c *Config) { c.Loss = "hinge" }, nil, "loss"},
		{"unknown pairs", func(c *Config) { c.Pairs = "random" }, nil, "pairs"},
		{"zero epochs", func(c *Config) { c.Epochs = 0 }, nil, "epochs"},
		{"too many epochs", func(c *Config) { c.Epochs = 1001 }, nil, "epochs"},
		{"batch 1", func(c *Config) { c.Batch = 1 }, nil, "batch"},
		{"batch above data", func(c *Config) { c.Batch = 81 }, nil, "batch"},
		{"lr zero", func(c *Config) { c.LR = 0 }, nil, "lr"},
		{"lr negative", func(c *Config) { c.LR = -1e-3 }, nil, "lr"},
		{"lr ten", func(c *Config) { c.LR = 10 }, nil, "lr"},
		{"lr NaN", func(c *Config) { c.LR = math.NaN() }, nil, "lr"},
		{"lr Inf", func(c *Config) { c.LR = math.Inf(1) }, nil, "lr"},
		{"dim 1", func(c *Config) { c.Dim = 1 }, nil, "dim"},
		{"dim 129", func(c *Config) { c.Dim = 129 }, nil, "dim"},
		{"hidden zero", func(c *Config) { c.Hidden = []int{256, 0} }, nil, "hidden"},
		{"hidden too wide", func(c *Config) { c.Hidden = []int{4097} }, nil, "hidden"},
		{"hidden too deep", func(c *Config) { c.Hidden = []int{8, 8, 8, 8, 8} }, nil, "hidden"},
		{"temperature negative", func(c *Config) { c.Temperature = -0.1 }, nil, "temperature"},
		{"temperature NaN", func(c *Config) { c.Temperature = math.NaN() }, nil, "temperature"},
		{"temperature tiny", func(c *Config) { c.Temperature = 0.001 }, nil, "temperature"},
		{"margin negative", func(c *Config) { c.Loss = "triplet"; c.Margin = -1 }, nil, "margin"},
		{"margin too large", func(c *Config) { c.Loss = "contrastive"; c.Margin = 3 }, nil, "margin"},
		{"margin Inf", func(c *Config) { c.Loss = "contrastive"; c.Margin = math.Inf(1) }, nil, "margin"},
		{"unknown mining", func(c *Config) { c.Loss = "triplet"; c.Mining = "easy" }, nil, "mining"},
		{"unknown optimizer", func(c *Config) { c.Optimizer = "rmsprop" }, nil, "optimizer"},
		{"momentum 1", func(c *Config) { c.Momentum = 1 }, nil, "momentum"},
		{"weight decay negative", func(c *Config) { c.WeightDecay = -0.1 }, nil, "weight_decay"},
		{"unknown schedule", func(c *Config) { c.Schedule = "step" }, nil, "schedule"},
		{"warmup beyond epochs", func(c *Config) { c.Warmup = 21 }, nil, "warmup"},
		{"augment above 1", func(c *Config) { c.Augment = 1.5 }, nil, "augment"},
		{"augment NaN", func(c *Config) { c.Augment = math.NaN() }, nil, "augment"},
		{"labels on unlabelled", func(c *Config) { c.Batch = 16 }, unlabelled, "pairs"},
		{"labels with one class", func(c *Config) { c.Batch = 16 }, oneClass, "pairs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Batch = 32
			tt.edit(&c)
			data := d
			if tt.data != nil {
				data = tt.data
			}
			if tt.name == "nil dataset" {
				data = nil
			}
			err := c.Validate(data)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, err := New(c, data); err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate = %v, want a *FieldError for %s", err, tt.field)
			}
			if fe.Field != tt.field {
				t.Fatalf("Validate names field %q (%v), want %q", fe.Field, err, tt.field)
			}
			if !strings.HasPrefix(err.Error(), tt.field+": ") || fe.Msg == "" {
				t.Errorf("Error() = %q, want %q and a message", err.Error(), tt.field+": …")
			}
			if _, err := New(c, data); !errors.As(err, &fe) {
				t.Errorf("New accepted a config Validate rejects: %v", err)
			}
		})
	}
}

// TestNewResolvesDefaults: New fills in the dataset name and the loss's
// defaults, and Config returns a copy.
func TestNewResolvesDefaults(t *testing.T) {
	d := blobs(100, 4, 3, 1)
	cfg := DefaultConfig()
	cfg.Batch, cfg.Loss = 16, "triplet"
	r, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	got := r.Config()
	want := DefaultLossConfig("triplet")
	if got.Dataset != "blobs" || got.Margin != want.Margin || got.Mining != want.Mining {
		t.Errorf("resolved config: dataset %q margin %v mining %q; want blobs, %v, %q", got.Dataset, got.Margin, got.Mining, want.Margin, want.Mining)
	}
	got.Hidden[0] = 1
	if r.Config().Hidden[0] != 256 {
		t.Error("Config shares its Hidden slice with the run")
	}
	if r.Dataset() != d || r.State() != Queued {
		t.Errorf("Dataset %p (want %p), State %v (want queued)", r.Dataset(), d, r.State())
	}
}

// TestConfigAugmentation checks that any aug_* field replaces the strength's
// preset as a whole, and that without them the preset applies.
func TestConfigAugmentation(t *testing.T) {
	c := DefaultConfig()
	if got, want := c.Augmentation(dataset.Images, 28, 28), DefaultAugment(dataset.Images, 28, 28, 0.5); got != want {
		t.Errorf("preset: %+v, want %+v", got, want)
	}
	c.AugShift, c.AugNoise = 2, 0.1
	if got, want := c.Augmentation(dataset.Images, 28, 28), (Augment{Shift: 2, Noise: 0.1}); got != want {
		t.Errorf("explicit: %+v, want %+v (no rotation or cutout)", got, want)
	}
}

// TestMessagesSpeakToPeople checks every message about pairs and the batch
// on data uploaded as a file: in a learner's words (no internal id, no
// API or flag spelling), naming the file, and saying what to do instead.
func TestMessagesSpeakToPeople(t *testing.T) {
	upload := func(d *dataset.Dataset) *dataset.Dataset {
		d.Name, d.Title = "u-2216ca550028baee", "flowers.csv"
		return d
	}
	labelled := upload(blobs(100, 4, 3, 1))
	unlabelled := upload(blobs(100, 4, 3, 1))
	for i := range unlabelled.Labels {
		unlabelled.Labels[i] = dataset.NoLabel
	}
	unlabelled.ClassNames = nil
	partly := upload(blobs(100, 4, 3, 1))
	partly.Labels[0] = dataset.NoLabel
	oneClass := upload(blobs(100, 4, 1, 1))
	plays := upload(&dataset.Dataset{
		Kind: dataset.Interactions, Dim: 2,
		Labels: []int32{dataset.NoLabel, dataset.NoLabel}, Splits: []dataset.Split{dataset.Train, dataset.Train},
		Sparse: dataset.Identity(2), Users: [][]int32{{0}, {1}}, HeldOut: []int32{dataset.NoLabel, dataset.NoLabel},
	})
	text := glosses(40, 1<<10)
	text.Headwords = nil
	upload(text)
	played := upload(&dataset.Dataset{
		Kind: dataset.Interactions, Dim: 2,
		Labels: []int32{dataset.NoLabel, dataset.NoLabel}, Splits: []dataset.Split{dataset.Train, dataset.Train},
		Sparse: dataset.Identity(2), Users: [][]int32{{0, 1}}, HeldOut: []int32{dataset.NoLabel},
	})
	tests := []struct {
		name  string
		edit  func(c *Config)
		data  *dataset.Dataset
		field string
		fix   string // what the message says to do
	}{
		{"batch over the data", func(c *Config) { c.Batch = 256 }, labelled, "batch", "choose a batch from 2 to 80"},
		{"labels without labels", func(c *Config) {}, unlabelled, "pairs", "choose “From distorted views” instead"},
		{"labels with unlabelled items", func(c *Config) {}, partly, "pairs", "choose “From distorted views” instead"},
		{"labels with one class", func(c *Config) {}, oneClass, "pairs", "choose “From distorted views” instead"},
		{"labels+augment without labels", func(c *Config) { c.Pairs = PairsLabelsAugment }, unlabelled, "pairs", "choose “From distorted views” instead"},
		{"augment on item ids", func(c *Config) { c.Pairs = PairsAugment; c.Batch = 2 }, played, "pairs", "choose “Played by the same listener” instead"},
		{"augment without strength", func(c *Config) { c.Pairs = PairsAugment; c.Augment = 0 }, labelled, "augment", "above 0"},
		{"headword without a dictionary", func(c *Config) { c.Pairs = PairsHeadword; c.Batch = 8 }, text, "pairs", "instead"},
		{"cooccur on a table", func(c *Config) { c.Pairs = PairsCooccur }, labelled, "pairs", "choose “From labels” instead"},
		{"cooccur without two plays", func(c *Config) { c.Pairs = PairsCooccur; c.Batch = 2 }, plays, "pairs", "upload histories in which listeners play two items or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Batch = 32
			tt.edit(&c)
			var fe *FieldError
			if err := c.Validate(tt.data); !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Validate = %v, want a %s error", err, tt.field)
			}
			for _, bad := range []string{"u-2216", "pairs=", "labels+augment", "cooccur", "headword", "aug_", "aug-", "--"} {
				if strings.Contains(fe.Msg, bad) {
					t.Errorf("%q speaks of %q", fe.Msg, bad)
				}
			}
			if (fe.Field != "augment" && !strings.Contains(fe.Msg, "flowers.csv")) || !strings.Contains(fe.Msg, tt.fix) {
				t.Errorf("%q does not name the file and say %q", fe.Msg, tt.fix)
			}
			if fe.Field == "pairs" && fe.Suggest != "" {
				c.Pairs = fe.Suggest
				if err := pairsUsable(c.Pairs, tt.data); err != nil {
					t.Errorf("the suggested pairs %q do not work either: %v", fe.Suggest, err)
				}
			}
		})
	}
}
