//go:build ignore

// Command gen regenerates the bundled datasets in sample-data/ from the
// Debian packages that ship them:
//
//	go run tools/sampledata/gen.go \
//		-fashion "$(dirname "$(dpkg -L dataset-fashion-mnist | grep train-images)")" \
//		-digits "$(dpkg -L python3-sklearn | grep 'datasets/data/digits.csv.gz$')" \
//		-out sample-data
//
// -fashion is the folder holding Fashion-MNIST's four idx .gz files
// (package dataset-fashion-mnist); -digits is sklearn's digits.csv.gz
// (package python3-sklearn). The output is byte-identical from run to run:
// the digits split comes from a fixed-seed generator written out here (not
// math/rand, whose streams may change between Go releases) and the gzip
// streams carry no name or time. With -check, gen writes nothing and fails
// if the files under -out differ from what it would write.
//
// Each dataset becomes two files under <out>/<name>/:
//
//	data.bin.gz  gzip of n×Width×Height pixel bytes (row-major, item after
//	             item), then n label bytes, then n split bytes (0 train,
//	             1 test)
//	meta.json    names, class names, sizes, description, source, licence
//	             and the SHA-256 of each input file
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	sampledata "github.com/contrastive-explorer/explorer/sample-data"
)

// meta is the JSON form of a dataset's description. sample-data/sampledata.go
// reads the same fields.
type meta struct {
	Name        string   `json:"name"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Source      string   `json:"source"`
	License     string   `json:"license"`
	Kind        string   `json:"kind"`
	Items       int      `json:"items"`
	Train       int      `json:"train"`
	Test        int      `json:"test"`
	Width       int      `json:"width"`
	Height      int      `json:"height"`
	MaxValue    int      `json:"max_value"` // pixel bytes run 0..MaxValue
	ClassNames  []string `json:"class_names"`
	Data        string   `json:"data"`
	Inputs      []input  `json:"inputs"`
}

// input records one source file by base name and content hash, so a
// regeneration from a different package version shows up in the diff.
type input struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

// set is one dataset ready to write.
type set struct {
	meta   meta
	pixels []byte // n×Width×Height
	labels []byte // n
	splits []byte // n
}

const (
	fashionTrain = 10000 // first items of Fashion-MNIST's training file
	fashionTest  = 2000  // first items of its test file

	digitsTestPercent = 20         // held out per class
	digitsSeed        = 0x5eed2026 // fixed: the split must never change
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fashionDir := fs.String("fashion", "", "folder with Fashion-MNIST's idx .gz files (dpkg -L dataset-fashion-mnist)")
	digitsCSV := fs.String("digits", "", "sklearn's digits.csv.gz (dpkg -L python3-sklearn)")
	out := fs.String("out", "sample-data", "sample-data folder to write")
	check := fs.Bool("check", false, "write nothing; fail if the files under -out differ")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *fashionDir == "" || *digitsCSV == "" {
		return errors.New("both -fashion and -digits are required (see the comment at the top of gen.go)")
	}
	digits, err := loadDigits(*digitsCSV)
	if err != nil {
		return err
	}
	fashion, err := loadFashion(*fashionDir)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range []*set{digits, fashion} {
		body := slices.Concat(s.pixels, s.labels, s.splits)
		data, mj, err := sampledata.Encode("data.bin.gz", body, s.meta)
		if err != nil {
			return err
		}
		errs = append(errs, sampledata.Publish(stdout, *out, s.meta.Name, "data.bin.gz", data, mj, *check))
	}
	return errors.Join(errs...)
}

// readGzip returns the decompressed contents of a .gz file and the SHA-256
// of the file as stored.
func readGzip(path string) ([]byte, input, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, input{}, err
	}
	sum := sha256.Sum256(raw)
	in := input{File: filepath.Base(path), SHA256: hex.EncodeToString(sum[:])}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, in, fmt.Errorf("%s: %w", in.File, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, in, fmt.Errorf("%s: %w", in.File, err)
	}
	return data, in, nil
}

func loadDigits(path string) (*set, error) {
	data, in, err := readGzip(path)
	if err != nil {
		return nil, err
	}
	const side, dim = 8, 64
	s := &set{meta: meta{
		Name:  "digits",
		Title: "Handwritten digits (UCI)",
		Description: "1,797 tiny 8×8 pictures of handwritten digits 0–9, each pixel counting how much ink fell in a 4×4 block. " +
			"Small enough to train in seconds, so you can watch ten clusters form almost at once.",
		Source: "E. Alpaydin and C. Kaynak, Optical Recognition of Handwritten Digits, UCI Machine Learning Repository (1998), " +
			"doi:10.24432/C50P49; the copy shipped with scikit-learn (Debian package python3-sklearn)",
		License:    "CC BY 4.0",
		Kind:       "images",
		Width:      side,
		Height:     side,
		MaxValue:   16,
		ClassNames: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		Data:       "data.bin.gz",
		Inputs:     []input{in},
	}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		if len(fields) != dim+1 {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d", in.File, line, len(fields), dim+1)
		}
		for j, f := range fields {
			v, err := strconv.ParseFloat(f, 64)
			max := 16.0
			if j == dim {
				max = 9
			}
			if err != nil || v != float64(int(v)) || v < 0 || v > max {
				return nil, fmt.Errorf("%s:%d: field %d is %q, want an integer in 0..%g", in.File, line, j+1, f, max)
			}
			if j == dim {
				s.labels = append(s.labels, byte(v))
			} else {
				s.pixels = append(s.pixels, byte(v))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	n := len(s.labels)
	if n != 1797 {
		return nil, fmt.Errorf("%s: %d items, want 1797", in.File, n)
	}
	s.splits = digitsSplit(s.labels)
	s.meta.Items = n
	for _, sp := range s.splits {
		if sp == 1 {
			s.meta.Test++
		}
	}
	s.meta.Train = n - s.meta.Test
	return s, nil
}

// digitsSplit holds out digitsTestPercent of each class, rounded to the
// nearest item, chosen by a seeded shuffle of the class's items.
func digitsSplit(labels []byte) []byte {
	splits := make([]byte, len(labels))
	rng := splitmix64(digitsSeed)
	for c := byte(0); c < 10; c++ {
		var idx []int
		for i, l := range labels {
			if l == c {
				idx = append(idx, i)
			}
		}
		for i := len(idx) - 1; i > 0; i-- { // Fisher–Yates
			j := int(rng.next() % uint64(i+1))
			idx[i], idx[j] = idx[j], idx[i]
		}
		test := (len(idx)*digitsTestPercent + 50) / 100
		for _, i := range idx[:test] {
			splits[i] = 1
		}
	}
	return splits
}

// splitmix64 is Steele, Lea and Flood's generator: tiny, fully specified
// here, so the split cannot drift with the Go release. The modulo bias in
// the shuffle is immaterial for a few hundred items.
type splitmix64 uint64

func (s *splitmix64) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func loadFashion(dir string) (*set, error) {
	s := &set{meta: meta{
		Name:  "fashion",
		Title: "Fashion-MNIST (Zalando)",
		Description: "12,000 small 28×28 greyscale photos of clothes, shoes and bags from Zalando's catalogue, in ten classes. " +
			"Harder than digits: shirts, pullovers and coats look alike, so watch which clusters stay tangled.",
		Source: "H. Xiao, K. Rasul and R. Vollgraf, Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms, " +
			"arXiv:1708.07747 (2017), github.com/zalandoresearch/fashion-mnist; the first 10,000 training and 2,000 test images " +
			"(Debian package dataset-fashion-mnist)",
		License:  "MIT, Copyright (c) 2017 Zalando SE",
		Kind:     "images",
		Width:    28,
		Height:   28,
		MaxValue: 255,
		ClassNames: []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
			"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
		Data: "data.bin.gz",
	}}
	for _, part := range []struct {
		prefix string
		n      int
		split  byte
	}{{"train", fashionTrain, 0}, {"t10k", fashionTest, 1}} {
		images, inImg, err := readGzip(filepath.Join(dir, part.prefix+"-images-idx3-ubyte.gz"))
		if err != nil {
			return nil, err
		}
		labels, inLab, err := readGzip(filepath.Join(dir, part.prefix+"-labels-idx1-ubyte.gz"))
		if err != nil {
			return nil, err
		}
		s.meta.Inputs = append(s.meta.Inputs, inImg, inLab)
		pix, err := idx(images, inImg.File, 2051, part.n, 28, 28)
		if err != nil {
			return nil, err
		}
		lab, err := idx(labels, inLab.File, 2049, part.n)
		if err != nil {
			return nil, err
		}
		for _, l := range lab {
			if l > 9 {
				return nil, fmt.Errorf("%s: label %d outside 0..9", inLab.File, l)
			}
		}
		s.pixels = append(s.pixels, pix...)
		s.labels = append(s.labels, lab...)
		s.splits = append(s.splits, bytes.Repeat([]byte{part.split}, part.n)...)
	}
	s.meta.Items = fashionTrain + fashionTest
	s.meta.Train = fashionTrain
	s.meta.Test = fashionTest
	return s, nil
}

// idx checks an idx-format header (magic, then one big-endian uint32 per
// dimension) and returns the bytes of the first n records; the trailing
// dimensions must equal rest.
func idx(data []byte, name string, magic uint32, n int, rest ...int) ([]byte, error) {
	head := 4 * (2 + len(rest))
	if len(data) < head {
		return nil, fmt.Errorf("%s: short idx header", name)
	}
	if m := binary.BigEndian.Uint32(data); m != magic {
		return nil, fmt.Errorf("%s: magic %d, want %d", name, m, magic)
	}
	if total := int(binary.BigEndian.Uint32(data[4:])); total < n {
		return nil, fmt.Errorf("%s: %d records, want at least %d", name, total, n)
	}
	size := 1
	for i, want := range rest {
		if got := int(binary.BigEndian.Uint32(data[8+4*i:])); got != want {
			return nil, fmt.Errorf("%s: dimension %d is %d, want %d", name, i+2, got, want)
		}
		size *= want
	}
	if len(data) < head+n*size {
		return nil, fmt.Errorf("%s: truncated", name)
	}
	return data[head : head+n*size], nil
}
