package dataset

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Format is an upload's file format.
type Format string

// The formats Parse reads.
const (
	FormatUnknown Format = ""
	// FormatCSV is a table with a header: numeric feature columns, an
	// optional label column and an optional text column; comma, semicolon
	// or tab separated.
	FormatCSV Format = "csv"
	// FormatImages is a zip of PNG or JPEG images, one folder per class.
	FormatImages Format = "images"
	// FormatText is plain text, one item per line, optionally
	// "label<TAB>text".
	FormatText Format = "text"
	// FormatInteractions is a CSV of user,item[,timestamp] rows.
	FormatInteractions Format = "interactions"
	// FormatProjector is TensorFlow Embedding Projector vectors: a TSV of
	// numbers, one vector per line, with an optional metadata TSV.
	FormatProjector Format = "projector"
)

// Limits bounds what Parse accepts, so that hostile or broken uploads are
// refused early and parsing uses bounded memory and time. A zero field takes
// its default (see DefaultLimits).
type Limits struct {
	MaxBytes        int64 // bytes read from the input (the archive itself for zips); 50 MB
	MaxItems        int   // items (points); 100,000
	MaxDims         int   // dense feature dimension (vector length, image side²); 4,096
	MaxClasses      int   // distinct labels; 1,000
	MaxLineBytes    int   // bytes in one line of any text format, and in one quoted CSV field; 1 MiB
	MaxFeatures     int   // stored sparse features over all texts; 20,000,000
	MaxUsers        int   // distinct users in interactions; 100,000
	MaxInteractions int   // interaction rows; 2,000,000
	// MaxDatasetBytes bounds the memory the parsed dataset will hold
	// (features, labels, splits, texts and names), checked as the sizes
	// become known and before the memory is allocated; 512 MiB.
	MaxDatasetBytes int64

	MaxEntries     int   // entries in a zip, folders included; 200,000
	MaxEntryBytes  int64 // uncompressed bytes of one zip entry; 16 MiB
	MaxTotalBytes  int64 // uncompressed bytes of all zip entries read; 512 MiB
	MaxRatio       int   // uncompressed/compressed size of an entry; 100
	MaxImagePixels int   // width×height of one image, from its header; 4096×4096
	// MaxPixels bounds width×height summed over all the images of one
	// upload, each counted from its header before it is decoded, so that
	// decoding costs bounded time however well the images compress; 300
	// million (see DefaultLimits).
	MaxPixels int64
}

// DefaultLimits returns the limits Parse applies by default.
//
// MaxPixels rests on what decoding and resizing cost per megapixel on one
// core (AMD EPYC, Go 1.26; see BenchmarkDecodeMegapixel): about 4 ms for
// 1-bit and 8-bit grey PNGs (a 1-bit 4096×4096 PNG zips to 2 kB and takes
// 70 ms), 9 ms for 8-bit RGBA PNGs, 15–30 ms for baseline JPEGs
// (progressive ones about 1.5 times that), and at worst about 65 ms for
// 16-bit RGBA PNGs whose every row is Paeth-filtered (130 kB zipped for 4
// megapixels). 300 megapixels thus cost at most about 20 s, and a few
// seconds for common images; images that cost more per megapixel compress
// so badly (noise: 1–3 bytes a pixel) that MaxBytes bounds them first. It
// leaves room for 100,000 images of 54×54 pixels, or two dozen
// 12-megapixel photos.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:        50_000_000,
		MaxItems:        100_000,
		MaxDims:         4096,
		MaxClasses:      1000,
		MaxLineBytes:    1 << 20,
		MaxFeatures:     20_000_000,
		MaxUsers:        100_000,
		MaxInteractions: 2_000_000,
		MaxDatasetBytes: 512 << 20,
		MaxEntries:      200_000,
		MaxEntryBytes:   16 << 20,
		MaxTotalBytes:   512 << 20,
		MaxRatio:        100,
		MaxImagePixels:  4096 * 4096,
		MaxPixels:       300_000_000,
	}
}

