package trainer

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
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
//
// Suggest, when set, is a value of Field that would work (the pair source
// the data can make, say), for a caller to offer as the fix.
type FieldError struct {
	Field   string
	Msg     string
	Suggest string
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
		return fieldErr("dataset", "%s holds precomputed embeddings, which are explored as they are; there is no encoder to train", title(d))
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
		e := fieldErr("batch", "a batch of %d items does not fit: %s has %d training items, so choose a batch from 2 to %d", c.Batch, title(d), ntrain, ntrain)
		e.Suggest = strconv.Itoa(min(max(c.Batch, 2), ntrain))
		return e
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
		return fieldErr("aug_shift", "shifts, rotations, noise and masks distort images and tables; %s holds %s, whose views are set by the augmentation strength alone", title(d), d.Kind)
	}
	if d.Kind != dataset.Images {
		for _, f := range []struct {
			field string
			set   bool
		}{{"aug_shift", a.Shift != 0}, {"aug_rotate", a.Rotate != 0}, {"aug_cutout", a.Cutout != 0}} {
			if f.set {
				return fieldErr(f.field, "shifts, rotations and cutouts need images; %s holds %s: use noise or masking instead", title(d), d.Kind)
			}
		}
	}
	return nil
}

// validatePairs checks that the pair source can work on d.
func (c Config) validatePairs(d *dataset.Dataset) error {
	pairs := c.pairs(d)
	if err := pairsUsable(pairs, d); err != nil {
		return err
	}
	if (pairs == PairsAugment || pairs == PairsLabelsAugment) && c.Augment == 0 && !c.explicitAugment() {
		e := fieldErr("augment", "%s need an augmentation strength above 0: two identical views teach nothing", quoteTitle(pairs))
		e.Suggest = strconv.FormatFloat(DefaultConfig().Augment, 'g', -1, 64)
		return e
	}
	return nil
}

// PairTitles name the pair sources in a learner's words, as the home page's
// choices do.
var PairTitles = map[string]string{
	PairsLabels:        "From labels",
	PairsLabelsAugment: "Labels and distorted views",
	PairsAugment:       "From distorted views",
	PairsHeadword:      "A word and its definition",
	PairsCooccur:       "Played by the same listener",
}

func quoteTitle(pairs string) string { return "“" + PairTitles[pairs] + "”" }

// title names d for a message: its title, which for an upload is the
// file's name, never its internal id.
func title(d *dataset.Dataset) string {
	if d.Title != "" {
		return "“" + d.Title + "”"
	}
	return "this dataset"
}

// UnusablePairs returns, for each pair source d cannot make, why in a few
// words ("needs listening histories"); sources d can make are not in the
// map. Validate's message says the same at length, with what to choose
// instead.
func UnusablePairs(d *dataset.Dataset) map[string]string {
	out := map[string]string{}
	for _, p := range PairModes {
		var pe *pairsError
		if errors.As(pairsUsable(p, d), &pe) {
			out[p] = pe.short
		}
	}
	return out
}

// pairsError is a pair source d cannot make: a FieldError for "pairs",
// and the reason in a few words.
type pairsError struct {
	*FieldError
	short string
}

func (e *pairsError) Unwrap() error { return e.FieldError }

// pairsUsable reports whether d can make the pairs of source p: a
// *FieldError for "pairs" suggesting a source that works, or nil.
func pairsUsable(p string, d *dataset.Dataset) error {
	fail := func(short, format string, args ...any) error {
		e := fieldErr("pairs", format, args...)
		if alt := DefaultPairs(d); alt != p {
			e.Msg += ": choose " + quoteTitle(alt) + " instead"
			e.Suggest = alt
		}
		return &pairsError{FieldError: e, short: short}
	}
	switch p {
	case PairsLabels:
		return labelsUsable(d, fail)
	case PairsAugment, PairsLabelsAugment:
		if d.Kind == dataset.Interactions {
			return fail("item ids cannot be distorted", "%s has only item ids, which cannot be distorted into two views", title(d))
		}
		if p == PairsLabelsAugment {
			return labelsUsable(d, fail)
		}
	case PairsHeadword:
		if d.Kind != dataset.Text || d.Headwords == nil {
			return fail("needs a dictionary, such as WordNet", "%s pairs a word with its definition, so it needs a dictionary (texts that are definitions of words, such as WordNet's), and %s is not one", quoteTitle(p), title(d))
		}
		if n := len(headwordItems(d, dataset.Train)); n < 2 {
			return fail("needs defined words", "%s needs at least 2 defined words among the training items, and %s has %d", quoteTitle(p), title(d), n)
		}
	case PairsCooccur:
		if d.Kind != dataset.Interactions {
			return fail("needs listening histories", "%s needs listening or shopping histories (user,item rows), and %s holds %s", quoteTitle(p), title(d), d.Kind)
		}
		if n := countPlays(d); n < 2 {
			return fail("needs listeners with two plays", "%s needs listeners with at least two training plays, and %s has none: upload histories in which listeners play two items or more", quoteTitle(p), title(d))
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

// checkLabels refuses label pairs on data whose training items are not all
// labelled, or that has no class with two training items (no positives) or
// only one class (no negatives).
func checkLabels(d *dataset.Dataset) error {
	return labelsUsable(d, func(_, format string, args ...any) error { return fieldErr("pairs", format, args...) })
}

func labelsUsable(d *dataset.Dataset, fail func(short, format string, args ...any) error) error {
	counts := make([]int, len(d.ClassNames))
	unlabelled := 0
	for i, s := range d.Splits {
		if s != dataset.Train {
			continue
		}
		if l := d.Labels[i]; l == dataset.NoLabel {
			unlabelled++
		} else {
			counts[l]++
		}
	}
	if unlabelled > 0 {
		if len(d.ClassNames) == 0 {
			return fail("needs labels", "pairs from labels need labels, and %s has none", title(d))
		}
		return fail("needs a label on every item", "pairs from labels need a label on every training item, and %d of those in %s have none", unlabelled, title(d))
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
		return fail("needs two classes", "pairs from labels need at least two classes and a class with two training items, and %s has %d %s", title(d), classes, plural(classes, "class", "classes"))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
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
