package web

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/datasets"
	"github.com/contrastive-explorer/explorer/run/runner/runnertest"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// zerosZip is a zip of entries of n zero bytes each: kilobytes that expand
// to megabytes.
func zerosZip(t testing.TB, entries, n int) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zeros := make([]byte, n)
	for i := range entries {
		w, err := zw.Create("bomb/" + string(rune('a'+i)) + ".png")
		if err != nil {
			t.Fatal(err)
		}
		w.Write(zeros)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// rawBody is a request body sent as it is, for what multipartBody cannot
// build: bodies that are not multipart, broken, or cut short.
type rawBody struct {
	body        []byte
	contentType string
}

// cutShort is a multipart upload of parts that ends keep bytes into the
// body, without its last bytes (the closing boundary among them).
func cutShort(t testing.TB, keep int, parts ...part) *rawBody {
	body, ct := multipartBody(t, parts...)
	return &rawBody{body[:min(keep, len(body))], ct}
}

// rejection is one bad upload and what its answer must say.
type rejection struct {
	name   string
	parts  []part
	raw    *rawBody       // sent instead of parts when set
	limits dataset.Limits // zero: the defaults
	status int
	field  string
	file   string // the file the message must name; "" when none is involved
	want   string // a substring of the message: what is wrong
	fix    string // a substring of the message: what to do
	api    bool   // only an API client can send this: the API's words may appear
}

// TestUploadRejections posts bad uploads through the real echo instance,
// one for each message an upload can get: each answers its status, the
// field at fault and a message in a person's words (see checkMessage),
// naming the file and, where they apply, line and column, and saying what
// to do.
func TestUploadRejections(t *testing.T) {
	vectors, metadata := projectorFiles()
	png := pngOf(t, 12, 12, 0)
	var wide strings.Builder // a CSV of 1000 rows, more than the 4 KiB the handler peeks at
	wide.WriteString(csvRows(1000))
	tests := []rejection{
		// Numbers in a table.
		{name: "NaN", parts: []part{filePart("data.csv", "x,y,label\n1,NaN,a\n")}, status: 400, field: "file", file: "data.csv",
			want: `data.csv, line 2, column 2: "NaN" in column "y" is not a number`, fix: "put a number in that cell, or delete the row"},
		{name: "infinity", parts: []part{filePart("data.csv", "x,y,label\n1,2,a\n1,+Inf,b\n")}, status: 400, field: "file", file: "data.csv",
			want: `data.csv, line 3, column 2: "+Inf" in column "y" is not a number`, fix: "put a number in that cell"},
		{name: "number too large", parts: []part{filePart("data.csv", "x,y,label\n1,1e39,a\n")}, status: 400, field: "file", file: "data.csv",
			want: `line 2, column 2: "1e39" in column "y" is too large a number`, fix: "correct that cell, or scale the column down"},
		{name: "empty cell", parts: []part{filePart("data.csv", "x,y,label\n1,,a\n")}, status: 400, field: "file", file: "data.csv",
			want: `line 2, column 2: the cell in column "y" is empty`, fix: "put a number in it, or delete the row"},
		{name: "a column of words", parts: []part{filePart("data.csv", "name,label\nx,a\ny,b\n")}, status: 400, field: "file", file: "data.csv",
			want: `data.csv, line 2, column 1: column "name" holds words, not numbers ("x")`, fix: "make it the Label column"},
		{name: "a word among numbers", parts: []part{filePart("broken.csv", "a,b,label\n1,2,x\n3,oops,y\n")}, status: 400, field: "file", file: "broken.csv",
			want: `broken.csv, line 3, column 2: "oops" in column "b" is not a number`, fix: "correct that cell, or Ignore the column in the upload options"},
		{name: "decimal comma without the option", parts: []part{field("delimiter", "|"), filePart("data.csv", "x|y|label\n1|2,5|a\n")}, status: 400, field: "file", file: "data.csv",
			want: `"2,5" in column "y" has a decimal comma`, fix: "turn on Decimal comma in the upload options"},
		{name: "decimal comma with the comma as separator", parts: []part{field("decimal_comma", "true"), field("delimiter", ","), filePart("data.csv", csvRows(12))},
			status: 400, field: "file", file: "data.csv", want: "a comma cannot both separate the columns and mark decimals", fix: "choose another Separator"},
		{name: "decimal comma in a comma-separated file", parts: []part{field("decimal_comma", "true"), filePart("data.csv", csvRows(12))}, status: 400, field: "file", file: "data.csv",
			want: "this file is separated by commas, so its numbers cannot have decimal commas", fix: "turn off Decimal comma in the upload options"},

		// The shape of a table.
		{name: "ragged row", parts: []part{filePart("data.csv", "x,y,label\n1,2,a\n1,2\n")}, status: 400, field: "file", file: "data.csv",
			want: "data.csv, line 3, column 3: this row has 2 cells but the header has 3", fix: "add the missing cells"},
		{name: "long row", parts: []part{filePart("data.csv", "x,y,label\n1,2,a\n1,2,3,b\n")}, status: 400, field: "file", file: "data.csv",
			want: "this row has 4 cells but the header has 3", fix: "put quotes around cells that hold the separator"},
		{name: "numeric header", parts: []part{filePart("data.csv", "1,2\n3,4\n")}, status: 400, field: "file", file: "data.csv",
			want: "data.csv, line 1, column 1: the first line holds only numbers", fix: "add a first line with a name for each column"},
		{name: "no usable column", parts: []part{filePart("data.csv", "id,label\n1,x\n2,y\n")}, status: 400, field: "file", file: "data.csv",
			want: "no column holds numbers or text to explore", fix: "choose a Text column in the upload options"},
		{name: "unknown label column", parts: []part{field("label_column", "colour"), filePart("data.csv", csvRows(12))}, status: 400, field: "file", file: "data.csv",
			want: `data.csv, line 1: there is no column named "colour" to be the Label column`, fix: "choose one of those in the upload options"},
		{name: "unknown text column", parts: []part{field("text_column", "notes"), filePart("data.csv", csvRows(12))}, status: 400, field: "file", file: "data.csv",
			want: `no column named "notes" to be the Text column: the header names "x", "y", "label"`, fix: "choose one of those"},
		{name: "unknown name column", parts: []part{field("id_column", "who"), filePart("data.csv", csvRows(12))}, status: 400, field: "file", file: "data.csv",
			want: `no column named "who" to be the Name column`, fix: "choose one of those"},
		{name: "unknown column to ignore", parts: []part{field("ignore_columns", "x, z"), filePart("data.csv", csvRows(12))}, status: 400, field: "file", file: "data.csv",
			want: `no column named "z" to Ignore`, fix: "choose one of those"},
		{name: "unclosed quote", parts: []part{filePart("data.csv", "a,text\n1,\"open\n")}, status: 400, field: "file", file: "data.csv",
			want: "line 2, column 2: this cell opens a quote", fix: "add the closing"},
		{name: "quote inside a cell", parts: []part{filePart("data.csv", "a,b\n1,2\"\n")}, status: 400, field: "file", file: "data.csv",
			want: "this cell holds a \" but is not in quotes", fix: "put the whole cell in quotes"},
		{name: "text after a closing quote", parts: []part{filePart("data.csv", "a,b\n\"1\"x,2\n")}, status: 400, field: "file", file: "data.csv",
			want: "there is text after the closing quote of this cell", fix: "put the whole cell in quotes"},
		{name: "invalid UTF-8 in a table", parts: []part{filePart("data.csv", "a,label\n1,x\n2,\xffy\n")}, status: 400, field: "file", file: "data.csv",
			want: "line 3, column 2: this cell is not UTF-8 text", fix: "save the file with the UTF-8 encoding"},
		{name: "empty file", parts: []part{filePart("data.csv", "")}, status: 400, field: "file", file: "data.csv",
			want: "data.csv: the file is empty", fix: "check that you chose the right file"},
		{name: "fewer than 10 rows", parts: []part{filePart("data.csv", csvRows(5))}, status: 400, field: "file", file: "data.csv",
			want: "data.csv: only 5 rows of data", fix: "add rows until there are at least 10"},
		{name: "header only", parts: []part{filePart("data.csv", "x,y,label\n")}, status: 400, field: "file", file: "data.csv",
			want: "there are no rows of data", fix: "add rows until there are at least 10"},

		// Limits of a table.
		{name: "too many rows", parts: []part{filePart("data.csv", csvRows(30))}, limits: dataset.Limits{MaxItems: 20}, status: 400, field: "file", file: "data.csv",
			want: "data.csv, line 22: more than 20 rows of data, the most the explorer takes", fix: "upload a sample of at most 20 rows"},
		{name: "too many columns", parts: []part{filePart("data.csv", csvRows(12))}, limits: dataset.Limits{MaxDims: 1}, status: 400, field: "file", file: "data.csv",
			want: "more than 1 columns of numbers", fix: "Ignore some in the upload options"},
		{name: "too many labels", parts: []part{filePart("data.csv", csvRows(12))}, limits: dataset.Limits{MaxClasses: 1}, status: 400, field: "file", file: "data.csv",
			want: `more than 1 different labels in column "label"`, fix: "choose another Label column in the upload options"},
		{name: "line too long", parts: []part{filePart("data.csv", "x,label\n"+strings.Repeat("1", 200)+",a\n")}, limits: dataset.Limits{MaxLineBytes: 100}, status: 400, field: "file", file: "data.csv",
			want: "data.csv, line 2: this line is longer than 100 bytes", fix: "put each item on a line of its own"},
		{name: "dataset memory", parts: []part{filePart("data.csv", csvRows(200))}, limits: dataset.Limits{MaxDatasetBytes: 1000}, status: 400, field: "file", file: "data.csv",
			want: "this data would take more than 1 kB of memory once read", fix: "upload fewer rows"},

		// Text.
		{name: "invalid UTF-8 in text", parts: []part{filePart("notes.txt", "hello\nwor\xffld\n")}, status: 400, field: "file", file: "notes.txt",
			want: "notes.txt, line 2, column 4: this line is not UTF-8 text", fix: "save the file with the UTF-8 encoding"},
		{name: "text without words", parts: []part{filePart("notes.txt", "hello\n!!!\n")}, status: 400, field: "file", file: "notes.txt",
			want: "notes.txt, line 2, column 1: this text has no letters or digits", fix: "write some words in it"},
		{name: "a line without its label", parts: []part{filePart("notes.txt", "pos\tgood film\nbad film\n")}, status: 400, field: "file", file: "notes.txt",
			want: "this line has no tab, though the first line starts with a label and a tab", fix: "start every line with a label and a tab"},
		{name: "too few texts", parts: []part{filePart("notes.txt", "one\ntwo\n")}, status: 400, field: "file", file: "notes.txt",
			want: "only 2 lines of text", fix: "add lines until there are at least 10"},
		{name: "texts too long", parts: []part{filePart("notes.txt", textLines(20))}, limits: dataset.Limits{MaxFeatures: 100}, status: 400, field: "file", file: "notes.txt",
			want: "the texts are too long in all", fix: "upload fewer or shorter texts"},

		// Interactions.
		{name: "not a time", parts: []part{filePart("plays.csv", "user,item,time\nu1,i1,5\nu1,i2,yesterday\n")}, status: 400, field: "file", file: "plays.csv",
			want: `plays.csv, line 3, column 3: "yesterday" is not a time`, fix: "write a number, or a date like 2024-05-01"},
		{name: "empty user", parts: []part{filePart("plays.csv", "user,item\n ,i1\n")}, status: 400, field: "file", file: "plays.csv",
			want: "the user in this row is empty", fix: "fill it in, or delete the row"},
		{name: "empty item", parts: []part{filePart("plays.csv", "user,item\nu1, \n")}, status: 400, field: "file", file: "plays.csv",
			want: "the item in this row is empty", fix: "fill it in, or delete the row"},
		{name: "two labels for an item", parts: []part{filePart("plays.csv", "user,item,genre\nu1,i1,jazz\nu2,i1,rock\n")}, status: 400, field: "file", file: "plays.csv",
			want: `item "i1" has the label "rock" here but "jazz" in a row above`, fix: "give each item one label"},
		{name: "no interactions", parts: []part{filePart("plays.csv", "user,item\n")}, status: 400, field: "file", file: "plays.csv",
			want: "there are no rows below the header", fix: "add a row for each interaction"},
		{name: "too few items", parts: []part{filePart("plays.csv", "user,item\nu1,i1\nu2,i2\n")}, status: 400, field: "file", file: "plays.csv",
			want: "only 2 different items", fix: "add rows with other items until there are at least 10"},
		{name: "too many users", parts: []part{filePart("plays.csv", interactionRows())}, limits: dataset.Limits{MaxUsers: 2}, status: 400, field: "file", file: "plays.csv",
			want: "more than 2 users", fix: "upload the interactions of at most 2 users"},
		{name: "interactions without user and item", parts: []part{field("format", "interactions"), filePart("plays.csv", "who,what,when\n")}, status: 400, field: "file", file: "plays.csv",
			want: `the header needs a column whose name contains "user"`, fix: "rename those columns in the first line", api: true},

		// Embedding Projector vectors and metadata.
		{name: "NaN in vectors", parts: []part{filePart("vectors.tsv", "1\t2\nnan\t2\n")}, status: 400, field: "file", file: "vectors.tsv",
			want: `vectors.tsv, line 2, column 1: "nan" is not a number`, fix: "put a number there, or delete the line"},
		{name: "ragged vectors", parts: []part{filePart("vectors.tsv", "1\t2\t3\n1\t2\n")}, status: 400, field: "file", file: "vectors.tsv",
			want: "this vector has 2 values but the first has 3", fix: "give every vector the same number of values"},
		{name: "vectors separated by commas", parts: []part{filePart("vectors.tsv", "1\t2\n1,2\t3\n")}, status: 400, field: "file", file: "vectors.tsv",
			want: `"1,2" is not a number`, fix: "separate the numbers of a vector with tabs"},
		{name: "blank line in vectors", parts: []part{filePart("vectors.tsv", "1\t2\n\n1\t2\n")}, status: 400, field: "file", file: "vectors.tsv",
			want: "vectors.tsv, line 2: this line is empty, though more vectors follow", fix: "delete it"},
		{name: "bad metadata", parts: []part{{"metadata", "metadata.tsv", "a\tb\nc\n"}, filePart("vectors.tsv", vectors)}, status: 400, field: "metadata", file: "metadata.tsv",
			want: "metadata.tsv, line 2, column 2: this row has 1 cell but the header has 2", fix: "add the missing cells"},
		{name: "metadata rows short", parts: []part{{"metadata", "metadata.tsv", "a\nb\n"}, filePart("vectors.tsv", vectors)}, status: 400, field: "metadata", file: "metadata.tsv",
			want: "metadata.tsv: 2 metadata rows for 12 vectors", fix: "give one row to each vector, in the same order"},
		{name: "metadata after a table", parts: []part{filePart("data.csv", csvRows(12)), {"metadata", "metadata.tsv", metadata}}, status: 400, field: "metadata", file: "data.csv",
			want: "metadata.tsv is a metadata file, which goes with Embedding Projector vectors", fix: "upload data.csv without it"},
		{name: "metadata before a table", parts: []part{{"metadata", "metadata.tsv", metadata}, filePart("data.csv", csvRows(12))}, status: 400, field: "metadata", file: "data.csv",
			want: "goes with Embedding Projector vectors (vectors.tsv) only, and data.csv is not one", fix: "upload data.csv without it"},

		// Zips of pictures.
		{name: "zip with ..", parts: []part{filePart("imgs.zip", zipOf(t, [2]string{"a/../../evil.png", "x"}))}, status: 400, field: "file", file: "imgs.zip",
			want: `imgs.zip: the zip holds "a/../../evil.png", whose name climbs out of the zip`, fix: "make the zip again from the folder that holds your class folders"},
		{name: "zip with an absolute path", parts: []part{filePart("imgs.zip", zipOf(t, [2]string{"/etc/evil.png", "x"}))}, status: 400, field: "file", file: "imgs.zip",
			want: `the zip holds "/etc/evil.png", whose name is an absolute path`, fix: "make the zip again"},
		{name: "zip bomb by ratio", parts: []part{filePart("imgs.zip", zerosZip(t, 1, 256<<10))}, status: 400, field: "file", file: "imgs.zip/bomb/a.png",
			want: "imgs.zip/bomb/a.png: this file unpacks to more than 100 times its packed size", fix: "leave it out of the zip"},
		{name: "zip bomb in total", parts: []part{filePart("imgs.zip", zerosZip(t, 3, 256<<10))}, limits: dataset.Limits{MaxRatio: 1 << 20, MaxTotalBytes: 200_000}, status: 400, field: "file", file: "imgs.zip",
			want: "imgs.zip: the zip unpacks to more than 200 kB in all", fix: "upload fewer pictures, or smaller ones"},
		{name: "zip entry too large", parts: []part{filePart("imgs.zip", zerosZip(t, 1, 256<<10))}, limits: dataset.Limits{MaxRatio: 1 << 20, MaxEntryBytes: 100_000}, status: 400, field: "file", file: "imgs.zip/bomb/a.png",
			want: "this file unpacks to more than 100 kB, the most for one file", fix: "shrink it, or leave it out of the zip"},
		{name: "too many entries", parts: []part{filePart("imgs.zip", imageZip(t))}, limits: dataset.Limits{MaxEntries: 5}, status: 400, field: "file", file: "imgs.zip",
			want: "the zip holds 12 files and folders, more than the limit of 5", fix: "upload fewer pictures"},
		{name: "not a zip", parts: []part{filePart("imgs.zip", "PK\x03\x04 this is not really a zip")}, status: 400, field: "file", file: "imgs.zip",
			want: "imgs.zip: this is not a zip the explorer can read", fix: "zip the folders again and upload the new zip"},
		{name: "no pictures in the zip", parts: []part{filePart("imgs.zip", zipOf(t, [2]string{"readme.txt", "hi"}))}, status: 400, field: "file", file: "imgs.zip",
			want: "the zip holds no PNG or JPEG pictures", fix: "one folder per class"},
		{name: "undecodable image", parts: []part{filePart("imgs.zip", zipOf(t, [2]string{"a/x.png", "not a png at all"}))}, status: 400, field: "file", file: "imgs.zip/a/x.png",
			want: "imgs.zip/a/x.png: this file is not a PNG or JPEG picture", fix: "save it again as PNG or JPEG, or leave it out of the zip"},
		{name: "damaged image", parts: []part{filePart("imgs.zip", zipOf(t, [2]string{"a/x.png", png[:len(png)-20]}))}, status: 400, field: "file", file: "imgs.zip/a/x.png",
			want: "this picture is damaged and cannot be decoded", fix: "save it again as PNG or JPEG"},
		{name: "absurd image size", parts: []part{filePart("imgs.zip", zipOf(t, [2]string{"a/x.png", hugePNG(t, 100000, 100000)}))}, status: 400, field: "file", file: "imgs.zip/a/x.png",
			want: "imgs.zip/a/x.png: this picture is 100000×100000 pixels, more than the limit of 4096×4096 pixels", fix: "shrink it"},
		{name: "pixels in all", parts: []part{filePart("imgs.zip", imageZip(t))}, limits: dataset.Limits{MaxPixels: 1000}, status: 400, field: "file", file: "imgs.zip",
			want: "the pictures hold more than 1000 pixels in all", fix: "shrink them"},
		{name: "too many folders", parts: []part{filePart("imgs.zip", imageZip(t))}, limits: dataset.Limits{MaxClasses: 1}, status: 400, field: "file", file: "imgs.zip/crosses/0.png",
			want: "more than 1 folders of pictures", fix: "put the pictures in at most 1 folders"},
		{name: "too few pictures", parts: []part{filePart("imgs.zip", zipOf(t, [2]string{"a/1.png", png}, [2]string{"b/2.png", png}))}, status: 400, field: "file", file: "imgs.zip",
			want: "only 2 pictures", fix: "add pictures until there are at least 10"},

		// Sizes.
		{name: "oversize file", parts: []part{filePart("big.csv", "x,label\n"+strings.Repeat("1,a\n", 30_000))}, limits: dataset.Limits{MaxBytes: 100_000}, status: 413, field: "file", file: "big.csv",
			want: "big.csv: the file is larger than the limit of 100 kB", fix: "upload a smaller file, such as a sample of its rows"},
		{name: "oversize vectors", parts: []part{filePart("vectors.tsv", strings.Repeat("1\t2\n", 30_000))}, limits: dataset.Limits{MaxBytes: 100_000}, status: 413, field: "file", file: "vectors.tsv",
			want: "vectors.tsv: the file is larger than the limit of 100 kB", fix: "upload fewer vectors"},
		{name: "oversize metadata", parts: []part{{"metadata", "metadata.tsv", strings.Repeat("x\n", 60_000)}, filePart("vectors.tsv", vectors)}, limits: dataset.Limits{MaxBytes: 100_000}, status: 413, field: "metadata", file: "metadata.tsv",
			want: "metadata.tsv: the file is larger than the limit of 100 kB", fix: "upload less metadata"},
		{name: "oversize body", parts: []part{filePart("big.csv", strings.Repeat("1,a\n", 300_000))}, limits: dataset.Limits{MaxBytes: 1000}, status: 413, field: "",
			want: "the upload is larger than the limit of 1 kB", fix: "upload a smaller file"},

		// Files the explorer cannot read.
		{name: "a lone image", parts: []part{filePart("cat.png", pngOf(t, 4, 4, 0))}, status: 415, field: "file", file: "cat.png",
			want: "cat.png is a single picture", fix: "put your pictures in a zip, one folder per class"},
		{name: "a spreadsheet", parts: []part{filePart("grades.xlsx", "PK\x03\x04rest")}, status: 415, field: "file", file: "grades.xlsx",
			want: "grades.xlsx is a spreadsheet workbook", fix: "save the sheet as CSV"},
		{name: "a tarball", parts: []part{filePart("data.tar.gz", "\x1f\x8b\x08\x00rest")}, status: 415, field: "file", file: "data.tar.gz",
			want: "data.tar.gz is a packed archive the explorer cannot open", fix: "unpack it and upload the table or text file inside"},
		{name: "a document", parts: []part{filePart("report.pdf", "%PDF-1.7\n")}, status: 415, field: "file", file: "report.pdf",
			want: "the explorer cannot read report.pdf", fix: "upload a CSV or TSV table"},

		// Options.
		{name: "unknown scaling", parts: []part{field("scale", "log"), filePart("data.csv", csvRows(12))}, status: 400, field: "scale",
			want: `"log" is not a Scaling the explorer knows`, fix: "choose none, standard or minmax in the upload options"},
		{name: "image side too small", parts: []part{field("side", "2"), filePart("imgs.zip", imageZip(t))}, status: 400, field: "side",
			want: `the Image side must be a whole number from 4 to 64, not "2"`, fix: "choose one in the upload options"},
		{name: "image side over the limit", parts: []part{field("side", "16"), filePart("imgs.zip", imageZip(t))}, limits: dataset.Limits{MaxDims: 100}, status: 400, field: "side",
			want: "an Image side of 16 gives pictures of 256 values, more than the limit of 100", fix: "choose an Image side of at most 10"},
		{name: "unknown separator", parts: []part{field("delimiter", "#"), filePart("data.csv", csvRows(12))}, status: 400, field: "delimiter",
			want: `"#" cannot be the Separator`, fix: "choose comma, semicolon, tab or |"},
		{name: "option too long", parts: []part{field("label_column", strings.Repeat("c", 2000)), filePart("data.csv", csvRows(12))}, status: 400, field: "label_column",
			want: "the Label column option is longer than 1024 bytes", fix: "choose a shorter one"},
		{name: "not a yes or no", parts: []part{field("invert", "maybe"), filePart("imgs.zip", imageZip(t))}, status: 400, field: "invert",
			want: `"maybe" is not a value of the Invert option`, fix: "send true or false", api: true},
		{name: "decimal comma not a yes or no", parts: []part{field("decimal_comma", "perhaps"), filePart("data.csv", csvRows(12))}, status: 400, field: "decimal_comma",
			want: `"perhaps" is not a value of the Decimal comma option`, fix: "send true or false", api: true},
		{name: "unknown format", parts: []part{field("format", "xml"), filePart("data.csv", csvRows(12))}, status: 400, field: "format",
			want: `unknown format "xml"`, fix: "send csv, images, text, interactions or projector", api: true},
		{name: "option after the file", parts: []part{filePart("data.csv", csvRows(12)), field("scale", "minmax")}, status: 400, field: "scale",
			want: "send the option scale before the file", fix: "before the file", api: true},

		// The request itself.
		{name: "no file", parts: []part{field("scale", "minmax")}, status: 400, field: "file",
			want: "no file came with the upload", fix: "choose a file and upload it again"},
		{name: "cut off", raw: cutShort(t, 200, filePart("data.csv", csvRows(100))), status: 400, field: "file", file: "data.csv",
			want: "the upload of data.csv was cut off before its end", fix: "upload it again"},
		{name: "cut off while parsing", raw: cutShort(t, 8000, filePart("data.csv", wide.String())), status: 400, field: "file", file: "data.csv",
			want: "the file could not be read to its end", fix: "upload it again"},
		{name: "two files", parts: []part{filePart("a.csv", csvRows(12)), filePart("b.csv", csvRows(12))}, status: 400, field: "file", file: "b.csv",
			want: "two files came in one upload (a.csv and b.csv)", fix: "upload one file at a time", api: true},
		{name: "two metadata files", parts: []part{{"metadata", "m1.tsv", metadata}, {"metadata", "m2.tsv", metadata}, filePart("vectors.tsv", vectors)}, status: 400, field: "metadata", file: "m2.tsv",
			want: "two metadata files came in one upload", fix: "send one", api: true},
		{name: "unknown part", parts: []part{field("colour", "red"), filePart("data.csv", csvRows(12))}, status: 400, field: "colour",
			want: `the upload takes no part named "colour"`, fix: "send file, metadata and the options", api: true},
		{name: "part without a name", parts: []part{field("", "red"), filePart("data.csv", csvRows(12))}, status: 400, field: "",
			want: "a part of the upload has no name", fix: "name each part", api: true},
		{name: "not multipart", raw: &rawBody{[]byte(csvRows(12)), "text/csv"}, status: 415, field: "",
			want: "send the dataset as multipart/form-data", fix: "as a browser's FormData does", api: true},
		{name: "broken multipart", raw: &rawBody{[]byte("--x\r\nbad header line\r\n\r\nbody\r\n--x--\r\n"), "multipart/form-data; boundary=x"}, status: 400, field: "",
			want: "the request is not valid multipart/form-data", fix: "send the file as a browser's FormData does", api: true},
	}
	servers := map[dataset.Limits]*testServer{}
	for _, tt := range tests {
		s := servers[tt.limits]
		if s == nil {
			s = newTestServer(t, Options{Limits: tt.limits, DataDir: t.TempDir()})
			servers[tt.limits] = s
		}
		t.Run(tt.name, func(t *testing.T) {
			var a answer
			if tt.raw != nil {
				a = callAs(t, s, sessionA, "POST", "/api/datasets", tt.raw.body, tt.raw.contentType)
			} else {
				a = postUpload(t, s, sessionA, tt.parts...)
			}
			var e errorBody
			a.json(t, &e)
			if a.status != tt.status || e.Field != tt.field || !strings.Contains(e.Error, tt.want) {
				t.Errorf("got %d %+v, want %d, field %q, message containing %q", a.status, e, tt.status, tt.field, tt.want)
			}
			checkMessage(t, e.Error, tt.file, tt.fix, tt.api)
			if l := listDatasets(t, s, sessionA); len(uploadsOf(l)) != 0 {
				t.Errorf("a rejected upload was kept: %+v", uploadsOf(l))
			}
		})
	}
}

// apiWords are the upload API's spellings, which a person uploading from
// the page never sees: messages name the page's upload options instead.
var apiWords = []string{"label_column", "text_column", "id_column", "ignore_columns", "decimal_comma",
	"pairs=", "format=", "multipart", "part named", "docs/protocol"}

// goErrors are pieces of Go errors' texts, which mean nothing to a person.
var goErrors = []string{"multipart: ", "NextPart", "unexpected EOF", "not a valid zip file", "checksum error",
	"invalid format", "png: invalid", "jpeg: invalid", "strconv.", "http: ", "%!", "runtime error", "dataset: ", "<nil>"}

// uploadID is how an upload's internal id looks.
var uploadID = regexp.MustCompile(`u-[0-9a-f]{4,}`)

// checkMessage checks that an upload's error message is for the person
// who uploaded: one line, naming file (unless it is ""), saying what to do
// (fix), with no internal id, no Go error's text and, unless only API
// clients can get it (api), none of the API's spellings.
func checkMessage(t *testing.T, msg, file, fix string, api bool) {
	t.Helper()
	switch {
	case fix == "":
		t.Errorf("no fix to look for in %q", msg)
	case !strings.Contains(msg, fix):
		t.Errorf("message %q lacks the fix %q", msg, fix)
	}
	if file != "" && !strings.Contains(msg, file) {
		t.Errorf("message %q does not name the file %s", msg, file)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message %q is more than one line", msg)
	}
	if id := uploadID.FindString(msg); id != "" {
		t.Errorf("message %q shows the internal id %s", msg, id)
	}
	for _, w := range goErrors {
		if strings.Contains(msg, w) {
			t.Errorf("message %q holds a Go error's %q", msg, w)
		}
	}
	if api {
		return
	}
	for _, w := range apiWords {
		if strings.Contains(msg, w) {
			t.Errorf("message %q speaks the API's %q", msg, w)
		}
	}
}

// TestUploadNotMultipart refuses bodies that are not multipart with 415,
// and bodies over the limit by their Content-Length with 413.
func TestUploadNotMultipart(t *testing.T) {
	s := newTestServer(t, Options{Limits: dataset.Limits{MaxBytes: 1000}})
	a := callAs(t, s, sessionA, "POST", "/api/datasets", []byte(csvRows(12)), "text/csv")
	if a.status != http.StatusUnsupportedMediaType || !strings.Contains(string(a.body), "multipart/form-data") {
		t.Errorf("a CSV body: %d %s, want 415", a.status, a.body)
	}
	body, ct := multipartBody(t, filePart("big.csv", csvRows(2000)))
	a = callAs(t, s, sessionA, "POST", "/api/datasets", body, ct)
	if a.status != http.StatusRequestEntityTooLarge || !strings.Contains(string(a.body), "1 kB") {
		t.Errorf("a body over the limit: %d %s, want 413 naming the limit", a.status, a.body)
	}
	var e errorBody
	a.json(t, &e)
	checkMessage(t, e.Error, "", "upload a smaller file", false)
}

func listDatasets(t *testing.T, s http.Handler, sess string) []datasetJSON {
	t.Helper()
	a := callAs(t, s, sess, "GET", "/api/datasets", nil, "")
	if a.status != http.StatusOK {
		t.Fatalf("GET /api/datasets: %d %s", a.status, a.body)
	}
	var l []datasetJSON
	a.json(t, &l)
	return l
}

func uploadsOf(l []datasetJSON) []datasetJSON {
	var out []datasetJSON
	for _, d := range l {
		if d.Uploaded {
			out = append(out, d)
		}
	}
	return out
}

// createRunAs creates a run as a session and expects 201.
func createRunAs(t *testing.T, s http.Handler, sess string, cfg map[string]any) created {
	t.Helper()
	b, _ := json.Marshal(cfg)
	a := callAs(t, s, sess, "POST", "/api/runs", b, "application/json")
	if a.status != http.StatusCreated {
		t.Fatalf("POST /api/runs %s: %d %s", b, a.status, a.body)
	}
	var c created
	a.json(t, &c)
	return c
}

// TestUploadFormats uploads one small file of every format, checks the
// answer's counts, then trains (or, for precomputed vectors, shows) a run
// on it and watches it to the end over a websocket.
func TestUploadFormats(t *testing.T) {
	s := newTestServer(t, Options{DataDir: t.TempDir()})
	vectors, metadata := projectorFiles()
	tests := []struct {
		name        string
		parts       []part
		kind        dataset.Kind
		items, dims int
		classes     int
		precomputed bool
	}{
		{"csv", []part{field("scale", "standard"), filePart("data.csv", csvRows(24))}, dataset.Vectors, 24, 2, 2, false},
		{"text", []part{filePart("notes.txt", textLines(20))}, dataset.Text, 20, 0, 2, false},
		{"interactions", []part{filePart("plays.csv", interactionRows())}, dataset.Interactions, 12, 12, 2, false},
		{"image zip", []part{field("side", "8"), filePart("shapes.zip", imageZip(t))}, dataset.Images, 12, 64, 2, false},
		{"projector, metadata first", []part{{"metadata", "metadata.tsv", metadata}, filePart("vectors.tsv", vectors)}, dataset.Vectors, 12, 4, 2, true},
		{"projector, metadata after", []part{filePart("vectors.tsv", vectors), {"metadata", "metadata.tsv", metadata}}, dataset.Vectors, 12, 4, 2, true},
		{"projector zip", []part{filePart("emb.zip", zipOf(t, [2]string{"vectors.tsv", vectors}, [2]string{"metadata.tsv", metadata}))}, dataset.Vectors, 12, 4, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess := run.RandomHex(sessionIDBytes) // a session each: at most 5 uploads per session
			d := mustUpload(t, s, sess, tt.parts...)
			if !datasets.IsUpload(d.ID) || d.Kind != string(tt.kind) || d.Items != tt.items ||
				d.Classes != tt.classes || d.Precomputed != tt.precomputed || !d.Uploaded || d.Train+d.Test != tt.items ||
				(tt.dims > 0 && d.Dims != tt.dims) || d.Dims != d.Dim {
				t.Fatalf("uploaded %+v, want %s with %d items, %d dims, %d classes, precomputed %v", d, tt.kind, tt.items, tt.dims, tt.classes, tt.precomputed)
			}
			if l := uploadsOf(listDatasets(t, s, sess)); len(l) != 1 || l[0].ID != d.ID {
				t.Fatalf("the session's list: %+v", l)
			}

			e, err := s.datasets.Get(sess, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			epochs := 2
			cfg := map[string]any{"dataset": d.ID, "epochs": epochs, "batch": 4, "hidden": []int{8}, "dim": 4, "embed": 8,
				"lr": 0.01, "pairs": trainer.DefaultPairs(e.Data)}
			if tt.precomputed {
				epochs = 0
			}
			c := createRunAs(t, s, sess, cfg)
			if c.Epochs != epochs {
				t.Errorf("run summary: %d epochs, want %d", c.Epochs, epochs)
			}
			// Watched by link, from no session at all.
			msgs, status := readToEnd(t, dial(t, s, c.ID, dialOptions{}))
			if tt.precomputed {
				checkPrecomputedStream(t, msgs, status, tt.items)
			} else {
				checkStream(t, msgs, status, epochs, tt.items)
			}
			var h datasetHello
			if err := json.Unmarshal(msgs[0].Dataset, &h); err != nil {
				t.Fatal(err)
			}
			// The upload's id is the uploader's own: a viewer by link
			// does not learn it.
			if h.ID != uploadedDataset || !h.Uploaded || h.Precomputed != tt.precomputed || h.Synthetic {
				t.Errorf("hello's dataset: id %q uploaded %v precomputed %v synthetic %v", h.ID, h.Uploaded, h.Precomputed, h.Synthetic)
			}
			switch tt.kind {
			case dataset.Text:
				if len(h.Texts) != tt.items || !strings.Contains(h.Texts[0], "number 0") {
					t.Errorf("hello's texts: %q", h.Texts)
				}
			case dataset.Interactions:
				if len(h.Names) != tt.items {
					t.Errorf("hello's names: %q", h.Names)
				}
			case dataset.Images:
				if h.PixelsURL != "/api/runs/"+c.ID+"/pixels" {
					t.Errorf("hello's pixels URL %q, want the run's", h.PixelsURL)
				}
				// A viewer who followed the link has no session of the
				// uploader, but sees the pixels.
				if a := callAs(t, s, sessionB, "GET", h.PixelsURL, nil, ""); a.status != http.StatusOK || len(a.body) != tt.items*64 {
					t.Errorf("run pixels: %d, %d bytes", a.status, len(a.body))
				}
				if a := callAs(t, s, sess, "GET", d.PixelsURL, nil, ""); a.status != http.StatusOK || len(a.body) != tt.items*64 {
					t.Errorf("the uploader's dataset pixels: %d, %d bytes", a.status, len(a.body))
				}
				if a := callAs(t, s, sess, "GET", d.PreviewURL, nil, ""); a.status != http.StatusOK {
					t.Errorf("the uploader's preview: %d", a.status)
				}
			}
			if tt.precomputed {
				if len(h.Texts) != tt.items || h.Texts[3] != "point 3" {
					t.Errorf("hello's texts of projector metadata: %q", h.Texts)
				}
				// Projection switch and neighbours work on precomputed runs.
				if a := callAs(t, s, sess, "GET", "/api/runs/"+c.ID+"/neighbors?item=0&k=3", nil, ""); a.status != http.StatusOK {
					t.Errorf("neighbours: %d %s", a.status, a.body)
				}
				req := []byte(`{"method":"tsne","dims":3}`)
				a := call(t, s, "POST", "/api/runs/"+c.ID+"/projection", string(req), c.Token)
				if a.status != http.StatusOK {
					t.Fatalf("projection: %d %s", a.status, a.body)
				}
				msgs, status := readToEnd(t, dial(t, s, c.ID, dialOptions{}))
				checkPrecomputedStream(t, msgs, status, tt.items)
				// The newest frame of the stream, in its history (the switch
				// was projected before the dial) or after "live" (during it).
				last := -1
				for i, m := range msgs {
					if m.Type == "epoch" {
						last = i
					}
				}
				if last < 0 || msgs[last].Frame.Method != run.MethodTSNE || msgs[last].Frame.Dims != 3 {
					t.Errorf("after the switch: %v, last epoch %d", types(msgs), last)
				}
			}
		})
	}
}

// checkPrecomputedStream checks the stream of a run on precomputed
// vectors: hello, epoch 0, live, done, with a null loss.
func checkPrecomputedStream(t *testing.T, msgs []wsMsg, status websocket.StatusCode, n int) {
	t.Helper()
	if status != websocket.StatusNormalClosure {
		t.Errorf("closed with %v, want 1000", status)
	}
	var epochs []wsMsg
	for _, m := range msgs {
		if m.Type == "epoch" {
			epochs = append(epochs, m)
		}
	}
	if len(msgs) < 4 || msgs[0].Type != "hello" || msgs[len(msgs)-1].Type != "done" || len(epochs) == 0 {
		t.Fatalf("stream %v, want hello, epoch 0, live, done", types(msgs))
	}
	for _, m := range epochs {
		var met struct {
			Loss   *float64 `json:"loss"`
			HasKNN bool     `json:"has_knn"`
		}
		if err := json.Unmarshal(m.Metrics, &met); err != nil || m.Epoch != 0 || len(m.coords) != n*m.Frame.Dims || met.Loss != nil {
			t.Errorf("epoch message %d: %s, %d coordinates, %v", m.Epoch, m.Metrics, len(m.coords), err)
		}
	}
	if msgs[len(msgs)-1].State != run.Done {
		t.Errorf("done with state %q", msgs[len(msgs)-1].State)
	}
}

// TestSessionIsolation checks that an upload is the uploader's alone:
// another session cannot list it, fetch it, delete it or train on it, and
// is told exactly what it would be told about an id nobody uses.
func TestSessionIsolation(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	d := mustUpload(t, s, sessionA, filePart("shapes.zip", imageZip(t)))
	const nobody = "u-0000000000000000"

	if l := uploadsOf(listDatasets(t, s, sessionB)); len(l) != 0 {
		t.Errorf("session B lists %+v", l)
	}
	if l := uploadsOf(listDatasets(t, s, "")); len(l) != 0 {
		t.Errorf("a request without a session lists %+v", l)
	}
	for _, path := range []string{"/api/datasets/%s/pixels", "/api/datasets/%s/preview.png"} {
		b := callAs(t, s, sessionB, "GET", strings.Replace(path, "%s", d.ID, 1), nil, "")
		n := callAs(t, s, sessionB, "GET", strings.Replace(path, "%s", nobody, 1), nil, "")
		if b.status != http.StatusNotFound || strings.ReplaceAll(string(b.body), d.ID, nobody) != string(n.body) {
			t.Errorf("%s as B: %d %s; for an unused id: %s", path, b.status, b.body, n.body)
		}
	}
	if a := callAs(t, s, sessionB, "DELETE", "/api/datasets/"+d.ID, nil, ""); a.status != http.StatusNotFound {
		t.Errorf("DELETE as B: %d %s", a.status, a.body)
	}
	cfg, _ := json.Marshal(map[string]any{"dataset": d.ID, "epochs": 1})
	b := callAs(t, s, sessionB, "POST", "/api/runs", cfg, "application/json")
	cfgNobody, _ := json.Marshal(map[string]any{"dataset": nobody, "epochs": 1})
	n := callAs(t, s, sessionB, "POST", "/api/runs", cfgNobody, "application/json")
	if b.status != n.status || strings.ReplaceAll(string(b.body), d.ID, nobody) != string(n.body) {
		t.Errorf("a run on A's upload as B: %d %s; on an unused id: %d %s", b.status, b.body, n.status, n.body)
	}

	// A, meanwhile, can do all of that, and delete it.
	c := createRunAs(t, s, sessionA, map[string]any{"dataset": d.ID, "epochs": 1, "dim": 4, "batch": 4})
	if a := callAs(t, s, sessionA, "DELETE", "/api/datasets/"+d.ID, nil, ""); a.status != http.StatusNoContent {
		t.Fatalf("DELETE as A: %d %s", a.status, a.body)
	}
	if a := callAs(t, s, sessionA, "GET", "/api/datasets/"+d.ID+"/pixels", nil, ""); a.status != http.StatusNotFound {
		t.Errorf("pixels after delete: %d", a.status)
	}
	// The runs on it go with it: nothing holds its data (nor its share of
	// the upload budget) any more.
	if a := callAs(t, s, sessionB, "GET", "/api/runs/"+c.ID+"/pixels", nil, ""); a.status != http.StatusNotFound {
		t.Errorf("run pixels after delete: %d", a.status)
	}
	if a := callAs(t, s, sessionA, "DELETE", "/api/datasets/digits", nil, ""); a.status != http.StatusConflict {
		t.Errorf("DELETE of a bundled dataset: %d %s", a.status, a.body)
	}
}

// TestSessionCookie checks the cookie: set once, HttpOnly, SameSite=Lax,
// random; a valid one is kept, a malformed one replaced.
func TestSessionCookie(t *testing.T) {
	s := newTestServer(t, Options{})
	first := callAs(t, s, "", "GET", "/", nil, "")
	second := callAs(t, s, "", "GET", "/api/datasets", nil, "")
	var ids []string
	for _, a := range []answer{first, second} {
		cs := (&http.Response{Header: a.header}).Cookies()
		if len(cs) != 1 || cs[0].Name != sessionCookie || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteLaxMode ||
			cs[0].Path != "/" || (&Server{sessionKey: testSessionKey}).verifySession(cs[0].Value) == "" {
			t.Fatalf("cookies %+v, want one HttpOnly SameSite=Lax session cookie", cs)
		}
		ids = append(ids, cs[0].Value)
	}
	if ids[0] == ids[1] {
		t.Error("two new sessions got the same id")
	}
	if a := callAs(t, s, sessionA, "GET", "/", nil, ""); a.header.Get("Set-Cookie") != "" {
		t.Errorf("a valid session got a new cookie: %s", a.header.Get("Set-Cookie"))
	}
	if a := callAs(t, s, "not-hex", "GET", "/", nil, ""); !strings.Contains(a.header.Get("Set-Cookie"), sessionCookie) {
		t.Error("a malformed session id was kept")
	}
	// A well-formed id the server did not sign (planted by another site,
	// or guessed) is replaced too, never adopted.
	if a := callAs(t, s, "", "GET", "/", nil, ""); a.header.Get("Set-Cookie") == "" {
		t.Fatal("no cookie")
	}
	planted := httptest.NewRequest("GET", "/", nil)
	planted.AddCookie(&http.Cookie{Name: sessionCookie, Value: sessionA})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, planted)
	if cs := rec.Result().Cookies(); len(cs) != 1 || strings.HasPrefix(cs[0].Value, sessionA) {
		t.Errorf("an unsigned session id was adopted: cookies %+v", cs)
	}
	forged := httptest.NewRequest("GET", "/", nil)
	forged.AddCookie(&http.Cookie{Name: sessionCookie, Value: sessionA + "." + strings.Repeat("0", 64)})
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, forged)
	if cs := rec.Result().Cookies(); len(cs) != 1 || strings.HasPrefix(cs[0].Value, sessionA) {
		t.Errorf("a forged session cookie was adopted: cookies %+v", cs)
	}
	if a := callAs(t, s, "", "GET", "/static/style.css", nil, ""); a.header.Get("Set-Cookie") != "" {
		t.Error("a static asset set a cookie")
	}
}

