package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/contrastive-explorer/explorer/trainer/gemm"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
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
	if len(entries) != 5 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("out holds %v, want the five result files", names)
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
		{[]string{"--pairs", "augment", "--aug-mask", "1"}, "--aug-mask"},
		{[]string{"--pairs", "augment", "--aug-noise", "-1"}, "--aug-noise"},
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

// trainJSON runs `explorer train` with args into a fresh directory and
// returns the directory, stdout and the decoded metrics.json.
func trainJSON(t *testing.T, args ...string) (string, string, map[string]any) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), append([]string{"train", "--out", dir}, args...), &stdout, &stderr); err != nil {
		t.Fatalf("train %v: %v\nstderr:\n%s", args, err, stderr.String())
	}
	raw, err := os.ReadFile(filepath.Join(dir, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var mj map[string]any
	if err := json.Unmarshal(raw, &mj); err != nil {
		t.Fatalf("metrics.json: %v", err)
	}
	return dir, stdout.String(), mj
}

// TestTrainAugFlags checks that --aug-* flags reach the config (and so
// metrics.json) and that every trained epoch reports its CPU seconds.
func TestTrainAugFlags(t *testing.T) {
	_, _, mj := trainJSON(t, "--dataset", "digits", "--loss", "ntxent", "--pairs", "augment", "--epochs", "1",
		"--batch", "64", "--hidden", "16", "--dim", "8", "--aug-shift", "1", "--aug-noise", "0.1")
	cfg := mj["config"].(map[string]any)
	if cfg["aug_shift"] != 1.0 || cfg["aug_noise"] != 0.1 || cfg["aug_rotate"] != nil || cfg["aug_cutout"] != nil {
		t.Errorf("config %v, want aug_shift 1 and aug_noise 0.1 only", cfg)
	}
	eps := mj["epochs"].([]any)
	if _, ok := eps[0].(map[string]any)["cpu_seconds"].(float64); !ok {
		t.Errorf("epoch %v has no cpu_seconds", eps[0])
	}
}

// TestTrainWordnet trains on the WordNet definitions: hashed n-grams
// through the embedding bag, the texts in metadata.tsv.
func TestTrainWordnet(t *testing.T) {
	dir, stdout, mj := trainJSON(t, "--dataset", "wordnet", "--epochs", "1", "--batch", "128", "--hidden", "32", "--dim", "8", "--embed", "16")
	cfg := mj["config"].(map[string]any)
	if cfg["dataset"] != "wordnet" || cfg["pairs"] != "labels" || cfg["embed"] != 16.0 {
		t.Errorf("config %v", cfg)
	}
	if raw, _ := mj["raw_knn_accuracy"].(float64); raw < 0.6 {
		t.Errorf("raw_knn_accuracy %v, want the hashed n-gram baseline (about 0.69)", mj["raw_knn_accuracy"])
	}
	if _, ok := mj["popularity_recall_at_10"]; ok {
		t.Error("metrics.json has popularity_recall_at_10 for a text dataset")
	}
	if !strings.Contains(stdout, "kNN accuracy") {
		t.Errorf("stdout %q", stdout)
	}
	if lines := readLines(t, filepath.Join(dir, "vectors.tsv")); len(lines) != 6000 || len(strings.Split(lines[0], "\t")) != 8 {
		t.Errorf("vectors.tsv: %d lines", len(lines))
	}
	lines := readLines(t, filepath.Join(dir, "metadata.tsv"))
	if len(lines) != 6001 || lines[0] != "label\tsplit\ttext" || len(strings.Split(lines[1], "\t")) != 3 {
		t.Errorf("metadata.tsv: %d lines, header %q, first row %q", len(lines), lines[0], lines[1])
	}
}

// TestTrainInteractions trains item embeddings on the listening histories
// (cooccur pairs by default) and reports recall@10 with its baselines.
func TestTrainInteractions(t *testing.T) {
	dir, stdout, mj := trainJSON(t, "--dataset", "interactions", "--epochs", "1", "--batch", "128", "--hidden", "32", "--dim", "8")
	cfg := mj["config"].(map[string]any)
	if cfg["pairs"] != "cooccur" || cfg["embed"] != 64.0 {
		t.Errorf("config %v", cfg)
	}
	pop, _ := mj["popularity_recall_at_10"].(float64)
	rnd, _ := mj["random_recall_at_10"].(float64)
	if pop < 0.05 || pop > 0.15 || rnd <= 0 || rnd > 0.01 {
		t.Errorf("popularity_recall_at_10 %v, random_recall_at_10 %v", mj["popularity_recall_at_10"], mj["random_recall_at_10"])
	}
	eps := mj["epochs"].([]any)
	last := eps[len(eps)-1].(map[string]any)
	if r, ok := last["recall_at_10"].(float64); !ok || r <= rnd {
		t.Errorf("epoch recall_at_10 %v", last["recall_at_10"])
	}
	if !strings.Contains(stdout, "recall@10") {
		t.Errorf("stdout %q", stdout)
	}
	if lines := readLines(t, filepath.Join(dir, "vectors.tsv")); len(lines) != 2000 {
		t.Errorf("vectors.tsv: %d lines, want one per track", len(lines))
	}
	lines := readLines(t, filepath.Join(dir, "metadata.tsv"))
	if len(lines) != 2001 || lines[0] != "label\tsplit\tname" || !strings.Contains(lines[1], "(") {
		t.Errorf("metadata.tsv: %d lines, header %q, first row %q", len(lines), lines[0], lines[1])
	}
}

// writeFile writes content to name in a fresh directory and returns its
// path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTrainInput trains on uploaded-format files: a CSV of vectors and a
// labelled text file.
func TestTrainInput(t *testing.T) {
	var csv, text strings.Builder
	csv.WriteString("x,y,z,label\n")
	words := [][]string{{"red", "apple", "cherry"}, {"blue", "sky", "ocean"}}
	for i := range 40 {
		c := i % 2
		fmt.Fprintf(&csv, "%d,%d,%d,%s\n", c*5+i%3, i%4, c*3, []string{"a", "b"}[c])
		fmt.Fprintf(&text, "%s\t%s and %s with %s\n", []string{"fruit", "water"}[c], words[c][i%3], words[c][(i+1)%3], []string{"a", "the", "some"}[i%3])
	}
	for _, tt := range []struct{ name, content, kind string }{
		{"points.csv", csv.String(), "vectors"},
		{"notes.txt", text.String(), "text"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, stdout, mj := trainJSON(t, "--input", writeFile(t, tt.name, tt.content), "--epochs", "2", "--batch", "8", "--hidden", "8", "--dim", "4")
			cfg := mj["config"].(map[string]any)
			if want := strings.TrimSuffix(tt.name, filepath.Ext(tt.name)); cfg["dataset"] != want {
				t.Errorf("config dataset %v, want %q", cfg["dataset"], want)
			}
			if !strings.Contains(stdout, "kNN accuracy") {
				t.Errorf("stdout %q", stdout)
			}
		})
	}
}

