package projection

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
)

// ReadVectors reads vectors in the TensorFlow Embedding Projector's TSV
// format: one vector a line, values separated by tabs. It returns the values
// row-major (n×d float32). Blank lines are skipped; a header line is not
// allowed. A line with a different number of values than the first (ragged
// input), a value that is not a number, or a NaN or infinite value is an
// error naming the line. An input with no vectors is an error too.
func ReadVectors(r io.Reader) (x []float32, n, d int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 64*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		cols := 0
		for field := range bytes.SplitSeq(text, []byte{'\t'}) {
			field = bytes.TrimSpace(field)
			v, perr := strconv.ParseFloat(string(field), 32)
			if perr != nil {
				return nil, 0, 0, fmt.Errorf("projection: line %d column %d: %q is not a number", line, cols+1, field)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, 0, 0, fmt.Errorf("projection: line %d column %d is %q: %w", line, cols+1, field, ErrNotFinite)
			}
			x = append(x, float32(v))
			cols++
		}
		if n == 0 {
			d = cols
		} else if cols != d {
			return nil, 0, 0, fmt.Errorf("projection: line %d has %d values, the first vector has %d: %w", line, cols, d, ErrShape)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return nil, 0, 0, fmt.Errorf("projection: reading vectors: %w", err)
	}
	if n == 0 {
		return nil, 0, 0, fmt.Errorf("projection: no vectors in input: %w", ErrTooFewPoints)
	}
	return x, n, d, nil
}

// WriteVectors writes x (n×d, row-major) as tab-separated lines, one row a
// line, in the format ReadVectors reads. Values are written with the fewest
// digits that read back to the same float32. Large inputs are formatted on
// every core, a block of rows each, and written in order.
func WriteVectors(w io.Writer, x []float32, n, d int) error {
	if len(x) != n*d {
		return fmt.Errorf("projection: writing %d values as %d×%d: %w", len(x), n, d, ErrShape)
	}
	const block = 2048 // rows formatted at a time
	blocks := (n + block - 1) / block
	workers := min(runtime.GOMAXPROCS(0), blocks)
	if n*d < 1<<16 {
		workers = 1
	}
	// Block k is formatted into out[k] by worker k % workers, which then
	// closes ready[k]; the writer takes the blocks in order. A worker is at
	// most one block ahead of the writer, so memory stays a few blocks.
	out := make([][]byte, blocks)
	ready := make([]chan struct{}, blocks)
	for k := range ready {
		ready[k] = make(chan struct{})
	}
	next := make([]chan struct{}, workers) // the writer lets worker j start its next block
	stop := make(chan struct{})
	defer close(stop)
	for j := range workers {
		next[j] = make(chan struct{}, 1)
		next[j] <- struct{}{}
		go func() {
			var buf []byte
			for k := j; k < blocks; k += workers {
				select {
				case <-next[j]:
				case <-stop:
					return
				}
				buf = formatRows(buf[:0], x, min(k*block, n), min((k+1)*block, n), d)
				out[k] = buf
				close(ready[k])
				buf = nil
			}
		}()
	}
	for k := range blocks {
		<-ready[k]
		if _, err := w.Write(out[k]); err != nil {
			return fmt.Errorf("projection: writing vectors: %w", err)
		}
		out[k] = nil
		next[k%workers] <- struct{}{}
	}
	return nil
}

// formatRows appends rows from..to of x (d columns) to buf as TSV lines.
func formatRows(buf []byte, x []float32, from, to, d int) []byte {
	for i := from; i < to; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			if j > 0 {
				buf = append(buf, '\t')
			}
			buf = strconv.AppendFloat(buf, float64(v), 'g', -1, 32)
		}
		buf = append(buf, '\n')
	}
	return buf
}
