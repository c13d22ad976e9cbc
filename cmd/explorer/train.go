package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"

	"golang.org/x/term"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/contrastive-explorer/explorer/projection"
	"github.com/contrastive-explorer/explorer/run/export"
	sampledata "github.com/contrastive-explorer/explorer/sample-data"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
	"github.com/contrastive-explorer/explorer/trainer/gemm"
)

// trainUsage is the help text of `explorer train`.
const trainUsage = `Usage: explorer train [flags]

Trains a contrastive encoder on a bundled dataset (--dataset) or on a file
(--input: CSV, a zip of images, plain text or user,item interactions) without
the browser and writes into --out:
  metrics.json   the configuration and every epoch's metrics
  vectors.tsv    the final embedding of every item (Embedding Projector format)
  metadata.tsv   each item's label and split (and text or name), with a header row
  loss.png       loss and held-out kNN accuracy per epoch, raw-input baseline
                 dashed; for interactions recall@10 with the popularity and
                 random recommenders dashed
  model.safetensors  the trained encoder, for 'explorer embed' (docs/model.md)
Ctrl-C stops after the current training step and writes what was trained.

Texts (wordnet) are read as hashed word and character n-grams through an
embedding bag of --embed columns; interactions train one embedding per item
id the same way, from items played by the same user (--pairs cooccur).

Defaults suit the dataset (as on the home page): a cosine schedule; for texts
--lr 0.003; for interactions --temperature 0.1 and --epochs 5. A flag given
overrides them; the defaults printed below are those of other data.

Pair sources (--pairs; the default suits the dataset: cooccur for
interactions, labels for labelled data, augment otherwise):
  labels          items of the same class are positives
  labels+augment  two augmented views of each item, positives = same class
                  (supervised contrastive learning as Khosla et al. train it)
  augment         two augmented views of one item are positives (SimCLR)
  headword        a word and its own definition (text with headwords)
  cooccur         two items played by the same user (interactions)

Flags:
`

// trainFlags are the flags of `explorer train`, bound to a trainer.Config.
type trainFlags struct {
	cfg     trainer.Config
	hidden  string
	input   string
	out     string
	threads int
	profile string
}

