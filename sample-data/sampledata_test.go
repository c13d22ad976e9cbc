package sampledata

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

func TestList(t *testing.T) {
	got := List()
	var names []string
	for _, in := range got {
		names = append(names, in.Name)
	}
	if want := []string{"digits", "fashion", "interactions", "wordnet"}; !slices.Equal(names, want) {
		t.Fatalf("List() names = %q, want %q", names, want)
	}
	for _, in := range got {
		if in.Title == "" || in.Description == "" || in.Source == "" || in.License == "" {
			t.Errorf("%s: empty title, description, source or licence: %+v", in.Name, in)
		}
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name                        string
		items, train, test          int
		width, height               int
		classes                     []string
		trainPerClass, testPerClass []int // nil: not checked
		licence                     string
	}{
		{
			name: "digits", items: 1797, train: 1438, test: 359, width: 8, height: 8,
			classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
			// 20% of each class, rounded: 178→36, 182→36, 177→35, 183→37, ...
			testPerClass: []int{36, 36, 35, 37, 36, 36, 36, 36, 35, 36},
			licence:      "CC BY 4.0",
		},
		{
			name: "fashion", items: 12000, train: 10000, test: 2000, width: 28, height: 28,
			classes: []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
				"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
			trainPerClass: []int{942, 1027, 1016, 1019, 974, 989, 1021, 1022, 990, 1000},
			testPerClass:  []int{200, 203, 214, 190, 219, 195, 197, 200, 194, 188},
			licence:       "MIT",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := Load(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if err := ds.Validate(); err != nil {
				t.Fatal(err)
			}
			if ds.Name != tt.name || ds.Kind != dataset.Images || ds.Len() != tt.items ||
				ds.Width != tt.width || ds.Height != tt.height || ds.Dim != tt.width*tt.height {
				t.Fatalf("got name %q kind %q, %d items of %dx%d (dim %d); want %q images, %d of %dx%d",
					ds.Name, ds.Kind, ds.Len(), ds.Width, ds.Height, ds.Dim, tt.name, tt.items, tt.width, tt.height)
			}
			if strings.Join(ds.ClassNames, "|") != strings.Join(tt.classes, "|") {
				t.Errorf("class names %q, want %q", ds.ClassNames, tt.classes)
			}
			if !strings.HasPrefix(ds.License, tt.licence) {
				t.Errorf("licence %q, want prefix %q", ds.License, tt.licence)
			}
			if n := len(ds.Indices(dataset.Train)); n != tt.train {
				t.Errorf("%d train items, want %d", n, tt.train)
			}
			if n := len(ds.Indices(dataset.Test)); n != tt.test {
				t.Errorf("%d test items, want %d", n, tt.test)
			}

			per := [2][]int{make([]int, len(tt.classes)), make([]int, len(tt.classes))}
			for i, l := range ds.Labels {
				if l == dataset.NoLabel {
					t.Fatalf("item %d unlabelled", i)
				}
				per[ds.Splits[i]][l]++
			}
			for c := range tt.classes {
				if tt.trainPerClass != nil && per[dataset.Train][c] != tt.trainPerClass[c] {
					t.Errorf("class %d: %d train items, want %d", c, per[dataset.Train][c], tt.trainPerClass[c])
				}
				if tt.testPerClass != nil && per[dataset.Test][c] != tt.testPerClass[c] {
					t.Errorf("class %d: %d test items, want %d", c, per[dataset.Test][c], tt.testPerClass[c])
				}
			}

			lo, hi := float32(1), float32(0)
			for _, v := range ds.X {
				lo, hi = min(lo, v), max(hi, v)
			}
			if lo != 0 || hi != 1 {
				t.Errorf("pixels span [%g, %g], want exactly [0, 1]", lo, hi)
			}

			in := info(t, tt.name)
			if in.Items != ds.Len() || in.Train != tt.train || in.Test != tt.test || in.Dim != ds.Dim ||
				in.Classes != len(ds.ClassNames) || in.Kind != ds.Kind || in.Title != ds.Title {
				t.Errorf("List() says %+v, disagreeing with the loaded dataset", in)
			}
		})
	}
}

