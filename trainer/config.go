package trainer

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// Config is everything that defines one training run. Its JSON names are the
// command-line flag names of `explorer train` (with - for _), so a config
// read from a form, a file or flags means the same thing everywhere.
//
// Pairs, Margin, Temperature, Mining and (for sparse datasets) Embed left at
// their zero values select defaults (see DefaultPairs, DefaultLossConfig and
// DefaultEmbed); New fills them in, so Run.Config reports the values actually
// used.
type Config struct {
	Dataset string `json:"dataset"` // dataset name; New fills it from the dataset when empty
	Loss    string `json:"loss"`    // contrastive, triplet, ntxent or supcon
	Pairs   string `json:"pairs"`   // where positives come from: labels, labels+augment, augment, headword or cooccur; "" = DefaultPairs

	Epochs int     `json:"epochs"` // passes over the training items (plays, for cooccur), 1..1000
	Batch  int     `json:"batch"`  // rows per step, 2..number of training items
	LR     float64 `json:"lr"`     // base learning rate, in (0, 10)
	Dim    int     `json:"dim"`    // embedding dimension, 2..128
	Hidden []int   `json:"hidden"` // hidden layer widths, at most 4 layers of 1..4096
	Embed  int     `json:"embed"`  // embedding-bag width for sparse datasets, 0..1024; 0 = DefaultEmbed; unused (0) for dense ones
	Seed   uint64  `json:"seed"`   // seeds every random stream of the run

	Margin      float64 `json:"margin"`      // contrastive/triplet margin; 0 = loss default
	Temperature float64 `json:"temperature"` // ntxent/supcon temperature; 0 = loss default
	Mining      string  `json:"mining"`      // triplet mining; "" = loss default

	Optimizer   string  `json:"optimizer"`    // sgd, adam or adamw
	Momentum    float64 `json:"momentum"`     // SGD momentum, in [0, 1)
	WeightDecay float64 `json:"weight_decay"` // L2 (sgd, adam) or decoupled (adamw) decay, in [0, 1)
	Schedule    string  `json:"schedule"`     // learning-rate schedule: constant or cosine
	Warmup      int     `json:"warmup"`       // epochs of linear learning-rate warmup, 0..epochs

	// Augment is the strength of the random views pairs=augment and
	// pairs=labels+augment make, in [0, 1] (both need it above 0; the other
	// sources ignore it). Images and vectors are augmented as DefaultAugment
	// says; texts lose a random span of words and then single words (word
	// dropout) and are hashed again. Item ids cannot be augmented.
	Augment float64 `json:"augment"`

	// AugShift, AugRotate, AugNoise, AugCutout and AugMask set the dense
	// views' augmentations one by one (the fields of Augment: pixels,
	// degrees, standard deviation, pixels, probability). When any is
	// non-zero they replace the Augment strength's preset for images and
	// vectors entirely, unset ones meaning off: aug_shift 2 and aug_noise
	// 0.1 give exactly a shift of up to 2 px plus noise 0.1, with no
	// rotation or cutout. Shift, rotate and cutout need images; texts and
	// item ids do not take them (texts use the strength).
	AugShift  int     `json:"aug_shift,omitempty"`
	AugRotate float64 `json:"aug_rotate,omitempty"`
	AugNoise  float64 `json:"aug_noise,omitempty"`
	AugCutout int     `json:"aug_cutout,omitempty"`
	AugMask   float64 `json:"aug_mask,omitempty"`
}

// explicitAugment reports whether any of the Aug* fields is set.
func (c Config) explicitAugment() bool {
	return c.AugShift != 0 || c.AugRotate != 0 || c.AugNoise != 0 || c.AugCutout != 0 || c.AugMask != 0
}

