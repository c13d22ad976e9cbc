//go:build ignore

// Command gen regenerates the bundled "wordnet" dataset in
// sample-data/wordnet/ from WordNet 3.0 as Debian's package wordnet-base
// ships it:
//
//	go run tools/wordnet/gen.go \
//		-wordnet "$(dirname "$(dpkg -L wordnet-base | grep '/data.noun$')")" \
//		-out sample-data
//
// -wordnet is the folder holding WordNet's data.noun and data.verb files.
// With -check, gen writes nothing and fails if the files under -out differ
// from what it would write.
//
// The dataset: for each of ten lexicographer categories (the "lexnames" of
// WordNet, one topic per file the lexicographers worked in) gen keeps the
// synsets whose definition has at least minWords words, draws perItem of
// them with a fixed-seed shuffle, and holds out testPerClass of those. An
// item is one synset: its label is the category, its text the definition
// (the gloss without its quoted examples, which often repeat the headword),
// and its headwords the synset's lemmas with spaces for underscores.
//
// Output, under <out>/wordnet/:
//
//	data.tsv.gz  gzip of one line per item, grouped by category in the
//	             order of class_names and by synset offset within one:
//	             label<TAB>split<TAB>headwords<TAB>definition, where label
//	             indexes class_names, split is 0 (train) or 1 (test) and
//	             headwords are separated by "|"
//	meta.json    names, sizes, description, source, licence, the hashed
//	             feature dimension and the SHA-256 of each input file
//
// The output is byte-identical from run to run: the draw uses SplitMix64
// written out here (not math/rand, whose streams may change between Go
// releases) and the gzip stream carries no name or time.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
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

const (
	perClass     = 600 // items drawn per category
	testPerClass = 120 // of which held out: 20%
	minWords     = 3   // shortest definition kept, in words
	seed         = 0x5eed0307
	dim          = 1 << 18 // hashed feature dimension (dataset.DefaultBuckets)
)

// categories are the lexicographer files drawn from, by number (see
// lexnames(5WN)): eight distinct noun topics and two verb topics, each with
// well over perClass usable synsets (the smallest, noun.body, has about
// 2,000).
var categories = []struct {
	num  int
	name string
	file string
}{
	{5, "noun.animal", "data.noun"},
	{6, "noun.artifact", "data.noun"},
	{8, "noun.body", "data.noun"},
	{13, "noun.food", "data.noun"},
	{15, "noun.location", "data.noun"},
	{18, "noun.person", "data.noun"},
	{20, "noun.plant", "data.noun"},
	{27, "noun.substance", "data.noun"},
	{32, "verb.communication", "data.verb"},
	{38, "verb.motion", "data.verb"},
}

// meta mirrors the fields sample-data/sampledata.go reads.
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
	Dim         int      `json:"dim"`
	ClassNames  []string `json:"class_names"`
	Data        string   `json:"data"`
	Inputs      []input  `json:"inputs"`
}

type input struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