// TestSpotCheck compares a few pixels and labels with values read straight
// from Debian's source files (sklearn's digits.csv.gz and Fashion-MNIST's
// idx files).
func TestSpotCheck(t *testing.T) {
	tests := []struct {
		name  string
		item  int
		label int32
		split dataset.Split
		pix   map[int]int // pixel index → raw source value
		max   float32
	}{
		{"digits", 0, 0, dataset.Train, map[int]int{2: 5, 3: 13, 27: 0}, 16},
		{"digits", 1, 1, dataset.Train, map[int]int{2: 0, 3: 12, 27: 16, 36: 16}, 16},
		{"digits", 6, 6, dataset.Test, map[int]int{2: 0, 3: 12, 27: 13, 36: 7}, 16},
		{"digits", 1796, 8, dataset.Train, map[int]int{2: 10, 3: 14, 27: 16, 36: 15}, 16},
		{"fashion", 0, 9, dataset.Train, map[int]int{0: 0, 406: 217, 124: 3, 565: 205}, 255},
		{"fashion", 9999, 6, dataset.Train, map[int]int{406: 143, 290: 135}, 255},
		{"fashion", 10000, 9, dataset.Test, map[int]int{406: 110, 570: 126}, 255}, // first t10k image
		{"fashion", 11999, 0, dataset.Test, map[int]int{406: 143}, 255},
	}
	for _, tt := range tests {
		ds, err := Load(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		if ds.Labels[tt.item] != tt.label {
			t.Errorf("%s item %d: label %d, want %d", tt.name, tt.item, ds.Labels[tt.item], tt.label)
		}
		if ds.Splits[tt.item] != tt.split {
			t.Errorf("%s item %d: split %v, want %v", tt.name, tt.item, ds.Splits[tt.item], tt.split)
		}
		row := ds.Row(tt.item)
		for p, raw := range tt.pix {
			if want := float32(raw) / tt.max; row[p] != want {
				t.Errorf("%s item %d pixel %d: %g, want %d/%g = %g", tt.name, tt.item, p, row[p], raw, tt.max, want)
			}
		}
	}
}

// TestDigitsSplitFixed pins the held-out digits: the split is part of the
// data file and must never move, or results stop being comparable.
func TestDigitsSplitFixed(t *testing.T) {
	ds, err := Load("digits")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for i, s := range ds.Splits[:40] {
		if s == dataset.Test {
			got = append(got, i)
		}
	}
	want := []int{6, 11, 14, 24, 28, 29, 31, 32, 34}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("test items among the first 40: %v, want %v", got, want)
	}
}

func TestLoadCached(t *testing.T) {
	for _, name := range names {
		var wg sync.WaitGroup
		got := make([]*dataset.Dataset, 4)
		for i := range got {
			wg.Go(func() {
				ds, err := Load(name)
				if err != nil {
					t.Error(err)
				}
				got[i] = ds
			})
		}
		wg.Wait()
		for i := range got {
			if got[i] == nil || got[i] != got[0] {
				t.Fatalf("%s: Load returned different pointers %p and %p", name, got[0], got[i])
			}
		}
	}
}