// Augmentation returns the augmentations of the dense views a run on items
// of kind (images of width×height) makes: the Aug* fields when any is set,
// else DefaultAugment at strength Augment.
func (c Config) Augmentation(kind dataset.Kind, width, height int) Augment {
	if c.explicitAugment() {
		return Augment{Shift: c.AugShift, Rotate: c.AugRotate, Noise: c.AugNoise, Cutout: c.AugCutout, Mask: c.AugMask}
	}
	return DefaultAugment(kind, width, height, c.Augment)
}

// The values of Config's enumerated fields.
var (
	PairModes  = []string{PairsLabels, PairsLabelsAugment, PairsAugment, PairsHeadword, PairsCooccur}
	Optimizers = []string{"sgd", "adam", "adamw"}
	Schedules  = []string{"constant", "cosine"}
)

// The pair sources, Config.Pairs:
//
//   - labels: rows of the same class are positives; every row is an item as
//     it is.
//   - labels+augment: every sampled item enters the batch as two augmented
//     views, and its positives are its other view and every row of its
//     class: supervised contrastive learning as Khosla et al. (2020) train
//     it. The views regularise: on small datasets plain label pairs soon
//     fit the training items and held-out accuracy falls back, while
//     augmented ones keep improving (the price is slower early progress).
//   - augment: two augmented views of one item are positives, and nothing
//     else is (SimCLR; self-supervised).
//   - headword: a word of a text dataset with Headwords and its own
//     definition are positives: view A is the hashed headword, view B the
//     item's text (self-supervised: no labels needed).
//   - cooccur: two items played by the same user are positives, item2vec
//     style (interactions only).
const (
	PairsLabels        = "labels"
	PairsLabelsAugment = "labels+augment"
	PairsAugment       = "augment"
	PairsHeadword      = "headword"
	PairsCooccur       = "cooccur"
)

// Limits on Config values, checked by Validate.
const (
	MaxEpochs       = 1000
	MinDim, MaxDim  = 2, 128
	MaxHiddenLayers = 4
	MaxHiddenWidth  = 4096
	MaxLR           = 10
	MaxEmbed        = 1024
	// MaxBagParams bounds the embedding bag of a sparse dataset: its rows
	// (the distinct features the dataset uses) times Embed, 2^24 float32
	// (64 MiB; Adam keeps two more tables of that size).
	MaxBagParams = 1 << 24
)

// DefaultEmbed is the embedding-bag width sparse datasets use when
// Config.Embed is 0.
const DefaultEmbed = 64

// DefaultConfig returns the configuration `explorer train` uses without
// flags: supcon on labels, 20 epochs of batch 256, Adam at 1e-3 with a
// constant schedule, an MLP with hidden layers 256 and 128 and 32-dimensional
// embeddings, seed 1, SGD momentum 0.9 (used only with sgd) and augmentation
// strength 0.5 (used only with pairs=augment and labels+augment). Dataset is
// empty: New takes it from the dataset.
func DefaultConfig() Config {
	return Config{
		Loss:      "supcon",
		Pairs:     "labels",
		Epochs:    20,
		Batch:     256,
		LR:        1e-3,
		Dim:       32,
		Hidden:    []int{256, 128},
		Seed:      1,
		Optimizer: "adam",
		Momentum:  0.9,
		Schedule:  "constant",
		Augment:   0.5,
	}
}

// FieldError is a Config value that is out of range or unknown. Field is the
// JSON name of the field (and so the flag name, with - for _); Msg says what
// is wrong in words a learner can act on.
type FieldError struct {
	Field string
	Msg   string
}

