package web

import (
	"cmp"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"github.com/contrastive-explorer/explorer/run/runner"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// This file is the search endpoint, GET /api/runs/{id}/search
// (docs/protocol.md, "Search"): it finds items to highlight on the map.

// Limits of the search endpoint.
const (
	defaultSearchK = 20
	maxSearchK     = 1000
	maxQueryRunes  = 200
)

// How results were found, the answer's method.
const (
	searchEmbedding = "embedding" // by an item's embedding
	searchEncoder   = "encoder"   // text: by the query's embedding under the run's encoder
	searchFeatures  = "features"  // text: by hashed n-gram features
	searchNames     = "names"     // by item names or texts
	searchLabels    = "labels"    // by class names
)

// searchResult is one item found.
type searchResult struct {
	Item  int     `json:"item"`
	Score float64 `json:"score"`
	Label int32   `json:"label"`
	Text  string  `json:"text"`
	Match string  `json:"match"` // "text", "name", "label" or "neighbor"
}

// searchJSON answers GET /api/runs/{id}/search.
type searchJSON struct {
	Query   string         `json:"query"`
	Item    *int           `json:"item"` // the item searched by, null for a query
	Epoch   int            `json:"epoch"`
	Method  string         `json:"method"`
	Classes []int32        `json:"classes"` // the labels a query matched (method labels)
	Results []searchResult `json:"results"`
}

func (s *Server) search(c *echo.Context) error {
	r, err := s.run(c)
	if err != nil {
		return err
	}
	ds := r.Dataset().Data
	n := ds.Len()
	q := strings.TrimSpace(c.QueryParam("q"))
	hasItem := c.QueryParam("item") != ""
	switch {
	case q == "" && !hasItem:
		return badInput("q", "what to search for? give q (a query) or item (an item's index)")
	case q != "" && hasItem:
		return badInput("q", "give q or item, not both")
	case !utf8.ValidString(q):
		return badInput("q", "the query is not valid UTF-8")
	case utf8.RuneCountInString(q) > maxQueryRunes:
		return badInput("q", "the query is too long (at most %d characters)", maxQueryRunes)
	}
	item, err := intParam(c, "item", -1, 0, n-1)
	if err != nil {
		return err
	}
	k, err := intParam(c, "k", defaultSearchK, 1, maxSearchK)
	if err != nil {
		return err
	}
	rec, err := s.epochParam(c, r)
	if err != nil {
		return err
	}

	sr := searcher{ds: ds, emb: rec.Embeddings, dim: rec.Dim, k: k}
	out := searchJSON{Query: q, Epoch: rec.Epoch, Classes: []int32{}}
	switch {
	case hasItem:
		out.Item = &item
		out.Method = searchEmbedding
		out.Results = sr.neighbours(item, nil)
	case ds.Kind == dataset.Text && ds.Sparse != nil:
		out.Method, out.Results = sr.byText(r.TextEmbedder(), q)
	case ds.Kind == dataset.Interactions:
		out.Method = searchNames
		out.Results = sr.byNames(q, ds.ItemNames, true)
	default:
		out.Method = searchLabels
		out.Classes, out.Results = sr.byLabels(q)
		if len(out.Classes) == 0 {
			out.Method = searchNames
			out.Results = sr.byNames(q, ds.Text, false)
		}
	}
	if out.Results == nil {
		out.Results = []searchResult{}
	}
	return c.JSON(http.StatusOK, out)
}

// searcher ranks the items of a dataset whose embeddings at one epoch are
// emb (n×dim).
type searcher struct {
	ds  *dataset.Dataset
	emb []float32
	dim int
	k   int
}

// result describes item i as found by match with score.
func (s searcher) result(i int, score float64, match string) searchResult {
	text := ""
	switch {
	case s.ds.ItemNames != nil:
		text = s.ds.ItemNames[i]
	case s.ds.Text != nil:
		text = s.ds.Text[i]
	}
	return searchResult{Item: i, Score: score, Label: s.ds.Labels[i], Text: clip(text), Match: match}
}

// top returns the k best of the items by score, best first, ties to the
// lower index; items whose keep is false are left out.
func (s searcher) top(score []float64, keep func(int) bool, match string) []searchResult {
	idx := make([]int, 0, len(score))
	for i := range score {
		if keep == nil || keep(i) {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Or(cmp.Compare(score[b], score[a]), cmp.Compare(a, b)) })
	idx = idx[:min(s.k, len(idx))]
	out := make([]searchResult, len(idx))
	for j, i := range idx {
		out[j] = s.result(i, score[i], match)
	}
	return out
}

// cosines returns the cosine similarity of every embedding to q (dim
// values); a zero vector scores 0.
func (s searcher) cosines(q []float32) []float64 {
	n := len(s.emb) / s.dim
	var qn float64
	for _, v := range q {
		qn += float64(v) * float64(v)
	}
	out := make([]float64, n)
	for i := range n {
		var dot, rn float64
		for j, v := range s.emb[i*s.dim : (i+1)*s.dim] {
			dot += float64(v) * float64(q[j])
			rn += float64(v) * float64(v)
		}
		if den := math.Sqrt(qn) * math.Sqrt(rn); den > 0 {
			out[i] = dot / den
		}
	}
	return out
}

// neighbours returns the items whose embeddings are most similar to item's,
// leaving out item and the items in skip.
func (s searcher) neighbours(item int, skip map[int]bool) []searchResult {
	score := s.cosines(s.emb[item*s.dim : (item+1)*s.dim])
	return s.top(score, func(i int) bool { return i != item && !skip[i] }, "neighbor")
}

// byText ranks text items against the query q and returns how: by the
// cosine similarity of their embeddings at the searched epoch to q's
// embedding under tr's latest weights (searchEncoder) when tr can embed
// text, else by hashed n-gram features (searchFeatures). A query without
// a feature the encoder knows matches nothing.
func (s searcher) byText(e runner.TextEmbedder, q string) (string, []searchResult) {
	if e != nil {
		v, err := e.EmbedText(q)
		switch {
		case errors.Is(err, trainer.ErrNoKnownWords):
			return searchEncoder, nil
		case err == nil && len(v) == s.dim:
			return searchEncoder, s.top(s.cosines(v), nil, "text")
		}
		// Otherwise the encoder is not available (the run has not built
		// it): the features need none.
	}
	return searchFeatures, s.byFeatures(q)
}

// byFeatures ranks text items by the cosine similarity of their hashed
// n-gram features to the query's, leaving out items with none in common.
func (s searcher) byFeatures(q string) []searchResult {
	qcols, qvals := dataset.HashFeatures(q, s.ds.Hash)
	query := make(map[int32]float64, len(qcols))
	var qn float64
	for j, c := range qcols {
		query[c] += float64(qvals[j])
	}
	for _, v := range query {
		qn += v * v
	}
	m := s.ds.Sparse
	score := make([]float64, m.Rows())
	shared := make([]bool, m.Rows())
	for i := range score {
		cols, vals := m.Row(i)
		var dot, rn float64
		for j, c := range cols {
			v := float64(vals[j])
			if w, ok := query[c]; ok {
				dot += v * w
				shared[i] = true
			}
			rn += v * v
		}
		if den := math.Sqrt(qn) * math.Sqrt(rn); den > 0 {
			score[i] = dot / den
		}
	}
	return s.top(score, func(i int) bool { return shared[i] }, "text")
}

// byNames finds the items whose name contains every word of the query,
// case-insensitively: those with more whole-word matches first, then
// shorter names. With neighbours, the rest of the k results are the
// embedding neighbours of the best match.
func (s searcher) byNames(q string, names []string, neighbours bool) []searchResult {
	if names == nil {
		return nil
	}
	words := strings.Fields(strings.ToLower(q))
	type hit struct{ item, whole, length int }
	var hits []hit
	for i, name := range names {
		lower := strings.ToLower(name)
		if !containsAll(lower, words) {
			continue
		}
		tokens := strings.FieldsFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
		whole := 0
		for _, w := range words {
			if slices.Contains(tokens, w) {
				whole++
			}
		}
		hits = append(hits, hit{i, whole, utf8.RuneCountInString(name)})
	}
	slices.SortFunc(hits, func(a, b hit) int {
		return cmp.Or(cmp.Compare(b.whole, a.whole), cmp.Compare(a.length, b.length), cmp.Compare(a.item, b.item))
	})
	hits = hits[:min(len(hits), s.k)]
	out := make([]searchResult, 0, s.k)
	found := make(map[int]bool, len(hits))
	for _, h := range hits {
		out = append(out, s.result(h.item, 1, "name"))
		found[h.item] = true
	}
	if neighbours && len(hits) > 0 && len(out) < s.k {
		more := s
		more.k = s.k - len(out)
		out = append(out, more.neighbours(hits[0].item, found)...)
	}
	return out
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return len(words) > 0
}

// byLabels finds the classes whose name matches the query (an exact match
// alone if there is one, else every class whose name contains it) and
// returns them with up to k of their items, the most typical first: the
// nearest to their class's mean embedding.
func (s searcher) byLabels(q string) ([]int32, []searchResult) {
	lq := strings.ToLower(q)
	var exact, partial []int32
	for l, name := range s.ds.ClassNames {
		switch lower := strings.ToLower(name); {
		case lower == lq:
			exact = append(exact, int32(l))
		case strings.Contains(lower, lq):
			partial = append(partial, int32(l))
		}
	}
	classes := exact
	if len(classes) == 0 {
		classes = partial
	}
	if len(classes) == 0 {
		return nil, nil
	}
	// Each item scores its similarity to the unit mean of its class.
	means := make(map[int32][]float64, len(classes))
	for _, l := range classes {
		means[l] = make([]float64, s.dim)
	}
	for i, l := range s.ds.Labels {
		m, ok := means[l]
		if !ok {
			continue
		}
		row := s.emb[i*s.dim : (i+1)*s.dim]
		if rn := norm(row); rn > 0 {
			for j, v := range row {
				m[j] += float64(v) / rn
			}
		}
	}
	score := make([]float64, len(s.ds.Labels))
	for i, l := range s.ds.Labels {
		m, ok := means[l]
		if !ok {
			continue
		}
		row := s.emb[i*s.dim : (i+1)*s.dim]
		var dot, mn float64
		for j, v := range row {
			dot += float64(v) * m[j]
			mn += m[j] * m[j]
		}
		if den := math.Sqrt(mn) * norm(row); den > 0 {
			score[i] = dot / den
		}
	}
	results := s.top(score, func(i int) bool { _, ok := means[s.ds.Labels[i]]; return ok }, "label")
	return classes, results
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}
