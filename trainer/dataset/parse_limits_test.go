package dataset_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"path"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// This file tests the limits that keep hostile uploads cheap to refuse:
// pixels in all, memory, line length, and stopping on a cancelled context.

// stream reads head, then body over and over, n bytes in all, and counts
// what was read. Once more than after bytes were read it calls at, once.
type stream struct {
	head, body []byte
	n, read    int64
	after      int64
	at         func()
	pos        int
}

func (s *stream) Read(b []byte) (int, error) {
	if s.read >= s.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), s.n-s.read)]
	k := 0
	for k < len(b) {
		if off := s.read + int64(k); off < int64(len(s.head)) {
			k += copy(b[k:], s.head[off:])
			continue
		}
		c := copy(b[k:], s.body[s.pos:])
		s.pos = (s.pos + c) % len(s.body)
		k += c
	}
	s.read += int64(k)
	if s.at != nil && s.read > s.after {
		s.at()
		s.at = nil
	}
	return k, nil
}

// onePNG returns a w×h one-bit PNG of a single colour: a few kilobytes
// however large.
func onePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestParseMaxPixelsDefault is the reported attack, scaled down: one-bit
// 4096×4096 PNGs of 2 kB each pass every per-image check, but their pixels
// in all are refused by default before most are decoded.
func TestParseMaxPixelsDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 17 images of 16 megapixels")
	}
	img := onePNG(t, 4096, 4096)
	var es []entry
	for i := range 20 { // 335 megapixels
		es = append(es, entry{fmt.Sprintf("c%d/%02d.png", i%2, i), img})
	}
	checkReject(t, "a.zip", makeZip(t, es...), dataset.ParseOptions{},
		`a.zip: the pictures hold more than 300 megapixels in all, the most the explorer decodes for one upload: shrink them (they are made 28×28 anyway), or upload fewer`)
}

func TestParseContext(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	valid := []struct{ file, data string }{
		{"d.csv", csvRows(20, 3, 2)},
		{"t.txt", texts(20)},
		{"i.csv", "user,item\n" + pairs(20)},
		{"vectors.tsv", vecs(20)},
		{"a.zip", string(imageZip(t, 12, 3, 4))},
	}
	t.Run("cancelled before", func(t *testing.T) {
		for _, tt := range valid {
			_, err := dataset.Parse(tt.file, strings.NewReader(tt.data), dataset.ParseOptions{Context: cancelled})
			checkStopped(t, tt.file, err)
		}
	})
	// Each stream would go on for 40 MB of valid rows (past the item limit
	// for the short ones); the context ends after 1 MB.
	for _, tt := range []struct{ file, head, row string }{
		{"d.csv", "a,b,label\n", "1,2.5,c1\n"},
		{"t.txt", "", "some words about cats\n"},
		{"i.csv", "user,item\n", "u1,i1\n"},
		{"vectors.tsv", "", "1\t2\t3\n"},
		{"labelled.csv", "label,text\n", "c1,some words about cats\n"},
	} {
		t.Run("cancelled while reading "+tt.file, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := &stream{head: []byte(tt.head), body: []byte(tt.row), n: 40e6, after: 1e6, at: cancel}
			opts := dataset.ParseOptions{Context: ctx, Limits: dataset.Limits{MaxItems: 1e7, MaxInteractions: 1e7, MaxBytes: 1e8}}
			_, err := dataset.Parse(tt.file, s, opts)
			checkStopped(t, tt.file, err)
			// At most the lines between two looks at the context, and
			// what the reader had buffered.
			if over, bound := s.read-1e6, int64(4096*len(tt.row)+2<<16); over > bound {
				t.Errorf("read %d bytes after the context ended, want at most %d", over, bound)
			}
		})
	}
	t.Run("cancelled while decoding", func(t *testing.T) {
		// 100 images of 16 megapixels take seconds to decode; the context
		// ends once the archive has been read.
		img := onePNG(t, 4096, 4096)
		var es []entry
		for i := range 100 {
			es = append(es, entry{fmt.Sprintf("c%d/%03d.png", i%2, i), img})
		}
		z := makeZip(t, es...)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var ended time.Time
		s := &stream{body: z, n: int64(len(z)), after: int64(len(z)) - 1, at: func() { ended = time.Now(); cancel() }}
		_, err := dataset.Parse("a.zip", s, dataset.ParseOptions{Context: ctx, Limits: dataset.Limits{MaxPixels: 1 << 40}})
		checkStopped(t, "a.zip", err)
		if d := time.Since(ended); d > time.Second {
			t.Errorf("stopped %v after the context ended", d)
		}
	})
}

