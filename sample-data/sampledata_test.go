package sampledata

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

func TestList(t *testing.T) {
	got := List()
	if len(got) != 2 || got[0].Name != "digits" || got[1].Name != "fashion" {
		t.Fatalf("List() names = %v, want [digits fashion]", got)
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

			infos := List()
			in := infos[0]
			if tt.name == infos[1].Name {
				in = infos[1]
			}
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
	for _, name := range []string{"digits", "fashion"} {
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

// BenchmarkLoad measures a cold decode (gunzip and scale to float32) of each
// dataset, bypassing the cache.
func BenchmarkLoad(b *testing.B) {
	for _, name := range []string{"digits", "fashion"} {
		b.Run(name, func(b *testing.B) {
			m := metas()[name]
			b.SetBytes(int64(m.Items * m.Width * m.Height))
			for b.Loop() {
				if _, err := decode(m); err != nil {
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