// Error returns "field: msg".
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Validate checks c against the dataset it is to train on and returns a
// *FieldError naming the first bad field, or nil. It checks the enumerated
// fields, the ranges documented on Config, that the batch fits in the
// training split, that the loss accepts its margin, temperature and mining,
// that the embedding bag of a sparse dataset fits MaxBagParams, and that the
// pair source suits the data: labels needs labels, augment needs a strength
// and something to augment, headword needs texts with headwords, cooccur
// needs user histories. Precomputed embeddings are refused: there is nothing
// to train.
func (c Config) Validate(d *dataset.Dataset) error {
	if d == nil {
		return fieldErr("dataset", "no dataset")
	}
	if err := d.Validate(); err != nil {
		return fieldErr("dataset", "%v", err)
	}
	if d.Precomputed {
		return fieldErr("dataset", "%s holds precomputed embeddings, which are explored as they are; there is no encoder to train", d.Name)
	}
	if c.Dataset != "" && c.Dataset != d.Name {
		return fieldErr("dataset", "config names %q but the dataset is %q", c.Dataset, d.Name)
	}
	if !slices.Contains(Losses, c.Loss) {
		return fieldErr("loss", "unknown loss %q (want %s)", c.Loss, strings.Join(Losses, ", "))
	}
	if c.Pairs != "" && !slices.Contains(PairModes, c.Pairs) {
		return fieldErr("pairs", "unknown pair source %q (want %s)", c.Pairs, strings.Join(PairModes, ", "))
	}
	if c.Epochs < 1 || c.Epochs > MaxEpochs {
		return fieldErr("epochs", "must be between 1 and %d, got %d", MaxEpochs, c.Epochs)
	}
	ntrain := 0
	for _, s := range d.Splits {
		if s == dataset.Train {
			ntrain++
		}
	}
	if ntrain < 2 {
		return fieldErr("dataset", "needs at least 2 training items, has %d", ntrain)
	}
	if c.Batch < 2 || c.Batch > ntrain {
		return fieldErr("batch", "must be between 2 and the %d training items of %s, got %d", ntrain, d.Name, c.Batch)
	}
	if !finite(c.LR) || c.LR <= 0 || c.LR >= MaxLR {
		return fieldErr("lr", "must be > 0 and < %d, got %v", MaxLR, c.LR)
	}
	if c.Dim < MinDim || c.Dim > MaxDim {
		return fieldErr("dim", "must be between %d and %d, got %d", MinDim, MaxDim, c.Dim)
	}
	if len(c.Hidden) > MaxHiddenLayers {
		return fieldErr("hidden", "at most %d hidden layers, got %d", MaxHiddenLayers, len(c.Hidden))
	}
	for _, h := range c.Hidden {
		if h < 1 || h > MaxHiddenWidth {
			return fieldErr("hidden", "layer widths must be between 1 and %d, got %d", MaxHiddenWidth, h)
		}
	}
	if c.Embed < 0 || c.Embed > MaxEmbed {
		return fieldErr("embed", "must be between 0 (the default, %d) and %d, got %d", DefaultEmbed, MaxEmbed, c.Embed)
	}
	if d.Sparse != nil {
		e := cmp.Or(c.Embed, DefaultEmbed)
		if rows, _ := bagRows(d, c.pairs(d) == PairsHeadword); rows*e > MaxBagParams {
			return fieldErr("embed", "an embedding bag of %d features × %d is too large; at most %d values, so embed at most %d", rows, e, MaxBagParams, MaxBagParams/rows)
		}
	}
	if err := c.validateLoss(); err != nil {
		return err
	}
	if !slices.Contains(Optimizers, c.Optimizer) {
		return fieldErr("optimizer", "unknown optimizer %q (want %s)", c.Optimizer, strings.Join(Optimizers, ", "))
	}
	if !finite(c.Momentum) || c.Momentum < 0 || c.Momentum >= 1 {
		return fieldErr("momentum", "must be in [0, 1), got %v", c.Momentum)
	}
	if !finite(c.WeightDecay) || c.WeightDecay < 0 || c.WeightDecay >= 1 {
		return fieldErr("weight_decay", "must be in [0, 1), got %v", c.WeightDecay)
	}
	if !slices.Contains(Schedules, c.Schedule) {
		return fieldErr("schedule", "unknown schedule %q (want %s)", c.Schedule, strings.Join(Schedules, ", "))
	}
	if c.Warmup < 0 || c.Warmup > c.Epochs {
		return fieldErr("warmup", "must be between 0 and the %d epochs, got %d", c.Epochs, c.Warmup)
	}
	if !finite(c.Augment) || c.Augment < 0 || c.Augment > 1 {
		return fieldErr("augment", "strength must be in [0, 1], got %v", c.Augment)
	}
	if err := c.validateAugment(d); err != nil {
		return err
	}
	return c.validatePairs(d)
}