// TestUploadQuota checks the per-session count (409) and the memory
// budget (507), each with a message saying what to do.
func TestUploadQuota(t *testing.T) {
	s := newTestServer(t, Options{MaxUploads: 2, UploadMemory: 3000})
	mustUpload(t, s, sessionA, filePart("a.csv", csvRows(12)))
	first := mustUpload(t, s, sessionA, filePart("b.csv", csvRows(12)))
	a := postUpload(t, s, sessionA, filePart("c.csv", csvRows(12)))
	if a.status != http.StatusConflict || !strings.Contains(string(a.body), "delete one") {
		t.Errorf("third upload: %d %s, want 409", a.status, a.body)
	}
	var e errorBody
	a.json(t, &e)
	checkMessage(t, e.Error, "", "delete one", false)
	if a := callAs(t, s, sessionA, "DELETE", "/api/datasets/"+first.ID, nil, ""); a.status != http.StatusNoContent {
		t.Fatalf("delete: %d", a.status)
	}
	mustUpload(t, s, sessionA, filePart("c.csv", csvRows(12)))

	a = postUpload(t, s, sessionB, filePart("big.csv", csvRows(200)))
	if a.status != http.StatusInsufficientStorage || !strings.Contains(string(a.body), "smaller file") {
		t.Errorf("an upload over the memory budget: %d %s, want 507", a.status, a.body)
	}
	a.json(t, &e)
	checkMessage(t, e.Error, "", "smaller file", false)
}