func (l Limits) resolved() Limits {
	d := DefaultLimits()
	def := func(v *int, dv int) {
		if *v <= 0 {
			*v = dv
		}
	}
	def64 := func(v *int64, dv int64) {
		if *v <= 0 {
			*v = dv
		}
	}
	def64(&l.MaxBytes, d.MaxBytes)
	def(&l.MaxItems, d.MaxItems)
	def(&l.MaxDims, d.MaxDims)
	def(&l.MaxClasses, d.MaxClasses)
	def(&l.MaxLineBytes, d.MaxLineBytes)
	def(&l.MaxFeatures, d.MaxFeatures)
	def(&l.MaxUsers, d.MaxUsers)
	def(&l.MaxInteractions, d.MaxInteractions)
	def64(&l.MaxDatasetBytes, d.MaxDatasetBytes)
	def(&l.MaxEntries, d.MaxEntries)
	def64(&l.MaxEntryBytes, d.MaxEntryBytes)
	def64(&l.MaxTotalBytes, d.MaxTotalBytes)
	def(&l.MaxRatio, d.MaxRatio)
	def(&l.MaxImagePixels, d.MaxImagePixels)
	def64(&l.MaxPixels, d.MaxPixels)
	return l
}

// Scaling says how CSV feature columns are rescaled after reading.
type Scaling string

// The scalings.
const (
	ScaleNone     Scaling = ""         // keep the values
	ScaleStandard Scaling = "standard" // each column to mean 0, standard deviation 1
	ScaleMinMax   Scaling = "minmax"   // each column to [0, 1]
)

// ParseOptions tunes Parse. The zero value detects the format and uses the
// defaults.
type ParseOptions struct {
	// Format forces a format; FormatUnknown detects it with Detect.
	Format Format
	// Limits bounds the input; zero fields take DefaultLimits.
	Limits Limits
	// Context stops the parse when it ends (the upload's request went
	// away, the server is shutting down): Parse checks it between images
	// and every few thousand lines, and then returns an error wrapping
	// Context.Err(), not a *ParseError. Nil means context.Background().
	Context context.Context

	// LabelColumn names the label column of a CSV, interactions or
	// projector metadata file (case-insensitive). Empty picks a column
	// named label, class or category (genre too, for interactions); "-"
	// means none.
	LabelColumn string
	// TextColumn names the text column of a CSV or projector metadata
	// file. Empty picks a column named text (for metadata: the first
	// column that is not the label); "-" means none.
	TextColumn string
	// IDColumn names a CSV column that names each item (shown beside it
	// when there is no text column) and is not a feature. Empty picks a
	// column named id; "-" means none.
	IDColumn string
	// IgnoreColumns names CSV columns that are read past, neither features
	// nor label, text or id (case-insensitive).
	IgnoreColumns []string
	// DecimalComma reads "3,5" as 3.5 in CSV feature columns, as
	// spreadsheets in much of Europe write numbers. Files separated by
	// semicolons or tabs are read so without it (a comma cannot be their
	// separator); a comma-separated file cannot have decimal commas.
	DecimalComma bool
	// Delimiter forces the CSV field separator; 0 sniffs it from the first
	// line (comma, semicolon or tab), falling back on the file extension.
	Delimiter rune
	// Scale rescales CSV feature columns; ScaleNone by default.
	Scale Scaling

	// Side is the side length images are resized to, 4..64 with
	// Side² ≤ MaxDims; 0 means 28.
	Side int
	// Invert maps dark pixels to 1 instead of light ones, for dark ink on
	// light paper (the bundled images are light ink on black).
	Invert bool

	// Hash chooses the text features; zero fields take their defaults.
	Hash HashOptions

	// TestFraction is the share of each class (of the unlabelled items
	// too) held out for evaluation, in [0, 0.9]; 0 means 0.2. Use a
	// negative value to hold out nothing.
	TestFraction float64
	// Seed fixes which items are held out; the same file, options and seed
	// always give the same split.
	Seed uint64

	// Metadata is the projector metadata.tsv when it is uploaded apart from
	// vectors.tsv, and MetadataName its file name (for messages). Nil for
	// none; a zip holding vectors.tsv and metadata.tsv needs neither.
	Metadata     io.Reader
	MetadataName string
}

