package dataset_test

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// good returns n valid CSV rows of two numbers and a label.
func good(n int) string {
	return lines(n, func(i int) string { return fmt.Sprintf("%d,%d.5,c%d", i, i, i%2) })
}

// texts returns n lines of distinct text.
func texts(n int) string {
	return lines(n, func(i int) string { return fmt.Sprintf("sentence number %d about cats", i) })
}

// vecs returns n lines of 3 tab-separated numbers.
func vecs(n int) string {
	return lines(n, func(i int) string { return fmt.Sprintf("%d\t0.5\t-%d", i, i) })
}

func pairs(n int) string {
	return lines(n, func(i int) string { return fmt.Sprintf("u%d,i%d", i%3, i) })
}

func TestParseRejects(t *testing.T) {
	small := dataset.Limits{MaxItems: 10, MaxDims: 2, MaxClasses: 2}
	tests := []struct {
		name string
		file string
		data string
		opts dataset.ParseOptions
		want string
	}{
		// CSV
		{"csv not a number", "data.csv", "a,b,c\n" + lines(10, func(int) string { return "1,2,3" }) + "1,2,abc\n", dataset.ParseOptions{},
			`data.csv:12:3: not a number: "abc" in column "c", which holds numbers in the rows above: correct that cell, or ignore the column in the upload options`},
		{"csv first-row text column", "data.csv", "a,name\n1,x\n", dataset.ParseOptions{},
			`data.csv:2:2: column "name" holds words, not numbers ("x"): in the upload options, choose it as the label (if it names each row's class), the text or the name column, or ignore it`},
		{"csv decimal comma with comma separator", "data.csv", "a,b\n1,2\n", dataset.ParseOptions{Delimiter: ',', DecimalComma: true},
			`data.csv: numbers with decimal commas need another separator than the comma: choose semicolon, tab or |`},
		{"csv no such column to ignore", "data.csv", "a,b\n1,2\n", dataset.ParseOptions{IgnoreColumns: []string{"c"}},
			`data.csv:1: there is no column named "c" to ignore: the header names "a", "b"`},
		{"csv NaN", "d.csv", "a,b\n1,NaN\n", dataset.ParseOptions{}, `d.csv:2:2: not a finite number: "NaN"`},
		{"csv Inf", "d.csv", "a,b\n1,2\n-Inf,2\n", dataset.ParseOptions{}, `d.csv:3:1: not a finite number: "-Inf"`},
		{"csv out of float32 range", "d.csv", "a,b\n1,1e39\n", dataset.ParseOptions{}, `d.csv:2:2: number out of range: "1e39"`},
		{"csv empty value", "d.csv", "a,b\n1,2\n1,\n", dataset.ParseOptions{}, `d.csv:3:2: empty value`},
		{"csv short row", "d.csv", "a,b,label\n1,2,x\n3,4\n", dataset.ParseOptions{}, `d.csv:3:3: row has 2 fields, header has 3`},
		{"csv long row", "d.csv", "a,b\n1,2\n3,4,5\n", dataset.ParseOptions{}, `d.csv:3:3: row has 3 fields, header has 2`},
		{"csv invalid UTF-8", "d.csv", "a,label\n1,x\n2,\xffy\n", dataset.ParseOptions{}, `d.csv:3:2: invalid UTF-8`},
		{"csv invalid UTF-8 header", "d.csv", "a,\xfe\n", dataset.ParseOptions{}, `d.csv:1:2: invalid UTF-8`},
		{"csv empty", "d.csv", "", dataset.ParseOptions{}, `d.csv: empty file`},
		{"csv header only", "d.csv", "a,b\n", dataset.ParseOptions{}, `d.csv: only 0 items; need at least 10`},
		{"csv too few", "d.csv", "a,b,label\n" + good(9), dataset.ParseOptions{}, `d.csv: only 9 items; need at least 10`},
		{"csv no usable column", "d.csv", "id,label\n1,x\n", dataset.ParseOptions{}, `d.csv:1: no usable columns: need numeric feature columns or a column named text`},
		{"csv numeric header", "d.csv", "1,2\n3,4\n", dataset.ParseOptions{}, `d.csv:1:1: the first line must be a header naming the columns, but it holds only numbers`},
		{"csv unclosed quote", "d.csv", "a,b\n1,\"2\n3,4\n", dataset.ParseOptions{}, `d.csv:2:2: missing closing " in quoted field`},
		{"csv bare quote", "d.csv", "a,b\n1,2\"\n", dataset.ParseOptions{}, `d.csv:2:2: " in unquoted field (quote the whole field and double the quote)`},
		{"csv text after quote", "d.csv", "a,b\n\"1\"x,2\n", dataset.ParseOptions{}, `d.csv:2:1: unexpected text after closing " of quoted field`},
		{"csv line too long", "d.csv", "a,b\n1," + strings.Repeat("2", 50) + "\n", dataset.ParseOptions{Limits: dataset.Limits{MaxLineBytes: 40}}, `d.csv:2: line 2 is longer than 40 bytes`},
		{"csv over size", "d.csv", "a,b,label\n" + good(100), dataset.ParseOptions{Limits: dataset.Limits{MaxBytes: 100}},
			`d.csv: file larger than the limit of 100 bytes`},
		{"csv over items", "d.csv", "a,b,label\n" + good(11), dataset.ParseOptions{Limits: small}, `d.csv:12: more than 10 items`},
		{"csv over dims", "d.csv", "a,b,c\n1,2,3\n", dataset.ParseOptions{Limits: small}, `d.csv:1:3: more than 2 feature columns`},
		{"csv over classes", "d.csv", "a,b,label\n1,2,x\n1,2,y\n1,2,z\n", dataset.ParseOptions{Limits: small}, `d.csv:4:3: more than 2 distinct labels`},
		{"csv missing label option", "d.csv", "a,b\n1,2\n", dataset.ParseOptions{LabelColumn: "kind"}, `d.csv:1: there is no column named "kind" to use as the label: the header names "a", "b"`},
		{"csv text without words", "d.csv", "text,label\nhello,x\n--,y\n", dataset.ParseOptions{}, `d.csv:3:1: text has no letters or digits`},

		// Text
		{"text invalid UTF-8", "t.txt", "hello\nab\xffc\n", dataset.ParseOptions{}, `t.txt:2:3: invalid UTF-8`},
		{"text invalid UTF-8 after multibyte", "t.txt", "héé\xc3\n", dataset.ParseOptions{}, `t.txt:1:4: invalid UTF-8`},
		{"text empty", "t.txt", "", dataset.ParseOptions{}, `t.txt: empty file`},
		{"text blank lines only", "t.txt", "\n \n\t\n", dataset.ParseOptions{}, `t.txt: only 0 items; need at least 10`},
		{"text too few", "t.txt", texts(9), dataset.ParseOptions{}, `t.txt: only 9 items; need at least 10`},
		{"text line too long", "t.txt", "short\n" + strings.Repeat("x", 40) + "\n", dataset.ParseOptions{Limits: dataset.Limits{MaxLineBytes: 32}},
			`t.txt:2: line 2 is longer than 32 bytes`},
		{"text label missing", "t.txt", "pos\tgood film\nbad film\n", dataset.ParseOptions{}, `t.txt:2:1: expected label<TAB>text, as on the first line`},
		{"text no words", "t.txt", "hello\n!!!\n", dataset.ParseOptions{}, `t.txt:2:1: text has no letters or digits`},
		{"text labelled no words", "t.txt", "pos\tfine\nneg\t...\n", dataset.ParseOptions{}, `t.txt:2:5: text has no letters or digits`},
		{"text over items", "t.txt", texts(11), dataset.ParseOptions{Limits: small}, `t.txt:11: more than 10 items`},
		{"text over classes", "t.txt", "a\tx\nb\tx\nc\tx\n", dataset.ParseOptions{Limits: small}, `t.txt:3:1: more than 2 distinct labels`},
		{"text over features", "t.txt", texts(20), dataset.ParseOptions{Limits: dataset.Limits{MaxFeatures: 100}}, `t.txt:4: texts too long: more than 100 features in all`},
		{"text over size", "t.txt", texts(20), dataset.ParseOptions{Limits: dataset.Limits{MaxBytes: 50}}, `t.txt: file larger than the limit of 50 bytes`},

		// Interactions
		{"interactions ragged", "i.csv", "user,item\nu1,i1\nu2\n", dataset.ParseOptions{}, `i.csv:3:2: row has 1 fields, header has 2`},
		{"interactions empty user", "i.csv", "user,item\n ,i1\n", dataset.ParseOptions{}, `i.csv:2:1: empty user id`},
		{"interactions empty item", "i.csv", "u1,i1\nu1,\n", dataset.ParseOptions{Format: dataset.FormatInteractions}, `i.csv:2:2: empty item id`},
		{"interactions bad time", "i.csv", "user,item,timestamp\nu1,i1,5\nu1,i2,yesterday\n", dataset.ParseOptions{},
			`i.csv:3:3: not a timestamp (want a number or a date like 2024-05-01T12:00:00Z): "yesterday"`},
		{"interactions NaN time", "i.csv", "user,item,time\nu1,i1,NaN\n", dataset.ParseOptions{},
			`i.csv:2:3: not a timestamp (want a number or a date like 2024-05-01T12:00:00Z): "NaN"`},
		{"interactions no header wide", "i.csv", "a,b,1,2\n", dataset.ParseOptions{Format: dataset.FormatInteractions},
			`i.csv:1: expected user,item[,timestamp] but the first row has 4 fields (add a header naming the columns)`},
		{"interactions header without item", "i.csv", "user,thing,time\n", dataset.ParseOptions{Format: dataset.FormatInteractions},
			`i.csv:1: the header needs a user column and an item column (names containing "user" and "item")`},
		{"interactions invalid UTF-8", "i.csv", "user,item\nu1,\xff\n", dataset.ParseOptions{}, `i.csv:2:2: invalid UTF-8`},
		{"interactions too few items", "i.csv", "user,item\n" + pairs(9), dataset.ParseOptions{}, `i.csv: only 9 items; need at least 10`},
		{"interactions header only", "i.csv", "user,item\n", dataset.ParseOptions{}, `i.csv: no interactions after the header`},
		{"interactions over items", "i.csv", "user,item\n" + pairs(11), dataset.ParseOptions{Limits: small}, `i.csv:12:2: more than 10 items`},
		{"interactions over users", "i.csv", "user,item\n" + pairs(11), dataset.ParseOptions{Limits: dataset.Limits{MaxUsers: 2}}, `i.csv:4:1: more than 2 users`},
		{"interactions over rows", "i.csv", "user,item\n" + pairs(11), dataset.ParseOptions{Limits: dataset.Limits{MaxInteractions: 5}}, `i.csv:7: more than 5 interactions`},
		{"interactions label conflict", "i.csv", "user,item,genre\nu1,i1,jazz\nu2,i1,rock\n", dataset.ParseOptions{},
			`i.csv:3:3: item "i1" has label "rock" here but "jazz" earlier`},

		// Projector
		{"vectors NaN", "vectors.tsv", "1\t2\nnan\t2\n", dataset.ParseOptions{}, `vectors.tsv:2:1: not a finite number: "nan"`},
		{"vectors ragged", "vectors.tsv", "1\t2\t3\n1\t2\n", dataset.ParseOptions{}, `vectors.tsv:2:3: row has 2 values, the first row has 3`},
		{"vectors long row", "vectors.tsv", "1\t2\n1\t2\t3\n", dataset.ParseOptions{}, `vectors.tsv:2:3: row has more than the 2 values of the first row`},
		{"vectors trailing tab", "vectors.tsv", "1\t2\t\n", dataset.ParseOptions{Format: dataset.FormatProjector}, `vectors.tsv:1:3: empty value`},
		{"vectors not a number", "vectors.tsv", "1\t2\n1\tx\n", dataset.ParseOptions{}, `vectors.tsv:2:2: not a number: "x"`},
		{"vectors blank line", "vectors.tsv", "1\t2\n\n1\t2\n", dataset.ParseOptions{}, `vectors.tsv:2: empty line`},
		{"vectors invalid UTF-8", "vectors.tsv", "1\t2\n1\t\xff\n", dataset.ParseOptions{Format: dataset.FormatProjector}, `vectors.tsv:2: invalid UTF-8`},
		{"vectors over dims", "vectors.tsv", "1\t2\t3\n", dataset.ParseOptions{Limits: small}, `vectors.tsv:1:3: more than 2 values in a vector`},
		{"vectors over items", "vectors.tsv", vecs(11), dataset.ParseOptions{Limits: dataset.Limits{MaxItems: 10}}, `vectors.tsv:11: more than 10 items`},
		{"vectors too few", "vectors.tsv", vecs(9), dataset.ParseOptions{}, `vectors.tsv: only 9 items; need at least 10`},
		{"vectors empty", "vectors.tsv", "", dataset.ParseOptions{Format: dataset.FormatProjector}, `vectors.tsv: empty file`},
		{"metadata rows", "vectors.tsv", vecs(12), dataset.ParseOptions{Metadata: strings.NewReader(lines(11, func(int) string { return "a" })), MetadataName: "metadata.tsv"},
			`metadata.tsv: 11 metadata rows for 12 vectors`},
		{"metadata extra rows", "vectors.tsv", vecs(10), dataset.ParseOptions{Metadata: strings.NewReader(lines(12, func(int) string { return "a" })), MetadataName: "metadata.tsv"},
			`metadata.tsv:11: more metadata rows than the 10 vectors`},
		{"metadata ragged", "vectors.tsv", vecs(10), dataset.ParseOptions{Metadata: strings.NewReader("word\tlabel\nx\ty\nz\n"), MetadataName: "m.tsv"},
			`m.tsv:3:2: row has 1 fields, header has 2`},
		{"metadata headerless columns", "vectors.tsv", vecs(10), dataset.ParseOptions{Metadata: strings.NewReader("x\ny\tz\n"), MetadataName: "m.tsv"},
			`m.tsv:2:2: several columns, but the first line has one: a metadata file with several columns starts with a header`},

		// Options and formats
		{"bad side", "a.zip", "PK", dataset.ParseOptions{Side: 100}, `a.zip: image side 100 outside 4..64`},
		{"bad fraction", "a.csv", "a", dataset.ParseOptions{TestFraction: 0.95}, `a.csv: test fraction 0.95 outside 0..0.9`},
		{"bad scaling", "a.csv", "a", dataset.ParseOptions{Scale: "log"}, `a.csv: unknown scaling "log" (want standard or minmax)`},
		{"lone image", "cat.png", "\x89PNG\r\n", dataset.ParseOptions{},
			`cat.png: unrecognised file type: upload a CSV or TSV table, a text file, a zip of images in one folder per class, user,item interactions or Embedding Projector vectors`},
		{"client path stripped", `C:\Users\me\d.csv`, "", dataset.ParseOptions{}, `d.csv: empty file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkReject(t, tt.file, []byte(tt.data), tt.opts, tt.want)
		})
	}
}

func checkReject(t *testing.T, file string, data []byte, opts dataset.ParseOptions, want string) {
	t.Helper()
	ds, err := dataset.Parse(file, bytes.NewReader(data), opts)
	if err == nil {
		t.Fatalf("Parse accepted %d items, want error %q", ds.Len(), want)
	}
	var pe *dataset.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ParseError", err, err)
	}
	if err.Error() != want {
		t.Errorf("error\n %s\nwant\n %s", err, want)
	}
}

func TestParseRejectsZip(t *testing.T) {
	img := pngOf(t, 8, 8, func(x, y int) uint8 { return uint8(x * 30) })
	ten := func(extra ...entry) []entry {
		var es []entry
		for i := range 10 {
			es = append(es, entry{fmt.Sprintf("cats/%d.png", i), img})
		}
		return append(es, extra...)
	}
	zeros := make([]byte, 8<<20)
	tests := []struct {
		name string
		data []byte
		opts dataset.ParseOptions
		want string
	}{
		{"dot-dot", makeZip(t, ten(entry{"cats/../../evil.png", img})...), dataset.ParseOptions{},
			`a.zip: entry "cats/../../evil.png" has a ".." path element; refusing the whole archive`},
		{"dot-dot backslash", makeZip(t, ten(entry{`..\evil.png`, img})...), dataset.ParseOptions{},
			`a.zip: entry "..\\evil.png" has a ".." path element; refusing the whole archive`},
		{"absolute", makeZip(t, ten(entry{"/etc/evil.png", img})...), dataset.ParseOptions{},
			`a.zip: entry "/etc/evil.png" has an absolute path; refusing the whole archive`},
		{"drive letter", makeZip(t, ten(entry{"C:/evil.png", img})...), dataset.ParseOptions{},
			`a.zip: entry "C:/evil.png" has a drive letter; refusing the whole archive`},
		{"bomb ratio", makeZip(t, ten(entry{"cats/bomb.png", zeros})...), dataset.ParseOptions{},
			`a.zip/cats/bomb.png: entry expands more than 100 times its compressed size`},
		{"entry size, header honest", makeZip(t, ten(entry{"cats/bomb.png", zeros})...), dataset.ParseOptions{Limits: dataset.Limits{MaxRatio: 1 << 30, MaxEntryBytes: 1 << 20}},
			`a.zip/cats/bomb.png: entry larger than 1 MiB uncompressed`},
		{"header claims less", lyingZip(t, "cats/bomb.png", zeros, 100), dataset.ParseOptions{},
			`a.zip/cats/bomb.png: corrupt entry: its size or format disagrees with its header`},
		{"header claims more", lyingZip(t, "cats/bomb.png", zeros, 1<<40), dataset.ParseOptions{},
			`a.zip/cats/bomb.png: entry larger than 16 MiB uncompressed`},
		{"side over dims", makeZip(t, ten()...), dataset.ParseOptions{Limits: dataset.Limits{MaxDims: 100}},
			`a.zip: images of 28×28 pixels, more than the limit of 100 features`},
		{"total size", makeZip(t, ten()...), dataset.ParseOptions{Limits: dataset.Limits{MaxTotalBytes: 500}},
			`a.zip: archive larger than 500 bytes uncompressed`},
		{"too many entries", makeZip(t, ten()...), dataset.ParseOptions{Limits: dataset.Limits{MaxEntries: 5}},
			`a.zip: 10 entries in the archive, more than the limit of 5`},
		{"too many images", makeZip(t, ten(entry{"dogs/x.png", img})...), dataset.ParseOptions{Limits: dataset.Limits{MaxItems: 10}},
			`a.zip: 11 images, more than the limit of 10`},
		{"too many classes", makeZip(t, ten(entry{"dogs/x.png", img}, entry{"emus/x.png", img})...), dataset.ParseOptions{Limits: dataset.Limits{MaxClasses: 2}},
			`a.zip/emus/x.png: more than 2 distinct labels`},
		{"not an image", makeZip(t, ten(entry{"cats/z.png", []byte("hello")})...), dataset.ParseOptions{},
			`a.zip/cats/z.png: not a PNG or JPEG image`},
		{"truncated image", makeZip(t, ten(entry{"cats/z.png", img[:len(img)-20]})...), dataset.ParseOptions{},
			`a.zip/cats/z.png: image does not decode: invalid format: unexpected EOF`},
		{"huge header", makeZip(t, ten(entry{"cats/z.png", hugePNG(t, 100000, 100000)})...), dataset.ParseOptions{},
			`a.zip/cats/z.png: image is 100000×100000 pixels, more than the limit of 16777216 pixels`},
		{"pixel limit", makeZip(t, ten()...), dataset.ParseOptions{Limits: dataset.Limits{MaxImagePixels: 50}},
			`a.zip/cats/0.png: image is 8×8 pixels, more than the limit of 50 pixels`},
		{"pixels in all", makeZip(t, ten()...), dataset.ParseOptions{Limits: dataset.Limits{MaxPixels: 600}},
			`a.zip: the images hold more than 600 pixels in all; resize them or upload fewer`},
		// Counted from the header, before decoding: the last image does not
		// decode, but its size is refused first.
		{"pixels in all before decoding", makeZip(t, ten(entry{"cats/z.png", hugePNG(t, 1000, 1000)})...),
			dataset.ParseOptions{Limits: dataset.Limits{MaxPixels: 1_000_000}},
			`a.zip: the images hold more than 1 megapixel in all; resize them or upload fewer`},
		{"dataset memory", makeZip(t, ten()...), dataset.ParseOptions{Side: 64, Limits: dataset.Limits{MaxDatasetBytes: 100_000}},
			`a.zip: the data would take more than 100 kB of memory once read; upload fewer items or fewer features`},
		{"no images", makeZip(t, entry{"readme.txt", []byte("hi")}), dataset.ParseOptions{},
			`a.zip: no PNG or JPEG images in the archive (want one folder of images per class)`},
		{"too few", makeZip(t, ten()[:9]...), dataset.ParseOptions{}, `a.zip: only 9 items; need at least 10`},
		{"not a zip", []byte("PK\x03\x04 this is not really a zip"), dataset.ParseOptions{}, `a.zip: not a readable zip archive: not a valid zip file`},
		{"over size", makeZip(t, ten()...), dataset.ParseOptions{Limits: dataset.Limits{MaxBytes: 1000}}, `a.zip: file larger than the limit of 1 kB`},
		{"empty", nil, dataset.ParseOptions{}, `a.zip: empty file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkReject(t, "a.zip", tt.data, tt.opts, tt.want)
		})
	}
}