// TestRejectedUploadsLeaveServerServing floods the server with bad and
// oversized uploads while a run streams: the run's viewer gets every epoch
// and /healthz answers throughout.
func TestRejectedUploadsLeaveServerServing(t *testing.T) {
	gate := make(chan struct{})
	s := newTestServer(t, Options{
		NewTrainer: runnertest.Trainers(gate), NewProjector: runnertest.ColumnProjectors,
		Limits: dataset.Limits{MaxBytes: 200_000}, DataDir: t.TempDir(),
	})
	const epochs = 4
	c := createRun(t, s, map[string]any{"epochs": epochs, "dim": 4})
	conn := dial(t, s, c.ID, dialOptions{})

	var wg sync.WaitGroup
	bad := [][]part{
		{filePart("big.csv", "x,label\n"+strings.Repeat("1,a\n", 100_000))},
		{filePart("bomb.zip", zerosZip(t, 1, 1<<20))},
		{filePart("nan.csv", "x,y,label\n1,NaN,a\n")},
		{filePart("vectors.tsv", strings.Repeat("1\t2\n", 60_000))},
	}
	for i := range 8 {
		wg.Go(func() {
			a := postUpload(t, s, run.RandomHex(sessionIDBytes), bad[i%len(bad)]...)
			if a.status < 400 || a.status >= 500 {
				t.Errorf("bad upload %d: %d %s", i, a.status, a.body)
			}
		})
	}
	for range epochs {
		if a := call(t, s, "GET", "/healthz", nil, ""); a.status != http.StatusOK {
			t.Errorf("healthz: %d", a.status)
		}
		gate <- struct{}{}
	}
	wg.Wait()
	// This viewer read nothing meanwhile, so its live epochs conflated:
	// it sees the last one and done. A viewer joining now gets them all.
	msgs, status := readToEnd(t, conn)
	if last := msgs[len(msgs)-1]; status != websocket.StatusNormalClosure || last.Type != "done" || last.Epochs != epochs {
		t.Errorf("the viewer's stream ends %v with %v", types(msgs), status)
	}
	msgs, status = readToEnd(t, dial(t, s, c.ID, dialOptions{}))
	checkStream(t, msgs, status, epochs, 1797)
	if n := len(s.parseSlots); n != 0 {
		t.Errorf("%d parse slots still taken", n)
	}
	entries, _ := os.ReadDir(s.dataDir)
	if len(entries) != 0 {
		t.Errorf("spool files left behind: %v", entries)
	}
}