// synset is one WordNet synset as read from a data file.
type synset struct {
	offset     string
	words      []string
	definition string
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	dir := fs.String("wordnet", "", "folder with WordNet 3.0's data.noun and data.verb (dpkg -L wordnet-base)")
	out := fs.String("out", "sample-data", "sample-data folder to write")
	check := fs.Bool("check", false, "write nothing; fail if the files under -out differ")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("-wordnet is required (see the comment at the top of gen.go)")
	}

	m := meta{
		Name:  "wordnet",
		Title: "WordNet definitions",
		Description: "6,000 dictionary definitions from WordNet 3.0 in ten topics: animals, man-made things, body parts, " +
			"foods, places, people, plants, substances, and verbs of communication and of motion. Each definition keeps " +
			"the words it defines, so a word and its own definition can make a positive pair.",
		Source: "WordNet 3.0, Princeton University (wordnet.princeton.edu), via Debian package wordnet-base; " +
			"600 synsets drawn per lexicographer category",
		License:    "WordNet 3.0 licence (permissive, keep the copyright notice; see wordnet/LICENSE)",
		Kind:       "text",
		Dim:        dim,
		Data:       "data.tsv.gz",
		ClassNames: []string{},
	}
	byFile := map[string]map[int][]synset{}
	for _, file := range []string{"data.noun", "data.verb"} {
		raw, err := os.ReadFile(filepath.Join(*dir, file))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(raw)
		m.Inputs = append(m.Inputs, input{File: file, SHA256: hex.EncodeToString(sum[:])})
		if byFile[file], err = parse(raw, file); err != nil {
			return err
		}
	}

	var body bytes.Buffer
	for label, cat := range categories {
		m.ClassNames = append(m.ClassNames, cat.name)
		pool := byFile[cat.file][cat.num]
		if len(pool) < perClass {
			return fmt.Errorf("%s: only %d usable synsets, want %d", cat.name, len(pool), perClass)
		}
		// Draw perClass synsets; the first testPerClass drawn are held out.
		rng := splitmix64(seed ^ uint64(cat.num)<<32)
		idx := make([]int, len(pool))
		for i := range idx {
			idx[i] = i
		}
		for i := len(idx) - 1; i > 0; i-- { // Fisher–Yates
			j := int(rng.next() % uint64(i+1))
			idx[i], idx[j] = idx[j], idx[i]
		}
		test := map[int]bool{}
		for _, i := range idx[:testPerClass] {
			test[i] = true
		}
		chosen := slices.Clone(idx[:perClass])
		slices.Sort(chosen) // file order is synset offset order
		for _, i := range chosen {
			s := pool[i]
			split := 0
			if test[i] {
				split = 1
			}
			fmt.Fprintf(&body, "%d\t%d\t%s\t%s\n", label, split, strings.Join(s.words, "|"), s.definition)
		}
		m.Items += perClass
		m.Test += testPerClass
	}
	m.Train = m.Items - m.Test

	data, mj, err := sampledata.Encode("data.tsv.gz", body.Bytes(), m)
	if err != nil {
		return err
	}
	return sampledata.Publish(stdout, *out, "wordnet", "data.tsv.gz", data, mj, *check)
}

// parse reads a WordNet data file (format: wndb(5WN)) and returns its
// usable synsets by lexicographer file number, in file order.
func parse(raw []byte, file string) (map[int][]synset, error) {
	out := map[int][]synset{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.HasPrefix(text, "  ") { // the licence header
			continue
		}
		head, gloss, ok := strings.Cut(text, " | ")
		if !ok {
			return nil, fmt.Errorf("%s:%d: no gloss", file, line)
		}
		f := strings.Fields(head)
		if len(f) < 4 {
			return nil, fmt.Errorf("%s:%d: short synset line", file, line)
		}
		lex, err1 := strconv.Atoi(f[1])
		n, err2 := strconv.ParseInt(f[3], 16, 32)
		if err1 != nil || err2 != nil || len(f) < 4+2*int(n) {
			return nil, fmt.Errorf("%s:%d: malformed synset header", file, line)
		}
		s := synset{offset: f[0]}
		for k := range int(n) {
			w := strings.ReplaceAll(f[4+2*k], "_", " ")
			if i := strings.IndexByte(w, '('); i > 0 { // adjective markers like "(a)"
				w = w[:i]
			}
			if !slices.ContainsFunc(s.words, func(x string) bool { return strings.EqualFold(x, w) }) {
				s.words = append(s.words, w)
			}
		}
		s.definition = definition(gloss)
		if len(strings.Fields(s.definition)) < minWords {
			continue
		}
		out[lex] = append(out[lex], s)
	}
	return out, sc.Err()
}

// definition cuts the quoted examples off a gloss: `a dog; "the dog barked"`
// becomes "a dog".
func definition(gloss string) string {
	gloss = strings.TrimSpace(gloss)
	if i := strings.Index(gloss, `; "`); i >= 0 {
		gloss = gloss[:i]
	}
	if strings.HasPrefix(gloss, `"`) {
		return ""
	}
	return strings.TrimSpace(strings.TrimRight(gloss, "; "))
}

// splitmix64 is Steele, Lea and Flood's generator: tiny, fully specified
// here, so the draw cannot drift with the Go release.
type splitmix64 uint64

func (s *splitmix64) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