func TestParseCSV(t *testing.T) {
	data := "\xef\xbb\xbfid;height;\"weight\";label;text\n" +
		lines(12, func(i int) string {
			return fmt.Sprintf("%d; %d ;%d;%s;\"item %d; big\"", i, 100+i, 2*i, []string{"b", "a", "10", "9"}[i%4], i)
		})
	ds, err := dataset.Parse("people.csv", strings.NewReader(data), dataset.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Kind != dataset.Vectors || ds.Dim != 2 || ds.Len() != 12 || ds.Name != "people" {
		t.Fatalf("got kind %s dim %d len %d name %q", ds.Kind, ds.Dim, ds.Len(), ds.Name)
	}
	if got := ds.Row(3); got[0] != 103 || got[1] != 6 {
		t.Errorf("row 3 = %v, want [103 6]", got)
	}
	if strings.Join(ds.ClassNames, ",") != "10,9,a,b" {
		t.Errorf("classes %q, want sorted by string", ds.ClassNames)
	}
	if ds.ClassNames[ds.Labels[0]] != "b" || ds.ClassNames[ds.Labels[2]] != "10" {
		t.Errorf("labels %v do not match names %q", ds.Labels, ds.ClassNames)
	}
	if ds.Text[5] != "item 5; big" {
		t.Errorf("text %q", ds.Text[5])
	}
	if n := len(ds.Indices(dataset.Test)); n != 4 { // round(0.2×3) = 1 per class
		t.Errorf("%d test items, want 4", n)
	}
}

func TestParseCSVQuotes(t *testing.T) {
	data := "label,text\n" + lines(10, func(i int) string {
		if i == 3 {
			return "x, \"she said \"\"hi\"\"\r\nand left\" "
		}
		return fmt.Sprintf("y,\"plain, %d\"", i)
	})
	ds, err := dataset.Parse("q.csv", strings.NewReader(data), dataset.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 10 || ds.Text[3] != "she said \"hi\"\nand left" || ds.Text[4] != "plain, 4" {
		t.Fatalf("%d items, texts %q", ds.Len(), ds.Text)
	}
	// A lone quote has no letters: the error names the line after the
	// two-line record.
	checkReject(t, "q.csv", []byte(data+"z,\"\"\"\"\n"), dataset.ParseOptions{}, `q.csv:13:2: text has no letters or digits`)
}

func TestParseCSVNumericClasses(t *testing.T) {
	data := "x,class\n" + lines(12, func(i int) string { return fmt.Sprintf("%d,%d", i, []int{10, 9, 100}[i%3]) })
	ds, err := dataset.Parse("d.csv", strings.NewReader(data), dataset.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ds.ClassNames, ",") != "9,10,100" {
		t.Errorf("classes %q, want numeric order", ds.ClassNames)
	}
}

func TestParseCSVScaling(t *testing.T) {
	data := "a\tb\tlabel\n" + lines(10, func(i int) string { return fmt.Sprintf("%d\t7\tx", i) })
	for _, tt := range []struct {
		scale    dataset.Scaling
		first    float64
		last     float64
		constant float64
	}{
		{dataset.ScaleNone, 0, 9, 7},
		{dataset.ScaleMinMax, 0, 1, 0},
		{dataset.ScaleStandard, -4.5 / math.Sqrt(8.25), 4.5 / math.Sqrt(8.25), 0},
	} {
		t.Run(string(tt.scale), func(t *testing.T) {
			ds, err := dataset.Parse("d.tsv", strings.NewReader(data), dataset.ParseOptions{Scale: tt.scale})
			if err != nil {
				t.Fatal(err)
			}
			const tol = 1e-6
			if math.Abs(float64(ds.Row(0)[0])-tt.first) > tol || math.Abs(float64(ds.Row(9)[0])-tt.last) > tol ||
				math.Abs(float64(ds.Row(4)[1])-tt.constant) > tol {
				t.Errorf("rows 0, 9: %v %v; want a from %g to %g, b %g", ds.Row(0), ds.Row(9), tt.first, tt.last, tt.constant)
			}
		})
	}
}

func TestParseCSVTextOnly(t *testing.T) {
	data := "label,text\n" + lines(10, func(i int) string { return fmt.Sprintf("%s,the %d cats sat", []string{"pos", "neg"}[i%2], i) })
	ds, err := dataset.Parse("reviews.csv", strings.NewReader(data), dataset.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Kind != dataset.Text || ds.Dim != dataset.DefaultBuckets || ds.Sparse == nil || ds.X != nil {
		t.Fatalf("kind %s dim %d sparse %v", ds.Kind, ds.Dim, ds.Sparse != nil)
	}
	cols, vals := ds.SparseRow(3)
	wc, wv := dataset.HashFeatures("the 3 cats sat", dataset.HashOptions{})
	if !slices.Equal(cols, wc) || !slices.Equal(vals, wv) {
		t.Errorf("row 3 features differ from HashFeatures of its text")
	}
	if ds.Hash != (dataset.HashOptions{Buckets: dataset.DefaultBuckets, Features: dataset.AllFeatures}) {
		t.Errorf("hash options %+v", ds.Hash)
	}
}

func TestParseText(t *testing.T) {
	t.Run("plain", func(t *testing.T) {
		data := "\xef\xbb\xbf" + texts(5) + "\n   \r\n" + texts(6)
		ds, err := dataset.Parse("notes.txt", strings.NewReader(data), dataset.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ds.Kind != dataset.Text || ds.Len() != 11 || ds.Text[0] != "sentence number 0 about cats" || ds.Labels[0] != dataset.NoLabel {
			t.Fatalf("got %s, %d items, first %q label %d", ds.Kind, ds.Len(), ds.Text[0], ds.Labels[0])
		}
		if len(ds.ClassNames) != 0 {
			t.Errorf("classes %q", ds.ClassNames)
		}
	})
	t.Run("labelled", func(t *testing.T) {
		data := lines(12, func(i int) string {
			return fmt.Sprintf("%s\t  review %d: fine film\r", []string{"pos", "neg", ""}[i%3], i)
		})
		ds, err := dataset.Parse("reviews", strings.NewReader(data), dataset.ParseOptions{Format: dataset.FormatText})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(ds.ClassNames, ",") != "neg,pos" || ds.Labels[2] != dataset.NoLabel || ds.ClassNames[ds.Labels[0]] != "pos" {
			t.Errorf("classes %q labels %v", ds.ClassNames, ds.Labels[:3])
		}
		if ds.Text[1] != "review 1: fine film" {
			t.Errorf("text %q", ds.Text[1])
		}
	})
	t.Run("long line", func(t *testing.T) {
		long := strings.Repeat("word ", 30000) // 150 kB, more than bufio's buffer
		ds, err := dataset.Parse("t.txt", strings.NewReader(texts(9)+long+"\n"), dataset.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ds.Text[9] != strings.TrimSpace(long) {
			t.Errorf("long line cut to %d bytes", len(ds.Text[9]))
		}
	})
}

func TestParseInteractions(t *testing.T) {
	t.Run("header and time", func(t *testing.T) {
		data := "userId,itemId,timestamp,genre\n" +
			"ann,a,2024-05-03,jazz\n" +
			"ann,b,2024-05-01T10:00:00Z,rock\n" +
			"bob,c,5,jazz\n" +
			"ann,c,2024-05-02 08:00:00,\n" +
			"bob,d,4,\n" +
			"cy,e,1,\n" +
			lines(5, func(i int) string { return fmt.Sprintf("dan,item%d,%d,", i, 10-i) })
		ds, err := dataset.Parse("plays.csv", strings.NewReader(data), dataset.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ds.Kind != dataset.Interactions || ds.Len() != 10 || ds.Dim != 10 || len(ds.Users) != 4 {
			t.Fatalf("kind %s, %d items (dim %d), %d users", ds.Kind, ds.Len(), ds.Dim, len(ds.Users))
		}
		name := func(it int32) string {
			if it < 0 {
				return "-"
			}
			return ds.ItemNames[it]
		}
		seq := func(u int) string {
			var s []string
			for _, it := range ds.Users[u] {
				s = append(s, name(it))
			}
			return strings.Join(s, " ") + " | " + name(ds.HeldOut[u])
		}
		for u, want := range []string{"b c | a", "d | c", " | -", "item4 item3 item2 item1 | item0"} {
			if u == 2 {
				want = "e | -"
			}
			if got := seq(u); got != want {
				t.Errorf("user %d: %q, want %q", u, got, want)
			}
		}
		if strings.Join(ds.ClassNames, ",") != "jazz,rock" || ds.ClassNames[ds.Labels[0]] != "jazz" ||
			ds.ClassNames[ds.Labels[2]] != "jazz" || ds.Labels[3] != dataset.NoLabel {
			t.Errorf("classes %q labels %v", ds.ClassNames, ds.Labels)
		}
		if cols, vals := ds.SparseRow(7); len(cols) != 1 || cols[0] != 7 || vals[0] != 1 {
			t.Errorf("item 7 features %v %v, want one-hot", cols, vals)
		}
	})
	t.Run("MovieLens", func(t *testing.T) {
		data := "userId,movieId,rating,timestamp\n" + lines(30, func(i int) string {
			return fmt.Sprintf("%d,%d,4.0,%d", i%3, 100+i%11, 964982703+i)
		})
		ds, err := dataset.Parse("ratings.csv", strings.NewReader(data), dataset.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ds.Kind != dataset.Interactions || ds.Len() != 11 || len(ds.Users) != 3 || ds.ItemNames[0] != "100" {
			t.Fatalf("kind %s, %d items, %d users, first %q", ds.Kind, ds.Len(), len(ds.Users), ds.ItemNames[0])
		}
		if last := ds.HeldOut[0]; ds.ItemNames[last] != "105" { // row 27: user 0, item 100+27%11
			t.Errorf("user 0 holds out %q, want the latest, 105", ds.ItemNames[last])
		}
	})
	t.Run("no header", func(t *testing.T) {
		data := lines(30, func(i int) string { return fmt.Sprintf("user_%d\titem_%d", i%4, i%12) })
		ds, err := dataset.Parse("log.tsv", strings.NewReader(data), dataset.ParseOptions{Format: dataset.FormatInteractions})
		if err != nil {
			t.Fatal(err)
		}
		if ds.Len() != 12 || len(ds.Users) != 4 || ds.ItemNames[0] != "item_0" {
			t.Fatalf("%d items, %d users, first %q", ds.Len(), len(ds.Users), ds.ItemNames[0])
		}
		total := 0
		for u := range ds.Users {
			total += len(ds.Users[u]) + 1
		}
		if total != 30 {
			t.Errorf("%d interactions kept, want 30", total)
		}
	})
}

func TestParseProjector(t *testing.T) {
	vectors := lines(12, func(i int) string { return fmt.Sprintf("%d\t%g\t1e-3", i, float64(i)/2) })
	check := func(t *testing.T, ds *dataset.Dataset, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if ds.Kind != dataset.Vectors || !ds.Precomputed || ds.Dim != 3 || ds.Len() != 12 || ds.Row(5)[1] != 2.5 {
			t.Fatalf("kind %s precomputed %v dim %d len %d", ds.Kind, ds.Precomputed, ds.Dim, ds.Len())
		}
	}
	t.Run("vectors only", func(t *testing.T) {
		ds, err := dataset.Parse("vectors.tsv", strings.NewReader(vectors), dataset.ParseOptions{})
		check(t, ds, err)
		if ds.Text != nil || len(ds.ClassNames) != 0 {
			t.Errorf("text %v classes %v", ds.Text, ds.ClassNames)
		}
	})
	t.Run("metadata with header", func(t *testing.T) {
		meta := "word\tcategory\n" + lines(12, func(i int) string { return fmt.Sprintf("w%d\t%s", i, []string{"x", "y"}[i%2]) })
		ds, err := dataset.Parse("vectors.tsv", strings.NewReader(vectors), dataset.ParseOptions{Metadata: strings.NewReader(meta), MetadataName: "metadata.tsv"})
		check(t, ds, err)
		if ds.Text[3] != "w3" || ds.ClassNames[ds.Labels[3]] != "y" {
			t.Errorf("item 3: text %q label %d of %q", ds.Text[3], ds.Labels[3], ds.ClassNames)
		}
	})
	t.Run("single column labels", func(t *testing.T) {
		meta := lines(12, func(i int) string { return []string{"cat", "dog", "emu"}[i%3] })
		ds, err := dataset.Parse("vectors.tsv", strings.NewReader(vectors), dataset.ParseOptions{Metadata: strings.NewReader(meta)})
		check(t, ds, err)
		if len(ds.ClassNames) != 3 || ds.ClassNames[ds.Labels[4]] != "dog" || ds.Text[4] != "dog" {
			t.Errorf("classes %q, item 4 label %d text %q", ds.ClassNames, ds.Labels[4], ds.Text[4])
		}
	})
	t.Run("single column names", func(t *testing.T) {
		meta := lines(12, func(i int) string { return fmt.Sprintf("word%d", i) })
		ds, err := dataset.Parse("vectors.tsv", strings.NewReader(vectors), dataset.ParseOptions{Metadata: strings.NewReader(meta)})
		check(t, ds, err)
		if len(ds.ClassNames) != 0 || ds.Text[11] != "word11" {
			t.Errorf("classes %q, text %q", ds.ClassNames, ds.Text[11])
		}
	})
	t.Run("zip bundle", func(t *testing.T) {
		meta := "label\tname\n" + lines(12, func(i int) string { return fmt.Sprintf("c%d\tn%d", i%2, i) })
		z := makeZip(t, entry{"export/", nil}, entry{"export/vectors.tsv", []byte(vectors)}, entry{"export/metadata.tsv", []byte(meta)})
		ds, err := dataset.Parse("export.zip", bytes.NewReader(z), dataset.ParseOptions{})
		check(t, ds, err)
		if ds.Text[7] != "n7" || ds.ClassNames[ds.Labels[7]] != "c1" {
			t.Errorf("item 7 text %q label %d", ds.Text[7], ds.Labels[7])
		}
	})
	t.Run("zip bundle bad metadata", func(t *testing.T) {
		z := makeZip(t, entry{"vectors.tsv", []byte(vectors)}, entry{"metadata.tsv", []byte("a\tb\nx\n")})
		checkReject(t, "export.zip", z, dataset.ParseOptions{}, `export.zip/metadata.tsv:2:2: row has 1 fields, header has 2`)
	})
}

func TestParseImages(t *testing.T) {
	white := pngOf(t, 56, 56, func(int, int) uint8 { return 255 })
	// Left half black, right half white, 40×20: the central 20×20 square
	// is columns 10..29, so the left half of the output is black.
	halves := pngOf(t, 40, 20, func(x, y int) uint8 { return uint8(255 * (x / 20)) })
	tiny := pngOf(t, 2, 2, func(x, y int) uint8 { return uint8(255 * x) })
	z := makeZip(t,
		entry{"pets/", nil},
		entry{"pets/cats/white.png", white},
		entry{"pets/cats/halves.PNG", halves},
		entry{"pets/cats/.hidden.png", []byte("junk")},
		entry{"__MACOSX/pets/cats/._white.png", []byte("junk")},
		entry{"pets/dogs/tiny.png", tiny},
		entry{"pets/dogs/grey.jpg", jpegOf(t, 30, 30, 128)},
		entry{"pets/dogs/red.png", rgbaPNG(t, 10, 10, color.NRGBA{255, 0, 0, 255})},
		entry{"pets/dogs/clear.png", rgbaPNG(t, 10, 10, color.NRGBA{255, 255, 255, 0})},
		entry{"pets/emus/a.png", white}, entry{"pets/emus/b.png", white}, entry{"pets/emus/c.png", white},
		entry{"pets/notes.txt", []byte("ignored")},
		entry{"top.png", white},
	)
	ds, err := dataset.Parse("pets.zip", bytes.NewReader(z), dataset.ParseOptions{Side: 4})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Kind != dataset.Images || ds.Width != 4 || ds.Height != 4 || ds.Dim != 16 || ds.Len() != 10 {
		t.Fatalf("kind %s %dx%d dim %d, %d items", ds.Kind, ds.Width, ds.Height, ds.Dim, ds.Len())
	}
	if strings.Join(ds.ClassNames, ",") != "cats,dogs,emus" {
		t.Errorf("classes %q", ds.ClassNames)
	}
	byName := map[string]int{}
	for i, name := range ds.Text {
		byName[name] = i
	}
	row := func(name string) []float32 {
		i, ok := byName[name]
		if !ok {
			t.Fatalf("no item %q among %q", name, ds.Text)
		}
		return ds.Row(i)
	}
	const tol = 0.01
	want := map[string][]float32{
		"pets/cats/white.png":  {1, 1, 1, 1},
		"pets/cats/halves.PNG": {0, 0, 1, 1},
		"pets/dogs/tiny.png":   {0, 0, 1, 1},
		"pets/dogs/grey.jpg":   {128. / 255, 128. / 255, 128. / 255, 128. / 255},
		"pets/dogs/red.png":    {0.299, 0.299, 0.299, 0.299},
		"pets/dogs/clear.png":  {0, 0, 0, 0},
	}
	for name, w := range want {
		r := row(name)
		for y := range 4 {
			for x := range 4 {
				if math.Abs(float64(r[y*4+x]-w[x])) > tol {
					t.Errorf("%s pixel (%d,%d) = %g, want %g", name, x, y, r[y*4+x], w[x])
				}
			}
		}
	}
	if l := ds.Labels[byName["top.png"]]; l != dataset.NoLabel {
		t.Errorf("top-level image has label %d", l)
	}
	if l := ds.Labels[byName["pets/dogs/red.png"]]; ds.ClassNames[l] != "dogs" {
		t.Errorf("red.png label %d", l)
	}

	inv, err := dataset.Parse("pets.zip", bytes.NewReader(z), dataset.ParseOptions{Side: 4, Invert: true})
	if err != nil {
		t.Fatal(err)
	}
	if v := inv.Row(byName["pets/cats/white.png"])[5]; v != 0 {
		t.Errorf("inverted white pixel = %g, want 0", v)
	}

	def, err := dataset.Parse("pets.zip", bytes.NewReader(z), dataset.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if def.Width != 28 || def.Dim != 784 {
		t.Errorf("default side %d", def.Width)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name, head string
		want       dataset.Format
	}{
		{"a.zip", "", dataset.FormatImages},
		{"upload", "PK\x03\x04rest", dataset.FormatImages},
		{"notes.txt", "a,b,c\n1,2,3", dataset.FormatText},
		{"vectors.tsv", "0.1\t0.2\t-3e-2\n", dataset.FormatProjector},
		{"emb", "0.1\t0.2\n", dataset.FormatProjector},
		{"one.tsv", "0.5\n", dataset.FormatProjector},
		{"plays.csv", "user_id,item_id,timestamp\n", dataset.FormatInteractions},
		{"plays.tsv", "\xef\xbb\xbfUser\tItem\n", dataset.FormatInteractions},
		{"ids.csv", "user_1,item_1\n", dataset.FormatCSV},
		{"ratings.csv", "userId,movieId,rating,timestamp\n", dataset.FormatInteractions},
		{"iris.csv", "sepal,petal,class\n", dataset.FormatCSV},
		{"data", "a;b;c\n", dataset.FormatCSV},
		{"metadata.tsv", "word\tlabel\n", dataset.FormatCSV},
		{"sentences", "The cat sat on the mat.\n", dataset.FormatText},
		{"quotes", "\"Hello, world\" she said\n", dataset.FormatText},
		{"empty.csv", "", dataset.FormatCSV},
		{"empty", "", dataset.FormatUnknown},
		{"photo.png", "\x89PNG", dataset.FormatUnknown},
	}
	for _, tt := range tests {
		if got := dataset.Detect(tt.name, []byte(tt.head)); got != tt.want {
			t.Errorf("Detect(%q, %q) = %q, want %q", tt.name, tt.head, got, tt.want)
		}
	}
}

func TestParseSplit(t *testing.T) {
	data := "x,label\n" + lines(100, func(i int) string { return fmt.Sprintf("%d,%c", i, 'a'+i%4) })
	parse := func(opts dataset.ParseOptions) *dataset.Dataset {
		t.Helper()
		ds, err := dataset.Parse("d.csv", strings.NewReader(data), opts)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	a, b := parse(dataset.ParseOptions{Seed: 7}), parse(dataset.ParseOptions{Seed: 7})
	if !slices.Equal(a.Splits, b.Splits) {
		t.Error("same seed, different splits")
	}
	if c := parse(dataset.ParseOptions{Seed: 8}); slices.Equal(a.Splits, c.Splits) {
		t.Error("different seeds, same split")
	}
	perClass := make([]int, 4)
	for _, i := range a.Indices(dataset.Test) {
		perClass[a.Labels[i]]++
	}
	if !slices.Equal(perClass, []int{5, 5, 5, 5}) {
		t.Errorf("test items per class %v, want 5 each", perClass)
	}
	if n := len(parse(dataset.ParseOptions{TestFraction: -1}).Indices(dataset.Test)); n != 0 {
		t.Errorf("%d test items with TestFraction -1", n)
	}
	if n := len(parse(dataset.ParseOptions{TestFraction: 0.5}).Indices(dataset.Test)); n != 52 { // round(12.5) = 13 per class
		t.Errorf("%d test items with TestFraction 0.5, want 52", n)
	}
}

// slowReader hands out one byte at a time, to exercise buffer refills.
type slowReader struct{ r io.Reader }

func (s slowReader) Read(b []byte) (int, error) { return s.r.Read(b[:min(len(b), 1)]) }

func TestParseSlowReader(t *testing.T) {
	for _, tt := range []struct{ name, data string }{
		{"d.csv", csvRows(20, 3, 2)},
		{"t.txt", texts(20)},
		{"vectors.tsv", vecs(20)},
		{"i.csv", "user,item\n" + pairs(20)},
	} {
		if _, err := dataset.Parse(tt.name, slowReader{strings.NewReader(tt.data)}, dataset.ParseOptions{}); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestParseErrorFormat(t *testing.T) {
	for _, tt := range []struct {
		e    dataset.ParseError
		want string
	}{
		{dataset.ParseError{File: "data.csv", Line: 12, Column: 3, Msg: `not a number: "abc"`}, `data.csv:12:3: not a number: "abc"`},
		{dataset.ParseError{File: "t.txt", Line: 4, Msg: "line too long"}, "t.txt:4: line too long"},
		{dataset.ParseError{File: "a.zip", Msg: "empty file"}, "a.zip: empty file"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func ExampleParse() {
	data := "petal_length,petal_width,class\n" + lines(12, func(i int) string {
		return fmt.Sprintf("%.1f,%.1f,%s", 1+0.3*float64(i), 0.2+0.1*float64(i), []string{"setosa", "virginica"}[i%2])
	})
	ds, err := dataset.Parse("iris.csv", strings.NewReader(data), dataset.ParseOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ds.Kind, ds.Len(), "items of dimension", ds.Dim, "in classes", ds.ClassNames)
	fmt.Println(ds.Description)

	_, err = dataset.Parse("iris.csv", strings.NewReader("petal_length,class\n1.4,setosa\n1,4,setosa\n"), dataset.ParseOptions{})
	fmt.Println(err)
	// Output:
	// vectors 12 items of dimension 2 in classes [setosa virginica]
	// Uploaded from iris.csv: 12 vectors of 2 numbers in 2 classes.
	// iris.csv:3:3: row has 3 fields, header has 2
}

// TestParseCSVColumnRoles reads a table the way a spreadsheet in much of
// Europe writes it (semicolons, decimal commas), with its class, a name
// and a notes column given roles by the options.
func TestParseCSVColumnRoles(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("name;sepal;petal;species;notes\n")
	for i := range 12 {
		fmt.Fprintf(&sb, "flower %d;%d,5;0,%d;%s;picked by hand\n", i, i, i, []string{"setosa", "virginica"}[i%2])
	}
	ds, err := dataset.Parse("iris.csv", strings.NewReader(sb.String()), dataset.ParseOptions{
		LabelColumn: "species", IDColumn: "name", IgnoreColumns: []string{"Notes"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Dim != 2 || ds.Len() != 12 {
		t.Fatalf("dim %d, %d items; want 2 features (sepal, petal) of 12 items", ds.Dim, ds.Len())
	}
	if got := ds.X[2*3 : 2*3+2]; got[0] != 3.5 || got[1] != 0.3 {
		t.Errorf("row 3 reads %v, want [3.5 0.3] from the decimal commas", got)
	}
	if !slices.Equal(ds.ClassNames, []string{"setosa", "virginica"}) {
		t.Errorf("classes %v, want the species", ds.ClassNames)
	}
	if len(ds.Text) != 12 || ds.Text[4] != "flower 4" {
		t.Errorf("items are named %q, want the name column", ds.Text)
	}

	// A pipe-separated file needs the option for its decimal commas; a
	// comma-separated one cannot have them.
	pipe := strings.ReplaceAll(strings.ReplaceAll(sb.String(), ";", "|"), "|picked by hand", "")
	pipe = strings.Replace(pipe, "|notes", "", 1)
	if _, err := dataset.Parse("iris.csv", strings.NewReader(pipe), dataset.ParseOptions{Delimiter: '|', LabelColumn: "species", IDColumn: "name"}); err == nil {
		t.Error("decimal commas in a |-separated file read without the option")
	}
	if _, err := dataset.Parse("iris.csv", strings.NewReader(pipe), dataset.ParseOptions{Delimiter: '|', DecimalComma: true, LabelColumn: "species", IDColumn: "name"}); err != nil {
		t.Errorf("with the option: %v", err)
	}
}
