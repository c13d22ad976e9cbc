//go:build ignore

// Command gen writes the bundled "interactions" dataset in
// sample-data/interactions/: SYNTHETIC listening histories of made-up users
// and made-up tracks, with taste groups planted so that there is something
// to learn.
//
//	go run tools/interactions/gen.go -out sample-data
//
// It needs no input: everything comes from a fixed seed and the word lists
// below, and the output is byte-identical from run to run (SplitMix64 is
// written out here rather than taken from math/rand, whose streams may
// change between Go releases; the gzip stream carries no name or time).
// With -check it writes nothing and fails if the files differ.
//
// # The generative story
//
//   - 2,000 tracks in 12 genres (166 or 167 each), named "<Adjective>
//     <Noun> (<genre>)" from two lists of 48 words. Within a genre, each
//     track gets a popularity rank at random; its weight is 1/(rank+1)
//     (Zipf, exponent 1), so a few hits per genre take much of the plays.
//   - The genres come in six pairs of neighbours (synthwave and techno,
//     jazz and blues, ...). Each of 5,000 users has a home genre, drawn
//     with mildly skewed genre popularity (weight 1/(g+1)^0.6 over a fixed
//     shuffle of the genres): the planted taste group.
//   - A user plays 5 + Geometric(1/16) tracks (mean about 20, at most 80),
//     each drawn independently: 70% from the home genre, 20% from its
//     neighbour, 10% from any genre at random (cross-genre noise), and
//     within the chosen genre by popularity. A user never plays a track
//     twice.
//   - The last play of every user is held out (every user has at least 5).
//     Tracks are the points; 20% of each genre's tracks form the test split
//     for genre-classification metrics.
//
// So popularity is a real baseline (hits are hits for everyone), but
// knowing a user's taste group beats it by far; gen prints recall@10 of
// both on the held-out plays.
//
// Output, under <out>/interactions/:
//
//	data.tsv.gz  gzip of one line per item, genre<TAB>split<TAB>name
//	             (genre indexes class_names, split is 0 train or 1 test),
//	             then one line per user: the user's item indices separated
//	             by spaces, in play order; the last is the held-out play
//	meta.json    names, sizes, description, source, licence, seed
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"

	sampledata "github.com/contrastive-explorer/explorer/sample-data"
)

const (
	nItems    = 2000
	nUsers    = 5000
	seed      = 0x5eed1207
	minPlays  = 5
	meanExtra = 15 // mean of the geometric number of plays beyond minPlays
	maxPlays  = 80
	pHome     = 0.70
	pNeighbor = 0.20 // the remaining 10% is noise across all genres
	zipfExp   = 1.0
	genreExp  = 0.6
	testShare = 0.2
)

// genres come in neighbouring pairs: 2k and 2k+1.
var genres = []string{
	"synthwave", "techno",
	"jazz", "blues",
	"bluegrass", "folk",
	"reggae", "hip hop",
	"metal", "punk",
	"baroque", "ambient",
}

var adjectives = []string{
	"Neon", "Velvet", "Golden", "Silent", "Electric", "Crimson", "Midnight", "Paper",
	"Lonely", "Broken", "Hidden", "Wild", "Frozen", "Burning", "Silver", "Hollow",
	"Distant", "Gentle", "Restless", "Crystal", "Rusty", "Lucky", "Secret", "Endless",
	"Fading", "Northern", "Quiet", "Bright", "Wandering", "Sleepy", "Copper", "Shining",
	"Stormy", "Tiny", "Purple", "Amber", "Cosmic", "Sunday", "Early", "Last",
	"Little", "Brave", "Lazy", "Salty", "Dusty", "Open", "Second", "Falling",
}

var nouns = []string{
	"Harbor", "Garden", "Highway", "River", "Mirror", "Engine", "Lantern", "Meadow",
	"Signal", "Orchard", "Circuit", "Island", "Canyon", "Window", "Station", "Letter",
	"Forest", "Horizon", "Ballroom", "Market", "Tide", "Compass", "Satellite", "Cathedral",
	"Valley", "Rain", "Skyline", "Bridge", "Carousel", "Radio", "Desert", "Echo",
	"Feather", "Lighthouse", "Parade", "Postcard", "Railway", "Shadow", "Summer", "Telescope",
	"Thunder", "Waltz", "Workshop", "Avenue", "Balcony", "Citadel", "Daydream", "Glacier",
}

