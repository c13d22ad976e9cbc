package dataset

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// Column names that take a role in a CSV without being chosen by an option,
// compared case-insensitively.
var (
	labelNames = []string{"label", "class", "category"}
	textNames  = []string{"text"}
	idNames    = []string{"id"}
)

// csvReader reads delimited records (RFC 4180: fields may be quoted with
// double quotes, "" inside quotes is one quote, and quoted fields may span
// lines) from the parser's input. Blank lines are skipped. Fields are
// handed out as bytes in the reader's buffers, so that numbers are parsed
// without copying the line, and only what is kept is copied.
type csvReader struct {
	p      *parser
	lr     *lineReader
	delim  byte
	fields [][]byte
	quoted []byte // a quoted record's fields, end to end
	bounds []int  // start and end of each field in quoted
	line   int    // line of the last record's start
}

func (p *parser) newCSVReader(ext string) *csvReader {
	if b, _ := p.in.Peek(3); string(b) == string(utf8BOM) {
		p.in.Discard(3)
	}
	delim := p.opts.Delimiter
	if delim == 0 {
		head, _ := p.in.Peek(sniffBytes)
		delim = sniffDelimiter(firstLine(head), ext)
	}
	return &csvReader{p: p, lr: p.lines(p.in.Reader, p.file), delim: byte(delim)}
}

// read returns the next record, io.EOF at the end, or a *ParseError. The
// fields are valid until the next call: keep a copy (string(f)) of what
// is kept.
func (c *csvReader) read() ([][]byte, error) {
	var b []byte
	for {
		var err error
		if b, err = c.lr.next(); err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(b)) > 0 {
			break
		}
	}
	c.line = c.lr.line
	c.fields = c.fields[:0]
	valid := false
	if bytes.IndexByte(b, '"') < 0 {
		valid = utf8.Valid(b)
		for {
			i := bytes.IndexByte(b, c.delim)
			if i < 0 {
				c.fields = append(c.fields, b)
				break
			}
			c.fields = append(c.fields, b[:i:i])
			b = b[i+1:]
		}
	} else if err := c.splitQuoted(b); err != nil {
		return nil, err
	}
	if !valid {
		for i, f := range c.fields {
			if !utf8.Valid(f) {
				return nil, c.p.fail(c.line, i+1, msgCellUTF8)
			}
		}
	}
	return c.fields, nil
}

// splitQuoted splits a line holding double quotes, reading on while a
// quoted field continues past the end of the line. The fields are copied
// into c.quoted, as reading the next line reuses the line's buffer.
func (c *csvReader) splitQuoted(s []byte) error {
	buf, bounds := c.quoted[:0], c.bounds[:0]
	defer func() { c.quoted, c.bounds = buf, bounds }()
	for {
		col := len(bounds)/2 + 1
		start := len(buf)
		k := 0
		for k < len(s) && s[k] == ' ' {
			k++
		}
		if k < len(s) && s[k] == '"' {
			s = s[k+1:]
			for {
				j := bytes.IndexByte(s, '"')
				if j < 0 { // the field goes on on the next line
					buf = append(append(buf, s...), '\n')
					next, err := c.lr.next()
					if err == io.EOF {
						return c.p.fail(c.line, col, `this cell opens a quote (") that never closes: add the closing ", or remove the opening one`)
					}
					if err != nil {
						return err
					}
					if len(buf)-start+len(next) > c.lr.max {
						return c.p.fail(c.line, col, "this quoted cell runs on for more than "+FormatSize(int64(c.lr.max))+
							`, so its closing quote is probably missing: add the closing " where the cell ends`)
					}
					s = next
					continue
				}
				buf = append(buf, s[:j]...)
				s = s[j+1:]
				if len(s) > 0 && s[0] == '"' {
					buf = append(buf, '"')
					s = s[1:]
					continue
				}
				break
			}
			bounds = append(bounds, start, len(buf))
			s = bytes.TrimLeft(s, " ")
			if len(s) == 0 {
				break
			}
			if s[0] != c.delim {
				return c.p.fail(c.line, col, `there is text after the closing quote of this cell: put the whole cell in quotes, and double each " inside it ("")`)
			}
			s = s[1:]
			continue
		}
		i := bytes.IndexByte(s, c.delim)
		f := s
		if i >= 0 {
			f = s[:i]
		}
		if bytes.IndexByte(f, '"') >= 0 {
			return c.p.fail(c.line, col, `this cell holds a " but is not in quotes: put the whole cell in quotes and double the " inside it (""), or remove the "`)
		}
		buf = append(buf, f...)
		bounds = append(bounds, start, len(buf))
		if i < 0 {
			break
		}
		s = s[i+1:]
	}
	for k := 0; k < len(bounds); k += 2 {
		c.fields = append(c.fields, buf[bounds[k]:bounds[k+1]:bounds[k+1]])
	}
	return nil
}

