package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/runner/runnertest"
	"github.com/contrastive-explorer/explorer/run/search"
	"github.com/contrastive-explorer/explorer/trainer/gemm"
)

// searchRun runs GET /api/runs/{id}/search with query and expects 200.
func searchRun(t *testing.T, s http.Handler, id string, query url.Values) searchJSON {
	t.Helper()
	a := call(t, s, "GET", "/api/runs/"+id+"/search?"+query.Encode(), nil, "")
	if a.status != http.StatusOK {
		t.Fatalf("search %s: %d %s", query.Encode(), a.status, a.body)
	}
	var out searchJSON
	a.json(t, &out)
	return out
}

// uploadedRun uploads parts as sessionA and returns a finished run on it.
func uploadedRun(t *testing.T, s *testServer, parts ...part) created {
	t.Helper()
	d := mustUpload(t, s, sessionA, parts...)
	c := createRunAs(t, s, sessionA, map[string]any{"dataset": d.ID, "epochs": 2, "dim": 4, "batch": 4, "pairs": pairsFor(t, s, d.ID)})
	waitState(t, s, c.ID, run.Done)
	return c
}

func pairsFor(t *testing.T, s *testServer, id string) string {
	t.Helper()
	e, err := s.datasets.Get(sessionA, id)
	if err != nil {
		t.Fatal(err)
	}
	if e.Data.Kind == "interactions" {
		return "cooccur"
	}
	return "labels"
}

func checkRanked(t *testing.T, res []search.Result) {
	t.Helper()
	for i := 1; i < len(res); i++ {
		if res[i].Match == res[i-1].Match && res[i].Score > res[i-1].Score {
			t.Errorf("results not best first: %+v", res)
		}
	}
}

// TestSearchText ranks a text dataset's items by their hashed n-gram
// features against the query when the run's trainer cannot embed text (the
// fake trainers here, like the precomputed source), and by embedding with
// item=.
func TestSearchText(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	c := uploadedRun(t, s, filePart("notes.txt", textLines(20)))

	// "onion" is not a word of the texts (they say "onions"): no text has
	// every word, so the features rank them.
	out := searchRun(t, s, c.ID, url.Values{"q": {"onion in butter"}, "k": {"3"}})
	if out.Method != search.ByFeatures || out.Query != "onion in butter" || out.Item != nil || out.Epoch != 2 || len(out.Results) != 3 {
		t.Fatalf("search: %+v", out)
	}
	for _, r := range out.Results {
		if !strings.Contains(r.Text, "onions slowly in butter") || r.Match != "text" || r.Score <= 0 || r.Score > 1+1e-9 {
			t.Errorf("result %+v does not match the query", r)
		}
	}
	checkRanked(t, out.Results)
	if out := searchRun(t, s, c.ID, url.Values{"q": {"zzzzqqqq"}}); len(out.Results) != 0 {
		t.Errorf("a query sharing nothing found %+v", out.Results)
	}

	out = searchRun(t, s, c.ID, url.Values{"item": {"4"}, "k": {"5"}, "epoch": {"1"}})
	if out.Method != search.ByEmbedding || out.Item == nil || *out.Item != 4 || out.Epoch != 1 || len(out.Results) != 5 {
		t.Fatalf("search by item: %+v", out)
	}
	for _, r := range out.Results {
		if r.Item == 4 || r.Match != "neighbor" || r.Score < -1-1e-9 || r.Score > 1+1e-9 {
			t.Errorf("neighbour %+v", r)
		}
	}
	checkRanked(t, out.Results)
}

// TestSearchTextEncoder: on a real run, a text query is embedded with the
// run's encoder, so an item's exact text finds that item first, and it is
// ranked among the embeddings of that encoder's epoch, whichever is shown.
func TestSearchTextEncoder(t *testing.T) {
	// The real trainer's matrix products start gemm's process-wide worker
	// pool; stop it once the server is gone (cleanups run last-in
	// first-out), so the goroutine check of TestMain sees nothing left.
	t.Cleanup(func() { gemm.SetThreads(1); gemm.SetThreads(0) })
	s := newTestServer(t, Options{NewProjector: runnertest.ColumnProjectors})
	c := createRun(t, s, map[string]any{"dataset": "wordnet", "epochs": 1, "batch": 256, "hidden": []int{32}, "dim": 16})
	waitState(t, s, c.ID, run.Done)
	r, err := s.runs.Get(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	text := r.Dataset().Data.Text
	item := uniqueText(t, text)
	// A word no text has keeps the query off the texts' own words, so the
	// encoder alone ranks it.
	q := text[item] + " qxqjv"

	out := searchRun(t, s, c.ID, url.Values{"q": {q}, "k": {"5"}})
	if out.Method != search.ByEncoder || out.Epoch != 1 || out.Item != nil || len(out.Results) != 5 {
		t.Fatalf("search for item %d's text %q: %+v", item, q, out)
	}
	if top := out.Results[0]; top.Item != item || top.Match != "text" || top.Score < 1-1e-4 || top.Score > 1+1e-6 {
		t.Errorf("item %d's own text found %+v first", item, top)
	}
	checkRanked(t, out.Results)

	// Looking at epoch 0, the query is still embedded with the newest
	// weights, so it is ranked among the newest epoch's embeddings (an
	// item's own text is its own nearest), not epoch 0's, which an
	// untrained encoder made.
	out = searchRun(t, s, c.ID, url.Values{"q": {q}, "k": {"3"}, "epoch": {"0"}})
	if out.Method != search.ByEncoder || out.Epoch != 1 || len(out.Results) != 3 {
		t.Errorf("search at epoch 0: %+v", out)
	} else if top := out.Results[0]; top.Item != item || top.Score < 1-1e-4 {
		t.Errorf("searched from epoch 0, item %d's own text found %+v first", item, top)
	}
	if out := searchRun(t, s, c.ID, url.Values{"q": {"?! …"}}); out.Method != search.ByEncoder || len(out.Results) != 0 {
		t.Errorf("a query without words: %+v", out)
	}
}

// uniqueText returns the first text of at most maxQueryRunes characters
// whose words (as the hashed features see them) no other text shares.
func uniqueText(t *testing.T, texts []string) int {
	t.Helper()
	key := func(s string) string {
		return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r)
		}), " ")
	}
	count := make(map[string]int, len(texts))
	for _, s := range texts {
		count[key(s)]++
	}
	for i, s := range texts {
		if count[key(s)] == 1 && utf8.RuneCountInString(s) <= maxQueryRunes && strings.TrimSpace(s) == s {
			return i
		}
	}
	t.Fatal("no text is unique")
	return -1
}