// meta mirrors the fields sample-data/sampledata.go reads.
type meta struct {
	Name         string   `json:"name"`
	Title        string   `json:"title"`
	Description  string   `json:"description"`
	Source       string   `json:"source"`
	License      string   `json:"license"`
	Kind         string   `json:"kind"`
	Items        int      `json:"items"`
	Train        int      `json:"train"`
	Test         int      `json:"test"`
	Dim          int      `json:"dim"`
	Users        int      `json:"users"`
	Interactions int      `json:"interactions"`
	ClassNames   []string `json:"class_names"`
	Data         string   `json:"data"`
	Seed         string   `json:"seed"`
}

type item struct {
	genre int
	name  string
	split int
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	out := fs.String("out", "sample-data", "sample-data folder to write")
	check := fs.Bool("check", false, "write nothing; fail if the files under -out differ")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rng := splitmix64(seed)
	items, byGenre, cum := makeItems(&rng)
	users := makeUsers(&rng, byGenre, cum)

	m := meta{
		Name:  "interactions",
		Title: "Listening histories (synthetic)",
		Description: "Synthetic data: 5,000 made-up listeners and 2,000 made-up tracks in 12 genres, generated with " +
			"planted taste groups (each listener mostly plays one genre and its neighbour) and a few hits per genre. " +
			"Tracks are the points; each listener's last play is held out, so you can check whether learned track " +
			"embeddings recommend better than plain popularity.",
		Source:     "synthetic, generated by tools/interactions/gen.go (no real users or tracks)",
		License:    "CC0 1.0 (synthetic data, dedicated to the public domain)",
		Kind:       "interactions",
		Items:      nItems,
		Dim:        nItems,
		Users:      nUsers,
		ClassNames: genres,
		Data:       "data.tsv.gz",
		Seed:       "0x" + strconv.FormatUint(seed, 16),
	}
	var body bytes.Buffer
	for _, it := range items {
		fmt.Fprintf(&body, "%d\t%d\t%s\n", it.genre, it.split, it.name)
		m.Test += it.split
	}
	m.Train = m.Items - m.Test
	for _, seq := range users {
		for k, it := range seq {
			if k > 0 {
				body.WriteByte(' ')
			}
			body.WriteString(strconv.Itoa(it))
		}
		body.WriteByte('\n')
		m.Interactions += len(seq)
	}
	report(stdout, items, users)

	data, mj, err := sampledata.Encode("data.tsv.gz", body.Bytes(), m)
	if err != nil {
		return err
	}
	return sampledata.Publish(stdout, *out, "interactions", "data.tsv.gz", data, mj, *check)
}

// makeItems names the tracks, spreads them over the genres (items ordered
// by genre, then name), ranks them by popularity within each genre, holds
// out testShare of each genre, and returns the items, each genre's items
// in popularity order, and the cumulative Zipf weights of those ranks.
func makeItems(rng *splitmix64) ([]item, [][]int, [][]float64) {
	combos := make([]string, 0, len(adjectives)*len(nouns))
	for _, a := range adjectives {
		for _, n := range nouns {
			combos = append(combos, a+" "+n)
		}
	}
	shuffle(rng, len(combos), func(i, j int) { combos[i], combos[j] = combos[j], combos[i] })
	combos = combos[:nItems]

	var items []item
	next := 0
	for g, name := range genres {
		size := nItems / len(genres)
		if g < nItems%len(genres) {
			size++
		}
		titles := slices.Clone(combos[next : next+size])
		next += size
		slices.Sort(titles)
		for _, t := range titles {
			items = append(items, item{genre: g, name: fmt.Sprintf("%s (%s)", t, name)})
		}
	}
	byGenre := make([][]int, len(genres))
	for i, it := range items {
		byGenre[it.genre] = append(byGenre[it.genre], i)
	}
	cum := make([][]float64, len(genres))
	for g, idx := range byGenre {
		shuffle(rng, len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] }) // popularity order
		total := 0.0
		for r := range idx {
			total += 1 / math.Pow(float64(r+1), zipfExp)
			cum[g] = append(cum[g], total)
		}
		test := slices.Clone(idx)
		shuffle(rng, len(test), func(i, j int) { test[i], test[j] = test[j], test[i] })
		for _, i := range test[:int(testShare*float64(len(test))+0.5)] {
			items[i].split = 1
		}
	}
	return items, byGenre, cum
}

