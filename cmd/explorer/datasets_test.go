package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDatasets(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"datasets"}, &out, &errb); err != nil {
		t.Fatalf("datasets: %v (stderr %q)", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 10 {
		t.Fatalf("got %d lines, want a header, 4 rows, a blank line and 4 source lines:\n%s", len(lines), out.String())
	}
	for i, want := range [][]string{
		{"NAME", "KIND", "ITEMS", "TRAIN/TEST", "DIM", "CLASSES", "TITLE"},
		{"digits", "images", "1797", "1438/359", "64 (8×8)", "10", "Handwritten digits"},
		{"fashion", "images", "12000", "10000/2000", "784 (28×28)", "10", "Fashion-MNIST"},
		{"interactions", "interactions", "2000", "12", "synthetic"},
		{"wordnet", "text", "6000", "4800/1200", "10", "WordNet"},
		{},
		{"digits: licence CC BY 4.0; source: ", "Alpaydin"},
		{"fashion: licence MIT", "Zalando"},
		{"interactions: ", "synthetic"},
		{"wordnet: licence WordNet 3.0"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d %q lacks %q", i+1, lines[i], w)
			}
		}
	}
	// The table's columns line up on screen, so count runes, not bytes.
	col := func(line, s string) int { return utf8.RuneCountInString(line[:strings.Index(line, s)]) }
	if c := col(lines[0], "TITLE"); col(lines[1], "Handwritten") != c || col(lines[2], "Fashion-MNIST") != c {
		t.Errorf("TITLE column misaligned:\n%s", out.String())
	}
	if errb.Len() != 0 {
		t.Errorf("unexpected stderr %q", errb.String())
	}
}

func TestDatasetsJSON(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"datasets", "-json"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var got []struct {
		Name  string
		Items int
		Dim   int
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if len(got) != 4 || got[0].Name != "digits" || got[0].Items != 1797 || got[1].Name != "fashion" || got[1].Dim != 784 ||
		got[2].Name != "interactions" || got[3].Name != "wordnet" || got[3].Items != 6000 {
		t.Errorf("got %+v", got)
	}
}

func TestDatasetsUsage(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"unknown flag", []string{"datasets", "-bogus"}},
		{"extra argument", []string{"datasets", "fashion"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errb)
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v, want a usage error", err)
			}
			if out.Len() != 0 {
				t.Errorf("unexpected stdout %q", out.String())
			}
		})
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"datasets", "-h"}, &out, &errb); err != nil {
		t.Errorf("-h: %v, want nil", err)
	}
	if !strings.Contains(errb.String(), "Usage: explorer datasets") {
		t.Errorf("-h printed %q to stderr", errb.String())
	}
}
