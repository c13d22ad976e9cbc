// Package search ranks the items of one epoch of a run for the run page:
// the items a query names (by text, item name or class), the items most
// similar to one item, and the neighbours panel (nearest in embedding and
// input space, the nearest positives and the hardest negatives). It knows
// no HTTP: web parses the request and encodes the answer. Every cosine
// question goes to package nearest.
package search

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
	"github.com/contrastive-explorer/explorer/trainer/nearest"
)

// How results were found, an Answer's Method.
const (
	ByEmbedding = "embedding" // by an item's embedding
	ByEncoder   = "encoder"   // text: by the query's embedding under the run's encoder
	ByFeatures  = "features"  // text: by hashed n-gram features
	ByNames     = "names"     // by item names or texts
	ByLabels    = "labels"    // by class names
	ByWords     = "words"     // text: the items whose headwords or text have the query's words, then the encoder's (or the features') nearest
)

// Result is one item found.
type Result struct {
	Item  int     `json:"item"`
	Score float64 `json:"score"`
	Label int32   `json:"label"`
	Text  string  `json:"text"`
	Match string  `json:"match"` // "text", "name", "headword", "words", "label" or "neighbor"
}

// Answer is what a search found and how.
type Answer struct {
	Method  string
	Classes []int32 // the labels a query matched (ByLabels)
	Results []Result
}

// TextEmbedder embeds a text query with a run's encoder
// (runner.TextEmbedder).
type TextEmbedder interface {
	EmbedText(q string) ([]float32, error)
}

// Epoch is what is searched: a dataset and its embeddings at one epoch.
type Epoch struct {
	Data       *dataset.Dataset
	Embeddings []float32 // n×Dim
	Dim        int

	rows *nearest.Rows
}

func (e *Epoch) index() *nearest.Rows {
	if e.rows == nil {
		e.rows = nearest.NewRows(e.Embeddings, e.Dim)
	}
	return e.rows
}

// Query finds up to k items for the query q: on a text dataset by the
// query's embedding under embed (nil, or failing to embed: by hashed
// features), on interactions by item name and then the best match's
// embedding neighbours, elsewhere by class name and else by item text.
func (e *Epoch) Query(q string, k int, embed TextEmbedder) Answer {
	ds := e.Data
	var a Answer
	switch {
	case EmbedsQueries(ds):
		// A class's name lights the class; words the texts have come
		// first; the encoder ranks the rest.
		if a.Classes, a.Results = e.byLabels(q, k); len(a.Classes) > 0 {
			a.Method = ByLabels
			break
		}
		a.Method, a.Results = e.byText(embed, q, k)
		if words := e.byWords(q, k); len(words) > 0 {
			a.Method, a.Results = ByWords, merge(words, a.Results, k)
		}
	case ds.Kind == dataset.Interactions:
		a.Method, a.Results = ByNames, e.byNames(q, ds.ItemNames, k, true)
	default:
		a.Method = ByLabels
		a.Classes, a.Results = e.byLabels(q, k)
		if len(a.Classes) == 0 {
			a.Method, a.Results = ByNames, e.byNames(q, ds.Text, k, false)
		}
	}
	if a.Classes == nil {
		a.Classes = []int32{}
	}
	if a.Results == nil {
		a.Results = []Result{}
	}
	return a
}

// EmbedsQueries says whether a query on d is embedded by the run's encoder
// (texts): then it can only be ranked among the embeddings of the epoch
// whose weights embedded it.
func EmbedsQueries(d *dataset.Dataset) bool {
	return d.Kind == dataset.Text && d.Sparse != nil
}

// Similar returns the k items whose embeddings are most similar to item's.
func (e *Epoch) Similar(item, k int) Answer {
	return Answer{Method: ByEmbedding, Classes: []int32{}, Results: e.similar(item, k, nil)}
}

// result describes item i as found by match with score.
func (e *Epoch) result(i int, score float64, match string) Result {
	text := ""
	switch {
	case e.Data.ItemNames != nil:
		text = e.Data.ItemNames[i]
	case e.Data.Text != nil:
		text = e.Data.Text[i]
		if e.Data.Headwords != nil && len(e.Data.Headwords[i]) > 0 {
			// A definition with the words it defines.
			text = strings.Join(e.Data.Headwords[i], ", ") + ": " + text
		}
	}
	return Result{Item: i, Score: score, Label: e.Data.Labels[i], Text: run.ClipText(text), Match: match}
}

func (e *Epoch) results(hits []nearest.Hit, match string) []Result {
	out := make([]Result, len(hits))
	for j, h := range hits {
		out[j] = e.result(h.Item, float64(h.Sim), match)
	}
	return out
}

// similar returns the items most similar to item's embedding, leaving out
// item and the items in skip.
func (e *Epoch) similar(item, k int, skip map[int]bool) []Result {
	return e.results(e.index().SimilarTo(item, k, func(i int) bool { return !skip[i] }), "neighbor")
}

// byText ranks text items against the query q and returns how: by the
// cosine similarity of their embeddings at the searched epoch to q's
// embedding under the encoder (ByEncoder) when it can embed text, else by
// hashed n-gram features (ByFeatures). A query without a feature the
// encoder knows matches nothing.
func (e *Epoch) byText(embed TextEmbedder, q string, k int) (string, []Result) {
	if embed != nil {
		v, err := embed.EmbedText(q)
		switch {
		case errors.Is(err, trainer.ErrNoKnownWords):
			return ByEncoder, nil
		case err == nil && len(v) == e.Dim:
			return ByEncoder, e.results(e.index().Similar(v, k, nil), "text")
		}
		// Otherwise the encoder is not available (the run has not built
		// it): the features need none.
	}
	return ByFeatures, e.byFeatures(q, k)
}