// makeUsers draws each user's home genre and play sequence.
func makeUsers(rng *splitmix64, byGenre [][]int, cum [][]float64) [][]int {
	order := make([]int, len(genres)) // genre popularity order
	for i := range order {
		order[i] = i
	}
	shuffle(rng, len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	var homeCum []float64
	total := 0.0
	for r := range order {
		total += 1 / math.Pow(float64(r+1), genreExp)
		homeCum = append(homeCum, total)
	}
	users := make([][]int, nUsers)
	for u := range users {
		home := order[pick(homeCum, rng.float())]
		neighbor := home ^ 1
		extra := int(math.Log(1-rng.float()) / math.Log(1-1.0/(meanExtra+1)))
		n := min(minPlays+extra, maxPlays)
		seen := map[int]bool{}
		for len(users[u]) < n {
			g := home
			switch p := rng.float(); {
			case p >= pHome+pNeighbor:
				g = int(rng.next() % uint64(len(genres)))
			case p >= pHome:
				g = neighbor
			}
			it := byGenre[g][pick(cum[g], rng.float())]
			if seen[it] {
				continue // a user never plays a track twice; draw again
			}
			seen[it] = true
			users[u] = append(users[u], it)
		}
	}
	return users
}

// report prints recall@10 of the held-out plays for two baselines: the ten
// most played tracks overall, and the ten most played tracks of the user's
// most played genre (knowing the taste group), skipping tracks the user
// already played.
func report(w io.Writer, items []item, users [][]int) {
	plays := make([]int, len(items))
	for _, seq := range users {
		for _, it := range seq[:len(seq)-1] {
			plays[it]++
		}
	}
	ranked := make([]int, len(items))
	for i := range ranked {
		ranked[i] = i
	}
	sort.SliceStable(ranked, func(a, b int) bool { return plays[ranked[a]] > plays[ranked[b]] })
	top := func(seq []int, genre int) bool {
		held := seq[len(seq)-1]
		seen := map[int]bool{}
		for _, it := range seq[:len(seq)-1] {
			seen[it] = true
		}
		k := 0
		for _, it := range ranked {
			if seen[it] || genre >= 0 && items[it].genre != genre {
				continue
			}
			if it == held {
				return true
			}
			if k++; k == 10 {
				return false
			}
		}
		return false
	}
	var pop, taste, total int
	for _, seq := range users {
		counts := make([]int, len(genres))
		for _, it := range seq[:len(seq)-1] {
			counts[items[it].genre]++
		}
		fav := 0
		for g, c := range counts {
			if c > counts[fav] {
				fav = g
			}
		}
		total += len(seq)
		if top(seq, -1) {
			pop++
		}
		if top(seq, fav) {
			taste++
		}
	}
	fmt.Fprintf(w, "%d users, %d items, %d plays (mean %.1f per user)\n", len(users), len(items), total, float64(total)/float64(len(users)))
	fmt.Fprintf(w, "recall@10 of the held-out play: popularity %.3f, popularity within the favourite genre %.3f\n",
		float64(pop)/float64(len(users)), float64(taste)/float64(len(users)))
}

// pick returns the index whose cumulative weight first exceeds u×total.
func pick(cum []float64, u float64) int {
	x := u * cum[len(cum)-1]
	i := sort.SearchFloat64s(cum, x)
	if i < len(cum) && cum[i] == x {
		i++
	}
	return min(i, len(cum)-1)
}

// shuffle is Fisher–Yates driven by rng; the modulo bias is immaterial
// for a few thousand items.
func shuffle(rng *splitmix64, n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, int(rng.next()%uint64(i+1)))
	}
}

// splitmix64 is Steele, Lea and Flood's generator: tiny, fully specified
// here, so the data cannot drift with the Go release.
type splitmix64 uint64

func (s *splitmix64) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float returns a uniform number in [0, 1) with 53 random bits.
func (s *splitmix64) float() float64 { return float64(s.next()>>11) / (1 << 53) }