func checkStopped(t *testing.T, file string, err error) {
	t.Helper()
	var pe *dataset.ParseError
	switch {
	case !errors.Is(err, context.Canceled):
		t.Errorf("%s: error %v, want context.Canceled", file, err)
	case errors.As(err, &pe):
		t.Errorf("%s: %v is a *ParseError", file, err)
	}
}

// TestParseDatasetBytes checks that the memory a dataset will hold is
// refused as it becomes known, before it is allocated.
func TestParseDatasetBytes(t *testing.T) {
	lim := func(n int64) dataset.ParseOptions {
		return dataset.ParseOptions{Limits: dataset.Limits{MaxDatasetBytes: n}}
	}
	const msg = "this data would take more than 500 bytes of memory once read, more than one upload may: "
	for _, tt := range []struct {
		name, file, data string
		opts             dataset.ParseOptions
		want             string
	}{
		// 2 features, a label and a split: 13 bytes a row, 38 rows fit.
		{"csv", "d.csv", "a,b,label\n" + good(100), lim(500), "d.csv:40: " + msg + "upload fewer rows, or Ignore some columns in the upload options"},
		// 1 feature, and the text's bytes and header: 29 bytes a row.
		{"csv text", "d.csv", "a,text\n" + lines(100, func(i int) string { return fmt.Sprintf("%d,item", i) }), lim(500), "d.csv:19: " + msg + "upload fewer rows, or Ignore some columns in the upload options"},
		// 3 values: 17 bytes a row.
		{"vectors", "vectors.tsv", vecs(100), lim(500), "vectors.tsv:30: " + msg + "upload fewer vectors, or vectors of fewer numbers"},
		// A text takes its bytes, 16 more and 8 a feature: some 300 here.
		{"text", "t.txt", texts(100), lim(500), "t.txt:2: " + msg + "upload fewer or shorter texts"},
		// 24 bytes a row, 28 a user, 37 and the name an item.
		{"interactions", "i.csv", "user,item\n" + pairs(100), lim(500), "i.csv:8:2: " + msg + "upload fewer rows"},
		{"metadata", "vectors.tsv", vecs(20), dataset.ParseOptions{Limits: dataset.Limits{MaxDatasetBytes: 500},
			Metadata: strings.NewReader(lines(20, func(i int) string { return fmt.Sprintf("word %d", i) }))},
			"metadata.tsv:4: " + msg + "upload fewer vectors, or vectors of fewer numbers"}, // 340 bytes of vectors, 46 a row
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkReject(t, tt.file, []byte(tt.data), tt.opts, tt.want)
		})
	}
}

