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
			return nil, lr.fail(lr.line, 0, "invalid UTF-8")
		}
		if len(bytes.TrimSpace(b)) == 0 {
			if blank == 0 {
				blank = lr.line
			}
			continue
		}
		if blank > 0 {
			return nil, lr.fail(blank, 0, "empty line")
		}
		if ds.Len() >= p.lim.MaxItems {
			return nil, lr.fail(lr.line, 0, fmt.Sprintf("more than %d items", p.lim.MaxItems))
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
			return nil, lr.fail(lr.line, min(col, ds.Dim)+1, fmt.Sprintf("row has %d values, the first row has %d", col, ds.Dim))
		}
		ds.Labels = append(ds.Labels, NoLabel)
	}
	if lr.line == 0 {
		return nil, lr.fail(0, 0, "empty file")
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
		return lr.fail(lr.line, col, fmt.Sprintf("more than %d values in a vector", p.lim.MaxDims))
	}
	if ds.Dim > 0 && col > ds.Dim {
		return lr.fail(lr.line, col, fmt.Sprintf("row has more than the %d values of the first row", ds.Dim))
	}
	v, msg := parseNumber(string(field))
	if msg != "" {
		return lr.fail(lr.line, col, msg)
	}
	xs.add(v)
	return nil
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
			return lr.fail(lr.line, 0, "invalid UTF-8")
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
				return lr.fail(lr.line, 2, "several columns, but the first line has one: a metadata file with several columns starts with a header")
			}
			return lr.fail(lr.line, min(len(fields), width)+1, fmt.Sprintf("row has %d fields, header has %d", len(fields), width))
		}
		if len(rows) >= n {
			return lr.fail(lr.line, 0, fmt.Sprintf("more metadata rows than the %d vectors", n))
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
		return lr.fail(0, 0, fmt.Sprintf("%d metadata rows for %d vectors", len(rows), n))
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
					return lr.fail(i+2, labelCol+1, cls.tooMany())
				}
				ds.Labels[i] = l
			}
		}
	}
	ds.ClassNames = cls.names
	return nil
}