// byFeatures ranks text items by the cosine similarity of their hashed
// n-gram features to the query's, leaving out items with none in common.
func (e *Epoch) byFeatures(q string, k int) []Result {
	qcols, qvals := dataset.HashFeatures(q, e.Data.Hash)
	query := make(map[int32]float64, len(qcols))
	var qn float64
	for j, c := range qcols {
		query[c] += float64(qvals[j])
	}
	for _, v := range query {
		qn += v * v
	}
	m := e.Data.Sparse
	score := make([]float32, m.Rows())
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
			score[i] = float32(dot / den)
		}
	}
	return e.results(nearest.Top(score, k, func(i int) bool { return shared[i] }), "text")
}

// byNames finds the items whose name contains every word of the query,
// case-insensitively: those with more whole-word matches first, then
// shorter names. With neighbours, the rest of the k results are the
// embedding neighbours of the best match.
func (e *Epoch) byNames(q string, names []string, k int, neighbours bool) []Result {
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
		have := tokens(lower)
		whole := 0
		for _, w := range words {
			if slices.Contains(have, w) {
				whole++
			}
		}
		hits = append(hits, hit{i, whole, utf8.RuneCountInString(name)})
	}
	slices.SortFunc(hits, func(a, b hit) int {
		return cmp.Or(cmp.Compare(b.whole, a.whole), cmp.Compare(a.length, b.length), cmp.Compare(a.item, b.item))
	})
	hits = hits[:min(len(hits), k)]
	out := make([]Result, 0, k)
	found := make(map[int]bool, len(hits))
	for _, h := range hits {
		out = append(out, e.result(h.item, 1, "name"))
		found[h.item] = true
	}
	if neighbours && len(hits) > 0 && len(out) < k {
		out = append(out, e.similar(hits[0].item, k-len(out), found)...)
	}
	return out
}

// byWords finds the text items that have every word of q: first those
// whose headwords do (a headword equal to the query first), then those
// whose text has them as whole words, shorter texts first.
func (e *Epoch) byWords(q string, k int) []Result {
	words := tokens(q)
	if len(words) == 0 {
		return nil
	}
	phrase := strings.Join(words, " ")
	type hit struct{ item, tier, length int }
	var hits []hit
	for i, text := range e.Data.Text {
		tier := -1
		if e.Data.Headwords != nil {
			for _, h := range e.Data.Headwords[i] {
				ht := tokens(h)
				switch {
				case strings.Join(ht, " ") == phrase:
					tier = 0
				case tier != 0 && hasAll(ht, words):
					tier = 1
				}
			}
		}
		if tier < 0 && hasAll(tokens(text), words) {
			tier = 2
		}
		if tier >= 0 {
			hits = append(hits, hit{i, tier, utf8.RuneCountInString(text)})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		return cmp.Or(cmp.Compare(a.tier, b.tier), cmp.Compare(a.length, b.length), cmp.Compare(a.item, b.item))
	})
	out := make([]Result, 0, min(len(hits), k))
	for _, h := range hits[:min(len(hits), k)] {
		match := "words"
		if h.tier < 2 {
			match = "headword"
		}
		out = append(out, e.result(h.item, 1, match))
	}
	return out
}

// merge is first, then the results of rest not in first, k at most.
func merge(first, rest []Result, k int) []Result {
	seen := make(map[int]bool, len(first))
	out := slices.Clip(first[:min(len(first), k)])
	for _, r := range out {
		seen[r.Item] = true
	}
	for _, r := range rest {
		if len(out) >= k {
			break
		}
		if !seen[r.Item] {
			out = append(out, r)
			seen[r.Item] = true
		}
	}
	return out
}

// tokens are the lower-case words of s (letters and digits).
func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return len(want) > 0
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
// most similar to their class's mean unit embedding.
func (e *Epoch) byLabels(q string, k int) ([]int32, []Result) {
	lq := strings.ToLower(strings.TrimSpace(q))
	qt := tokens(q)
	var exact, words, partial []int32
	for l, name := range e.Data.ClassNames {
		switch lower := strings.ToLower(name); {
		case lower == lq:
			exact = append(exact, int32(l))
		case hasAll(tokens(name), qt):
			// "animal" names noun.animal; "noun" every noun class.
			words = append(words, int32(l))
		case strings.Contains(lower, lq):
			partial = append(partial, int32(l))
		}
	}
	classes := exact
	if len(classes) == 0 {
		classes = words
	}
	if len(classes) == 0 && !EmbedsQueries(e.Data) {
		// Texts have their own words to match: a class name's letters
		// alone do not name it.
		classes = partial
	}
	if len(classes) == 0 {
		return nil, nil
	}
	rows := e.index()
	labels := e.Data.Labels
	// One query per class: the sum of its items' unit embeddings.
	means := make([]float32, len(classes)*e.Dim)
	which := make(map[int32]int, len(classes))
	for c, l := range classes {
		which[l] = c
	}
	unit := make([]float32, e.Dim)
	for i, l := range labels {
		c, ok := which[l]
		if !ok {
			continue
		}
		copy(unit, rows.Row(i))
		nearest.Unit(unit, e.Dim)
		m := means[c*e.Dim : (c+1)*e.Dim]
		for j, v := range unit {
			m[j] += v
		}
	}
	n := rows.Len()
	sims := make([]float32, len(classes)*n)
	rows.Sims(means, len(classes), sims)
	score := make([]float32, n)
	for i, l := range labels {
		if c, ok := which[l]; ok {
			score[i] = sims[c*n+i]
		}
	}
	hits := nearest.Top(score, k, func(i int) bool { _, ok := which[labels[i]]; return ok })
	return classes, e.results(hits, "label")
}