// ParseError reports bad input: the file, and where known the 1-based line
// and column. Column counts fields (1 is the first field) in delimited files
// (CSV, TSV, interactions, projector files), as a spreadsheet numbers its
// columns, and characters in plain text. Line and Column are 0 when they do
// not apply. A record whose quoted field spans lines is reported at the
// line it starts on.
//
// Msg is written for the person who uploaded the file: what is wrong in
// plain words, then after a colon what to do about it, naming the upload
// options of the web page (Label column, Separator, Image side...) where
// one of them is the fix. It never holds the text of a Go error: when one
// is behind the problem (a read that failed, a damaged zip), Unwrap
// returns it and Error, the form for logs and the command line, adds it.
type ParseError struct {
	File         string // base name of the file, "archive.zip/folder/entry" inside a zip
	Line, Column int
	Msg          string
	err          error // the failure behind Msg, if any
}

// Error returns "file:line:column: message", dropping the position parts
// that are 0, and the error behind the message in parentheses if there is
// one.
func (e *ParseError) Error() string {
	msg := e.Msg
	if e.err != nil {
		msg += " (" + e.err.Error() + ")"
	}
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, msg)
	default:
		return fmt.Sprintf("%s: %s", e.File, msg)
	}
}

// Human is the message for a person, as the web page shows it: "data.csv,
// line 12, column 3: msg", without the error behind it.
func (e *ParseError) Human() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s, line %d, column %d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s, line %d: %s", e.File, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
}

// Unwrap returns the error behind the message, or nil.
func (e *ParseError) Unwrap() error { return e.err }

// MinItems is the fewest items Parse accepts.
const MinItems = 10

// sniffBytes is how much of the input Parse looks at to detect its format.
const sniffBytes = 4096

// Detect guesses an upload's format from its name and its first bytes
// (Parse passes up to 4 KiB). Zips (by signature or extension) are image
// archives; .txt files are text; a first line of tab-separated numbers is
// Embedding Projector vectors; a header naming a user and an item column is
// interactions; other delimited files (.csv, .tsv, or a first line with
// commas, semicolons or tabs) are CSV; anything else non-empty is text. It
// returns FormatUnknown for empty input without a telling extension, and
// for lone images, spreadsheets, documents and packed archives other than
// zips, told by their extension.
func Detect(name string, head []byte) Format {
	ext := strings.ToLower(path.Ext(baseName(name)))
	switch ext {
	case ".xlsx", ".xls", ".ods", ".numbers", ".docx", ".pptx", ".jar", ".apk", ".epub":
		// Zips inside, but not of images.
		return FormatUnknown
	}
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")) || ext == ".zip" {
		return FormatImages
	}
	switch ext {
	case ".txt":
		return FormatText
	case ".png", ".jpg", ".jpeg", ".gif", ".webp", ".gz", ".tgz", ".tar", ".rar", ".7z", ".bz2", ".xz", ".pdf", ".doc":
		return FormatUnknown
	}
	head = bytes.TrimPrefix(head, utf8BOM)
	line := firstLine(head)
	if len(bytes.TrimSpace(line)) == 0 {
		if ext == ".csv" || ext == ".tsv" {
			return FormatCSV
		}
		if len(bytes.TrimSpace(head)) == 0 {
			return FormatUnknown
		}
		return FormatText
	}
	if allNumbers(bytes.Split(line, []byte{'\t'})) && (ext == ".tsv" || bytes.IndexByte(line, '\t') >= 0) {
		return FormatProjector
	}
	delim, seps := sniff(line, ext)
	fields := strings.Split(strings.ToLower(string(line)), string(delim))
	if headerNames(fields) {
		return FormatInteractions
	}
	if ext == ".csv" || ext == ".tsv" || ext == ".tab" || seps > 0 {
		return FormatCSV
	}
	return FormatText
}

var utf8BOM = []byte("\xef\xbb\xbf")

// firstLine returns b up to its first line end: "\n", "\r\n" or a lone
// "\r" (classic Mac OS).
func firstLine(b []byte) []byte {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		return b[:i]
	}
	return b
}

func allNumbers(fields [][]byte) bool {
	for _, f := range fields {
		if _, err := strconv.ParseFloat(string(bytes.TrimSpace(f)), 64); err != nil {
			return false
		}
	}
	return len(fields) > 0
}

// sniffDelimiter picks the most frequent of comma, semicolon and tab
// outside double quotes in line; ties and absence go to the extension's
// separator (tab for .tsv and .tab, else comma).
func sniffDelimiter(line []byte, ext string) rune {
	d, _ := sniff(line, ext)
	return d
}

