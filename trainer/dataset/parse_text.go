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
	cr   bool   // the last line ended in "\r": a "\n" right after it is part of that end
}

func (p *parser) lines(r *bufio.Reader, file string) *lineReader {
	return &lineReader{p: p, r: r, file: file, max: p.lim.MaxLineBytes}
}

func (l *lineReader) fail(line, col int, msg string) *ParseError {
	return &ParseError{File: l.file, Line: line, Column: col, Msg: msg}
}

// next returns the next line without its end ("\n", "\r\n" or a lone "\r"),
// io.EOF after the last one, or a *ParseError; every ctxEvery lines it also
// looks at the parse's context. The slice is valid until the next call.
//
// A line is refused as soon as more than max of its bytes have been read,
// so a file without line ends costs at most max plus one buffer to refuse.
func (l *lineReader) next() ([]byte, error) {
	if l.line%ctxEvery == 0 {
		if err := l.p.stopped(); err != nil {
			return nil, err
		}
	}
	l.buf = l.buf[:0]
	partial := false // l.buf holds the line's first bytes
	for {
		n := l.r.Buffered()
		if n == 0 {
			_, err := l.r.Peek(1)
			if n = l.r.Buffered(); n == 0 {
				return l.end(err, partial)
			}
		}
		win, _ := l.r.Peek(n) // what is buffered: no read
		if l.cr {
			l.cr = false
			if win[0] == '\n' {
				l.r.Discard(1)
				continue
			}
		}
		end := bytes.IndexByte(win, '\n')
		if end < 0 {
			end = len(win)
		}
		if cr := bytes.IndexByte(win[:end], '\r'); cr >= 0 {
			end, l.cr = cr, true
		}
		if len(l.buf)+end > l.max {
			return nil, l.fail(l.line+1, 0, lineTooLongMsg(l.max))
		}
		if end == len(win) { // the line goes on past the buffer
			l.buf = append(l.buf, win...)
			l.r.Discard(len(win))
			partial = true
			continue
		}
		line := win[:end]
		if partial {
			l.buf = append(l.buf, line...)
			line = l.buf
		}
		l.r.Discard(end + 1)
		l.line++
		return line, nil
	}
}

// end handles the read error err that came instead of more bytes: the end
// of the last line, io.EOF or a *ParseError.
func (l *lineReader) end(err error, partial bool) ([]byte, error) {
	var pe *ParseError
	switch {
	case err == io.EOF && partial:
		l.line++
		return l.buf, nil
	case err == io.EOF:
		return nil, io.EOF
	case errors.Is(err, errTooBig):
		return nil, l.fail(l.line+1, 0, l.p.tooBigMsg())
	case errors.As(err, &pe):
		return nil, pe
	default:
		return nil, &ParseError{File: l.file, Line: l.line + 1, Msg: msgReadFailed, err: err}
	}
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

// textFeatures counts the hashed features of texts as they are read,
// checking the limits in file order, and hashes them into a CSR only once
// the whole input has been read and accepted: features take several times
// the bytes of their text, and an input refused late (over the size limit,
// say) must not have cost that memory first. Hashing twice is the price.
type textFeatures struct {
	p      *parser
	hasher *Hasher
	nnz    int   // features counted so far
	held   int64 // bytes the dataset will hold: texts, labels, features
}

func (p *parser) newTextFeatures() *textFeatures {
	return &textFeatures{p: p, hasher: NewHasher(p.opts.Hash)}
}

// add counts the features of the next text, and returns "" or why it is
// refused; inText says that the text itself is at fault, rather than all
// the texts together.
func (f *textFeatures) add(text string) (msg string, inText bool) {
	k := f.hasher.count(text)
	if k == 0 {
		return msgNoWords, true
	}
	f.nnz += k
	if f.nnz > f.p.lim.MaxFeatures {
		return fmt.Sprintf("the texts are too long in all, more than %d words and word pieces, the most the explorer takes: "+
			"upload fewer or shorter texts", f.p.lim.MaxFeatures), false
	}
	f.held += int64(stringBytes+len(text)) + itemBytes + 8 + 8*int64(k) // text, label and split, row pointer, features
	if f.p.overBudget(f.held) {
		return f.p.budgetMsg(), false
	}
	return "", false
}

// build hashes texts, the ones add counted, into a CSR of exactly their
// features.
func (f *textFeatures) build(texts []string) (*CSR, error) {
	o := f.hasher.Options()
	m := &CSR{Cols: o.Buckets, Indptr: make([]int, 1, len(texts)+1),
		Indices: make([]int32, 0, f.nnz), Values: make([]float32, 0, f.nnz)}
	for i, t := range texts {
		if i%ctxEvery == 0 {
			if err := f.p.stopped(); err != nil {
				return nil, err
			}
		}
		m.Indices, m.Values = f.hasher.Append(m.Indices, m.Values, t)
		m.Indptr = append(m.Indptr, len(m.Indices))
	}
	return m, nil
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
	feats := p.newTextFeatures()
	ds := &Dataset{Kind: Text, Hash: feats.hasher.Options(), Dim: feats.hasher.Options().Buckets}
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
			return nil, p.fail(lr.line, col, msgLineUTF8)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		line := string(b)
		if first {
			labelled, first = strings.IndexByte(line, '\t') >= 0, false
		}
		text, col, label := line, 1, int32(NoLabel)
		if labelled {
			name, rest, ok := strings.Cut(line, "\t")
			if !ok {
				return nil, p.fail(lr.line, 1, "this line has no tab, though the first line starts with a label and a tab: "+
					"start every line with a label and a tab (the label may be empty), or remove the labels")
			}
			text, col = rest, utf8.RuneCountInString(name)+2
			if name = strings.TrimSpace(name); name != "" {
				if label, ok = cls.id(name); !ok {
					return nil, p.fail(lr.line, 1, p.tooManyLabelsMsg(cls.max, ""))
				}
			}
		}
		if ds.Len() >= p.lim.MaxItems {
			return nil, p.fail(lr.line, 0, p.tooManyMsg())
		}
		text = strings.TrimSpace(text)
		if msg, inText := feats.add(text); msg != "" {
			if !inText {
				col = 0
			}
			return nil, p.fail(lr.line, col, msg)
		}
		ds.Text = append(ds.Text, text)
		ds.Labels = append(ds.Labels, label)
	}
	if lr.line == 0 {
		return nil, p.fail(0, 0, msgEmpty)
	}
	sp, err := feats.build(ds.Text)
	if err != nil {
		return nil, err
	}
	ds.Sparse, ds.ClassNames = sp, cls.names
	return ds, nil
}
