package dataset

import (
	"fmt"
	"math"
	"slices"
	"unicode"
	"unicode/utf8"
)

// Feature is a set of n-gram families that HashFeatures extracts.
type Feature uint8

// The feature families. Words are maximal runs of letters, digits and
// combining marks, lower-cased; anything else (spaces, punctuation,
// apostrophes, invalid UTF-8) separates them.
const (
	WordUnigrams Feature = 1 << iota // each word
	WordBigrams                      // each pair of neighbouring words
	CharTrigrams                     // each 3 consecutive characters of "<word>", fastText style

	AllFeatures = WordUnigrams | WordBigrams | CharTrigrams
)

// DefaultBuckets is the number of hash buckets HashOptions uses by default,
// 2^18: few enough collisions for a corpus of a few hundred thousand
// distinct n-grams, small enough for an embedding bag of 2^18×64 float32
// (64 MiB).
const DefaultBuckets = 1 << 18

// MaxBuckets is the largest number of hash buckets, 2^24.
const MaxBuckets = 1 << 24

// HashOptions says which features HashFeatures extracts and into how many
// buckets they are hashed. The zero value means the defaults.
type HashOptions struct {
	Buckets  int     // feature dimension, 1..MaxBuckets; 0 means DefaultBuckets
	Features Feature // families to extract; 0 means AllFeatures
}

// Resolved returns o with its zero fields replaced by the defaults.
func (o HashOptions) Resolved() HashOptions {
	if o.Buckets == 0 {
		o.Buckets = DefaultBuckets
	}
	if o.Features == 0 {
		o.Features = AllFeatures
	}
	return o
}

func (o HashOptions) check() error {
	if o.Buckets < 0 || o.Buckets > MaxBuckets {
		return fmt.Errorf("%d hash buckets is outside 1 to %d", o.Buckets, MaxBuckets)
	}
	if o.Features&^AllFeatures != 0 {
		return fmt.Errorf("the hash features %#x are not ones the explorer knows", uint8(o.Features))
	}
	return nil
}

// HashFeatures returns the hashed n-gram features of text: bucket indices
// in increasing order and their weights. Each word, word pair and character
// trigram (as chosen by opts.Features) is hashed into one of opts.Buckets
// buckets; a bucket's weight is the number of n-grams that fell into it,
// and the weights are scaled so that they have unit Euclidean length (long
// and short texts weigh alike). A text without letters or digits has no
// features.
//
// The hash is part of the data format: 64-bit FNV-1a over the lower-cased
// code points, a different offset basis per family, finished with
// SplitMix64's mixer and reduced modulo Buckets. It depends on nothing but
// its inputs, so the same text always gives the same features.
//
// HashFeatures allocates its results; to featurise many texts without
// allocating, use a Hasher. It panics if opts is out of range (see
// HashOptions).
func HashFeatures(text string, opts HashOptions) (cols []int32, vals []float32) {
	return NewHasher(opts).Append(nil, nil, text)
}

// Hasher featurises texts like HashFeatures, reusing its scratch space. A
// Hasher is not safe for concurrent use.
type Hasher struct {
	opts HashOptions
	keys []uint32
	seen []uint64 // count's bitmap of buckets, all zero between calls
}

// NewHasher returns a Hasher for opts, whose zero fields take their
// defaults. It panics if opts is out of range.
func NewHasher(opts HashOptions) *Hasher {
	if err := opts.check(); err != nil {
		panic("dataset: " + err.Error())
	}
	return &Hasher{opts: opts.Resolved()}
}

// Options returns the resolved options the Hasher uses.
func (h *Hasher) Options() HashOptions { return h.opts }

// FNV-1a 64-bit parameters, and one offset basis per family so that the
// word "the" and the trigram "the" land in unrelated buckets.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211

	seedUnigram = fnvOffset ^ 0x756e69 // "uni"
	seedBigram  = fnvOffset ^ 0x626967 // "big"
	seedTrigram = fnvOffset ^ 0x747269 // "tri"
)

func fnvRune(h uint64, r rune) uint64 { return (h ^ uint64(uint32(r))) * fnvPrime }

func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Append appends text's features (as HashFeatures returns them) to cols and
// vals and returns the extended slices. Once its scratch space and the
// destination slices have grown, it does not allocate.
func (h *Hasher) Append(cols []int32, vals []float32, text string) ([]int32, []float32) {
	keys := h.hashKeys(text)
	if len(keys) == 0 {
		return cols, vals
	}
	slices.Sort(keys)
	start := len(vals)
	var sum float64
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j] == keys[i] {
			j++
		}
		cols = append(cols, int32(keys[i]))
		vals = append(vals, float32(j-i))
		sum += float64((j - i) * (j - i))
		i = j
	}
	inv := float32(1 / math.Sqrt(sum))
	for k := start; k < len(vals); k++ {
		vals[k] *= inv
	}
	return cols, vals
}

// count returns how many features Append would append for text, without
// storing them. It counts distinct buckets in a bitmap rather than by
// sorting, as Append does: counting then costs a fraction of the hashing.
func (h *Hasher) count(text string) int {
	keys := h.hashKeys(text)
	if h.seen == nil {
		h.seen = make([]uint64, (h.opts.Buckets+63)/64)
	}
	n := 0
	for _, k := range keys {
		w, bit := k/64, uint64(1)<<(k%64)
		if h.seen[w]&bit == 0 {
			h.seen[w] |= bit
			n++
		}
	}
	for _, k := range keys {
		h.seen[k/64] = 0
	}
	return n
}

// hashKeys returns the buckets of text's n-grams, one per n-gram, in the
// Hasher's scratch space.
func (h *Hasher) hashKeys(text string) []uint32 {
	keys := h.keys[:0]
	f, nb := h.opts.Features, uint64(h.opts.Buckets)
	add := func(z uint64) { keys = append(keys, uint32(mix(z)%nb)) }

	var (
		word     uint64 // FNV state of the current word's unigram
		prevWord uint64 // mixed hash of the previous word, 0 before the first
		inWord   bool
		c1, c2   rune // the two characters before the current one, for trigrams
		nchars   int  // characters seen in the current word, counting the '<'
	)
	trigram := func(c rune) {
		if nchars >= 2 {
			add(fnvRune(fnvRune(fnvRune(seedTrigram, c1), c2), c))
		}
		c1, c2 = c2, c
		nchars++
	}
	endWord := func() {
		if f&CharTrigrams != 0 {
			trigram('>')
		}
		w := mix(word)
		if f&WordUnigrams != 0 {
			add(word)
		}
		if f&WordBigrams != 0 && prevWord != 0 {
			add(seedBigram ^ prevWord*31 ^ w)
		}
		prevWord, inWord = w|1, false
	}
	for i := 0; i < len(text); {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		i += size
		isWord := r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r))
		if r < utf8.RuneSelf {
			isWord = 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
		}
		if !isWord {
			if inWord {
				endWord()
			}
			continue
		}
		r = unicode.ToLower(r)
		if !inWord {
			inWord, word, nchars = true, seedUnigram, 0
			if f&CharTrigrams != 0 {
				trigram('<')
			}
		}
		word = fnvRune(word, r)
		if f&CharTrigrams != 0 {
			trigram(r)
		}
	}
	if inWord {
		endWord()
	}
	h.keys = keys
	return keys
}