func (c *csvReader) fieldLine(int) int { return c.line }

// ragged reports a record whose length differs from the header's.
func (c *csvReader) ragged(got, want int) *ParseError {
	return c.p.fail(c.line, min(got, want)+1, raggedMsg(got, want, "the header"))
}

// raggedMsg refuses a row of got cells where first (the header, or the
// first row) has want.
func raggedMsg(got, want int, first string) string {
	fix := "add the missing cells (they may be empty), or delete the row"
	if got > want {
		fix = "put quotes around cells that hold the separator, or remove the extra cells"
	}
	return fmt.Sprintf("this row has %d %s but %s has %d: %s", got, plural(got, "cell", "cells"), first, want, fix)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// findColumn returns the index of the header column named by option opt
// (case-insensitive), or when opt is empty of the first column with one of
// the default names; -1 for none. A named column that does not exist gives
// a message for line 1.
func findColumn(header []string, opt string, defaults []string, what string) (int, string) {
	if opt == "-" {
		return -1, ""
	}
	if opt != "" {
		for i, h := range header {
			if strings.EqualFold(strings.TrimSpace(h), strings.TrimSpace(opt)) {
				return i, ""
			}
		}
		return -1, fmt.Sprintf("there is no column named %s to be the %s: the header names %s; choose one of those in the upload options",
			quote(opt), roleOption(what), headerList(header))
	}
	for i, h := range header {
		if isOneOf(h, defaults) {
			return i, ""
		}
	}
	return -1, ""
}

// parseCSV reads a table with a header. Columns named as the label, the
// text and the id (by the options, or by default names) are taken as such,
// ignored ones are skipped, and every other column is a numeric feature. With feature columns the dataset is Kind Vectors
// (the text column, if any, is the display payload); with only a text
// column it is Kind Text with hashed features.
func (p *parser) parseCSV() (*Dataset, error) {
	c := p.newCSVReader(strings.ToLower(path.Ext(p.file)))
	rec, err := c.read()
	if err == io.EOF {
		return nil, p.fail(0, 0, msgEmpty)
	}
	if err != nil {
		return nil, err
	}
	header := make([]string, len(rec))
	for i, h := range rec {
		header[i] = strings.TrimSpace(string(h))
	}
	if countNumbers(header) == len(header) {
		return nil, p.fail(1, 1, msgNumericHeader)
	}
	labelCol, msg := findColumn(header, p.opts.LabelColumn, labelNames, "label")
	if msg != "" {
		return nil, p.fail(1, 0, msg)
	}
	textCol, msg := findColumn(header, p.opts.TextColumn, textNames, "text")
	if msg != "" {
		return nil, p.fail(1, 0, msg)
	}
	if textCol == labelCol {
		textCol = -1
	}
	idCol, msg := findColumn(header, p.opts.IDColumn, idNames, "id")
	if msg != "" {
		return nil, p.fail(1, 0, msg)
	}
	if idCol == labelCol || idCol == textCol {
		idCol = -1
	}
	ignored := make([]bool, len(header))
	for _, name := range p.opts.IgnoreColumns {
		j := slices.IndexFunc(header, func(h string) bool { return strings.EqualFold(h, strings.TrimSpace(name)) })
		if j < 0 {
			return nil, p.fail(1, 0, fmt.Sprintf("there is no column named %s to Ignore: the header names %s; choose one of those in the upload options",
				quote(name), headerList(header)))
		}
		ignored[j] = true
	}
	decimalComma := readsDecimalCommas(p.opts, c.delim)
	if p.opts.DecimalComma && c.delim == ',' {
		return nil, p.fail(1, 0, "this file is separated by commas, so its numbers cannot have decimal commas: "+
			"turn off Decimal comma in the upload options, or save the file with semicolons between the columns")
	}
	var feats []int // indices of the feature columns
	for i := range header {
		if i == labelCol || i == textCol || i == idCol || ignored[i] {
			continue
		}
		feats = append(feats, i)
		if len(feats) > p.lim.MaxDims {
			return nil, p.fail(1, i+1, fmt.Sprintf("more than %d columns of numbers, the most the explorer takes: "+
				"delete columns, or Ignore some in the upload options, until at most %d are left", p.lim.MaxDims, p.lim.MaxDims))
		}
	}
	// Without a text column, the id names each item.
	shownCol := textCol
	if textCol < 0 && len(feats) > 0 {
		shownCol = idCol
	}
	if len(feats) == 0 && textCol < 0 {
		return nil, p.fail(1, 0, "no column holds numbers or text to explore: add columns of numbers, or choose a Text column in the upload options")
	}

	ds := &Dataset{Kind: Vectors, Dim: len(feats)}
	cls := newClasses(p.lim.MaxClasses)
	var texts []string
	var tf *textFeatures // for a text-only table
	if len(feats) == 0 {
		tf = p.newTextFeatures()
		ds.Kind, ds.Hash, ds.Dim = Text, tf.hasher.Options(), tf.hasher.Options().Buckets
	}
	var held int64 // bytes of the dense features, labels and texts
	var xs floats
	for {
		rec, err := c.read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rec) != len(header) {
			return nil, c.ragged(len(rec), len(header))
		}
		if ds.Len() >= p.lim.MaxItems {
			return nil, p.fail(c.line, 0, p.tooManyMsg())
		}
		if held += 4*int64(len(feats)) + itemBytes; p.overBudget(held) {
			return nil, p.fail(c.line, 0, p.budgetMsg())
		}
		for _, j := range feats {
			f := rec[j]
			if decimalComma && bytes.IndexByte(f, ',') >= 0 {
				f = bytes.ReplaceAll(f, []byte{','}, []byte{'.'})
			}
			// The conversion copies nothing that lasts: parseNumber keeps no
			// reference, so a short field goes on the stack.
			v, prob := parseNumber(string(f))
			if prob != numOK {
				return nil, p.fail(c.fieldLine(j), j+1, cellMsg(prob, string(rec[j]), header[j], ds.Len() == 0, decimalComma, c.delim))
			}
			xs.add(v)
		}
		label := int32(NoLabel)
		if labelCol >= 0 {
			if name := bytes.TrimSpace(rec[labelCol]); len(name) > 0 {
				var ok bool
				if label, ok = cls.idBytes(name); !ok {
					return nil, p.fail(c.fieldLine(labelCol), labelCol+1, p.tooManyLabelsMsg(cls.max, header[labelCol]))
				}
			}
		}
		ds.Labels = append(ds.Labels, label)
		if shownCol >= 0 {
			t := string(bytes.TrimSpace(rec[shownCol]))
			if tf != nil {
				if msg, inText := tf.add(t); msg != "" {
					if inText {
						return nil, p.fail(c.fieldLine(shownCol), shownCol+1, msg)
					}
					return nil, p.fail(c.line, 0, msg)
				}
			} else if held += stringBytes + int64(len(t)); p.overBudget(held) {
				return nil, p.fail(c.line, 0, p.budgetMsg())
			}
			texts = append(texts, t)
		}
	}
	ds.ClassNames = cls.names
	ds.Text = texts
	if tf == nil {
		ds.X = xs.flat()
	} else {
		sp, err := tf.build(texts)
		if err != nil {
			return nil, err
		}
		ds.Sparse = sp
	}
	if ds.Kind == Vectors {
		scale(ds.X, ds.Dim, p.opts.Scale)
	}
	return ds, nil
}