// sniff is sniffDelimiter, also returning how often the delimiter occurs.
func sniff(line []byte, ext string) (rune, int) {
	def := ','
	if ext == ".tsv" || ext == ".tab" {
		def = '\t'
	}
	var counts [3]int
	quoted := false
	for _, c := range line {
		switch c {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				counts[0]++
			}
		case ';':
			if !quoted {
				counts[1]++
			}
		case '\t':
			if !quoted {
				counts[2]++
			}
		}
	}
	best, bestN := def, 0
	for i, d := range []rune{',', ';', '\t'} {
		if counts[i] > bestN || counts[i] == bestN && counts[i] > 0 && d == def {
			best, bestN = d, counts[i]
		}
	}
	return best, bestN
}

// Parse reads an uploaded file into a Dataset. name is the file's name as
// uploaded (only its base name is used, for format detection and messages);
// r streams its contents. Parse reads at most opts.Limits.MaxBytes+1 bytes
// (the extra byte tells a file of exactly the limit from a longer one) and
// validates as it reads, so it stops at the first problem. Zips are read
// into memory whole (they are at most MaxBytes); everything else streams.
//
// Every problem with the input or the options is reported as a *ParseError
// naming the file, line and column. Typical errors: an empty file, fewer
// than MinItems items, NaN or infinite numbers, rows of the wrong length,
// invalid UTF-8, no usable feature, text or id column, and anything over a
// limit. Parse never panics on any input. When opts.Context ends, Parse
// stops soon after (at the next image, or within a few thousand lines) and
// returns an error wrapping the context's error.
//
// Lines may end in "\n", "\r\n" or a lone "\r". Class and item names are
// kept for display clipped to 100 characters (and an ellipsis); names that
// differ only after that stay distinct classes, told apart by a " (2)",
// " (3)"... suffix.
//
// The dataset is named after the file (Name is the base name without
// extension), has a seeded held-out split (opts.TestFraction of each class)
// and passes Validate.
func Parse(name string, r io.Reader, opts ParseOptions) (*Dataset, error) {
	p, err := newParser(name, r, opts)
	if err != nil {
		return nil, err
	}
	if err := p.stopped(); err != nil {
		return nil, err
	}
	format := opts.Format
	if format == FormatUnknown {
		head, err := p.in.Peek(sniffBytes)
		switch {
		case p.in.tooBig():
			p.format = Detect(p.file, head)
			return nil, p.fail(0, 0, p.tooBigMsg())
		case err != nil && err != io.EOF && err != bufio.ErrBufferFull:
			return nil, p.readFailed(err)
		}
		if len(head) == 0 {
			return nil, p.fail(0, 0, msgEmpty)
		}
		format = Detect(p.file, head)
	}
	p.format = format
	var ds *Dataset
	switch format {
	case FormatCSV:
		ds, err = p.parseCSV()
	case FormatText:
		ds, err = p.parseText()
	case FormatImages:
		ds, err = p.parseZip()
	case FormatInteractions:
		ds, err = p.parseInteractions()
	case FormatProjector:
		ds, err = p.parseProjector(p.in.Reader, p.file, opts.Metadata, opts.MetadataName)
	case FormatUnknown:
		return nil, p.fail(0, 0, "the explorer cannot read this type of file: "+MsgFormats)
	default:
		return nil, p.fail(0, 0, fmt.Sprintf("%s is not a format the explorer knows: "+
			"choose csv, images, text, interactions or projector, or let the explorer tell from the file", quote(string(format))))
	}
	if err != nil {
		return nil, err
	}
	if err := p.stopped(); err != nil {
		return nil, err
	}
	if err := p.finish(ds); err != nil {
		return nil, err
	}
	return ds, nil
}

// parser carries one Parse call's input, options and resolved limits.
type parser struct {
	file   string // base name for messages
	format Format // once known, for the messages
	in     *input
	opts   ParseOptions
	ctx    context.Context
	lim    Limits
	side   int
	frac   float64
}