// TestParseRefusedAllocs checks that an input refused late (over the size
// limit, or the feature limit) allocates little more than what was read:
// features, which take several times the bytes of their text, are not
// built before the input has been accepted.
func TestParseRefusedAllocs(t *testing.T) {
	words := strings.Repeat("the quick brown fox jumps over the lazy dog near the river bank ", 6)
	sentence := func(i int) string { return fmt.Sprintf("%s%d", words, i) }
	text := lines(40_000, sentence) // 16 MB
	tests := []struct {
		name, file, data string
		limits           dataset.Limits
		want             string
	}{
		{"text over size", "t.txt", text, dataset.Limits{MaxBytes: 4_000_000}, "the file is larger than the limit of 4 MB: upload a smaller file, such as a sample of its lines"},
		{"text over features", "t.txt", text, dataset.Limits{MaxFeatures: 1_000_000}, "more than 1000000 words and word pieces, the most the explorer takes: upload fewer or shorter texts"},
		{"csv text over size", "d.csv", "label,text\n" + lines(40_000, func(i int) string { return "c" + sentence(i)[:3] + "," + sentence(i) }),
			dataset.Limits{MaxBytes: 4_000_000}, "the file is larger than the limit of 4 MB: upload a smaller file, such as a sample of its rows"},
		{"csv numbers over size", "d.csv", csvRows(200_000, 10, 3), dataset.Limits{MaxBytes: 4_000_000, MaxItems: 1e6},
			"the file is larger than the limit of 4 MB: upload a smaller file, such as a sample of its rows"},
		{"zip over size", "a.zip", string(imageZip(t, 20_000, 3, 28)), dataset.Limits{MaxBytes: 2_000_000},
			"the file is larger than the limit of 2 MB: upload fewer pictures, or smaller ones"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &stream{body: []byte(tt.data), n: int64(len(tt.data))}
			var err error
			alloc := allocated(func() { _, err = dataset.Parse(tt.file, s, dataset.ParseOptions{Limits: tt.limits}) })
			if err == nil || !strings.HasSuffix(err.Error(), tt.want) {
				t.Fatalf("error %v, want one ending in %q", err, tt.want)
			}
			// A constant for the buffers, the hash bitmap and such.
			if bound := 2*uint64(s.read) + 1<<20; alloc > bound {
				t.Errorf("read %d bytes, allocated %d, want at most %d", s.read, alloc, bound)
			}
			t.Logf("read %d bytes, allocated %d (%.2f times)", s.read, alloc, float64(alloc)/float64(s.read))
		})
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestParseLongLine checks that a line over the limit is refused as soon
// as that many bytes have come without a line end, however long the line.
func TestParseLongLine(t *testing.T) {
	const max = 1 << 20
	for _, tt := range []struct {
		name, file, head, body string
		want                   string
	}{
		{"csv single line", "d.csv", "a,", "x", "d.csv:1: this line is longer than 1 MiB: put each item on a line of its own"},
		{"csv", "d.csv", "a,b\n1,", "2", "d.csv:2: this line is longer than 1 MiB: put each item on a line of its own"},
		{"text", "t.txt", "short line\r\n", "word ", "t.txt:2: this line is longer than 1 MiB: put each item on a line of its own"},
		{"interactions", "i.csv", "user,item\nu1,i1\n", "u", "i.csv:3: this line is longer than 1 MiB: put each item on a line of its own"},
		{"vectors", "vectors.tsv", "1\t2\n", "1\t", "vectors.tsv:2: this line is longer than 1 MiB: put each item on a line of its own"},
		// A quoted field may span lines, but not past the line limit.
		{"csv quoted field", "d.csv", "a,text\n1,\"", "some words\n", `d.csv:2:2: this quoted cell runs on for more than 1 MiB, so its closing quote is probably missing: add the closing " where the cell ends`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &stream{head: []byte(tt.head), body: []byte(tt.body), n: 200e6}
			_, err := dataset.Parse(tt.file, s, dataset.ParseOptions{})
			var pe *dataset.ParseError
			if !errors.As(err, &pe) || err.Error() != tt.want {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if bound := int64(max + 2<<16 + len(tt.head)); s.read > bound {
				t.Errorf("read %d bytes, want at most %d", s.read, bound)
			}
		})
	}
}

// TestParseLineEnds checks that lines may end in "\n", "\r\n" or a lone
// "\r" (classic Mac OS), in every format.
func TestParseLineEnds(t *testing.T) {
	cr := func(s string) string { return strings.ReplaceAll(s, "\n", "\r") }
	mixed := func(s string) string {
		ls := strings.SplitAfter(s, "\n")
		for i := range ls {
			switch i % 3 {
			case 1:
				ls[i] = strings.Replace(ls[i], "\n", "\r", 1)
			case 2:
				ls[i] = strings.Replace(ls[i], "\n", "\r\n", 1)
			}
		}
		return strings.Join(ls, "")
	}
	check := func(t *testing.T, ds *dataset.Dataset, kind dataset.Kind, n int) {
		t.Helper()
		if ds.Kind != kind || ds.Len() != n {
			t.Fatalf("kind %s, %d items; want %s, %d", ds.Kind, ds.Len(), kind, n)
		}
	}
	for _, tt := range []struct {
		name, file, data string
		check            func(t *testing.T, ds *dataset.Dataset)
	}{
		{"csv", "d.csv", cr("a,b,label\n" + good(12)), func(t *testing.T, ds *dataset.Dataset) {
			check(t, ds, dataset.Vectors, 12)
			if r := ds.Row(11); r[0] != 11 || r[1] != 11.5 || len(ds.ClassNames) != 2 {
				t.Errorf("row 11 %v, classes %q", r, ds.ClassNames)
			}
		}},
		{"csv mixed", "d.csv", mixed("a,b,label\n" + good(12)), func(t *testing.T, ds *dataset.Dataset) {
			check(t, ds, dataset.Vectors, 12)
		}},
		{"csv quoted", "q.csv", cr("label,text\nx,\"two\nlines\"\n" + lines(11, func(i int) string { return fmt.Sprintf("y,word %d", i) })),
			func(t *testing.T, ds *dataset.Dataset) {
				check(t, ds, dataset.Text, 12)
				if ds.Text[0] != "two\nlines" {
					t.Errorf("text %q", ds.Text[0])
				}
			}},
		{"text", "t.txt", cr(texts(12)), func(t *testing.T, ds *dataset.Dataset) {
			check(t, ds, dataset.Text, 12)
			if ds.Text[11] != "sentence number 11 about cats" {
				t.Errorf("text %q", ds.Text[11])
			}
		}},
		{"text labelled", "t.txt", cr(lines(12, func(i int) string { return fmt.Sprintf("c%d\tword %d", i%2, i) })),
			func(t *testing.T, ds *dataset.Dataset) {
				check(t, ds, dataset.Text, 12)
				if len(ds.ClassNames) != 2 || ds.Text[3] != "word 3" {
					t.Errorf("classes %q, text %q", ds.ClassNames, ds.Text[3])
				}
			}},
		{"interactions", "plays.csv", cr("user,item\n" + pairs(12)), func(t *testing.T, ds *dataset.Dataset) {
			check(t, ds, dataset.Interactions, 12)
			if len(ds.Users) != 3 || ds.ItemNames[11] != "i11" {
				t.Errorf("%d users, item %q", len(ds.Users), ds.ItemNames[11])
			}
		}},
		{"vectors", "vectors.tsv", cr(vecs(12)), func(t *testing.T, ds *dataset.Dataset) {
			check(t, ds, dataset.Vectors, 12)
			if ds.Dim != 3 || ds.Row(11)[2] != -11 {
				t.Errorf("dim %d, row 11 %v", ds.Dim, ds.Row(11))
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := dataset.Parse(tt.file, strings.NewReader(tt.data), dataset.ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, ds)
		})
	}
	if got := dataset.Detect("upload", []byte("user,item\ru1,i1\r")); got != dataset.FormatInteractions {
		t.Errorf("Detect of CR-only interactions: %q", got)
	}
}

// TestParseClassNames checks that long class and item names are clipped
// for display, and that classes whose names differ only past the cut stay
// apart.
func TestParseClassNames(t *testing.T) {
	prefix := strings.Repeat("é", 150)
	a, b, huge := prefix+"A", prefix+"B", strings.Repeat("z", 200_000)
	names := []string{a, b, huge, "short"}
	nameOf := func(i int) string { return names[i%4] }
	clipped := strings.Repeat("é", 100) + "…"
	want := func(full string) string {
		switch {
		case full == a:
			return clipped
		case full == b:
			return clipped + " (2)"
		case strings.HasPrefix(full, "zzz"):
			return strings.Repeat("z", 100) + "…"
		}
		return full
	}
	img := pngOf(t, 4, 4, func(x, y int) uint8 { return 0 })
	var es []entry
	for i := range 12 { // a zip entry's name has at most 65,535 bytes
		es = append(es, entry{fmt.Sprintf("%s/%02d.png", nameOf(i)[:min(len(nameOf(i)), 1000)], i), img})
	}
	for _, tt := range []struct {
		name, file string
		data       []byte
		opts       dataset.ParseOptions
	}{
		{"csv", "d.csv", []byte("x,label\n" + lines(12, func(i int) string { return fmt.Sprintf("%d,%s", i, nameOf(i)) })), dataset.ParseOptions{}},
		{"text", "t.txt", []byte(lines(12, func(i int) string { return fmt.Sprintf("%s\tword %d", nameOf(i), i) })), dataset.ParseOptions{}},
		{"interactions", "i.csv", []byte("user,item,genre\n" + lines(12, func(i int) string { return fmt.Sprintf("u%d,i%d,%s", i%3, i, nameOf(i)) })), dataset.ParseOptions{}},
		{"metadata", "vectors.tsv", []byte(vecs(12)), dataset.ParseOptions{
			Metadata: strings.NewReader("word\tlabel\n" + lines(12, func(i int) string { return fmt.Sprintf("w%d\t%s", i, nameOf(i)) }))}},
		{"zip", "a.zip", makeZip(t, es...), dataset.ParseOptions{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := dataset.Parse(tt.file, bytes.NewReader(tt.data), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds.ClassNames) != 4 || !slices.IsSorted(ds.ClassNames) {
				t.Fatalf("%d classes, want 4 in order", len(ds.ClassNames))
			}
			for i, l := range ds.Labels {
				full := nameOf(i) // items are in file order
				if ds.Kind == dataset.Images {
					full = path.Dir(ds.Text[i])
				}
				if got := ds.ClassNames[l]; got != want(full) {
					t.Errorf("item %d: class name %.120q, want %q", i, got, want(full))
				}
			}
		})
	}
	t.Run("item names", func(t *testing.T) {
		data := "user,item\n" + lines(12, func(i int) string { return fmt.Sprintf("u%d,%s%d", i%3, huge, i) })
		ds, err := dataset.Parse("i.csv", strings.NewReader(data), dataset.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ds.Len() != 12 || ds.ItemNames[5] != strings.Repeat("z", 100)+"…" {
			t.Errorf("%d items, item 5 named %.120q", ds.Len(), ds.ItemNames[5])
		}
	})
}