// TestUploadWhileShuttingDown refuses uploads once the server stops.
func TestUploadWhileShuttingDown(t *testing.T) {
	s := newTestServer(t, Options{})
	s.cancel()
	if a := postUpload(t, s, sessionA, filePart("data.csv", csvRows(12))); a.status != http.StatusServiceUnavailable {
		t.Errorf("upload during shutdown: %d %s", a.status, a.body)
	}
}

// TestSyntheticAndHomePage checks the synthetic flag of the bundled
// listening histories (list and hello) and that the home page lists a
// session's uploads to that session only.
func TestSyntheticAndHomePage(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	for _, d := range listDatasets(t, s, sessionA) {
		if want := d.ID == "interactions"; d.Synthetic != want || d.ID != d.Name || d.Uploaded {
			t.Errorf("%s: synthetic %v, id %q, uploaded %v", d.Name, d.Synthetic, d.ID, d.Uploaded)
		}
	}
	c := createRun(t, s, map[string]any{"dataset": "interactions", "epochs": 1, "dim": 4, "pairs": "cooccur"})
	hello := expectType(t, dial(t, s, c.ID, dialOptions{}), "hello")
	var h datasetHello
	if err := json.Unmarshal(hello.Dataset, &h); err != nil || !h.Synthetic || h.Uploaded || h.ID != "interactions" {
		t.Errorf("hello's dataset: %v, synthetic %v, uploaded %v, id %q", err, h.Synthetic, h.Uploaded, h.ID)
	}

	d := mustUpload(t, s, sessionA, filePart("mine.csv", csvRows(12)))
	a := callAs(t, s, sessionA, "GET", "/", nil, "")
	if !strings.Contains(string(a.body), `<li data-dataset="`+d.ID+`">`) || !strings.Contains(string(a.body), `value="`+d.ID+`"`) {
		t.Errorf("the uploader's home page does not offer the upload")
	}
	if b := callAs(t, s, sessionB, "GET", "/", nil, ""); strings.Contains(string(b.body), d.ID) {
		t.Errorf("another session's home page shows the upload")
	}
}