// msgNumericHeader refuses a table whose first line holds only numbers.
const msgNumericHeader = "the first line holds only numbers, but it must name the columns: " +
	"add a first line with a name for each column (such as x,y,label)"

// cellMsg says what is wrong with value, which is not a number, in the
// feature column named column, and how to fix it: first tells the first
// data row (where a column of words is more likely a label or a name than
// a typo), decimalComma whether commas were read as decimal points, delim
// is the separator.
func cellMsg(prob numProblem, value, column string, first, decimalComma bool, delim byte) string {
	v, col := quote(strings.TrimSpace(value)), quote(column)
	switch prob {
	case numEmpty:
		return fmt.Sprintf("the cell in column %s is empty: put a number in it, or delete the row", col)
	case numNotFinite:
		return fmt.Sprintf("%s in column %s is not a number: put a number in that cell, or delete the row", v, col)
	case numTooLarge:
		return fmt.Sprintf("%s in column %s is too large a number (the most is about 3.4e38): correct that cell, or scale the column down", v, col)
	}
	if !decimalComma && strings.IndexByte(value, ',') >= 0 {
		if _, p := parseNumber(strings.ReplaceAll(value, ",", ".")); p == numOK {
			if delim == ',' {
				return fmt.Sprintf("%s in column %s has a decimal comma, which a file separated by commas cannot have: "+
					"write it with a decimal point, or save the file with semicolons between the columns", v, col)
			}
			return fmt.Sprintf("%s in column %s has a decimal comma: turn on Decimal comma in the upload options", v, col)
		}
	}
	if first {
		return fmt.Sprintf("column %s holds words, not numbers (%s): in the upload options, make it the Label column "+
			"(if it names each row's class), the Text column or the Name column, or Ignore it", col, v)
	}
	return fmt.Sprintf("%s in column %s is not a number, though the rows above hold numbers there: "+
		"correct that cell, or Ignore the column in the upload options", v, col)
}

