package trainer

import (
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
// Margin, Temperature and Mining left at their zero values select the loss's
// defaults (see DefaultLossConfig); New fills them in, so Run.Config reports
// the values actually used.
type Config struct {
	Dataset string `json:"dataset"` // dataset name; New fills it from the dataset when empty
	Loss    string `json:"loss"`    // contrastive, triplet, ntxent or supcon
	Pairs   string `json:"pairs"`   // where positives come from: labels or augment

	Epochs int     `json:"epochs"` // passes over the training items, 1..1000
	Batch  int     `json:"batch"`  // rows per step, 2..number of training items
	LR     float64 `json:"lr"`     // base learning rate, in (0, 10)
	Dim    int     `json:"dim"`    // embedding dimension, 2..128
	Hidden []int   `json:"hidden"` // hidden layer widths, at most 4 layers of 1..4096
	Seed   uint64  `json:"seed"`   // seeds every random stream of the run

	Margin      float64 `json:"margin"`      // contrastive/triplet margin; 0 = loss default
	Temperature float64 `json:"temperature"` // ntxent/supcon temperature; 0 = loss default
	Mining      string  `json:"mining"`      // triplet mining; "" = loss default

	Optimizer   string  `json:"optimizer"`    // sgd, adam or adamw
	Momentum    float64 `json:"momentum"`     // SGD momentum, in [0, 1)
	WeightDecay float64 `json:"weight_decay"` // L2 (sgd, adam) or decoupled (adamw) decay, in [0, 1)
	Schedule    string  `json:"schedule"`     // learning-rate schedule: constant or cosine
	Warmup      int     `json:"warmup"`       // epochs of linear learning-rate warmup, 0..epochs

	Augment float64 `json:"augment"` // augmentation strength for pairs=augment, in [0, 1]
}

// The values of Config's enumerated fields.
var (
	PairModes  = []string{"labels", "augment"}
	Optimizers = []string{"sgd", "adam", "adamw"}
	Schedules  = []string{"constant", "cosine"}
)

// Limits on Config values, checked by Validate.
const (
	MaxEpochs       = 1000
	MinDim, MaxDim  = 2, 128
	MaxHiddenLayers = 4
	MaxHiddenWidth  = 4096
	MaxLR           = 10
)

// DefaultConfig returns the configuration `explorer train` uses without
// flags: supcon on labels, 20 epochs of batch 256, Adam at 1e-3 with a
// constant schedule, an MLP with hidden layers 256 and 128 and 32-dimensional
// embeddings, seed 1, SGD momentum 0.9 (used only with sgd) and augmentation
// strength 0.5 (used only with pairs=augment). Dataset is empty: New takes
// it from the dataset.
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
// and that pairs=labels has labels to work with.
func (c Config) Validate(d *dataset.Dataset) error {
	if d == nil {
		return fieldErr("dataset", "no dataset")
	}
	if err := d.Validate(); err != nil {
		return fieldErr("dataset", "%v", err)
	}
	if d.Sparse != nil {
		return fieldErr("dataset", "%s has sparse %s features, which the MLP encoder cannot read yet; it trains on dense features (images, vectors)", d.Name, d.Kind)
	}
	if c.Dataset != "" && c.Dataset != d.Name {
		return fieldErr("dataset", "config names %q but the dataset is %q", c.Dataset, d.Name)
	}
	if !slices.Contains(Losses, c.Loss) {
		return fieldErr("loss", "unknown loss %q (want %s)", c.Loss, strings.Join(Losses, ", "))
	}
	if !slices.Contains(PairModes, c.Pairs) {
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
	if c.Pairs == "labels" {
		return checkLabels(d)
	}
	return nil
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
			return fieldErr("pairs", "pairs=labels needs labels, but %s has unlabelled training items; use pairs=augment", d.Name)
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
		return fieldErr("pairs", "pairs=labels needs at least two classes and a class with two training items; use pairs=augment")
	}
	return nil
}

// resolved returns c with the dataset name and the loss defaults filled in.
func (c Config) resolved(d *dataset.Dataset) Config {
	c.Hidden = append([]int{}, c.Hidden...) // [] rather than null in JSON
	if c.Dataset == "" {
		c.Dataset = d.Name
	}
	lc := c.LossConfig()
	c.Margin, c.Temperature, c.Mining = lc.Margin, lc.Temperature, lc.Mining
	return c
}