// TestTrainInputErrors: a file that cannot be trained on is a usage error
// (exit status 2) naming --input, and for bad contents file:line:column.
func TestTrainInputErrors(t *testing.T) {
	vectors := strings.Repeat("0.1\t0.2\t0.3\n", 12)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"bad number", []string{"--input", writeFile(t, "bad.csv", "x,y,label\n1,2,a\n3,oops,b\n")}, []string{"--input", "bad.csv:3:2"}},
		{"projector vectors", []string{"--input", writeFile(t, "vectors.tsv", vectors)}, []string{"--input", "vectors.tsv", "not trained"}},
		{"missing", []string{"--input", filepath.Join(t.TempDir(), "nothing.csv")}, []string{"--input", "nothing.csv"}},
		{"both", []string{"--input", writeFile(t, "a.csv", "x\n1\n"), "--dataset", "digits"}, []string{"--input", "--dataset"}},
		{"headword on images", []string{"--pairs", "headword"}, []string{"--pairs", "headword"}},
		{"cooccur on text", []string{"--dataset", "wordnet", "--pairs", "cooccur"}, []string{"--pairs", "cooccur"}},
		{"augmented ids", []string{"--dataset", "interactions", "--pairs", "augment"}, []string{"--pairs", "cooccur"}},
		{"embed", []string{"--dataset", "wordnet", "--embed", "-1"}, []string{"--embed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"train", "--out", dir}, tt.args...), &stdout, &stderr)
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err.Error(), w)
				}
			}
			if strings.Contains(err.Error(), "\n") || stdout.Len()+stderr.Len() > 0 {
				t.Errorf("message %q should be one line with nothing printed besides", err.Error())
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("out directory created for a bad command line")
			}
		})
	}
}

// TestTrainThreads: --threads 1 means one thread for the runtime as well
// as for the matrix products, so that "one thread" in a benchmark is one;
// --cpuprofile writes a profile.
func TestTrainThreads(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() {
		runtime.GOMAXPROCS(before)
		gemm.SetThreads(before)
	})
	var stdout, stderr bytes.Buffer
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	if err := run(context.Background(), []string{"train", "--epochs", "1", "--batch", "64", "--hidden", "16", "--dim", "4",
		"--threads", "1", "--cpuprofile", prof, "--out", t.TempDir()}, &stdout, &stderr); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr.String())
	}
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("after --threads 1, GOMAXPROCS is %d", got)
	}
	if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Errorf("--cpuprofile: %v", err)
	}
}
