package search

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	sampledata "github.com/contrastive-explorer/explorer/sample-data"
)

// wordnetEpoch is the bundled WordNet with random embeddings: what is
// measured here is the words, not an encoder.
func wordnetEpoch(t *testing.T) *Epoch {
	t.Helper()
	d, err := sampledata.Load("wordnet")
	if err != nil {
		t.Fatal(err)
	}
	const dim = 8
	rng := rand.New(rand.NewPCG(1, 2))
	emb := make([]float32, d.Len()*dim)
	for i := range emb {
		emb[i] = float32(rng.NormFloat64())
	}
	return &Epoch{Data: d, Embeddings: emb, Dim: dim}
}

// categoryQueries name a member of each WordNet category, two per
// category, chosen before measuring (docs/benchmarks.md, "Text search").
var categoryQueries = []struct{ q, class string }{
	{"dog", "noun.animal"}, {"bird", "noun.animal"},
	{"tool", "noun.artifact"}, {"vehicle", "noun.artifact"},
	{"bone", "noun.body"}, {"muscle", "noun.body"},
	{"bread", "noun.food"}, {"meat", "noun.food"},
	{"city", "noun.location"}, {"river", "noun.location"},
	{"king", "noun.person"}, {"woman", "noun.person"},
	{"tree", "noun.plant"}, {"flower", "noun.plant"},
	{"acid", "noun.substance"}, {"metal", "noun.substance"},
	{"speak", "verb.communication"}, {"write", "verb.communication"},
	{"walk", "verb.motion"}, {"move", "verb.motion"},
}

// precisionAt10 is the mean share of the top 10 results in the query's
// category over categoryQueries.
func precisionAt10(e *Epoch, find func(q string) []Result) float64 {
	var sum float64
	for _, cq := range categoryQueries {
		class := int32(slices.Index(e.Data.ClassNames, cq.class))
		hits := 0
		for _, r := range find(cq.q)[:min(10, len(find(cq.q)))] {
			if r.Label == class {
				hits++
			}
		}
		sum += float64(hits) / 10
	}
	return sum / float64(len(categoryQueries))
}

// TestQueryWords: on WordNet a query finds the definitions that have its
// words, a word's own definition first (a headword), and a category's name
// lights the category; precision@10 of 20 category queries is at least
// 0.7 (0.79 measured; the hashed features alone give 0.78, an encoder
// trained for a few epochs far less: docs/benchmarks.md, "Text search").
func TestQueryWords(t *testing.T) {
	e := wordnetEpoch(t)
	a := e.Query("Piranga", 5, nil)
	if a.Method != ByWords || len(a.Results) == 0 || a.Results[0].Match != "headword" || !strings.HasPrefix(a.Results[0].Text, "Piranga") {
		t.Errorf("query Piranga: %+v, want the definition of Piranga first", a)
	}
	for _, q := range []string{"animal", "noun.animal", "Noun.Animal"} {
		a := e.Query(q, 5, nil)
		if a.Method != ByLabels || len(a.Classes) != 1 || e.Data.ClassNames[a.Classes[0]] != "noun.animal" {
			t.Errorf("query %q: method %s, classes %v; want noun.animal", q, a.Method, a.Classes)
		}
	}
	if a := e.Query("verb", 5, nil); a.Method != ByLabels || len(a.Classes) != 2 {
		t.Errorf("query verb: %+v classes, want both verb classes", a.Classes)
	}
	words := precisionAt10(e, func(q string) []Result { return e.Query(q, 10, nil).Results })
	features := precisionAt10(e, func(q string) []Result { return e.byFeatures(q, 10) })
	t.Logf("precision@10 of %d category queries: words then features %.3f, features alone %.3f", len(categoryQueries), words, features)
	if words < 0.7 {
		t.Errorf("precision@10 %.3f (features alone %.3f), want at least 0.7", words, features)
	}
}