func newTrainFlags(fs *flag.FlagSet) *trainFlags {
	f := &trainFlags{cfg: trainer.DefaultConfig()}
	c := &f.cfg
	c.Dataset = "digits"
	fs.StringVar(&c.Dataset, "dataset", c.Dataset, "bundled dataset: "+strings.Join(datasetNames(), ", "))
	fs.StringVar(&f.input, "input", "", "train on this file instead of a bundled dataset (CSV, zip of images, text, interactions)")
	fs.StringVar(&c.Loss, "loss", c.Loss, "loss: "+strings.Join(trainer.Losses, ", "))
	c.Pairs = "" // the dataset's default, trainer.DefaultPairs
	fs.StringVar(&c.Pairs, "pairs", c.Pairs, "where positive pairs come from: "+strings.Join(trainer.PairModes, ", ")+"; empty: the dataset's default (see above)")
	fs.IntVar(&c.Epochs, "epochs", c.Epochs, "passes over the training items (over the users' plays for --pairs cooccur)")
	fs.IntVar(&c.Batch, "batch", c.Batch, "rows per training step")
	fs.Float64Var(&c.LR, "lr", c.LR, "learning rate")
	fs.IntVar(&c.Dim, "dim", c.Dim, "embedding dimension")
	f.hidden = joinInts(c.Hidden)
	fs.StringVar(&f.hidden, "hidden", f.hidden, "hidden layer widths, comma-separated; empty for a linear encoder")
	fs.IntVar(&c.Embed, "embed", 0, fmt.Sprintf("embedding-bag width for text and interactions (the first dense layer's input); 0 means %d", trainer.DefaultEmbed))
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "random seed; the same seed on the same machine gives the same result")
	fs.Float64Var(&c.Margin, "margin", 0, "margin of contrastive and triplet; 0 uses the loss's default")
	fs.Float64Var(&c.Temperature, "temperature", 0, "temperature of ntxent and supcon; 0 uses the loss's default")
	fs.StringVar(&c.Mining, "mining", "", "triplet mining: "+strings.Join(trainer.Minings, ", ")+"; empty uses the default")
	fs.StringVar(&c.Optimizer, "optimizer", c.Optimizer, "optimiser: "+strings.Join(trainer.Optimizers, ", "))
	fs.Float64Var(&c.Momentum, "momentum", c.Momentum, "SGD momentum")
	fs.Float64Var(&c.WeightDecay, "weight-decay", c.WeightDecay, "weight decay (L2 for sgd and adam, decoupled for adamw)")
	fs.StringVar(&c.Schedule, "schedule", c.Schedule, "learning-rate schedule: "+strings.Join(trainer.Schedules, ", "))
	fs.IntVar(&c.Warmup, "warmup", c.Warmup, "epochs of linear learning-rate warmup")
	fs.Float64Var(&c.Augment, "augment", c.Augment, "augmentation strength for --pairs augment and labels+augment, 0 to 1")
	fs.IntVar(&c.AugShift, "aug-shift", 0, "images: largest shift of a view in pixels; any --aug-* flag replaces --augment's preset, unset ones being off")
	fs.Float64Var(&c.AugRotate, "aug-rotate", 0, "images: largest rotation of a view in degrees (see --aug-shift)")
	fs.Float64Var(&c.AugNoise, "aug-noise", 0, "images and vectors: standard deviation of gaussian noise added to a view (see --aug-shift)")
	fs.IntVar(&c.AugCutout, "aug-cutout", 0, "images: side in pixels of a square blanked in a view (see --aug-shift)")
	fs.Float64Var(&c.AugMask, "aug-mask", 0, "images and vectors: probability of zeroing each feature of a view (see --aug-shift)")
	fs.StringVar(&f.out, "out", "out", "directory to write the results into")
	fs.StringVar(&f.profile, "cpuprofile", "", "write a CPU profile of the training to this `file` (go tool pprof reads it)")
	fs.IntVar(&f.threads, "threads", 0, "threads: GOMAXPROCS and the goroutines per matrix product; 0 means one per CPU")
	return f
}

