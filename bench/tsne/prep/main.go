// Command prep writes the t-SNE benchmark inputs as Embedding-Projector TSV:
// scikit-learn's bundled digits (1,797×64) and the first N Fashion-MNIST
// training images reduced to 50 dimensions by exact PCA, each with a labels
// file (one label a line).
//
// Usage:
//
//	go run ./bench/tsne/prep -digits DIGITS_CSV_GZ -fmnist FMNIST_DIR -n 10000 -out OUTDIR
//
// DIGITS_CSV_GZ is scikit-learn's datasets/data/digits.csv.gz; FMNIST_DIR
// holds train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz. Either
// flag may be left out to skip that input.
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/contrastive-explorer/explorer/projection"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "prep:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("prep", flag.ContinueOnError)
	digits := fs.String("digits", "", "scikit-learn's digits.csv.gz")
	fmnist := fs.String("fmnist", "", "directory with Fashion-MNIST's train-*-idx*-ubyte.gz")
	n := fs.Int("n", 10000, "Fashion-MNIST images to keep")
	dims := fs.Int("dims", 50, "PCA dimensions for Fashion-MNIST")
	out := fs.String("out", "", "output directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("-out is required")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if *digits != "" {
		x, labels, d, err := readDigits(*digits)
		if err != nil {
			return err
		}
		if err := write(*out, "digits", x, len(labels), d, labels); err != nil {
			return err
		}
		fmt.Printf("digits: %d×%d\n", len(labels), d)
	}
	if *fmnist != "" {
		img, rows, cols, err := readIDXImages(filepath.Join(*fmnist, "train-images-idx3-ubyte.gz"), *n)
		if err != nil {
			return err
		}
		labels, err := readIDXLabels(filepath.Join(*fmnist, "train-labels-idx1-ubyte.gz"), *n)
		if err != nil {
			return err
		}
		count := len(labels)
		res, err := projection.PCA(img, count, rows*cols, *dims, projection.PCAOptions{Solver: projection.PCAExact})
		if err != nil {
			return err
		}
		name := fmt.Sprintf("fmnist%dk", count/1000)
		if err := write(*out, name, res.Coords, count, *dims, labels); err != nil {
			return err
		}
		sum := 0.0
		for _, r := range res.ExplainedVarianceRatio {
			sum += r
		}
		fmt.Printf("%s: %d×%d (PCA from %d, %.1f%% of the variance)\n", name, count, *dims, rows*cols, 100*sum)
	}
	return nil
}

func write(dir, name string, x []float32, n, d int, labels []int) error {
	f, err := os.Create(filepath.Join(dir, name+".tsv"))
	if err != nil {
		return err
	}
	if err := projection.WriteVectors(f, x, n, d); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	var b strings.Builder
	for _, l := range labels {
		b.WriteString(strconv.Itoa(l))
		b.WriteByte('\n')
	}
	return os.WriteFile(filepath.Join(dir, name+"-labels.tsv"), []byte(b.String()), 0o644)
}

func gzOpen(path string) (io.Reader, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	z, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return z, f.Close, nil
}

// readDigits reads scikit-learn's digits.csv.gz: 64 pixel values and the
// label per line.
func readDigits(path string) ([]float32, []int, int, error) {
	r, closeFn, err := gzOpen(path)
	if err != nil {
		return nil, nil, 0, err
	}
	defer closeFn()
	var x []float32
	var labels []int
	sc := bufio.NewScanner(r)
	d := -1
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		if d < 0 {
			d = len(fields) - 1
		}
		if len(fields) != d+1 {
			return nil, nil, 0, fmt.Errorf("%s line %d: %d fields, want %d", path, line, len(fields), d+1)
		}
		for _, f := range fields[:d] {
			v, err := strconv.ParseFloat(f, 32)
			if err != nil {
				return nil, nil, 0, fmt.Errorf("%s line %d: %w", path, line, err)
			}
			x = append(x, float32(v))
		}
		l, err := strconv.ParseFloat(fields[d], 64)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		labels = append(labels, int(l))
	}
	return x, labels, d, sc.Err()
}

// readIDXImages reads up to limit images of an IDX3 file, pixels scaled to
// [0, 1].
func readIDXImages(path string, limit int) ([]float32, int, int, error) {
	r, closeFn, err := gzOpen(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer closeFn()
	var hdr [4]uint32
	if err := binary.Read(r, binary.BigEndian, &hdr); err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	if hdr[0] != 0x803 {
		return nil, 0, 0, fmt.Errorf("%s: not an IDX3 image file", path)
	}
	count, rows, cols := min(int(hdr[1]), limit), int(hdr[2]), int(hdr[3])
	buf := make([]byte, count*rows*cols)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	x := make([]float32, len(buf))
	for i, b := range buf {
		x[i] = float32(b) / 255
	}
	return x, rows, cols, nil
}

func readIDXLabels(path string, limit int) ([]int, error) {
	r, closeFn, err := gzOpen(path)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	var hdr [2]uint32
	if err := binary.Read(r, binary.BigEndian, &hdr); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if hdr[0] != 0x801 {
		return nil, fmt.Errorf("%s: not an IDX1 label file", path)
	}
	buf := make([]byte, min(int(hdr[1]), limit))
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	labels := make([]int, len(buf))
	for i, b := range buf {
		labels[i] = int(b)
	}
	return labels, nil
}