func newParser(name string, r io.Reader, opts ParseOptions) (*parser, error) {
	p := &parser{file: baseName(name), opts: opts, ctx: opts.Context, lim: opts.Limits.resolved()}
	if p.ctx == nil {
		p.ctx = context.Background()
	}
	p.in = newInput(r, p.lim.MaxBytes)
	p.side = opts.Side
	if p.side == 0 {
		p.side = 28
	}
	switch {
	case p.side < 4 || p.side > 64:
		return nil, p.fail(0, 0, fmt.Sprintf("an Image side of %d pixels is outside 4 to 64: choose an Image side from 4 to 64 in the upload options", opts.Side))
	case opts.TestFraction > 0.9 || opts.TestFraction != opts.TestFraction:
		return nil, p.fail(0, 0, fmt.Sprintf("a test fraction of %v is outside 0 to 0.9: hold out at most 90%% of the items", opts.TestFraction))
	case opts.Scale != ScaleNone && opts.Scale != ScaleStandard && opts.Scale != ScaleMinMax:
		return nil, p.fail(0, 0, fmt.Sprintf("%s is not a Scaling the explorer knows: choose none, standard or minmax", quote(string(opts.Scale))))
	case opts.Delimiter != 0 && opts.Delimiter != ',' && opts.Delimiter != ';' && opts.Delimiter != '\t' && opts.Delimiter != '|':
		return nil, p.fail(0, 0, fmt.Sprintf("%s cannot be the Separator: choose comma, semicolon, tab or | in the upload options", quote(string(opts.Delimiter))))
	case opts.DecimalComma && opts.Delimiter == ',':
		return nil, p.fail(0, 0, msgDecimalCommaSeparator)
	}
	if err := opts.Hash.check(); err != nil {
		return nil, p.fail(0, 0, err.Error()+": leave the text features at their defaults")
	}
	p.frac = opts.TestFraction
	switch {
	case p.frac == 0:
		p.frac = 0.2
	case p.frac < 0:
		p.frac = 0
	}
	return p, nil
}

// baseName returns the last element of an uploaded file's name, whichever
// separator the client used, made printable and short.
func baseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToValidUTF8(name, "\uFFFD")
	name = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, name)
	name = displayName(name)
	if name == "" {
		name = "upload"
	}
	return name
}

// maxNameChars is how many characters of a file, class or item name are
// kept for display.
const maxNameChars = 100

// displayName clips name to maxNameChars characters, marking the cut with
// "…".
func displayName(name string) string {
	if len(name) <= maxNameChars {
		return name
	}
	n := 0
	for i := range name {
		if n == maxNameChars {
			return name[:i] + "…"
		}
		n++
	}
	return name
}

func (p *parser) fail(line, col int, msg string) *ParseError {
	return &ParseError{File: p.file, Line: line, Column: col, Msg: msg}
}

// readFailed reports err, a failure to read the input.
func (p *parser) readFailed(err error) *ParseError {
	return &ParseError{File: p.file, Msg: msgReadFailed, err: err}
}

// ctxEvery is how many lines, texts or users go by between two looks at
// the context: often enough to stop within milliseconds, rarely enough to
// cost nothing.
const ctxEvery = 4096

// stopped returns an error wrapping the context's once it has ended.
func (p *parser) stopped() error {
	if err := p.ctx.Err(); err != nil {
		return fmt.Errorf("dataset: parsing %s stopped: %w", p.file, err)
	}
	return nil
}

// overBudget reports whether a dataset holding held bytes would pass
// MaxDatasetBytes; budgetMsg says so.
func (p *parser) overBudget(held int64) bool { return held > p.lim.MaxDatasetBytes }

// Bytes the parsed dataset holds besides its features: per item a label and
// a split, per string its header and its bytes.
const (
	itemBytes   = 5
	stringBytes = 16
)

// FormatSize formats a byte count the way limit messages state it: "50 MB",
// "64 MiB", "10 kB" when the count is a whole number of those, else bytes.
func FormatSize(n int64) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%d MB", n/1_000_000)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%d kB", n/1000)
	}
	return fmt.Sprintf("%d bytes", n)
}