func TestLoadUnknown(t *testing.T) {
	_, err := Load("mnist")
	if !errors.Is(err, ErrUnknown) {
		t.Fatalf("Load(mnist) error %v, want one wrapping ErrUnknown", err)
	}
	for _, want := range []string{`"mnist"`, "digits", "fashion"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

// BenchmarkLoad measures a cold decode (gunzip, then scale pixels to
// float32 or hash texts) of each dataset, bypassing the cache.
func BenchmarkLoad(b *testing.B) {
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			m := metas()[name]
			for b.Loop() {
				if _, err := decodeAny(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func ExampleLoad() {
	ds, err := Load("digits")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %d items of %d×%d pixels, %d held out; item 0 is a %q\n",
		ds.Title, ds.Len(), ds.Width, ds.Height, len(ds.Indices(dataset.Test)), ds.ClassNames[ds.Labels[0]])
	// Output: Handwritten digits (UCI): 1797 items of 8×8 pixels, 359 held out; item 0 is a "0"
}

// info returns List's entry for name.
func info(t *testing.T, name string) dataset.Info {
	t.Helper()
	for _, in := range List() {
		if in.Name == name {
			return in
		}
	}
	t.Fatalf("List() has no %q", name)
	return dataset.Info{}
}

func TestLoadWordnet(t *testing.T) {
	ds, err := Load("wordnet")
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Validate(); err != nil {
		t.Fatal(err)
	}
	classes := []string{"noun.animal", "noun.artifact", "noun.body", "noun.food", "noun.location",
		"noun.person", "noun.plant", "noun.substance", "verb.communication", "verb.motion"}
	if ds.Kind != dataset.Text || ds.Len() != 6000 || !slices.Equal(ds.ClassNames, classes) ||
		ds.Dim != dataset.DefaultBuckets || ds.Sparse == nil || ds.X != nil {
		t.Fatalf("kind %s, %d items, dim %d, classes %q", ds.Kind, ds.Len(), ds.Dim, ds.ClassNames)
	}
	if !strings.HasPrefix(ds.License, "WordNet 3.0 licence") {
		t.Errorf("licence %q", ds.License)
	}
	per := [2][]int{make([]int, 10), make([]int, 10)}
	for i, l := range ds.Labels {
		per[ds.Splits[i]][l]++
		if ds.Text[i] == "" || len(ds.Headwords[i]) == 0 {
			t.Fatalf("item %d: text %q headwords %q", i, ds.Text[i], ds.Headwords[i])
		}
		if cols, _ := ds.SparseRow(i); len(cols) == 0 {
			t.Fatalf("item %d has no features", i)
		}
	}
	for c := range classes {
		if per[dataset.Train][c] != 480 || per[dataset.Test][c] != 120 {
			t.Errorf("%s: %d train, %d test; want 480 and 120", classes[c], per[dataset.Train][c], per[dataset.Test][c])
		}
	}

	// Spot checks against WordNet 3.0's data.noun and data.verb.
	for _, tt := range []struct {
		item      int
		class     string
		split     dataset.Split
		headwords string
		text      string
	}{
		{0, "noun.animal", dataset.Test, "carrier", "(genetics) an organism that possesses a recessive gene whose effect is masked by a dominant allele; the associated trait is not apparent but can be passed on to offspring"},
		{3978, "noun.plant", dataset.Train, "apple|orchard apple tree|Malus pumila", "native Eurasian tree widely cultivated in many varieties for its firm rounded edible fruits"},
		{5083, "verb.communication", dataset.Test, "whisper", "speak softly; in a low voice"},
		{5999, "verb.motion", dataset.Train, "ascend|climb up", "appear to be moving upward, as by means of tendrils"},
	} {
		i := tt.item
		if got := strings.Join(ds.Headwords[i], "|"); ds.ClassNames[ds.Labels[i]] != tt.class || ds.Splits[i] != tt.split ||
			got != tt.headwords || ds.Text[i] != tt.text {
			t.Errorf("item %d: %s %v %q %q; want %s %v %q %q", i, ds.ClassNames[ds.Labels[i]], ds.Splits[i], got, ds.Text[i],
				tt.class, tt.split, tt.headwords, tt.text)
		}
	}
	cols, vals := ds.SparseRow(5083)
	wc, wv := dataset.HashFeatures("speak softly; in a low voice", ds.Hash)
	if !slices.Equal(cols, wc) || !slices.Equal(vals, wv) {
		t.Error("item 5083's features differ from HashFeatures of its text")
	}
}

func TestLoadInteractions(t *testing.T) {
	ds, err := Load("interactions")
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Validate(); err != nil {
		t.Fatal(err)
	}
	if ds.Kind != dataset.Interactions || ds.Len() != 2000 || ds.Dim != 2000 || len(ds.ClassNames) != 12 ||
		len(ds.Users) != 5000 || len(ds.ItemNames) != 2000 {
		t.Fatalf("kind %s, %d items (dim %d), %d classes, %d users", ds.Kind, ds.Len(), ds.Dim, len(ds.ClassNames), len(ds.Users))
	}
	if !strings.Contains(strings.ToLower(ds.Description), "synthetic") || !strings.Contains(ds.Title, "synthetic") {
		t.Errorf("title %q and description %q must say the data is synthetic", ds.Title, ds.Description)
	}
	in := info(t, "interactions")
	plays := 0
	for u, seq := range ds.Users {
		if len(seq) < 4 || ds.HeldOut[u] == dataset.NoLabel {
			t.Fatalf("user %d: %d training plays, held out %d", u, len(seq), ds.HeldOut[u])
		}
		if slices.Contains(seq, ds.HeldOut[u]) {
			t.Fatalf("user %d replays the held-out track", u)
		}
		plays += len(seq) + 1
	}
	if plays != in.Interactions || in.Users != 5000 {
		t.Errorf("%d plays, List says %d (users %d)", plays, in.Interactions, in.Users)
	}
	perGenre := make([]int, 12)
	for i, l := range ds.Labels {
		perGenre[l]++
		if want := "(" + ds.ClassNames[l] + ")"; !strings.HasSuffix(ds.ItemNames[i], want) {
			t.Fatalf("item %d %q is not named for its genre %s", i, ds.ItemNames[i], want)
		}
	}
	for g, n := range perGenre {
		if n != 166 && n != 167 {
			t.Errorf("genre %s has %d items", ds.ClassNames[g], n)
		}
	}
	if n := len(ds.Indices(dataset.Test)); n != 396 {
		t.Errorf("%d test items, want 396", n)
	}
	// Spot checks pin the generator's output.
	if ds.ItemNames[0] != "Amber Canyon (synthwave)" || ds.ItemNames[167] != "Amber Market (techno)" || ds.Splits[2] != dataset.Test {
		t.Errorf("items 0, 167: %q %q, item 2 split %v", ds.ItemNames[0], ds.ItemNames[167], ds.Splits[2])
	}
	if fmt.Sprint(ds.Users[0], ds.HeldOut[0]) != "[748 704 819 885] 681" {
		t.Errorf("user 0: %v then %d", ds.Users[0], ds.HeldOut[0])
	}
}

// TestInteractionsPlanted checks that the planted structure is there:
// recommending the most played tracks of a user's favourite genre finds the
// held-out play far more often than recommending the most played tracks
// overall, which in turn beats chance.
func TestInteractionsPlanted(t *testing.T) {
	ds, err := Load("interactions")
	if err != nil {
		t.Fatal(err)
	}
	plays := make([]int, ds.Len())
	for _, seq := range ds.Users {
		for _, it := range seq {
			plays[it]++
		}
	}
	ranked := make([]int32, ds.Len())
	for i := range ranked {
		ranked[i] = int32(i)
	}
	slices.SortStableFunc(ranked, func(a, b int32) int { return plays[b] - plays[a] })
	hit := func(u int, genre int32) bool {
		k := 0
		for _, it := range ranked {
			if slices.Contains(ds.Users[u], it) || genre >= 0 && ds.Labels[it] != genre {
				continue
			}
			if it == ds.HeldOut[u] {
				return true
			}
			if k++; k == 10 {
				return false
			}
		}
		return false
	}
	var pop, taste int
	for u, seq := range ds.Users {
		counts := make([]int, len(ds.ClassNames))
		for _, it := range seq {
			counts[ds.Labels[it]]++
		}
		fav := int32(0)
		for g, c := range counts {
			if c > counts[fav] {
				fav = int32(g)
			}
		}
		if hit(u, -1) {
			pop++
		}
		if hit(u, fav) {
			taste++
		}
	}
	n := float64(len(ds.Users))
	popR, tasteR, chance := float64(pop)/n, float64(taste)/n, 10/float64(ds.Len())
	t.Logf("recall@10: chance %.3f, popularity %.3f, favourite genre %.3f", chance, popR, tasteR)
	if popR < 3*chance || tasteR < 2*popR {
		t.Errorf("recall@10 popularity %.3f, taste %.3f: want popularity > 3×chance (%.3f) and taste > 2×popularity", popR, tasteR, chance)
	}
}
