package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"image/gif"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contrastive-explorer/explorer/trainer"
)

// TestExportCommand checks `explorer export` on a data folder holding a
// digits run of three epochs: files written where asked (or under a name
// of their own), contents that decode, and refusals that say what to do.
func TestExportCommand(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	const n = 1797
	var epochs []kept
	for e := range 3 {
		coords := make([]float32, n*2)
		for i := range coords {
			coords[i] = float32(i%97) * float32(e+1)
		}
		epochs = append(epochs, kept{trainer.Metrics{Loss: 2 - float64(e), KNNAccuracy: 0.5, HasKNN: true}, make([]float32, n*4), 4, coords, nil})
	}
	keepRun(t, data, "abc123", "", epochs)

	do := func(args ...string) (string, string, error) {
		var out, errs bytes.Buffer
		err := run(ctx, append([]string{"export", "--data", data}, args...), &out, &errs)
		return out.String(), errs.String(), err
	}
	dir := t.TempDir()
	gifPath := filepath.Join(dir, "a.gif")
	if _, errs, err := do("--format", "animation.gif", "--out", gifPath, "abc123"); err != nil || !strings.Contains(errs, "wrote") {
		t.Fatalf("animation: %v %s", err, errs)
	}
	f, _ := os.Open(gifPath)
	g, err := gif.DecodeAll(f)
	f.Close()
	if err != nil || len(g.Image) != 3+2*3 {
		t.Fatalf("the GIF: %v, %d frames", err, len(g.Image))
	}
	out, _, err := do("--format", "coords.csv", "--out", "-", "abc123")
	rows, cerr := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || cerr != nil || len(rows) != 1+3*n {
		t.Fatalf("coords.csv to stdout: %v %v, %d rows", err, cerr, len(rows))
	}
	t.Chdir(dir)
	if _, _, err := do("--epoch", "1", "abc123"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "run-abc123-epoch-1-projector.zip")); err != nil {
		t.Errorf("the default file name: %v", err)
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"nope"}, "no run"},
		{[]string{"--format", "movie.mp4", "abc123"}, "unknown export"},
		{[]string{"--format", "scatter.png", "--epoch", "9", "abc123"}, "not been trained"},
		{[]string{}, "name one run"},
	} {
		if _, _, err := do(tc.args...); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%v: %v, want an error saying %q", tc.args, err, tc.says)
		}
	}
}