// finish fills in what every parser shares: names, the split, the class
// order, and a final validation.
func (p *parser) finish(ds *Dataset) error {
	if n := ds.Len(); n < MinItems {
		return p.fail(0, 0, p.tooFewMsg(n))
	}
	base := strings.TrimSuffix(p.file, path.Ext(p.file))
	ds.Name = base
	ds.Title = base
	ds.Source = "uploaded file " + p.file
	ds.License = "as provided by the uploader"
	if ds.Description == "" {
		ds.Description = describe(ds, p.file)
	}
	sortClasses(ds)
	ds.Splits = stratifiedSplit(ds.Labels, p.frac, p.opts.Seed)
	if err := ds.Validate(); err != nil {
		// A parser let through something Validate rejects: report it as bad
		// input rather than hand over a broken dataset, keeping Validate's
		// words for the log.
		return &ParseError{File: p.file, Msg: msgInconsistent, err: err}
	}
	return nil
}

func describe(ds *Dataset, file string) string {
	var what string
	switch ds.Kind {
	case Images:
		what = fmt.Sprintf("%d images of %d×%d pixels", ds.Len(), ds.Width, ds.Height)
	case Text:
		what = fmt.Sprintf("%d texts", ds.Len())
	case Interactions:
		what = fmt.Sprintf("%d items that %d users interacted with", ds.Len(), len(ds.Users))
	default:
		what = fmt.Sprintf("%d vectors of %d numbers", ds.Len(), ds.Dim)
		if ds.Precomputed {
			what = fmt.Sprintf("%d precomputed embeddings of dimension %d", ds.Len(), ds.Dim)
		}
	}
	if len(ds.ClassNames) > 0 {
		what += fmt.Sprintf(" in %d classes", len(ds.ClassNames))
	}
	return fmt.Sprintf("Uploaded from %s: %s.", file, what)
}

// floats collects the values of a table of unknown length in blocks, so
// that reading it neither copies one ever larger slice nor leaves the old
// copies behind (append's growth allocates about five times the final size
// in all); flat joins them once the whole input has been accepted.
type floats struct {
	blocks [][]float32
	n      int
}

// add appends v.
func (f *floats) add(v float32) {
	if len(f.blocks) == 0 || len(f.blocks[len(f.blocks)-1]) == cap(f.blocks[len(f.blocks)-1]) {
		// Small blocks at first for small tables, and never one so large
		// that the part left empty matters.
		f.blocks = append(f.blocks, make([]float32, 0, min(max(f.n, 1024), 64<<10)))
	}
	last := &f.blocks[len(f.blocks)-1]
	*last = append(*last, v)
	f.n++
}

// flat returns all the values in one slice.
func (f *floats) flat() []float32 {
	x := make([]float32, 0, f.n)
	for _, b := range f.blocks {
		x = append(x, b...)
	}
	return x
}

// classes numbers label names in order of first appearance, up to a limit.
// Labels are told apart by their whole names; names keeps them for
// display, clipped to maxNameChars characters.
type classes struct {
	index   map[string]int32
	names   []string
	clipped map[string]int // how many names were clipped to each display name
	max     int
}

func newClasses(max int) *classes { return &classes{index: map[string]int32{}, max: max} }

// id returns name's label; ok is false when it would be one class too many.
func (c *classes) id(name string) (l int32, ok bool) {
	if l, ok := c.index[name]; ok {
		return l, true
	}
	if len(c.names) >= c.max {
		return NoLabel, false
	}
	l = int32(len(c.names))
	c.index[strings.Clone(name)] = l
	c.names = append(c.names, c.display(name))
	return l, true
}

// idBytes is id for a name in a buffer that is reused: finding a known
// name copies nothing.
func (c *classes) idBytes(name []byte) (int32, bool) {
	if l, ok := c.index[string(name)]; ok {
		return l, true
	}
	return c.id(string(name))
}

// display clips a new class's name. Two names that share their first
// maxNameChars characters would show alike, so the second gets " (2)", the
// third " (3)" and so on; an unclipped name is never that long, so these
// cannot meet one.
func (c *classes) display(name string) string {
	d := displayName(name)
	if len(d) == len(name) {
		return strings.Clone(name)
	}
	if c.clipped == nil {
		c.clipped = map[string]int{}
	}
	c.clipped[d]++
	if k := c.clipped[d]; k > 1 {
		d += fmt.Sprintf(" (%d)", k)
	}
	return d
}

