package dataset

import (
	"bytes"
	"io"
	"path"
	"strings"
)

// ColumnRole is what a CSV column is to Parse: a feature, the label, the
// text, the id (the item's name) or nothing (ignored).
type ColumnRole string

// The column roles.
const (
	RoleFeature ColumnRole = "feature"
	RoleLabel   ColumnRole = "label"
	RoleText    ColumnRole = "text"
	RoleID      ColumnRole = "id"
	RoleIgnore  ColumnRole = "ignore"
)

// Table is what the first bytes of a CSV say about its columns, so that a
// person can choose their roles before the whole file is read.
type Table struct {
	Delimiter rune // the separator, as Parse would use it
	// DecimalComma reports that numbers in the sample are written with
	// decimal commas in a file whose separator does not imply them, so the
	// option is needed.
	DecimalComma bool
	Rows         int      // data rows sampled (the header not counted)
	Columns      []Column // in file order
}

// Column is one column of a Table.
type Column struct {
	Name string
	// Role is the column's role: what Parse would make of it with the
	// options given (columns named label, text or id, and the options'
	// choices), or for a column of words nobody has chosen a role for, a
	// guess: the label when its values repeat (a class), the id when every
	// row has its own short value (a name), the text when they are long,
	// else ignored.
	Role     ColumnRole
	Guessed  bool     // Role is a guess, which a person should confirm
	Numeric  bool     // at least half the sampled values are numbers (others are bad cells)
	Distinct int      // distinct sampled values, at most the rows sampled
	Examples []string // the first sampled values, at most 3, each at most 40 bytes
}

// NeedsChoice reports whether Parse with the same options would refuse the
// file or read it otherwise than its guesses: a role was guessed, or the
// numbers need the decimal-comma option.
func (t Table) NeedsChoice() bool {
	if t.DecimalComma {
		return true
	}
	for _, c := range t.Columns {
		if c.Guessed {
			return true
		}
	}
	return false
}

// Options returns opts with the column roles and the decimal comma of t,
// as Parse takes them.
func (t Table) Options(opts ParseOptions) ParseOptions {
	opts.LabelColumn, opts.TextColumn, opts.IDColumn = "-", "-", "-"
	opts.IgnoreColumns = nil
	for _, c := range t.Columns {
		switch c.Role {
		case RoleLabel:
			opts.LabelColumn = c.Name
		case RoleText:
			opts.TextColumn = c.Name
		case RoleID:
			opts.IDColumn = c.Name
		case RoleIgnore:
			opts.IgnoreColumns = append(opts.IgnoreColumns, c.Name)
		}
	}
	opts.DecimalComma = opts.DecimalComma || t.DecimalComma
	return opts
}

// inspectRows bounds the rows InspectTable samples.
const inspectRows = 1000

