package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestTrainWritesResults runs a tiny training through the whole program and
// checks the four files.
func TestTrainWritesResults(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"train", "--epochs", "2", "--batch", "64", "--hidden", "32",
		"--dim", "8", "--loss", "triplet", "--schedule", "cosine", "--out", dir}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("train: %v\nstderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "epoch 2/2") || strings.Contains(stderr.String(), "\r") {
		t.Errorf("progress on a non-terminal should be plain lines, got:\n%s", stderr.String())
	}
	if !strings.Contains(stdout.String(), "kNN accuracy") {
		t.Errorf("stdout: %q", stdout.String())
	}

	// metrics.json
	raw, err := os.ReadFile(filepath.Join(dir, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var mj struct {
		Config         map[string]any   `json:"config"`
		RawKNNAccuracy *float64         `json:"raw_knn_accuracy"`
		Epochs         []map[string]any `json:"epochs"`
	}
	if err := json.Unmarshal(raw, &mj); err != nil {
		t.Fatalf("metrics.json: %v", err)
	}
	if mj.Config["dataset"] != "digits" || mj.Config["loss"] != "triplet" || mj.Config["epochs"] != 2.0 ||
		mj.Config["margin"] != 0.2 || mj.Config["weight_decay"] != 0.0 {
		t.Errorf("config: %v", mj.Config)
	}
	if mj.RawKNNAccuracy == nil || *mj.RawKNNAccuracy < 0.9 {
		t.Errorf("raw_knn_accuracy: %v", mj.RawKNNAccuracy)
	}
	if len(mj.Epochs) != 2 {
		t.Fatalf("%d epochs in metrics.json, want 2", len(mj.Epochs))
	}
	for i, e := range mj.Epochs {
		if e["epoch"] != float64(i+1) {
			t.Errorf("epochs[%d].epoch = %v", i, e["epoch"])
		}
		for _, k := range []string{"loss", "knn_accuracy", "alignment", "uniformity", "pos_distance", "neg_distance", "seconds", "effective_rank", "collapsed"} {
			if _, ok := e[k]; !ok {
				t.Errorf("epochs[%d] lacks %q", i, k)
			}
		}
	}

	// vectors.tsv: one line of 8 floats per item.
	lines := readLines(t, filepath.Join(dir, "vectors.tsv"))
	if len(lines) != 1797 {
		t.Errorf("vectors.tsv has %d lines, want 1797", len(lines))
	}
	for i, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) != 8 {
			t.Fatalf("vectors.tsv line %d has %d fields, want 8", i+1, len(f))
		}
		for _, s := range f {
			if _, err := strconv.ParseFloat(s, 32); err != nil {
				t.Fatalf("vectors.tsv line %d: %v", i+1, err)
			}
		}
	}

	// metadata.tsv: header, then label and split per item.
	lines = readLines(t, filepath.Join(dir, "metadata.tsv"))
	if len(lines) != 1798 || lines[0] != "label\tsplit" {
		t.Fatalf("metadata.tsv: %d lines, header %q", len(lines), lines[0])
	}
	splits := map[string]int{}
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		if len(f) != 2 || len(f[0]) != 1 || f[0][0] < '0' || f[0][0] > '9' {
			t.Fatalf("metadata.tsv row %q", l)
		}
		splits[f[1]]++
	}
	if splits["train"] != 1438 || splits["test"] != 359 {
		t.Errorf("metadata.tsv splits %v", splits)
	}

	// loss.png decodes.
	f, err := os.Open(filepath.Join(dir, "loss.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("loss.png: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 300 {
		t.Errorf("loss.png is %v", b)
	}

	// No temporary files are left behind.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("out holds %v, want the four result files", names)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestTrainBadFlags: every bad flag or value is a usage error (exit status
// 2) whose single line names the flag, and nothing is written.
func TestTrainBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--lr", "0"}, "--lr"},
		{[]string{"--lr", "-1"}, "--lr"},
		{[]string{"--lr", "NaN"}, "--lr"},
		{[]string{"--lr", "abc"}, "-lr"},
		{[]string{"--batch", "5000"}, "--batch"},
		{[]string{"--batch", "1"}, "--batch"},
		{[]string{"--epochs", "0"}, "--epochs"},
		{[]string{"--dataset", "mnist"}, "--dataset"},
		{[]string{"--loss", "hinge"}, "--loss"},
		{[]string{"--pairs", "both"}, "--pairs"},
		{[]string{"--dim", "1"}, "--dim"},
		{[]string{"--hidden", "128,x"}, "--hidden"},
		{[]string{"--hidden", "8,8,8,8,8"}, "--hidden"},
		{[]string{"--temperature", "-1"}, "--temperature"},
		{[]string{"--loss", "triplet", "--margin", "5"}, "--margin"},
		{[]string{"--loss", "triplet", "--mining", "easy"}, "--mining"},
		{[]string{"--optimizer", "rmsprop"}, "--optimizer"},
		{[]string{"--weight-decay", "-0.1"}, "--weight-decay"},
		{[]string{"--momentum", "1.5"}, "--momentum"},
		{[]string{"--schedule", "step"}, "--schedule"},
		{[]string{"--augment", "2"}, "--augment"},
		{[]string{"--threads", "-1"}, "--threads"},
		{[]string{"--bogus"}, "-bogus"},
		{[]string{"extra"}, "extra"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"train", "--out", dir}, tt.args...), &stdout, &stderr)
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("message %q should be one line naming %s", msg, tt.want)
			}
			if stdout.Len()+stderr.Len() > 0 {
				t.Errorf("printed %q %q besides the error", stdout.String(), stderr.String())
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("out directory created for a bad command line")
			}
		})
	}
}

func TestTrainHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"train", "-h"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Usage: explorer train", "-weight-decay", "-hidden", "metrics.json"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, stdout.String())
		}
	}
}

// signalWriter collects progress output and closes first when a line
// containing want has been written.
type signalWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	want  string
	first chan struct{}
	once  sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.first) })
	}
	return len(p), nil
}

// TestTrainInterrupted: cancelling (Ctrl-C) stops training and still writes
// the epochs trained so far.
func TestTrainInterrupted(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &signalWriter{want: "epoch 1/", first: make(chan struct{})}
	go func() {
		<-stderr.first
		cancel()
	}()
	var stdout bytes.Buffer
	err := run(ctx, []string{"train", "--epochs", "1000", "--hidden", "32", "--out", dir}, &stdout, stderr)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v, want an interruption wrapping context.Canceled", err)
	}
	var mj struct {
		Epochs []struct {
			Epoch int `json:"epoch"`
		} `json:"epochs"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &mj); err != nil {
		t.Fatal(err)
	}
	if len(mj.Epochs) < 1 || len(mj.Epochs) > 999 {
		t.Errorf("%d epochs written after an interruption", len(mj.Epochs))
	}
	for _, name := range []string{"vectors.tsv", "metadata.tsv", "loss.png"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}