func isOneOf(name string, set []string) bool {
	for _, s := range set {
		if strings.EqualFold(strings.TrimSpace(name), s) {
			return true
		}
	}
	return false
}

// scale rescales each column of the n×dim matrix x in place. Constant
// columns become 0.
func scale(x []float32, dim int, s Scaling) {
	if s == ScaleNone || dim == 0 || len(x) == 0 {
		return
	}
	n := len(x) / dim
	for j := range dim {
		switch s {
		case ScaleStandard:
			var sum, sq float64
			for i := range n {
				sum += float64(x[i*dim+j])
			}
			mean := sum / float64(n)
			for i := range n {
				d := float64(x[i*dim+j]) - mean
				sq += d * d
			}
			sd := math.Sqrt(sq / float64(n))
			for i := range n {
				v := 0.0
				if sd > 0 {
					v = (float64(x[i*dim+j]) - mean) / sd
				}
				x[i*dim+j] = float32(v)
			}
		case ScaleMinMax:
			lo, hi := x[j], x[j]
			for i := range n {
				lo, hi = min(lo, x[i*dim+j]), max(hi, x[i*dim+j])
			}
			r := float64(hi) - float64(lo)
			for i := range n {
				v := 0.0
				if r > 0 {
					v = (float64(x[i*dim+j]) - float64(lo)) / r
				}
				x[i*dim+j] = float32(v)
			}
		}
	}
}

// headerList names the first columns of a header for a message.
func headerList(header []string) string {
	const most = 8
	names := make([]string, 0, most)
	for i, h := range header {
		if i == most {
			return strings.Join(names, ", ") + fmt.Sprintf(" and %d more", len(header)-most)
		}
		names = append(names, quote(h))
	}
	return strings.Join(names, ", ")
}

// readsDecimalCommas reports whether feature columns read "3,5" as 3.5:
// when the options say so, or the separator is a semicolon or a tab, which
// leaves the comma free to be a decimal point.
func readsDecimalCommas(opts ParseOptions, delim byte) bool {
	return opts.DecimalComma || delim == ';' || delim == '\t'
}