// InspectTable reads the header and the first rows of a CSV from head (the
// file's first bytes; a last line cut short is dropped) and tells each
// column's role as Parse would take it with opts, guessing one for columns
// of words that the options leave without a role. It returns a
// *ParseError when head is not a table Parse could read: no header, a
// header of numbers, an option naming a column the header does not have.
func InspectTable(name string, head []byte, opts ParseOptions) (Table, error) {
	if i := bytes.LastIndexByte(head, '\n'); i >= 0 && i < len(head)-1 && bytes.Count(head, []byte{'\n'}) > 1 {
		head = head[:i+1]
	}
	p, err := newParser(name, bytes.NewReader(head), opts)
	if err != nil {
		return Table{}, err
	}
	p.format = FormatCSV
	c := p.newCSVReader(strings.ToLower(path.Ext(p.file)))
	rec, err := c.read()
	if err == io.EOF {
		return Table{}, p.fail(0, 0, msgEmpty)
	}
	if err != nil {
		return Table{}, err
	}
	t := Table{Delimiter: rune(c.delim), Columns: make([]Column, len(rec))}
	header := make([]string, len(rec))
	for i, h := range rec {
		header[i] = strings.TrimSpace(string(h))
		t.Columns[i] = Column{Name: header[i], Numeric: true}
	}
	if numeric := countNumbers(header); numeric == len(header) {
		return Table{}, p.fail(1, 1, msgNumericHeader)
	}
	implied := readsDecimalCommas(opts, c.delim)
	commas := false // some value is a number only with decimal commas
	seen := make([]map[string]bool, len(header))
	long := make([]int, len(header))  // values longer than a short name
	words := make([]int, len(header)) // values that are not numbers
	for i := range seen {
		seen[i] = map[string]bool{}
	}
	for t.Rows < inspectRows {
		rec, err := c.read()
		if err != nil {
			// The end of the sample, or a row the parse itself will report.
			break
		}
		if len(rec) != len(header) {
			break
		}
		t.Rows++
		for j, f := range rec {
			v := strings.TrimSpace(string(f))
			col := &t.Columns[j]
			if len(col.Examples) < 3 {
				col.Examples = append(col.Examples, clip(v, 40))
			}
			if len(seen[j]) <= inspectRows {
				seen[j][v] = true
			}
			if len(v) > 24 {
				long[j]++
			}
			if _, prob := parseNumber(v); prob == numOK {
				continue
			}
			if strings.IndexByte(v, ',') >= 0 && c.delim != ',' {
				if _, prob := parseNumber(strings.ReplaceAll(v, ",", ".")); prob == numOK {
					commas = true
					continue
				}
			}
			words[j]++
		}
	}
	// A column of numbers with a stray word in it is a column of numbers
	// with a bad cell, which the parse reports; a column of words is one
	// that holds more words than numbers.
	for j := range t.Columns {
		t.Columns[j].Numeric = 2*words[j] <= t.Rows
	}
	t.DecimalComma = commas && !implied
	for j := range t.Columns {
		t.Columns[j].Distinct = len(seen[j])
	}
	if msg := t.assignRoles(opts, long); msg != "" {
		return Table{}, p.fail(1, 0, msg)
	}
	return t, nil
}

// assignRoles gives each column the role Parse would give it, and a guessed
// one to columns of words that would otherwise stop the parse.
func (t *Table) assignRoles(opts ParseOptions, long []int) string {
	header := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		header[i] = c.Name
	}
	label, msg := findColumn(header, opts.LabelColumn, labelNames, "label")
	if msg != "" {
		return msg
	}
	text, msg := findColumn(header, opts.TextColumn, textNames, "text")
	if msg != "" {
		return msg
	}
	id, msg := findColumn(header, opts.IDColumn, idNames, "id")
	if msg != "" {
		return msg
	}
	for i := range t.Columns {
		c := &t.Columns[i]
		switch {
		case i == label:
			c.Role = RoleLabel
		case i == text:
			c.Role = RoleText
		case i == id:
			c.Role = RoleID
		case isOneOf(c.Name, opts.IgnoreColumns):
			c.Role = RoleIgnore
		case c.Numeric:
			c.Role = RoleFeature
		}
	}
	// Columns of words without a role: a guess each. Labels repeat; a name
	// is short and its own; a text is long.
	for i := range t.Columns {
		c := &t.Columns[i]
		if c.Role != "" {
			continue
		}
		c.Guessed = true
		switch {
		case label < 0 && opts.LabelColumn != "-" && c.Distinct >= 2 && c.Distinct <= max(2, min(100, t.Rows/3)):
			c.Role, label = RoleLabel, i
		case text < 0 && opts.TextColumn != "-" && 2*long[i] > t.Rows:
			c.Role, text = RoleText, i
		case id < 0 && opts.IDColumn != "-" && c.Distinct == t.Rows:
			c.Role, id = RoleID, i
		default:
			c.Role = RoleIgnore
		}
	}
	return ""
}

func countNumbers(fields []string) int {
	n := 0
	for _, f := range fields {
		if _, prob := parseNumber(f); prob == numOK {
			n++
		}
	}
	return n
}

// clip cuts s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
