package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/contrastive-explorer/explorer/projection"
)

// projectUsage is the help text of `explorer project`.
const projectUsage = `Usage: explorer project --in vectors.tsv --out coords.tsv [flags]

Projects embedding vectors (Embedding-Projector TSV: one vector a line,
values separated by tabs, as 'explorer train' writes them) to 2D or 3D with
PCA, t-SNE or UMAP and writes one row of coordinates per input row. Prints the KL divergence
(t-SNE), trustworthiness and kNN preservation at k=10, and the time taken.
Quality figures are exact up to --quality-sample points and computed on a
random subsample of that many points above it.

Flags:
`

// runProject is `explorer project`.
func runProject(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("project", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, projectUsage)
		fs.PrintDefaults()
	}
	method := fs.String("method", "tsne", "projection method: pca, tsne or umap")
	in := fs.String("in", "", "input vectors (TSV); - reads standard input")
	out := fs.String("out", "", "output coordinates (TSV); - writes standard output")
	dims := fs.Int("dims", 2, "output dimensions: 2 or 3")
	perplexity := fs.Float64("perplexity", 30, "t-SNE perplexity (at most (n-1)/3)")
	iterations := fs.Int("iterations", 1000, "t-SNE iterations")
	theta := fs.Float64("theta", 0.5, "Barnes-Hut accuracy; 0 runs exact t-SNE")
	seed := fs.Uint64("seed", 1, "random seed")
	lr := fs.Float64("learning-rate", 0, "t-SNE learning rate; 0 means auto, max(n/12/4, 50)")
	exaggeration := fs.Float64("exaggeration", 12, "t-SNE early exaggeration")
	initName := fs.String("init", "pca", "t-SNE initial layout: pca or random")
	neighbors := fs.Int("neighbors", 15, "UMAP n_neighbors (the point itself included)")
	minDist := fs.Float64("min-dist", 0.1, "UMAP min_dist")
	spread := fs.Float64("spread", 1, "UMAP spread")
	epochs := fs.Int("epochs", 0, "UMAP epochs; 0 means 500 up to 10,000 points, else 200")
	threads := fs.Int("threads", 0, "worker goroutines; 0 means one per CPU")
	qualitySample := fs.Int("quality-sample", 10000, "score quality exactly up to this many points, on a random subsample of this size above; 0 skips scoring")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usagef("project: %v", err)
	}
	if fs.NArg() > 0 {
		return usagef("project: unexpected argument %q", fs.Arg(0))
	}
	if *in == "" || *out == "" {
		return usagef("project: --in and --out are required")
	}
	m := projection.Method(strings.ToLower(*method))
	if m != projection.MethodPCA && m != projection.MethodTSNE && m != projection.MethodUMAP {
		return usagef("project: --method %q, want pca, tsne or umap", *method)
	}
	if *dims != 2 && *dims != 3 {
		return usagef("project: --dims %d, want 2 or 3", *dims)
	}
	if *qualitySample < 0 {
		return usagef("project: --quality-sample %d, want ≥ 0", *qualitySample)
	}

	x, n, d, err := readVectorsFile(*in)
	if err != nil {
		return fmt.Errorf("project: %w", err)
	}
	fmt.Fprintf(stdout, "read %d vectors of %d dimensions\n", n, d)

	start := time.Now()
	var coords []float32
	kl := -1.0
	switch m {
	case projection.MethodPCA:
		res, err := projection.PCA(x, n, d, *dims, projection.PCAOptions{Seed: *seed})
		if err != nil {
			return fmt.Errorf("project: %w", err)
		}
		coords = res.Coords
		ratios := make([]string, len(res.ExplainedVarianceRatio))
		for i, r := range res.ExplainedVarianceRatio {
			ratios[i] = fmt.Sprintf("%.4f", r)
		}
		fmt.Fprintf(stdout, "explained variance ratio: %s\n", strings.Join(ratios, " "))
	case projection.MethodTSNE:
		opts := projection.TSNEOptions{
			Dims: *dims, Perplexity: *perplexity, Iterations: *iterations, Theta: *theta,
			Seed: *seed, LearningRate: *lr, EarlyExaggeration: *exaggeration,
			Init: projection.TSNEInit(*initName), Threads: *threads,
			Progress: progressPrinter(stderr, *iterations),
		}
		res, err := projection.TSNE(ctx, x, n, d, opts)
		if err != nil {
			return fmt.Errorf("project: %w", err)
		}
		coords, kl = res.Coords, res.KL
	case projection.MethodUMAP:
		res, err := projection.UMAP(ctx, x, n, d, projection.UMAPOptions{
			Dims: *dims, Neighbors: *neighbors, MinDist: *minDist, Spread: *spread, Epochs: *epochs,
			Seed: *seed, Threads: *threads,
		})
		if err != nil {
			return fmt.Errorf("project: %w", err)
		}
		coords = res.Coords
		fmt.Fprintf(stdout, "UMAP: a %.4f, b %.4f, %d epochs, %s start\n", res.A, res.B, res.Epochs, res.Init)
	}
	elapsed := time.Since(start)

	if err := writeVectorsFile(*out, coords, n, *dims); err != nil {
		return fmt.Errorf("project: %w", err)
	}
	if kl >= 0 {
		fmt.Fprintf(stdout, "KL divergence: %.4f (optimised affinities)\n", kl)
	}
	fmt.Fprintf(stdout, "time: %.2fs\n", elapsed.Seconds())
	if *qualitySample > 0 && n >= 22 {
		qx, qy, qn := x, coords, n
		note := "exact"
		if n > *qualitySample {
			qx, qy, qn = subsample(x, coords, n, d, *dims, *qualitySample, *seed)
			note = fmt.Sprintf("on a random subsample of %d points", qn)
		}
		qs := time.Now()
		trust, err := projection.Trustworthiness(qx, qn, d, qy, *dims, 10, *threads)
		if err != nil {
			return fmt.Errorf("project: %w", err)
		}
		pres, err := projection.KNNPreservation(qx, qn, d, qy, *dims, 10, *threads)
		if err != nil {
			return fmt.Errorf("project: %w", err)
		}
		fmt.Fprintf(stdout, "trustworthiness (k=10): %.4f\nkNN preservation (k=10): %.4f\n(quality %s, %.2fs)\n",
			trust, pres, note, time.Since(qs).Seconds())
	}
	return nil
}

