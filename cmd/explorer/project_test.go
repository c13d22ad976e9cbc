package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contrastive-explorer/explorer/projection"
)

// writeClusters writes n vectors of d dimensions in three clusters as TSV.
func writeClusters(t *testing.T, path string, n, d int) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 1))
	var b strings.Builder
	for i := range n {
		for j := range d {
			if j > 0 {
				b.WriteByte('\t')
			}
			fmt.Fprintf(&b, "%g", float64(10*(i%3))+r.NormFloat64())
		}
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestProjectCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "vectors.tsv")
	writeClusters(t, in, 120, 8)
	for _, tc := range []struct {
		name string
		args []string
		dims int
		want []string
	}{
		{"pca", []string{"--method", "pca"}, 2, []string{"explained variance ratio", "trustworthiness (k=10)", "time:"}},
		{"tsne 3D", []string{"--method", "tsne", "--dims", "3", "--iterations", "300", "--perplexity", "10"}, 3,
			[]string{"KL divergence", "trustworthiness (k=10)", "kNN preservation", "time:"}},
		{"umap", []string{"--method", "umap", "--epochs", "100", "--neighbors", "10"}, 2,
			[]string{"UMAP: a 1.5769, b 0.8951, 100 epochs", "trustworthiness (k=10)", "time:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".tsv")
			var stdout, stderr bytes.Buffer
			args := append([]string{"project", "--in", in, "--out", out}, tc.args...)
			if err := run(context.Background(), args, &stdout, &stderr); err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, stdout.String())
				}
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, n, d, err := projection.ReadVectors(f)
			if err != nil || n != 120 || d != tc.dims {
				t.Fatalf("wrote %d×%d, %v", n, d, err)
			}
		})
	}
}

func TestProjectCommandErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.tsv")
	writeClusters(t, good, 30, 4)
	ragged := filepath.Join(dir, "ragged.tsv")
	if err := os.WriteFile(ragged, []byte("1\t2\n3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.tsv")
	for _, tc := range []struct {
		name  string
		args  []string
		usage bool
		text  string
	}{
		{"no input", []string{"--out", out}, true, "--in and --out"},
		{"bad method", []string{"--in", good, "--out", out, "--method", "isomap"}, true, "isomap"},
		{"bad dims", []string{"--in", good, "--out", out, "--dims", "4"}, true, "--dims"},
		{"ragged input", []string{"--in", ragged, "--out", out}, false, "line 2"},
		{"perplexity too large", []string{"--in", good, "--out", out}, false, "perplexity"},
		{"missing file", []string{"--in", filepath.Join(dir, "nope.tsv"), "--out", out}, false, "nope.tsv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"project"}, tc.args...), &stdout, &stderr)
			var ue *usageError
			if err == nil || errors.As(err, &ue) != tc.usage || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("error %v (usage error: %v), want one containing %q", err, errors.As(err, &ue), tc.text)
			}
		})
	}
}