// TestSearchInteractions finds items by name, whole-word matches first,
// then fills up with the best match's embedding neighbours.
func TestSearchInteractions(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	c := uploadedRun(t, s, filePart("plays.csv", interactionRows()))

	out := searchRun(t, s, c.ID, url.Values{"q": {"HARBOR"}, "k": {"5"}})
	if out.Method != search.ByNames || len(out.Results) != 5 {
		t.Fatalf("search: %+v", out)
	}
	var names []string
	for _, r := range out.Results[:2] {
		names = append(names, r.Text)
		if r.Match != "name" || r.Score != 1 {
			t.Errorf("name match %+v", r)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"Harbor Lights", "Neon Harbor"}) {
		t.Errorf("name matches %q", names)
	}
	seen := map[int]bool{}
	for _, r := range out.Results {
		if seen[r.Item] {
			t.Errorf("item %d twice: %+v", r.Item, out.Results)
		}
		seen[r.Item] = true
	}
	for _, r := range out.Results[2:] {
		if r.Match != "neighbor" {
			t.Errorf("after the names, neighbours: %+v", r)
		}
	}
	if out := searchRun(t, s, c.ID, url.Values{"q": {"neon harb"}}); len(out.Results) == 0 || out.Results[0].Text != "Neon Harbor" {
		t.Errorf("two words: %+v", out.Results)
	}
	if out := searchRun(t, s, c.ID, url.Values{"q": {"nothing like it"}}); len(out.Results) != 0 {
		t.Errorf("no match found %+v", out.Results)
	}
}

// TestSearchImages finds the items of a class by its name, the most
// typical first, and falls back on file names.
func TestSearchImages(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	digits := createRun(t, s, map[string]any{"epochs": 1, "dim": 4})
	waitState(t, s, digits.ID, run.Done)

	out := searchRun(t, s, digits.ID, url.Values{"q": {"3"}, "k": {"50"}})
	if out.Method != search.ByLabels || !slices.Equal(out.Classes, []int32{3}) || len(out.Results) != 50 {
		t.Fatalf("search for 3: %+v", out)
	}
	for _, r := range out.Results {
		if r.Label != 3 || r.Match != "label" {
			t.Errorf("result %+v is not a 3", r)
		}
	}
	checkRanked(t, out.Results)

	c := uploadedRun(t, s, field("side", "8"), filePart("shapes.zip", imageZip(t)))
	out = searchRun(t, s, c.ID, url.Values{"q": {"Circ"}})
	if out.Method != search.ByLabels || len(out.Classes) != 1 || len(out.Results) != 6 {
		t.Fatalf("search for circ: %+v", out)
	}
	out = searchRun(t, s, c.ID, url.Values{"q": {"3.png"}})
	if out.Method != search.ByNames || len(out.Results) != 2 {
		t.Fatalf("search by file name: %+v", out)
	}
	for _, r := range out.Results {
		if !strings.Contains(r.Text, "3.png") {
			t.Errorf("result %+v", r)
		}
	}
}

// TestSearchErrors checks the answers to bad searches.
func TestSearchErrors(t *testing.T) {
	gate := make(chan struct{})
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(gate), NewProjector: runnertest.ColumnProjectors})
	c := createRun(t, s, map[string]any{"epochs": 2, "dim": 4})
	// Epoch 0 comes at once; the gate holds epoch 1.
	for deadline := time.Now().Add(10 * time.Second); call(t, s, "GET", "/api/runs/"+c.ID+"/search?q=3", nil, "").status != http.StatusOK; {
		if time.Now().After(deadline) {
			t.Fatal("epoch 0 never became searchable")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, tt := range []struct {
		query  string
		status int
		field  string
	}{
		{"", 400, "q"},
		{"q=3&item=1", 400, "q"},
		{"q=" + strings.Repeat("x", 201), 400, "q"},
		{"item=5000", 400, "item"},
		{"q=3&k=0", 400, "k"},
		{"q=3&k=1001", 400, "k"},
		{"q=3&epoch=2", 404, ""},
	} {
		a := call(t, s, "GET", "/api/runs/"+c.ID+"/search?"+tt.query, nil, "")
		var e errorBody
		a.json(t, &e)
		if a.status != tt.status || e.Field != tt.field {
			t.Errorf("%q: %d %+v, want %d naming %q", tt.query, a.status, e, tt.status, tt.field)
		}
	}
	if a := call(t, s, "GET", "/api/runs/nope/search?q=3", nil, ""); a.status != http.StatusNotFound {
		t.Errorf("unknown run: %d", a.status)
	}
	close(gate)
}
