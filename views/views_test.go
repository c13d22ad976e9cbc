package views

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden renders c and compares it with testdata/name, or rewrites that
// file with -update.
func golden(t *testing.T, name string, c templ.Component) string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from the rendering; if the change is meant, run go test ./views -update and review the diff", path)
	}
	return buf.String()
}

func TestHome(t *testing.T) {
	html := golden(t, "home.html", Home(HomePage{
		Datasets: []DatasetCard{
			{Name: "digits", Title: "Digits", Description: "Tiny <digits> & more.", Kind: "images", Items: 10, Train: 8, Test: 2,
				Classes: 10, Size: "8×8 pixels", Source: "UCI", License: "CC BY 4.0", PreviewURL: "/api/datasets/digits/preview.png", Checked: true},
			{Name: "words", Title: "Words", Kind: "text", Items: 6, Train: 4, Test: 2, Synthetic: true},
			{Name: "u-0123456789abcdef", Title: "my <data>", Kind: "vectors", Items: 12, Train: 10, Test: 2, Uploaded: true, Precomputed: true},
		},
		Uploads:     []DatasetCard{{Name: "u-0123456789abcdef", Title: "my <data>", Kind: "vectors", Items: 12, Uploaded: true}},
		UploadLimit: "50 MB",
		Losses:      []Choice{{Value: "supcon", Title: "SupCon", Explanation: "Whole classes.", Checked: true}, {Value: "triplet", Title: "Triplet"}},
		Pairs:       []Choice{{Value: "labels", Title: "Labels", Checked: true}},
		Groups: []FieldGroup{{Legend: "Training", Help: "Knobs.", Fields: []Field{
			{Name: "epochs", Label: "Epochs", Kind: FieldNumber, Value: "20", Min: "1", Max: "1000", Step: "1", Help: "Passes."},
			{Name: "hidden", Label: "Hidden", Kind: FieldText, Value: "256,128", Pattern: `\d+`},
			{Name: "optimizer", Label: "Optimizer", Kind: FieldSelect, Options: []Option{{Value: "sgd", Label: "SGD"}, {Value: "adam", Label: "Adam", Selected: true}}},
		}}},
	}))
	// Text from data is escaped, never markup.
	if strings.Contains(html, "<digits>") || !strings.Contains(html, "&lt;digits&gt; &amp; more") {
		t.Error("dataset description not escaped")
	}
	if strings.Contains(html, "<data>") {
		t.Error("upload title not escaped")
	}
	for _, id := range []string{"upload-zone", "upload-input", "upload-status", "upload-list", "dataset-synthetic"} {
		if !strings.Contains(html, `data-testid="`+id+`"`) {
			t.Errorf("home page lacks %s", id)
		}
	}
	if !strings.Contains(html, `<li data-dataset="u-0123456789abcdef">`) {
		t.Error("upload list lacks the session's upload")
	}
}

func TestRun(t *testing.T) {
	html := golden(t, "run.html", Run(RunPage{
		ID: "abc123", Title: "Digits · supcon", WSURL: "/ws/runs/abc123", Items: 1797, Epochs: 20,
		State: "queued", QueuePosition: 2, Method: "tsne", Dims: 3,
		Config: []ConfigItem{{Label: "Loss", Value: "supcon"}},
	}))
	for _, id := range []string{"search-input", "search-results"} {
		if !strings.Contains(html, `data-testid="`+id+`"`) {
			t.Errorf("run page lacks %s", id)
		}
	}
}

func TestError(t *testing.T) {
	html := golden(t, "not-found.html", Error(ErrorPage{Status: 404, Title: "No such run", Message: "Nothing here."}))
	if !strings.Contains(html, `data-testid="not-found"`) {
		t.Error("404 page lacks its test id")
	}
}

func TestOrdinal(t *testing.T) {
	for n, want := range map[int]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 13: "13th", 21: "21st", 102: "102nd", 111: "111th"} {
		if got := Ordinal(n); got != want {
			t.Errorf("Ordinal(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCompare(t *testing.T) {
	html := golden(t, "compare.html", Compare(ComparePage{
		Title: "Digits: supcon vs triplet", Dataset: "Digits <small>", Method: "tsne", Dims: 2, SwapURL: "/compare/b2/a1",
		Runs: [2]CompareRun{
			{Key: "a", ID: "a1", Label: "supcon · labels", URL: "/runs/a1", State: "done", Epochs: 8},
			{Key: "b", ID: "b2", Label: "triplet <i>", URL: "/runs/b2", State: "running", Epochs: 8},
		},
	}))
	if strings.Contains(html, "<i>") || strings.Contains(html, "<small>") || !strings.Contains(html, "triplet &lt;i&gt;") {
		t.Error("a run's label is not escaped")
	}
	for _, want := range []string{`data-a="a1"`, `data-b="b2"`, `data-testid="scatter-a"`, `data-testid="scatter-b"`, `data-testid="figure-trust-b"`, `href="/compare/b2/a1"`} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}