// validateAugment checks the Aug* fields: their ranges (Augment.Validate)
// and that the data has what they act on.
func (c Config) validateAugment(d *dataset.Dataset) error {
	if !c.explicitAugment() {
		return nil
	}
	a := c.Augmentation(d.Kind, d.Width, d.Height)
	checks := []struct {
		field string
		bad   bool
		msg   string
	}{
		{"aug_shift", a.Shift < 0 || a.Shift > maxAugmentPixels, fmt.Sprintf("must be between 0 and %d pixels, got %d", maxAugmentPixels, a.Shift)},
		{"aug_rotate", !(a.Rotate >= 0 && a.Rotate <= maxAugmentRotate), fmt.Sprintf("must be between 0 and %d degrees, got %v", maxAugmentRotate, a.Rotate)},
		{"aug_noise", !(a.Noise >= 0 && a.Noise <= maxAugmentNoise), fmt.Sprintf("must be between 0 and %d, got %v", maxAugmentNoise, a.Noise)},
		{"aug_cutout", a.Cutout < 0 || a.Cutout > maxAugmentPixels, fmt.Sprintf("must be between 0 and %d pixels, got %d", maxAugmentPixels, a.Cutout)},
		{"aug_mask", !(a.Mask >= 0 && a.Mask < 1), fmt.Sprintf("must be a probability in [0, 1), got %v", a.Mask)},
	}
	for _, ch := range checks {
		if ch.bad {
			return fieldErr(ch.field, "%s", ch.msg)
		}
	}
	if d.Sparse != nil {
		return fieldErr("aug_shift", "the aug-* settings augment images and vectors; %s is %s, whose views are set by augment (a strength)", d.Name, d.Kind)
	}
	if d.Kind != dataset.Images {
		for _, f := range []struct {
			field string
			set   bool
		}{{"aug_shift", a.Shift != 0}, {"aug_rotate", a.Rotate != 0}, {"aug_cutout", a.Cutout != 0}} {
			if f.set {
				return fieldErr(f.field, "shifts, rotations and cutouts need images; %s is %s (use aug_noise or aug_mask)", d.Name, d.Kind)
			}
		}
	}
	return nil
}

// validatePairs checks that the pair source can work on d.
func (c Config) validatePairs(d *dataset.Dataset) error {
	pairs := c.pairs(d)
	switch pairs {
	case PairsLabels:
		return checkLabels(d)
	case PairsAugment, PairsLabelsAugment:
		if d.Kind == dataset.Interactions {
			return fieldErr("pairs", "an item id has no augmented views; use pairs=cooccur (items played by the same user) or pairs=labels")
		}
		if c.Augment == 0 && !c.explicitAugment() {
			return fieldErr("augment", "pairs=%s needs a strength above 0 (or aug-* settings): identical views teach nothing", pairs)
		}
		if pairs == PairsLabelsAugment {
			return checkLabels(d)
		}
	case PairsHeadword:
		if d.Kind != dataset.Text || d.Headwords == nil {
			return fieldErr("pairs", "pairs=headword pairs a word with its definition and needs a text dataset with headwords (such as wordnet); %s has none", d.Name)
		}
		if n := len(headwordItems(d, dataset.Train)); n < 2 {
			return fieldErr("pairs", "pairs=headword needs at least 2 training items with headwords, %s has %d", d.Name, n)
		}
	case PairsCooccur:
		if d.Kind != dataset.Interactions {
			return fieldErr("pairs", "pairs=cooccur pairs items played by the same user and needs an interactions dataset; %s is %s", d.Name, d.Kind)
		}
		if n := countPlays(d); n < 2 {
			return fieldErr("pairs", "pairs=cooccur needs users with at least two training plays; %s has none", d.Name)
		}
	}
	return nil
}

