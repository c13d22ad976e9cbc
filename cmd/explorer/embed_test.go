package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/contrastive-explorer/explorer/projection"
	sampledata "github.com/contrastive-explorer/explorer/sample-data"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// TestEmbedCommand: `explorer embed` of the training items reproduces the
// embeddings the run ended with, from the model.safetensors `explorer
// train` writes (an input file) and from the one `explorer export` saves
// of a run kept in a data folder (a bundled dataset); bad command lines
// and files are refused saying why.
func TestEmbedCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	do := func(args ...string) (string, string, error) {
		var out, errs bytes.Buffer
		err := run(ctx, args, &out, &errs)
		return out.String(), errs.String(), err
	}

	points := filepath.Join(dir, "points.csv")
	var csv strings.Builder
	csv.WriteString("a,b,c,label\n")
	for i := range 60 {
		csv.WriteString(strings.Join([]string{strconv.Itoa(i % 7), strconv.Itoa(i % 5), strconv.Itoa(i % 3), string(rune('p' + i%3))}, ",") + "\n")
	}
	if err := os.WriteFile(points, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if _, errs, err := do("train", "--input", points, "--epochs", "3", "--batch", "16", "--hidden", "8", "--dim", "4", "--out", out); err != nil {
		t.Fatalf("train: %v\n%s", err, errs)
	}
	model := filepath.Join(out, "model.safetensors")
	vectors, errs, err := do("embed", "--model", model, "--input", points)
	if err != nil || !strings.Contains(errs, "embedded 60 items") {
		t.Fatalf("embed: %v %s", err, errs)
	}
	trained, _ := os.ReadFile(filepath.Join(out, "vectors.tsv"))
	if vectors != string(trained) {
		t.Errorf("embed --input of the training file differs from train's vectors.tsv:\n%.200s\nwant\n%.200s", vectors, trained)
	}

	// A digits run kept in a data folder, really trained, with its
	// checkpoints.
	data := t.TempDir()
	cfg := trainer.DefaultConfig()
	cfg.Dataset, cfg.Epochs = "digits", 2
	tr, err := trainer.New(cfg, mustDigits(t))
	if err != nil {
		t.Fatal(err)
	}
	tr.EnableCheckpoints()
	ch, _ := tr.Subscribe(cfg.Epochs + 1)
	if err := tr.Run(ctx); err != nil {
		t.Fatal(err)
	}
	var epochs []kept
	for e := range ch {
		epochs = append(epochs, kept{e.Metrics, e.Embeddings, e.Dim, make([]float32, 2*len(e.Embeddings)/e.Dim), e.Checkpoint})
	}
	keepRun(t, data, "abc123", "", epochs)
	saved := filepath.Join(dir, "digits.safetensors")
	if _, errs, err := do("export", "--data", data, "--format", "model.safetensors", "--out", saved, "abc123"); err != nil {
		t.Fatalf("export: %v %s", err, errs)
	}
	meta := filepath.Join(dir, "metadata.tsv")
	got, _, err := do("embed", "--model", saved, "--dataset", "digits", "--metadata", meta)
	if err != nil {
		t.Fatal(err)
	}
	x, n, d, err := projection.ReadVectors(strings.NewReader(got))
	last := epochs[len(epochs)-1]
	if err != nil || n != 1797 || d != last.dim {
		t.Fatalf("embed --dataset digits: %v, %d×%d", err, n, d)
	}
	for i, v := range x {
		if v != last.emb[i] {
			t.Fatalf("value %d: embedded %v, the run's last epoch has %v", i, v, last.emb[i])
		}
	}
	if m, err := os.ReadFile(meta); err != nil || !strings.HasPrefix(string(m), "label\tsplit") {
		t.Errorf("--metadata: %v %.40q", err, m)
	}

	notModel := filepath.Join(dir, "not.safetensors")
	os.WriteFile(notModel, []byte("hello"), 0o644)
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"embed", "--input", points}, "--model"},
		{[]string{"embed", "--model", model}, "--input FILE or --dataset NAME"},
		{[]string{"embed", "--model", model, "--input", points, "--dataset", "digits"}, "--input FILE or --dataset NAME"},
		{[]string{"embed", "--model", notModel, "--dataset", "digits"}, "not a model file"},
		{[]string{"embed", "--model", filepath.Join(dir, "nope"), "--dataset", "digits"}, "no such file"},
		{[]string{"embed", "--model", model, "--dataset", "digits"}, "vectors of 3 values"},
		{[]string{"embed", "--model", saved, "--dataset", "nope"}, "unknown dataset"},
	} {
		_, _, err := do(tc.args...)
		if _, usage := err.(*usageError); !usage || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%v: %v, want a usage error saying %q", tc.args[1:], err, tc.says)
		}
	}
}

func mustDigits(t *testing.T) *dataset.Dataset {
	t.Helper()
	d, err := sampledata.Load("digits")
	if err != nil {
		t.Fatal(err)
	}
	return d
}
