package dataset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// lineReader reads lines of at most max bytes, counting them and turning
// read failures into ParseErrors that name file.
type lineReader struct {
	p    *parser
	r    *bufio.Reader
	file string
	max  int
	line int    // number of the line last returned
	buf  []byte // holds a line that spans buffer refills
}

func (p *parser) lines(r *bufio.Reader, file string) *lineReader {
	return &lineReader{p: p, r: r, file: file, max: p.lim.MaxLineBytes}
}

func (l *lineReader) fail(line, col int, msg string) *ParseError {
	return &ParseError{File: l.file, Line: line, Column: col, Msg: msg}
}

// next returns the next line without its "\n" or "\r\n", io.EOF after the
// last one, or a *ParseError. The slice is valid until the next call.
func (l *lineReader) next() ([]byte, error) {
	l.buf = l.buf[:0]
	for {
		frag, err := l.r.ReadSlice('\n')
		if len(l.buf)+len(frag) > l.max+2 { // +2 for "\r\n"
			return nil, l.fail(l.line+1, 0, fmt.Sprintf("line longer than %d bytes", l.max))
		}
		var pe *ParseError
		switch {
		case err == nil:
			l.line++
			if len(l.buf) > 0 {
				l.buf = append(l.buf, frag...)
				frag = l.buf
			}
			return trimEOL(frag), nil
		case errors.Is(err, errTooBig):
			return nil, l.fail(l.line+1, 0, l.p.tooBigMsg())
		case errors.As(err, &pe):
			return nil, pe
		case err == io.EOF:
			if len(l.buf)+len(frag) == 0 {
				return nil, io.EOF
			}
			l.line++
			l.buf = append(l.buf, frag...)
			return trimEOL(l.buf), nil
		case errors.Is(err, bufio.ErrBufferFull):
			l.buf = append(l.buf, frag...)
		default:
			return nil, l.fail(l.line+1, 0, "reading: "+err.Error())
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

// checkUTF8 returns the 1-based character column of the first invalid
// UTF-8 byte of b, or 0 if b is valid.
func checkUTF8(b []byte) int {
	if utf8.Valid(b) {
		return 0
	}
	col := 1
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return col
		}
		b = b[size:]
		col++
	}
	return col
}

// parseText reads one item per non-blank line. When the first non-blank
// line holds a tab, every line is "label<TAB>text" (an empty label leaves
// the item unlabelled); otherwise the whole line is the text. Texts become
// hashed n-gram features (see HashFeatures).
func (p *parser) parseText() (*Dataset, error) {
	if b, _ := p.in.Peek(3); string(b) == string(utf8BOM) {
		p.in.Discard(3)
	}
	lr := p.lines(p.in.Reader, p.file)
	hasher := NewHasher(p.opts.Hash)
	ds := &Dataset{Kind: Text, Hash: hasher.Options(), Dim: hasher.Options().Buckets}
	sp := &CSR{Cols: ds.Dim, Indptr: []int{0}}
	cls := newClasses(p.lim.MaxClasses)
	labelled, first := false, true
	for {
		b, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if col := checkUTF8(b); col > 0 {
			return nil, p.fail(lr.line, col, "invalid UTF-8")
		}
		line := string(b)
		if strings.TrimSpace(line) == "" {
			continue
		}
		if first {
			labelled, first = strings.IndexByte(line, '\t') >= 0, false
		}
		text, col, label := line, 1, int32(NoLabel)
		if labelled {
			name, rest, ok := strings.Cut(line, "\t")
			if !ok {
				return nil, p.fail(lr.line, 1, "expected label<TAB>text, as on the first line")
			}
			text, col = rest, utf8.RuneCountInString(name)+2
			if name = strings.TrimSpace(name); name != "" {
				if label, ok = cls.id(name); !ok {
					return nil, p.fail(lr.line, 1, cls.tooMany())
				}
			}
		}
		if ds.Len() >= p.lim.MaxItems {
			return nil, p.fail(lr.line, 0, fmt.Sprintf("more than %d items", p.lim.MaxItems))
		}
		text = strings.TrimSpace(text)
		sp.Indices, sp.Values = hasher.Append(sp.Indices, sp.Values, text)
		if len(sp.Indices) == sp.Indptr[len(sp.Indptr)-1] {
			return nil, p.fail(lr.line, col, "text has no letters or digits")
		}
		if len(sp.Indices) > p.lim.MaxFeatures {
			return nil, p.fail(lr.line, 0, fmt.Sprintf("texts too long: more than %d features in all", p.lim.MaxFeatures))
		}
		sp.Indptr = append(sp.Indptr, len(sp.Indices))
		ds.Text = append(ds.Text, text)
		ds.Labels = append(ds.Labels, label)
	}
	if lr.line == 0 {
		return nil, p.fail(0, 0, "empty file")
	}
	ds.Sparse, ds.ClassNames = sp, cls.names
	return ds, nil
}