func datasetNames() []string {
	var names []string
	for _, in := range sampledata.List() {
		names = append(names, in.Name)
	}
	return names
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// parseHidden reads "256,128" (spaces allowed; "" or "none" for no hidden
// layers).
func parseHidden(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return nil, nil
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("%q is not a comma-separated list of layer widths like 256,128", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// runTrain is `explorer train`.
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors become one usage line, not a page of flags
	f := newTrainFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, trainUsage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil
		}
		return usagef("train: %v", err)
	}
	if fs.NArg() > 0 {
		return usagef("train: unexpected argument %q", fs.Arg(0))
	}
	hidden, err := parseHidden(f.hidden)
	if err != nil {
		return usagef("train: --hidden: %v", err)
	}
	f.cfg.Hidden = hidden
	if f.threads < 0 {
		return usagef("train: --threads: must be >= 0, got %d", f.threads)
	}
	if f.out == "" {
		return usagef("train: --out: must name a directory")
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if set["input"] && set["dataset"] {
		return usagef("train: --input and --dataset: give one or the other")
	}
	d, err := f.load()
	if err != nil {
		return err
	}
	// What the flags leave out comes from the dataset's defaults, as on
	// the home page and in POST /api/runs.
	def := trainer.DefaultConfigFor(d)
	if set["pairs"] {
		def = trainer.DefaultConfigForPairs(d, f.cfg.Pairs)
	}
	f.cfg = f.cfg.Defaulted(def, func(field string) bool { return set[strings.ReplaceAll(field, "_", "-")] })
	r, err := trainer.New(f.cfg, d)
	var fe *trainer.FieldError
	if errors.As(err, &fe) {
		flagName := strings.ReplaceAll(fe.Field, "_", "-")
		given := ""
		if fl := fs.Lookup(flagName); fl != nil && set[flagName] {
			given = " " + fl.Value.String()
		}
		msg := fe.Msg
		if fe.Suggest != "" {
			msg += fmt.Sprintf(" (--%s %s)", flagName, fe.Suggest)
		}
		return usagef("train: --%s%s: %s", flagName, given, msg)
	} else if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if f.threads > 0 {
		// "One thread" means one: the runtime's too, not only the GEMM's.
		runtime.GOMAXPROCS(f.threads)
		gemm.SetThreads(f.threads)
	}

	cfg := r.Config()
	fmt.Fprintf(stderr, "training %s with %s pairs on %s (%d items, %d held out): %d epochs of batch %d, %s at lr %g\n",
		cfg.Loss, cfg.Pairs, cfg.Dataset, d.Len(), len(d.Indices(dataset.Test)), cfg.Epochs, cfg.Batch, cfg.Optimizer, cfg.LR)
	if f.profile != "" {
		pf, err := os.Create(f.profile)
		if err != nil {
			return fmt.Errorf("train: --cpuprofile: %w", err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fmt.Errorf("train: --cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	prog := newProgress(stderr, cfg.Epochs)
	ch, unsubscribe := r.Subscribe(cfg.Epochs + 1) // room for every epoch: none dropped
	defer unsubscribe()
	runErr := make(chan error, 1)
	go func() { runErr <- r.Run(ctx) }()

	res := trainResult{Config: cfg}
	var last *trainer.Epoch
	for e := range ch {
		prog.epoch(e)
		res.add(e)
		last = &e
	}
	prog.done()
	err = <-runErr
	if last == nil {
		if err == nil {
			err = errors.New("no epoch was published")
		}
		return fmt.Errorf("train: %w", err)
	}
	if werr := writeResults(f.out, d, res, *last); werr != nil {
		return fmt.Errorf("train: %w", werr)
	}
	if werr := writeModelFile(filepath.Join(f.out, "model.safetensors"), r); werr != nil {
		return fmt.Errorf("train: %w", werr)
	}
	switch {
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return fmt.Errorf("train: interrupted after epoch %d of %d; wrote what was trained to %s: %w", last.Epoch, cfg.Epochs, f.out, err)
	case err != nil:
		return fmt.Errorf("train: stopped after epoch %d of %d (results so far are in %s): %w", last.Epoch, cfg.Epochs, f.out, err)
	}
	m := last.Metrics
	if m.HasRecall {
		fmt.Fprintf(stdout, "recall@10 %.4f (popularity %.4f, random %.4f); ", m.RecallAt10, m.PopularityRecallAt10, m.RandomRecallAt10)
	}
	if m.HasKNN {
		fmt.Fprintf(stdout, "kNN accuracy %.4f (raw inputs %.4f); ", m.KNNAccuracy, m.RawKNNAccuracy)
	}
	fmt.Fprintf(stdout, "wrote metrics.json, vectors.tsv, metadata.tsv, loss.png and model.safetensors to %s\n", f.out)
	return nil
}

// load returns the dataset to train on: the file named by --input, parsed
// with dataset.Parse, or the bundled --dataset. Bad input is a usage error
// naming the flag (and, for a bad file, file:line:column).
func (f *trainFlags) load() (*dataset.Dataset, error) {
	if f.input == "" {
		d, err := sampledata.Load(f.cfg.Dataset)
		if errors.Is(err, sampledata.ErrUnknown) {
			return nil, usagef("train: --dataset: unknown dataset %q (bundled: %s)", f.cfg.Dataset, strings.Join(datasetNames(), ", "))
		} else if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		return d, nil
	}
	d, err := readDataFile("train", f.input)
	if err != nil {
		return nil, err
	}
	if d.Precomputed {
		return nil, usagef("train: --input: %s holds finished embedding vectors (Embedding Projector format), which are explored as they are with 'explorer serve' or 'explorer project', not trained", filepath.Base(f.input))
	}
	f.cfg.Dataset = "" // named after the file by trainer.New
	return d, nil
}

// readDataFile parses the dataset file path with dataset.Parse, as an
// upload is; a file that is not one is a usage error of command's --input
// naming file:line:column.
func readDataFile(command, path string) (*dataset.Dataset, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, usagef("%s: --input: %v", command, err)
	}
	defer file.Close()
	d, err := dataset.Parse(filepath.Base(path), file, dataset.ParseOptions{})
	var pe *dataset.ParseError
	if errors.As(err, &pe) {
		return nil, usagef("%s: --input: %v", command, pe)
	} else if err != nil {
		return nil, fmt.Errorf("%s: --input: %w", command, err)
	}
	return d, nil
}

// writeModelFile saves the encoder of r, which has ended, as safetensors.
func writeModelFile(path string, r *trainer.Run) error {
	m, err := r.Model()
	if err != nil {
		return err
	}
	return writeFileAtomic(path, func(w io.Writer) error { return trainer.WriteModel(w, m) })
}

// epochRecord is one epoch in metrics.json: its number and its metrics.
type epochRecord struct {
	Epoch int `json:"epoch"`
	trainer.Metrics
}

// trainResult is metrics.json: the resolved configuration, the baselines
// (raw-input kNN; for interactions the popularity and random recommenders'
// recall@10), the untrained encoder (epoch 0) and every trained epoch.
type trainResult struct {
	Config               trainer.Config `json:"config"`
	RawKNNAccuracy       float64        `json:"raw_knn_accuracy"`
	PopularityRecallAt10 *float64       `json:"popularity_recall_at_10,omitempty"`
	RandomRecallAt10     *float64       `json:"random_recall_at_10,omitempty"`
	Initial              *epochRecord   `json:"initial,omitempty"`
	Epochs               []epochRecord  `json:"epochs"`
}

func (res *trainResult) add(e trainer.Epoch) {
	rec := epochRecord{Epoch: e.Epoch, Metrics: e.Metrics}
	res.RawKNNAccuracy = e.Metrics.RawKNNAccuracy
	if m := e.Metrics; m.HasRecall {
		res.PopularityRecallAt10, res.RandomRecallAt10 = &m.PopularityRecallAt10, &m.RandomRecallAt10
	}
	if e.Epoch == 0 {
		res.Initial = &rec
		return
	}
	res.Epochs = append(res.Epochs, rec)
}

// progress reports epochs on stderr: a bar redrawn in place on a terminal,
// plain lines otherwise.
type progress struct {
	w     io.Writer
	total int
	tty   bool
	drawn bool
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total}
	if f, ok := w.(*os.File); ok {
		p.tty = term.IsTerminal(int(f.Fd()))
	}
	return p
}

func (p *progress) epoch(e trainer.Epoch) {
	m := e.Metrics
	alarm := ""
	if m.Collapsed {
		alarm = "  COLLAPSED"
	}
	if m.HasRecall {
		alarm = fmt.Sprintf("  recall@10 %.4f (popular %.4f)", m.RecallAt10, m.PopularityRecallAt10) + alarm
	}
	if !p.tty {
		fmt.Fprintf(p.w, "epoch %d/%d  loss %.4f  knn %.4f  raw %.4f  align %.3f  unif %.3f  %.2fs%s\n",
			e.Epoch, p.total, m.Loss, m.KNNAccuracy, m.RawKNNAccuracy, m.Alignment, m.Uniformity, m.Seconds, alarm)
		return
	}
	fmt.Fprintf(p.w, "\r\x1b[Kepoch %*d/%d %s  loss %.4f  kNN %.4f (raw %.4f)%s",
		len(strconv.Itoa(p.total)), e.Epoch, p.total, bar(e.Epoch, p.total, 24), m.Loss, m.KNNAccuracy, m.RawKNNAccuracy, alarm)
	p.drawn = true
}

// bar draws done of total as width cells, filled then dotted.
func bar(done, total, width int) string {
	filled := min(max(done*width/max(total, 1), 0), width)
	return strings.Repeat("█", filled) + strings.Repeat("·", width-filled)
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

// writeResults writes the four result files into dir, each atomically.
func writeResults(dir string, d *dataset.Dataset, res trainResult, last trainer.Epoch) error {
	files := []struct {
		name  string
		write func(w io.Writer) error
	}{
		{"metrics.json", func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		}},
		{"vectors.tsv", func(w io.Writer) error {
			return projection.WriteVectors(w, last.Embeddings, len(last.Embeddings)/last.Dim, last.Dim)
		}},
		{"metadata.tsv", func(w io.Writer) error { return export.WriteMetadata(w, d) }},
		{"loss.png", func(w io.Writer) error { return writeLossPlot(w, res) }},
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.write); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes path through a temporary file in the same
// directory, renamed over path only once complete and synced, so a crash
// leaves either the old file or the new one, never half of one.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<16)
	if err := write(bw); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeLossPlot draws two stacked panels as PNG: the training loss per epoch
// above, and below held-out kNN accuracy with the raw-input baseline dashed,
// or for interactions recall@10 with the popularity and random recommenders
// dashed.
func writeLossPlot(w io.Writer, res trainResult) error {
	var eps []epochRecord
	if res.Initial != nil {
		eps = append(eps, *res.Initial)
	}
	eps = append(eps, res.Epochs...)
	recall := res.PopularityRecallAt10 != nil
	lossXY := make(plotter.XYs, len(eps))
	knnXY := make(plotter.XYs, len(eps))
	for i, e := range eps {
		lossXY[i] = plotter.XY{X: float64(e.Epoch), Y: e.Loss}
		knnXY[i] = plotter.XY{X: float64(e.Epoch), Y: e.KNNAccuracy}
		if recall {
			knnXY[i].Y = e.RecallAt10
		}
	}
	first, last := float64(eps[0].Epoch), float64(eps[len(eps)-1].Epoch)

	top := plot.New()
	top.Title.Text = fmt.Sprintf("%s loss on %s (%s pairs)", res.Config.Loss, res.Config.Dataset, res.Config.Pairs)
	top.X.Label.Text = "epoch"
	top.Y.Label.Text = "training loss"
	top.Add(plotter.NewGrid())
	lossLine, lossPts, err := plotter.NewLinePoints(lossXY)
	if err != nil {
		return err
	}
	lossLine.Color = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	lossPts.Color = lossLine.Color
	top.Add(lossLine, lossPts)

	bottom := plot.New()
	bottom.Title.Text = "held-out kNN accuracy (k=5, cosine)"
	bottom.Y.Label.Text = "accuracy"
	if recall {
		bottom.Title.Text = "recall@10 of each user's held-out play"
		bottom.Y.Label.Text = "recall@10"
	}
	bottom.X.Label.Text = "epoch"
	bottom.Add(plotter.NewGrid())
	knnLine, knnPts, err := plotter.NewLinePoints(knnXY)
	if err != nil {
		return err
	}
	knnLine.Color = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	knnPts.Color = knnLine.Color
	baseline := func(y float64, grey uint8, dash float64) (*plotter.Line, error) {
		l, err := plotter.NewLine(plotter.XYs{{X: first, Y: y}, {X: max(last, first+1), Y: y}})
		if err != nil {
			return nil, err
		}
		l.Color = color.Gray{Y: grey}
		l.Dashes = []vg.Length{vg.Points(dash), vg.Points(4)}
		return l, nil
	}
	bottom.Add(knnLine, knnPts)
	bottom.Legend.Add("encoder", knnLine, knnPts)
	type base struct {
		name string
		y    float64
	}
	bases := []base{{"raw inputs", res.RawKNNAccuracy}}
	if recall {
		bases = []base{{"most popular", *res.PopularityRecallAt10}, {"random", *res.RandomRecallAt10}}
	}
	for k, b := range bases {
		l, err := baseline(b.y, uint8(90+60*k), float64(6-3*k))
		if err != nil {
			return err
		}
		bottom.Add(l)
		bottom.Legend.Add(b.name, l)
	}
	bottom.Legend.Top = false
	bottom.Legend.Left = false
	bottom.Legend.XOffs = -vg.Points(8)

	img := vgimg.New(7*vg.Inch, 7*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6),
		PadLeft: vg.Points(6), PadRight: vg.Points(12), PadY: vg.Points(18)}
	canvases := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}
