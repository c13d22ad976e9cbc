package dataset

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// parseProjector reads TensorFlow Embedding Projector files: vectors (one
// tab-separated vector per line, no header) from r, named file, and
// optionally metadata from meta, named metaFile. A metadata file with one
// column has no header and names each point (Text); its values are also
// the labels when they repeat (at most half as many distinct values as
// points, and at most MaxClasses). A metadata file with several columns
// starts with a header; the label column is chosen as in CSV files and the
// text column is opts.TextColumn or the first column that is not the label.
//
// The result is a Kind Vectors dataset marked Precomputed.
func (p *parser) parseProjector(r *bufio.Reader, file string, meta io.Reader, metaFile string) (*Dataset, error) {
	if b, _ := r.Peek(3); string(b) == string(utf8BOM) {
		r.Discard(3)
	}
	lr := p.lines(r, file)
	ds := &Dataset{Kind: Vectors, Precomputed: true}
	var xs floats
	blank := 0 // a blank line, an error unless only blank lines follow
	for {
		b, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if col := checkUTF8(b); col > 0 {
			return nil, lr.fail(lr.line, 0, msgLineUTF8)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			if blank == 0 {
				blank = lr.line
			}
			continue
		}
		if blank > 0 {
			return nil, lr.fail(blank, 0, "this line is empty, though more vectors follow: delete it")
		}
		if ds.Len() >= p.lim.MaxItems {
			return nil, lr.fail(lr.line, 0, p.tooManyMsg())
		}
		// The first row's length is known only once it is read; it is
		// short next to the budget.
		if p.overBudget(int64(ds.Len()+1) * (4*int64(ds.Dim) + itemBytes)) {
			return nil, lr.fail(lr.line, 0, p.budgetMsg())
		}
		col := 0
		for {
			i := bytes.IndexByte(b, '\t')
			field := b
			if i >= 0 {
				field = b[:i]
			}
			col++
			if err := p.projectorValue(ds, &xs, lr, col, field); err != nil {
				return nil, err
			}
			if i < 0 {
				break
			}
			b = b[i+1:]
		}
		if ds.Dim == 0 {
			ds.Dim = col
		} else if col != ds.Dim {
			return nil, lr.fail(lr.line, min(col, ds.Dim)+1, fmt.Sprintf("this vector has %d %s but the first has %d: give every vector the same number of values",
				col, plural(col, "value", "values"), ds.Dim))
		}
		ds.Labels = append(ds.Labels, NoLabel)
	}
	if lr.line == 0 {
		return nil, lr.fail(0, 0, msgEmpty)
	}
	ds.X = xs.flat()
	if meta != nil {
		if metaFile == "" {
			metaFile = "metadata.tsv"
		}
		if err := p.projectorMetadata(ds, newInput(meta, p.lim.MaxBytes).Reader, baseName(metaFile)); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// projectorValue parses field, the col-th value of the current vector, and
// adds it to xs.
func (p *parser) projectorValue(ds *Dataset, xs *floats, lr *lineReader, col int, field []byte) error {
	if ds.Dim == 0 && col > p.lim.MaxDims {
		return lr.fail(lr.line, col, fmt.Sprintf("this vector has more than %d values, the most the explorer takes: "+
			"reduce the vectors to at most %d dimensions first", p.lim.MaxDims, p.lim.MaxDims))
	}
	if ds.Dim > 0 && col > ds.Dim {
		return lr.fail(lr.line, col, fmt.Sprintf("this vector has more than the %d values of the first: give every vector the same number of values", ds.Dim))
	}
	v, prob := parseNumber(string(field))
	if prob != numOK {
		return lr.fail(lr.line, col, vectorValueMsg(prob, string(field)))
	}
	xs.add(v)
	return nil
}

// vectorValueMsg says what is wrong with field, a value of a vector that
// is not a number, and how to fix it.
func vectorValueMsg(prob numProblem, field string) string {
	v := quote(strings.TrimSpace(field))
	switch prob {
	case numEmpty:
		return "a value is missing here (two tabs in a row, or a tab at the end of the line): remove the extra tab, or put the number in"
	case numNotFinite:
		return v + " is not a number: put a number there, or delete the line"
	case numTooLarge:
		return v + " is too large a number (the most is about 3.4e38): correct it, or scale the vectors down"
	}
	if strings.ContainsAny(strings.TrimSpace(field), ", ;") {
		return v + " is not a number: separate the numbers of a vector with tabs, not commas or spaces"
	}
	return v + " is not a number: vectors hold only numbers, separated by tabs; correct it, or delete the line"
}

// projectorMetadata reads the metadata TSV into ds.Text and ds.Labels.
func (p *parser) projectorMetadata(ds *Dataset, r *bufio.Reader, file string) error {
	if b, _ := r.Peek(3); string(b) == string(utf8BOM) {
		r.Discard(3)
	}
	lr := p.lines(r, file)
	n := ds.Len()
	var header []string
	var rows [][]string
	held := int64(len(ds.X))*4 + int64(n)*itemBytes
	for {
		b, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if col := checkUTF8(b); col > 0 {
			return lr.fail(lr.line, 0, msgLineUTF8)
		}
		fields := strings.Split(string(b), "\t")
		if lr.line == 1 && len(fields) > 1 {
			header = fields
			continue
		}
		if lr.line == 1 {
			header = nil
		}
		width := 1
		if header != nil {
			width = len(header)
		}
		if len(fields) != width {
			if header == nil && len(fields) > 1 {
				return lr.fail(lr.line, 2, "this line has several columns, but the first line has one: "+
					"start the metadata with a line naming its columns, or keep to one column")
			}
			return lr.fail(lr.line, min(len(fields), width)+1, raggedMsg(len(fields), width, "the header"))
		}
		if len(rows) >= n {
			return lr.fail(lr.line, 0, fmt.Sprintf("there are more metadata rows than the %d vectors: give one row to each vector, in the same order", n))
		}
		// Until the texts are picked, the rows are held whole.
		if held += int64(len(b)) + 24 + stringBytes*int64(len(fields)); p.overBudget(held) {
			return lr.fail(lr.line, 0, p.budgetMsg())
		}
		rows = append(rows, fields)
	}
	// Like the Projector, accept a trailing empty line.
	if len(rows) == n+1 && len(rows[n]) == 1 && rows[n][0] == "" {
		rows = rows[:n]
	}
	if len(rows) != n {
		return lr.fail(0, 0, fmt.Sprintf("%d metadata %s for %d vectors: give one row to each vector, in the same order",
			len(rows), plural(len(rows), "row", "rows"), n))
	}
	cls := newClasses(p.lim.MaxClasses)
	ds.Text = make([]string, n)
	if header == nil {
		for i, f := range rows {
			ds.Text[i] = strings.TrimSpace(f[0])
			if ds.Text[i] != "" {
				cls.id(ds.Text[i]) // stops counting at the limit
			}
		}
		if len(cls.names) < cls.max && 2*len(cls.names) <= n {
			for i, t := range ds.Text {
				if t != "" {
					ds.Labels[i], _ = cls.id(t)
				}
			}
			ds.ClassNames = cls.names
		}
		return nil
	}
	labelCol, msg := findColumn(header, p.opts.LabelColumn, labelNames, "label")
	if msg != "" {
		return lr.fail(1, 0, msg)
	}
	textCol := -1
	if p.opts.TextColumn != "" {
		if textCol, msg = findColumn(header, p.opts.TextColumn, nil, "text"); msg != "" {
			return lr.fail(1, 0, msg)
		}
	} else {
		for i := range header {
			if i != labelCol {
				textCol = i
				break
			}
		}
	}
	for i, f := range rows {
		if textCol >= 0 {
			ds.Text[i] = strings.TrimSpace(f[textCol])
		}
		if labelCol >= 0 {
			if name := strings.TrimSpace(f[labelCol]); name != "" {
				l, ok := cls.id(name)
				if !ok {
					return lr.fail(i+2, labelCol+1, p.tooManyLabelsMsg(cls.max, header[labelCol]))
				}
				ds.Labels[i] = l
			}
		}
	}
	ds.ClassNames = cls.names
	return nil
}