// sortClasses orders ds.ClassNames (numerically when every name is an
// integer, else by string) and renumbers the labels to match, so that the
// class order does not depend on the order of the rows.
func sortClasses(ds *Dataset) {
	names := ds.ClassNames
	if len(names) < 2 {
		return
	}
	order := make([]int, len(names))
	for i := range order {
		order[i] = i
	}
	numeric := true
	nums := make([]int64, len(names))
	for i, s := range names {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			numeric = false
			break
		}
		nums[i] = v
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if numeric {
			return cmpInt(nums[a], nums[b])
		}
		return strings.Compare(names[a], names[b])
	})
	remap := make([]int32, len(names))
	sorted := make([]string, len(names))
	for to, from := range order {
		remap[from] = int32(to)
		sorted[to] = names[from]
	}
	for i, l := range ds.Labels {
		if l != NoLabel {
			ds.Labels[i] = remap[l]
		}
	}
	ds.ClassNames = sorted
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// stratifiedSplit holds out round(frac×size) items of each label group
// (unlabelled items form a group of their own), chosen by a Fisher–Yates
// shuffle driven by SplitMix64 from seed, which is fully specified here so
// the split cannot drift with the Go release.
func stratifiedSplit(labels []int32, frac float64, seed uint64) []Split {
	splits := make([]Split, len(labels))
	if frac <= 0 {
		return splits
	}
	groups := map[int32][]int{}
	var keys []int32
	for i, l := range labels {
		if _, ok := groups[l]; !ok {
			keys = append(keys, l)
		}
		groups[l] = append(groups[l], i)
	}
	slices.Sort(keys)
	for _, k := range keys {
		idx := groups[k]
		rng := splitMix(seed ^ uint64(int64(k))*0x9e3779b97f4a7c15)
		for i := len(idx) - 1; i > 0; i-- {
			j := int(rng.next() % uint64(i+1))
			idx[i], idx[j] = idx[j], idx[i]
		}
		test := int(frac*float64(len(idx)) + 0.5)
		for _, i := range idx[:test] {
			splits[i] = Test
		}
	}
	return splits
}

// splitMix is Steele, Lea and Flood's SplitMix64 generator.
type splitMix uint64

func (s *splitMix) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	return mix(uint64(*s))
}

// input wraps an upload's reader: it counts bytes, fails once more than max
// were read, and buffers for look-ahead and line reading.
type input struct {
	*bufio.Reader
	lr *limitReader
}

func newInput(r io.Reader, max int64) *input {
	lr := &limitReader{r: r, max: max}
	return &input{Reader: bufio.NewReaderSize(lr, 64<<10), lr: lr}
}

func (in *input) tooBig() bool { return in.lr.n > in.lr.max }

var errTooBig = errors.New("input over the size limit")

// limitReader reads at most max+1 bytes from r, then fails with errTooBig:
// the extra byte tells an input of exactly max bytes from a longer one.
type limitReader struct {
	r      io.Reader
	n, max int64
}

func (l *limitReader) Read(b []byte) (int, error) {
	if l.n > l.max {
		return 0, errTooBig
	}
	if rem := l.max + 1 - l.n; int64(len(b)) > rem {
		b = b[:rem]
	}
	k, err := l.r.Read(b)
	l.n += int64(k)
	if l.n > l.max {
		return k, errTooBig
	}
	return k, err
}

// quote shows a bad value in a message: quoted, escaped, at most 40
// characters.
func quote(s string) string {
	if len(s) > 40 {
		cut := 40
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

// numProblem is what is wrong with a value that should be a number.
type numProblem uint8

const (
	numOK        numProblem = iota
	numEmpty                // nothing but spaces
	numNotNumber            // words, or a number written otherwise than Go reads it
	numNotFinite            // NaN or an infinity
	numTooLarge             // beyond the float's range
)

// parseNumber parses a feature value as float32, rejecting NaN, infinities
// and values outside float32's range.
func parseNumber(s string) (float32, numProblem) {
	v, prob := parseFloat(s, 32)
	return float32(v), prob
}

// parseFloat parses a finite number of the given bit size (32 or 64).
func parseFloat(s string, bits int) (float64, numProblem) {
	if len(s) > 0 && (s[0] <= ' ' || s[len(s)-1] <= ' ') {
		s = strings.TrimSpace(s)
	}
	if s == "" {
		return 0, numEmpty
	}
	v, err := strconv.ParseFloat(s, bits)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, numTooLarge
		}
		return 0, numNotNumber
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, numNotFinite
	}
	return v, numOK
}
