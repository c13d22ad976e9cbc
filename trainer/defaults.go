package trainer

import "github.com/contrastive-explorer/explorer/trainer/dataset"

// DefaultConfigFor is DefaultConfig made for d, the defaults that the
// home page, POST /api/runs and `explorer train` agree on: the pairs d
// makes (DefaultPairs), the learning-rate schedule and what each kind of
// data needs so that, with the defaults, every bundled dataset beats its
// baseline within the default epochs (docs/benchmarks.md, "Defaults per
// dataset", and TestDefaultsBeatBaselines):
//   - every dataset: a cosine schedule, which lets the picture settle (it
//     lifts digits from tying raw pixels, 0.9861, to 0.9889-0.9916);
//   - text: a learning rate of 3e-3, since the embedding bag learns slowly
//     (WordNet passes raw n-grams at epoch 3 instead of 6 for SupCon, 5
//     instead of 10 for NT-Xent);
//   - interactions: temperature 0.1, at which NT-Xent recommends (recall@10
//     0.230 after 5 epochs against popularity's 0.089, where 0.5 gave
//     0.070), and 5 epochs, since recall passes popularity at the first.
//
// The batch fits the data: a dataset with fewer training items than
// DefaultConfig's batch trains on all of them in each step.
func DefaultConfigFor(d *dataset.Dataset) Config {
	return DefaultConfigForPairs(d, DefaultPairs(d))
}

// DefaultConfigForPairs is DefaultConfigFor with the pairs chosen: what
// the pair source changes on top of the dataset's defaults (see
// pairsDefaults). An unknown pair source changes nothing.
func DefaultConfigForPairs(d *dataset.Dataset, pairs string) Config {
	c := kindDefaults(d.Kind)
	c.Pairs = pairs
	pairsDefaults(&c, d)
	c.Batch = fitBatch(c.Batch, len(d.Indices(dataset.Train)))
	return c
}

// DefaultedFields are the Config fields (by JSON name) the dataset and
// pair source change in DefaultConfigForPairs: a form or a command line
// that leaves one of them out takes it from there.
var DefaultedFields = []string{"pairs", "epochs", "batch", "lr", "schedule", "temperature", "augment", "dim", "hidden", "embed"}

// Defaulted returns c with every field of DefaultedFields that given
// reports as not given taken from def: a command line's flags over the
// dataset's defaults.
func (c Config) Defaulted(def Config, given func(field string) bool) Config {
	for _, f := range DefaultedFields {
		if given(f) {
			continue
		}
		switch f {
		case "pairs":
			c.Pairs = def.Pairs
		case "epochs":
			c.Epochs = def.Epochs
		case "batch":
			c.Batch = def.Batch
		case "lr":
			c.LR = def.LR
		case "schedule":
			c.Schedule = def.Schedule
		case "temperature":
			c.Temperature = def.Temperature
		case "augment":
			c.Augment = def.Augment
		case "dim":
			c.Dim = def.Dim
		case "hidden":
			c.Hidden = def.Hidden
		case "embed":
			c.Embed = def.Embed
		default:
			panic("trainer: Defaulted: no copy for " + f)
		}
	}
	return c
}

// pairsDefaults sets what self-supervised pairs need on d, so that they
// teach (docs/benchmarks.md, "Self-supervised defaults", 3 seeds each):
//   - images, two views of an item: NT-Xent at temperature 0.1 (at 0.5 the
//     embedding ends worse than the untrained encoder's), batch 512 (more
//     negatives), 64 dimensions and 40 epochs, with DefaultAugment's noise
//     and cutout. Digits reach kNN 0.988 (untrained 0.968, raw pixels
//     0.986), Fashion-MNIST 0.838 (0.777, raw 0.836).
//   - texts, two views of an item (words dropped) or a word and its
//     definition: a linear encoder over a 256-wide embedding bag (ReLU
//     layers lose what the bag learns) at temperature 0.5. WordNet's
//     dropped-word views reach 0.749 (raw n-grams 0.690); a word and its
//     definition 0.608, under raw n-grams: a word's spelling says little of
//     its topic.
func pairsDefaults(c *Config, d *dataset.Dataset) {
	switch {
	case d.Kind == dataset.Images && c.Pairs == PairsAugment:
		c.Temperature, c.Batch, c.Dim, c.Epochs = 0.1, 512, 64, 40
	case d.Kind == dataset.Text && (c.Pairs == PairsAugment || c.Pairs == PairsHeadword):
		c.Hidden, c.Embed, c.Temperature = nil, 256, 0.5
		if c.Pairs == PairsHeadword {
			c.Batch = 128
		}
	}
}

// fitBatch is batch, or the training items when they are fewer (and at
// least 2, the smallest batch).
func fitBatch(batch, train int) int {
	if train >= 2 && train < batch {
		return train
	}
	return batch
}

// kindDefaults is DefaultConfig with what a kind of data changes.
func kindDefaults(k dataset.Kind) Config {
	c := DefaultConfig()
	c.Schedule = "cosine"
	switch k {
	case dataset.Text:
		c.LR = 3e-3
	case dataset.Interactions:
		c.Temperature = 0.1
		c.Epochs = 5
	}
	return c
}