// progressPrinter reports t-SNE progress on w: one line every 250
// iterations, so logs stay short whether or not w is a terminal.
func progressPrinter(w io.Writer, total int) func(int, float64) {
	return func(iter int, kl float64) {
		if iter%250 == 0 || iter == total {
			fmt.Fprintf(w, "t-SNE iteration %d/%d, KL %.4f\n", iter, total, kl)
		}
	}
}

// subsample picks m rows of x and y at random (seeded).
func subsample(x, y []float32, n, d, dims, m int, seed uint64) ([]float32, []float32, int) {
	r := rand.New(rand.NewPCG(seed, 0x5a))
	idx := r.Perm(n)[:m]
	sx := make([]float32, 0, m*d)
	sy := make([]float32, 0, m*dims)
	for _, i := range idx {
		sx = append(sx, x[i*d:(i+1)*d]...)
		sy = append(sy, y[i*dims:(i+1)*dims]...)
	}
	return sx, sy, m
}

func readVectorsFile(path string) ([]float32, int, int, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, 0, 0, err
		}
		defer f.Close()
		r = f
	}
	x, n, d, err := projection.ReadVectors(r)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return x, n, d, nil
}

func writeVectorsFile(path string, x []float32, n, d int) error {
	if path == "-" {
		return projection.WriteVectors(os.Stdout, x, n, d)
	}
	return writeFileAtomic(path, func(w io.Writer) error { return projection.WriteVectors(w, x, n, d) })
}
