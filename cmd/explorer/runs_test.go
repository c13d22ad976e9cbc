package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	domain "github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/sqlite"
	"github.com/contrastive-explorer/explorer/trainer"
)

// kept is one epoch of a run keepRun stores: its metrics, embeddings (of
// dim dimensions) and PCA 2D coordinates.
type kept struct {
	metrics trainer.Metrics
	emb     []float32
	dim     int
	coords  []float32
	ckpt    []byte // the checkpoint after the epoch, or nil
}

// keepRun stores a finished digits run id named name in data's store, with
// epochs 0..len(epochs)-1 as epochs gives them.
func keepRun(t *testing.T, data, id, name string, epochs []kept) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, storeFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := trainer.DefaultConfig()
	cfg.Dataset, cfg.Epochs = "digits", len(epochs)-1
	now := time.Now()
	if err := st.PutRun(ctx, domain.Record{ID: id, Name: name, Config: domain.Config{Config: cfg, Projection: "pca", Dims: 2},
		State: domain.Done, Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	for e, k := range epochs {
		m := domain.EncodeMetrics(k.metrics)
		if err := st.PutEpoch(ctx, id, domain.EpochRecord{Epoch: e, Metrics: m, Embeddings: k.emb, Dim: k.dim, Checkpoint: k.ckpt}); err != nil {
			t.Fatal(err)
		}
		if err := st.PutFrame(ctx, id, domain.FrameRecord{Epoch: e, Method: "pca", Dims: 2, Coords: k.coords, Metrics: m, Sent: now}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRunsCommand checks `explorer runs list|show|delete` on a data folder
// holding one run with two epochs.
func TestRunsCommand(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	var epochs []kept
	for e := range 2 {
		epochs = append(epochs, kept{trainer.Metrics{Loss: 2 - float64(e), KNNAccuracy: 0.5 + 0.25*float64(e), HasKNN: true}, []float32{1, 0}, 2, []float32{0, 1}, nil})
	}
	keepRun(t, data, "abc123", "first try", epochs)

	do := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{"runs"}, args...), &out, &bytes.Buffer{})
		return out.String(), err
	}
	out, err := do("list", "--data", data)
	if err != nil || !strings.Contains(out, "abc123") || !strings.Contains(out, "first try") || !strings.Contains(out, "1/1") {
		t.Errorf("list: %v\n%s", err, out)
	}
	out, err = do("show", "--data", data, "-json", "abc123")
	var shown runJSONLine
	if err != nil || json.Unmarshal([]byte(out), &shown) != nil || shown.Epoch != 1 || len(shown.Epochs) != 2 || shown.Config.Dataset != "digits" {
		t.Errorf("show -json: %v\n%s", err, out)
	}
	if out, err = do("show", "--data", data, "abc123"); err != nil || !strings.Contains(out, "0.7500") {
		t.Errorf("show: %v\n%s", err, out)
	}
	if _, err := do("show", "--data", data, "nope"); err == nil || !strings.Contains(err.Error(), "no run") {
		t.Errorf("show of an unknown run: %v", err)
	}
	if out, err = do("delete", "--data", data, "abc123"); err != nil || !strings.Contains(out, "deleted abc123") {
		t.Errorf("delete: %v %s", err, out)
	}
	if out, _ = do("list", "--data", data); strings.Contains(out, "abc123") {
		t.Errorf("listed after delete:\n%s", out)
	}
	if _, err := do("list", "--data", t.TempDir()); err == nil {
		t.Error("a folder without a store is not an error")
	}
}
