// Command score rates t-SNE (or any) layouts of one input with a single
// evaluator, so layouts from different programs compare fairly: the exact KL
// divergence at the given perplexity over all pairs (projection.KL),
// trustworthiness at k=10 (exact), and, given labels, the leave-one-out
// 5-nearest-neighbour accuracy of the layout.
//
// Usage:
//
//	go run ./bench/tsne/score -in X.tsv [-labels L.tsv] [-perplexity 30] NAME=LAYOUT.tsv...
//
// It prints one tab-separated line per layout: name, KL, trustworthiness,
// 5-NN accuracy.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/contrastive-explorer/explorer/projection"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "score:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	in := fs.String("in", "", "input vectors (TSV)")
	labelsPath := fs.String("labels", "", "labels, one a line (optional)")
	perplexity := fs.Float64("perplexity", 30, "perplexity of the exact KL")
	k := fs.Int("k", 10, "trustworthiness neighbourhood")
	threads := fs.Int("threads", 0, "goroutines; 0 means one per CPU")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || fs.NArg() == 0 {
		return errors.New("usage: score -in X.tsv [-labels L.tsv] NAME=LAYOUT.tsv...")
	}
	x, n, d, err := readTSV(*in)
	if err != nil {
		return err
	}
	var labels []string
	if *labelsPath != "" {
		b, err := os.ReadFile(*labelsPath)
		if err != nil {
			return err
		}
		labels = strings.Fields(string(b))
		if len(labels) != n {
			return fmt.Errorf("%d labels for %d points", len(labels), n)
		}
	}
	ev, err := projection.NewKLEvaluator(x, n, d, *perplexity, *threads)
	if err != nil {
		return err
	}
	fmt.Println("layout\tKL (exact)\ttrustworthiness (k=10)\t5-NN accuracy")
	for _, arg := range fs.Args() {
		name, path, ok := strings.Cut(arg, "=")
		if !ok {
			name, path = arg, arg
		}
		y, m, dims, err := readTSV(path)
		if err != nil {
			return err
		}
		if m != n {
			return fmt.Errorf("%s: %d rows for %d points", path, m, n)
		}
		kl, err := ev.KL(y, dims)
		if err != nil {
			return err
		}
		trust, err := projection.Trustworthiness(x, n, d, y, dims, *k, *threads)
		if err != nil {
			return err
		}
		acc := "-"
		if labels != nil {
			acc = strconv.FormatFloat(knnAccuracy(y, n, dims, labels, 5), 'f', 4, 64)
		}
		fmt.Printf("%s\t%.4f\t%.4f\t%s\n", name, kl, trust, acc)
	}
	return nil
}

func readTSV(path string) ([]float32, int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	x, n, d, err := projection.ReadVectors(bufio.NewReader(f))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return x, n, d, nil
}

// knnAccuracy is the leave-one-out k-NN accuracy of the labels in layout y:
// majority vote of the k nearest other points (ties in distance to the
// lower index), ties in votes to the class of the nearest of the tied.
func knnAccuracy(y []float32, n, dims int, labels []string, k int) float64 {
	type nb struct {
		d float64
		i int
	}
	correct := 0
	near := make([]nb, 0, k+1)
	for i := range n {
		near = near[:0]
		for j := range n {
			if j == i {
				continue
			}
			s := 0.0
			for t := range dims {
				v := float64(y[i*dims+t] - y[j*dims+t])
				s += v * v
			}
			if len(near) == k && s >= near[k-1].d {
				continue
			}
			// Insert in order; j rises, so equal distances keep the lower
			// index first.
			pos := len(near)
			for pos > 0 && near[pos-1].d > s {
				pos--
			}
			near = slices.Insert(near, pos, nb{s, j})
			if len(near) > k {
				near = near[:k]
			}
		}
		votes := map[string]int{}
		for _, v := range near {
			votes[labels[v.i]]++
		}
		best, bestN := "", -1
		for _, v := range near {
			if c := votes[labels[v.i]]; c > bestN {
				best, bestN = labels[v.i], c
			}
		}
		if best == labels[i] {
			correct++
		}
	}
	return float64(correct) / float64(n)
}
