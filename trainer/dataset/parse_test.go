package dataset_test

import (
	"archive/zip"
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
			`data.csv:12:3: "abc" in column "c" is not a number, though the rows above hold numbers there: correct that cell, or Ignore the column in the upload options`},
		{"csv first-row text column", "data.csv", "a,name\n1,x\n", dataset.ParseOptions{},
			`data.csv:2:2: column "name" holds words, not numbers ("x"): in the upload options, make it the Label column (if it names each row's class), the Text column or the Name column, or Ignore it`},
		{"csv decimal comma with comma separator", "data.csv", "a,b\n1,2\n", dataset.ParseOptions{Delimiter: ',', DecimalComma: true},
			`data.csv: a comma cannot both separate the columns and mark decimals: in the upload options, choose another Separator (semicolon, tab or |) or turn off Decimal comma`},
		{"csv no such column to ignore", "data.csv", "a,b\n1,2\n", dataset.ParseOptions{IgnoreColumns: []string{"c"}},
			`data.csv:1: there is no column named "c" to Ignore: the header names "a", "b"; choose one of those in the upload options`},
		{"csv decimal comma without the option", "d.csv", "a|b\n1|2,5\n", dataset.ParseOptions{Delimiter: '|'},
			`d.csv:2:2: "2,5" in column "b" has a decimal comma: turn on Decimal comma in the upload options`},
		{"csv quoted decimal comma", "d.csv", "a,b\n1,\"2,5\"\n", dataset.ParseOptions{},
			`d.csv:2:2: "2,5" in column "b" has a decimal comma, which a file separated by commas cannot have: write it with a decimal point, or save the file with semicolons between the columns`},
		{"csv NaN", "d.csv", "a,b\n1,NaN\n", dataset.ParseOptions{}, `d.csv:2:2: "NaN" in column "b" is not a number: put a number in that cell, or delete the row`},
		{"csv Inf", "d.csv", "a,b\n1,2\n-Inf,2\n", dataset.ParseOptions{}, `d.csv:3:1: "-Inf" in column "a" is not a number: put a number in that cell, or delete the row`},
		{"csv out of float32 range", "d.csv", "a,b\n1,1e39\n", dataset.ParseOptions{}, `d.csv:2:2: "1e39" in column "b" is too large a number (the most is about 3.4e38): correct that cell, or scale the column down`},
		{"csv empty value", "d.csv", "a,b\n1,2\n1,\n", dataset.ParseOptions{}, `d.csv:3:2: the cell in column "b" is empty: put a number in it, or delete the row`},
		{"csv short row", "d.csv", "a,b,label\n1,2,x\n3,4\n", dataset.ParseOptions{}, `d.csv:3:3: this row has 2 cells but the header has 3: add the missing cells (they may be empty), or delete the row`},
		{"csv long row", "d.csv", "a,b\n1,2\n3,4,5\n", dataset.ParseOptions{}, `d.csv:3:3: this row has 3 cells but the header has 2: put quotes around cells that hold the separator, or remove the extra cells`},
		{"csv invalid UTF-8", "d.csv", "a,label\n1,x\n2,\xffy\n", dataset.ParseOptions{}, `d.csv:3:2: this cell is not UTF-8 text: save the file with the UTF-8 encoding (in Excel, as CSV UTF-8) and upload it again`},
		{"csv invalid UTF-8 header", "d.csv", "a,\xfe\n", dataset.ParseOptions{}, `d.csv:1:2: this cell is not UTF-8 text: save the file with the UTF-8 encoding (in Excel, as CSV UTF-8) and upload it again`},
		{"csv empty", "d.csv", "", dataset.ParseOptions{}, `d.csv: the file is empty: check that you chose the right file and that your data was saved in it`},
		{"csv header only", "d.csv", "a,b\n", dataset.ParseOptions{}, `d.csv: there are no rows of data: add rows until there are at least 10`},
		{"csv too few", "d.csv", "a,b,label\n" + good(9), dataset.ParseOptions{}, `d.csv: only 9 rows of data: add rows until there are at least 10`},
		{"csv no usable column", "d.csv", "id,label\n1,x\n", dataset.ParseOptions{}, `d.csv:1: no column holds numbers or text to explore: add columns of numbers, or choose a Text column in the upload options`},
		{"csv numeric header", "d.csv", "1,2\n3,4\n", dataset.ParseOptions{}, `d.csv:1:1: the first line holds only numbers, but it must name the columns: add a first line with a name for each column (such as x,y,label)`},
		{"csv unclosed quote", "d.csv", "a,b\n1,\"2\n3,4\n", dataset.ParseOptions{}, `d.csv:2:2: this cell opens a quote (") that never closes: add the closing ", or remove the opening one`},
		{"csv bare quote", "d.csv", "a,b\n1,2\"\n", dataset.ParseOptions{}, `d.csv:2:2: this cell holds a " but is not in quotes: put the whole cell in quotes and double the " inside it (""), or remove the "`},
		{"csv text after quote", "d.csv", "a,b\n\"1\"x,2\n", dataset.ParseOptions{}, `d.csv:2:1: there is text after the closing quote of this cell: put the whole cell in quotes, and double each " inside it ("")`},
		{"csv line too long", "d.csv", "a,b\n1," + strings.Repeat("2", 50) + "\n", dataset.ParseOptions{Limits: dataset.Limits{MaxLineBytes: 40}}, `d.csv:2: this line is longer than 40 bytes: put each item on a line of its own`},
		{"csv over size", "d.csv", "a,b,label\n" + good(100), dataset.ParseOptions{Limits: dataset.Limits{MaxBytes: 100}},
			`d.csv: the file is larger than the limit of 100 bytes: upload a smaller file, such as a sample of its rows`},
		{"csv over items", "d.csv", "a,b,label\n" + good(11), dataset.ParseOptions{Limits: small}, `d.csv:12: more than 10 rows of data, the most the explorer takes: upload a sample of at most 10 rows`},
		{"csv over dims", "d.csv", "a,b,c\n1,2,3\n", dataset.ParseOptions{Limits: small}, `d.csv:1:3: more than 2 columns of numbers, the most the explorer takes: delete columns, or Ignore some in the upload options, until at most 2 are left`},
		{"csv over classes", "d.csv", "a,b,label\n1,2,x\n1,2,y\n1,2,z\n", dataset.ParseOptions{Limits: small}, `d.csv:4:3: more than 2 different labels in column "label", the most the explorer takes: merge classes until there are at most 2, or choose another Label column in the upload options`},
		{"csv missing label option", "d.csv", "a,b\n1,2\n", dataset.ParseOptions{LabelColumn: "kind"}, `d.csv:1: there is no column named "kind" to be the Label column: the header names "a", "b"; choose one of those in the upload options`},
		{"csv text without words", "d.csv", "text,label\nhello,x\n--,y\n", dataset.ParseOptions{}, `d.csv:3:1: this text has no letters or digits: write some words in it, or delete it`},

		// Text
		{"text invalid UTF-8", "t.txt", "hello\nab\xffc\n", dataset.ParseOptions{}, `t.txt:2:3: this line is not UTF-8 text: save the file with the UTF-8 encoding and upload it again`},
		{"text invalid UTF-8 after multibyte", "t.txt", "héé\xc3\n", dataset.ParseOptions{}, `t.txt:1:4: this line is not UTF-8 text: save the file with the UTF-8 encoding and upload it again`},
		{"text empty", "t.txt", "", dataset.ParseOptions{}, `t.txt: the file is empty: check that you chose the right file and that your data was saved in it`},
		{"text blank lines only", "t.txt", "\n \n\t\n", dataset.ParseOptions{}, `t.txt: there are no lines of text: add lines until there are at least 10`},
		{"text too few", "t.txt", texts(9), dataset.ParseOptions{}, `t.txt: only 9 lines of text: add lines until there are at least 10`},
		{"text line too long", "t.txt", "short\n" + strings.Repeat("x", 40) + "\n", dataset.ParseOptions{Limits: dataset.Limits{MaxLineBytes: 32}},
			`t.txt:2: this line is longer than 32 bytes: put each item on a line of its own`},
		{"text label missing", "t.txt", "pos\tgood film\nbad film\n", dataset.ParseOptions{}, `t.txt:2:1: this line has no tab, though the first line starts with a label and a tab: start every line with a label and a tab (the label may be empty), or remove the labels`},
		{"text no words", "t.txt", "hello\n!!!\n", dataset.ParseOptions{}, `t.txt:2:1: this text has no letters or digits: write some words in it, or delete it`},
		{"text labelled no words", "t.txt", "pos\tfine\nneg\t...\n", dataset.ParseOptions{}, `t.txt:2:5: this text has no letters or digits: write some words in it, or delete it`},
		{"text over items", "t.txt", texts(11), dataset.ParseOptions{Limits: small}, `t.txt:11: more than 10 lines of text, the most the explorer takes: upload a sample of at most 10 lines`},
		{"text over classes", "t.txt", "a\tx\nb\tx\nc\tx\n", dataset.ParseOptions{Limits: small}, `t.txt:3:1: more than 2 different labels before the tabs, the most the explorer takes: use at most 2 labels, or none`},
		{"text over features", "t.txt", texts(20), dataset.ParseOptions{Limits: dataset.Limits{MaxFeatures: 100}}, `t.txt:4: the texts are too long in all, more than 100 words and word pieces, the most the explorer takes: upload fewer or shorter texts`},
		{"text over size", "t.txt", texts(20), dataset.ParseOptions{Limits: dataset.Limits{MaxBytes: 50}}, `t.txt: the file is larger than the limit of 50 bytes: upload a smaller file, such as a sample of its lines`},

		// Interactions
		{"interactions ragged", "i.csv", "user,item\nu1,i1\nu2\n", dataset.ParseOptions{}, `i.csv:3:2: this row has 1 cell but the header has 2: add the missing cells (they may be empty), or delete the row`},
		{"interactions ragged without a header", "i.csv", "u1,i1\nu2\n", dataset.ParseOptions{Format: dataset.FormatInteractions},
			`i.csv:2:2: this row has 1 cell but the first row has 2: add the missing cells (they may be empty), or delete the row`},
		{"interactions empty user", "i.csv", "user,item\n ,i1\n", dataset.ParseOptions{}, `i.csv:2:1: the user in this row is empty: fill it in, or delete the row`},
		{"interactions empty item", "i.csv", "u1,i1\nu1,\n", dataset.ParseOptions{Format: dataset.FormatInteractions}, `i.csv:2:2: the item in this row is empty: fill it in, or delete the row`},
		{"interactions bad time", "i.csv", "user,item,timestamp\nu1,i1,5\nu1,i2,yesterday\n", dataset.ParseOptions{},
			`i.csv:3:3: "yesterday" is not a time: write a number, or a date like 2024-05-01 or 2024-05-01T12:00:00Z`},
		{"interactions NaN time", "i.csv", "user,item,time\nu1,i1,NaN\n", dataset.ParseOptions{},
			`i.csv:2:3: "NaN" is not a time: write a number, or a date like 2024-05-01 or 2024-05-01T12:00:00Z`},
		{"interactions no header wide", "i.csv", "a,b,1,2\n", dataset.ParseOptions{Format: dataset.FormatInteractions},
			`i.csv:1: the first row has 4 cells, but interactions without a header have two or three (user, item and maybe the time): add a first line naming the columns, such as user,item,time`},
		{"interactions header without item", "i.csv", "user,thing,time\n", dataset.ParseOptions{Format: dataset.FormatInteractions},
			`i.csv:1: the header needs a column whose name contains "user" and one whose name contains "item" (or movie, product, track …): rename those columns in the first line`},
		{"interactions invalid UTF-8", "i.csv", "user,item\nu1,\xff\n", dataset.ParseOptions{}, `i.csv:2:2: this cell is not UTF-8 text: save the file with the UTF-8 encoding (in Excel, as CSV UTF-8) and upload it again`},
		{"interactions too few items", "i.csv", "user,item\n" + pairs(9), dataset.ParseOptions{}, `i.csv: only 9 different items: add rows with other items until there are at least 10`},
		{"interactions header only", "i.csv", "user,item\n", dataset.ParseOptions{}, `i.csv: there are no rows below the header: add a row for each interaction (user, item)`},
		{"interactions over items", "i.csv", "user,item\n" + pairs(11), dataset.ParseOptions{Limits: small}, `i.csv:12:2: more than 10 different items, the most the explorer takes: upload the interactions of at most 10 items`},
		{"interactions over users", "i.csv", "user,item\n" + pairs(11), dataset.ParseOptions{Limits: dataset.Limits{MaxUsers: 2}}, `i.csv:4:1: more than 2 users, the most the explorer takes: upload the interactions of at most 2 users`},
		{"interactions over rows", "i.csv", "user,item\n" + pairs(11), dataset.ParseOptions{Limits: dataset.Limits{MaxInteractions: 5}}, `i.csv:7: more than 5 interactions, the most the explorer takes: upload a sample of at most 5 rows`},
		{"interactions label conflict", "i.csv", "user,item,genre\nu1,i1,jazz\nu2,i1,rock\n", dataset.ParseOptions{},
			`i.csv:3:3: item "i1" has the label "rock" here but "jazz" in a row above: give each item one label`},

		// Projector
		{"vectors NaN", "vectors.tsv", "1\t2\nnan\t2\n", dataset.ParseOptions{}, `vectors.tsv:2:1: "nan" is not a number: put a number there, or delete the line`},
		{"vectors ragged", "vectors.tsv", "1\t2\t3\n1\t2\n", dataset.ParseOptions{}, `vectors.tsv:2:3: this vector has 2 values but the first has 3: give every vector the same number of values`},
		{"vectors long row", "vectors.tsv", "1\t2\n1\t2\t3\n", dataset.ParseOptions{}, `vectors.tsv:2:3: this vector has more than the 2 values of the first: give every vector the same number of values`},
		{"vectors trailing tab", "vectors.tsv", "1\t2\t\n", dataset.ParseOptions{Format: dataset.FormatProjector}, `vectors.tsv:1:3: a value is missing here (two tabs in a row, or a tab at the end of the line): remove the extra tab, or put the number in`},
		{"vectors not a number", "vectors.tsv", "1\t2\n1\tx\n", dataset.ParseOptions{}, `vectors.tsv:2:2: "x" is not a number: vectors hold only numbers, separated by tabs; correct it, or delete the line`},
		{"vectors separated by commas", "vectors.tsv", "1\t2\n1,2\t3\n", dataset.ParseOptions{},
			`vectors.tsv:2:1: "1,2" is not a number: separate the numbers of a vector with tabs, not commas or spaces`},
		{"vectors blank line", "vectors.tsv", "1\t2\n\n1\t2\n", dataset.ParseOptions{}, `vectors.tsv:2: this line is empty, though more vectors follow: delete it`},
		{"vectors invalid UTF-8", "vectors.tsv", "1\t2\n1\t\xff\n", dataset.ParseOptions{Format: dataset.FormatProjector}, `vectors.tsv:2: this line is not UTF-8 text: save the file with the UTF-8 encoding and upload it again`},
		{"vectors over dims", "vectors.tsv", "1\t2\t3\n", dataset.ParseOptions{Limits: small}, `vectors.tsv:1:3: this vector has more than 2 values, the most the explorer takes: reduce the vectors to at most 2 dimensions first`},
		{"vectors over items", "vectors.tsv", vecs(11), dataset.ParseOptions{Limits: dataset.Limits{MaxItems: 10}}, `vectors.tsv:11: more than 10 vectors, the most the explorer takes: upload at most 10 vectors`},
		{"vectors too few", "vectors.tsv", vecs(9), dataset.ParseOptions{}, `vectors.tsv: only 9 vectors: add vectors until there are at least 10`},
		{"vectors empty", "vectors.tsv", "", dataset.ParseOptions{Format: dataset.FormatProjector}, `vectors.tsv: the file is empty: check that you chose the right file and that your data was saved in it`},
		{"metadata rows", "vectors.tsv", vecs(12), dataset.ParseOptions{Metadata: strings.NewReader(lines(11, func(int) string { return "a" })), MetadataName: "metadata.tsv"},
			`metadata.tsv: 11 metadata rows for 12 vectors: give one row to each vector, in the same order`},
		{"metadata extra rows", "vectors.tsv", vecs(10), dataset.ParseOptions{Metadata: strings.NewReader(lines(12, func(int) string { return "a" })), MetadataName: "metadata.tsv"},
			`metadata.tsv:11: there are more metadata rows than the 10 vectors: give one row to each vector, in the same order`},
		{"metadata ragged", "vectors.tsv", vecs(10), dataset.ParseOptions{Metadata: strings.NewReader("word\tlabel\nx\ty\nz\n"), MetadataName: "m.tsv"},
			`m.tsv:3:2: this row has 1 cell but the header has 2: add the missing cells (they may be empty), or delete the row`},
		{"metadata headerless columns", "vectors.tsv", vecs(10), dataset.ParseOptions{Metadata: strings.NewReader("x\ny\tz\n"), MetadataName: "m.tsv"},
			`m.tsv:2:2: this line has several columns, but the first line has one: start the metadata with a line naming its columns, or keep to one column`},

		// Options and formats
		{"bad side", "a.zip", "PK", dataset.ParseOptions{Side: 100}, `a.zip: an Image side of 100 pixels is outside 4 to 64: choose an Image side from 4 to 64 in the upload options`},
		{"bad fraction", "a.csv", "a", dataset.ParseOptions{TestFraction: 0.95}, `a.csv: a test fraction of 0.95 is outside 0 to 0.9: hold out at most 90% of the items`},
		{"bad scaling", "a.csv", "a", dataset.ParseOptions{Scale: "log"}, `a.csv: "log" is not a Scaling the explorer knows: choose none, standard or minmax`},
		{"lone image", "cat.png", "\x89PNG\r\n", dataset.ParseOptions{},
			`cat.png: the explorer cannot read this type of file: upload a CSV or TSV table, a text file with one item per line, a zip of pictures in one folder per class, a user,item table of interactions, or Embedding Projector vectors`},
		{"client path stripped", `C:\Users\me\d.csv`, "", dataset.ParseOptions{}, `d.csv: the file is empty: check that you chose the right file and that your data was saved in it`},
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
	checkWords(t, pe)
}