// TestInspectUpload answers the columns of a table from its first bytes,
// with roles guessed for its columns of words, and the format of others.
func TestInspectUpload(t *testing.T) {
	s := newTestServer(t, Options{DataDir: t.TempDir()})
	var sb strings.Builder
	sb.WriteString("sepal,petal,species\n")
	for i := range 300 {
		sb.WriteString(strings.Repeat("1", 1+i%3) + ".5,0.2," + []string{"setosa", "versicolor", "virginica"}[i%3] + "\n")
	}
	a := callAs(t, s, sessionA, "POST", "/api/datasets/inspect?name=iris.csv", []byte(sb.String()), "text/csv")
	var got inspectJSON
	a.json(t, &got)
	if a.status != 200 || got.Format != dataset.FormatCSV || got.Delimiter != "," || !got.NeedsChoice || len(got.Columns) != 3 {
		t.Fatalf("got %d %+v", a.status, got)
	}
	if c := got.Columns[2]; c.Name != "species" || c.Role != dataset.RoleLabel || !c.Guessed || c.Distinct != 3 {
		t.Errorf("species: %+v, want a guessed label of 3 classes", c)
	}
	// The options of the page change the answer: species chosen as the
	// label is no longer a guess.
	a = callAs(t, s, sessionA, "POST", "/api/datasets/inspect?name=iris.csv&label_column=species", []byte(sb.String()), "text/csv")
	got = inspectJSON{}
	a.json(t, &got)
	if got.NeedsChoice || got.Columns[2].Guessed {
		t.Errorf("with label_column=species: %+v", got)
	}
	for _, tt := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"notes.txt", "hello\nworld\n", 200, `"format":"text"`},
		{"grades.xlsx", "PK\x03\x04rest", 415, "save the sheet as CSV"},
		{"cat.png", "\x89PNG\r\n", 415, "put your pictures in a zip"},
		{"nums.csv", "1,2\n3,4\n", 400, "add a first line with a name for each column"},
	} {
		a := callAs(t, s, sessionA, "POST", "/api/datasets/inspect?name="+tt.name, []byte(tt.body), "application/octet-stream")
		if a.status != tt.status || !strings.Contains(string(a.body), tt.want) {
			t.Errorf("%s: %d %s, want %d with %q", tt.name, a.status, a.body, tt.status, tt.want)
		}
		if a.status != 200 {
			var e errorBody
			a.json(t, &e)
			checkMessage(t, e.Error, tt.name, tt.want, false)
		}
	}
}