// pairs is c.Pairs, or DefaultPairs(d) when it is empty.
func (c Config) pairs(d *dataset.Dataset) string {
	if c.Pairs == "" {
		return DefaultPairs(d)
	}
	return c.Pairs
}

// DefaultPairs is the pair source a run on d uses when Config.Pairs is
// empty: cooccur for interactions, labels when every training item is
// labelled (with at least two classes), augment otherwise.
func DefaultPairs(d *dataset.Dataset) string {
	switch {
	case d.Kind == dataset.Interactions:
		return PairsCooccur
	case checkLabels(d) == nil:
		return PairsLabels
	}
	return PairsAugment
}

// validateLoss checks margin, temperature and mining: first the ranges that
// make sense for any loss, then whatever the loss itself refuses.
func (c Config) validateLoss() error {
	if !finite(c.Margin) || c.Margin < 0 {
		return fieldErr("margin", "must be a finite number >= 0, got %v", c.Margin)
	}
	if !finite(c.Temperature) || c.Temperature < 0 {
		return fieldErr("temperature", "must be a finite number > 0, got %v", c.Temperature)
	}
	lc := c.LossConfig()
	if err := lc.Validate(); err != nil {
		return fieldErr(lossField(err), "%s", strings.TrimPrefix(err.Error(), "trainer: "))
	}
	return nil
}

// lossField names the Config field a LossConfig.Validate error is about.
func lossField(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	msg := strings.ToLower(err.Error())
	for _, f := range []string{"margin", "temperature", "mining"} {
		if strings.Contains(msg, f) {
			return f
		}
	}
	return "loss"
}

// LossConfig returns the loss settings of c: the loss's defaults
// (DefaultLossConfig) overridden by c's non-zero Margin, Temperature and
// Mining.
func (c Config) LossConfig() LossConfig {
	lc := DefaultLossConfig(c.Loss)
	lc.Name = c.Loss
	if c.Margin != 0 {
		lc.Margin = c.Margin
	}
	if c.Temperature != 0 {
		lc.Temperature = c.Temperature
	}
	if c.Mining != "" {
		lc.Mining = c.Mining
	}
	return lc
}

// checkLabels refuses pairs=labels on data whose training items are not all
// labelled, or that has no class with two training items (no positives) or
// only one class (no negatives).
func checkLabels(d *dataset.Dataset) error {
	counts := make([]int, len(d.ClassNames))
	for i, s := range d.Splits {
		if s != dataset.Train {
			continue
		}
		l := d.Labels[i]
		if l == dataset.NoLabel {
			return fieldErr("pairs", "label pairs need labels, but %s has unlabelled training items; use pairs=augment", d.Name)
		}
		counts[l]++
	}
	classes, pairable := 0, false
	for _, n := range counts {
		if n > 0 {
			classes++
		}
		if n > 1 {
			pairable = true
		}
	}
	if classes < 2 || !pairable {
		return fieldErr("pairs", "label pairs need at least two classes and a class with two training items; use pairs=augment")
	}
	return nil
}

// resolved returns c with the dataset name, the pair source, the bag width
// and the loss defaults filled in.
func (c Config) resolved(d *dataset.Dataset) Config {
	c.Hidden = append([]int{}, c.Hidden...) // [] rather than null in JSON
	if c.Dataset == "" {
		c.Dataset = d.Name
	}
	c.Pairs = c.pairs(d)
	c.Embed = cmp.Or(c.Embed, DefaultEmbed)
	if d.Sparse == nil {
		c.Embed = 0
	}
	lc := c.LossConfig()
	c.Margin, c.Temperature, c.Mining = lc.Margin, lc.Temperature, lc.Mining
	return c
}