// apiWords are the spellings of the upload's API, which the person who
// uploads from the web page never sees: messages name the page's options.
var apiWords = []string{"label_column", "text_column", "id_column", "ignore_columns", "decimal_comma", "format=", "pairs=", "multipart"}

// checkWords checks that pe's message is for a person: it says what is
// wrong, then after a colon what to do, in no API's words.
func checkWords(t *testing.T, pe *dataset.ParseError) {
	t.Helper()
	what, fix, ok := strings.Cut(pe.Msg, ": ")
	if !ok || what == "" || len(strings.Fields(fix)) < 2 {
		t.Errorf("message %q does not end with a fix after a colon", pe.Msg)
	}
	for _, w := range apiWords {
		if strings.Contains(pe.Msg, w) {
			t.Errorf("message %q speaks the API's %q", pe.Msg, w)
		}
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
			`a.zip: the zip holds "cats/../../evil.png", whose name climbs out of the zip with "..", which is not safe to unpack: make the zip again from the folder that holds your class folders`},
		{"dot-dot backslash", makeZip(t, ten(entry{`..\evil.png`, img})...), dataset.ParseOptions{},
			`a.zip: the zip holds "..\\evil.png", whose name climbs out of the zip with "..", which is not safe to unpack: make the zip again from the folder that holds your class folders`},
		{"absolute", makeZip(t, ten(entry{"/etc/evil.png", img})...), dataset.ParseOptions{},
			`a.zip: the zip holds "/etc/evil.png", whose name is an absolute path, which is not safe to unpack: make the zip again from the folder that holds your class folders`},
		{"drive letter", makeZip(t, ten(entry{"C:/evil.png", img})...), dataset.ParseOptions{},
			`a.zip: the zip holds "C:/evil.png", whose name starts with a drive letter, which is not safe to unpack: make the zip again from the folder that holds your class folders`},
		{"bomb ratio", makeZip(t, ten(entry{"cats/bomb.png", zeros})...), dataset.ParseOptions{},
			`a.zip/cats/bomb.png: this file unpacks to more than 100 times its packed size, which no picture does (PNG and JPEG are compressed already): leave it out of the zip`},
		{"entry size, header honest", makeZip(t, ten(entry{"cats/bomb.png", zeros})...), dataset.ParseOptions{Limits: dataset.Limits{MaxRatio: 1 << 30, MaxEntryBytes: 1 << 20}},
			`a.zip/cats/bomb.png: this file unpacks to more than 1 MiB, the most for one file: shrink it, or leave it out of the zip`},
		{"header claims less", lyingZip(t, "cats/bomb.png", zeros, 100), dataset.ParseOptions{},
			`a.zip/cats/bomb.png: this file in the zip is damaged (its size disagrees with the zip's index): zip the folders again and upload the new zip`},
		{"header claims more", lyingZip(t, "cats/bomb.png", zeros, 1<<40), dataset.ParseOptions{},
			`a.zip/cats/bomb.png: this file unpacks to more than 16 MiB, the most for one file: shrink it, or leave it out of the zip`},
		{"side over dims", makeZip(t, ten()...), dataset.ParseOptions{Limits: dataset.Limits{MaxDims: 100}},
			`a.zip: pictures of 28×28 pixels have more than 100 values, the most the explorer takes: choose an Image side of at most 10 in the upload options`},
		{"total size", makeZip(t, ten()...), dataset.ParseOptions{Limits: dataset.Limits{MaxTotalBytes: 500}},
			`a.zip: the zip unpacks to more than 500 bytes in all, the most the explorer unpacks: upload fewer pictures, or smaller ones`},
		{"too many entries", makeZip(t, ten()...), dataset.ParseOptions{Limits: dataset.Limits{MaxEntries: 5}},
			`a.zip: the zip holds 10 files and folders, more than the limit of 5: upload fewer pictures`},
		{"too many images", makeZip(t, ten(entry{"dogs/x.png", img})...), dataset.ParseOptions{Limits: dataset.Limits{MaxItems: 10}},
			`a.zip: the zip holds 11 pictures, more than the limit of 10: upload at most 10`},
		{"too many classes", makeZip(t, ten(entry{"dogs/x.png", img}, entry{"emus/x.png", img})...), dataset.ParseOptions{Limits: dataset.Limits{MaxClasses: 2}},
			`a.zip/emus/x.png: more than 2 folders of pictures, the most the explorer takes (each folder is a class): put the pictures in at most 2 folders`},
		{"not an image", makeZip(t, ten(entry{"cats/z.png", []byte("hello")})...), dataset.ParseOptions{},
			`a.zip/cats/z.png: this file is not a PNG or JPEG picture, though its name says so: save it again as PNG or JPEG, or leave it out of the zip`},
		{"truncated image", makeZip(t, ten(entry{"cats/z.png", img[:len(img)-20]})...), dataset.ParseOptions{},
			`a.zip/cats/z.png: this picture is damaged and cannot be decoded: open it and save it again as PNG or JPEG, or leave it out of the zip (png: invalid format: unexpected EOF)`},
		{"huge header", makeZip(t, ten(entry{"cats/z.png", hugePNG(t, 100000, 100000)})...), dataset.ParseOptions{},
			`a.zip/cats/z.png: this picture is 100000×100000 pixels, more than the limit of 4096×4096 pixels: shrink it (it is made 28×28 anyway), or leave it out of the zip`},
		{"pixel limit", makeZip(t, ten()...), dataset.ParseOptions{Limits: dataset.Limits{MaxImagePixels: 50}},
			`a.zip/cats/0.png: this picture is 8×8 pixels, more than the limit of 50 pixels: shrink it (it is made 28×28 anyway), or leave it out of the zip`},
		{"pixels in all", makeZip(t, ten()...), dataset.ParseOptions{Limits: dataset.Limits{MaxPixels: 600}},
			`a.zip: the pictures hold more than 600 pixels in all, the most the explorer decodes for one upload: shrink them (they are made 28×28 anyway), or upload fewer`},
		// Counted from the header, before decoding: the last image does not
		// decode, but its size is refused first.
		{"pixels in all before decoding", makeZip(t, ten(entry{"cats/z.png", hugePNG(t, 1000, 1000)})...),
			dataset.ParseOptions{Limits: dataset.Limits{MaxPixels: 1_000_000}},
			`a.zip: the pictures hold more than 1 megapixel in all, the most the explorer decodes for one upload: shrink them (they are made 28×28 anyway), or upload fewer`},
		{"dataset memory", makeZip(t, ten()...), dataset.ParseOptions{Side: 64, Limits: dataset.Limits{MaxDatasetBytes: 100_000}},
			`a.zip: this data would take more than 100 kB of memory once read, more than one upload may: upload fewer pictures, or choose a smaller Image side in the upload options`},
		{"no images", makeZip(t, entry{"readme.txt", []byte("hi")}), dataset.ParseOptions{},
			`a.zip: the zip holds no PNG or JPEG pictures: put your pictures in it, one folder per class (cats/1.png, dogs/2.png …)`},
		{"too few", makeZip(t, ten()[:9]...), dataset.ParseOptions{}, `a.zip: only 9 pictures: add pictures until there are at least 10`},
		{"not a zip", []byte("PK\x03\x04 this is not really a zip"), dataset.ParseOptions{}, `a.zip: this is not a zip the explorer can read (it may be damaged, or cut short): zip the folders again and upload the new zip (zip: not a valid zip file)`},
		{"over size", makeZip(t, ten()...), dataset.ParseOptions{Limits: dataset.Limits{MaxBytes: 1000}}, `a.zip: the file is larger than the limit of 1 kB: upload fewer pictures, or smaller ones`},
		{"empty", nil, dataset.ParseOptions{}, `a.zip: the file is empty: check that you chose the right file and that your data was saved in it`},
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
	checkReject(t, "q.csv", []byte(data+"z,\"\"\"\"\n"), dataset.ParseOptions{}, `q.csv:13:2: this text has no letters or digits: write some words in it, or delete it`)
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
		checkReject(t, "export.zip", z, dataset.ParseOptions{}, `export.zip/metadata.tsv:2:2: this row has 1 cell but the header has 2: add the missing cells (they may be empty), or delete the row`)
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
		{"data.tar.gz", "\x1f\x8b\x08", dataset.FormatUnknown},
		{"data.rar", "Rar!\x1a\x07", dataset.FormatUnknown},
		{"report.pdf", "%PDF-1.7\n", dataset.FormatUnknown},
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
	if got, want := (&dataset.ParseError{File: "data.csv", Line: 12, Column: 3, Msg: "m"}).Human(), "data.csv, line 12, column 3: m"; got != want {
		t.Errorf("Human() = %q, want %q", got, want)
	}
}

// TestParseErrorCause checks that the Go error behind a message (here
// archive/zip's) is kept for Error and Unwrap, and left out of Human,
// which the web page shows.
func TestParseErrorCause(t *testing.T) {
	_, err := dataset.Parse("a.zip", strings.NewReader("PK\x03\x04 this is not really a zip"), dataset.ParseOptions{})
	var pe *dataset.ParseError
	if !errors.As(err, &pe) || !errors.Is(err, zip.ErrFormat) {
		t.Fatalf("error %v, want a *ParseError wrapping zip.ErrFormat", err)
	}
	if h := pe.Human(); strings.Contains(pe.Msg, "zip: ") || strings.Contains(h, "not a valid zip file") || !strings.HasSuffix(h, "upload the new zip") {
		t.Errorf("Human() = %q, want words without archive/zip's", h)
	}
	if !strings.HasSuffix(err.Error(), "("+zip.ErrFormat.Error()+")") {
		t.Errorf("Error() = %q, want archive/zip's error in parentheses", err)
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
	// iris.csv:3:3: this row has 3 cells but the header has 2: put quotes around cells that hold the separator, or remove the extra cells
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
