package trainer

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// lossConfigs is one config per loss and mining mode, with defaults.
func lossConfigs() []LossConfig {
	return []LossConfig{
		DefaultLossConfig(LossContrastive),
		{Name: LossTriplet, Margin: 0.2, Mining: MiningAll},
		{Name: LossTriplet, Margin: 0.2, Mining: MiningHard},
		{Name: LossTriplet, Margin: 0.2, Mining: MiningSemiHard},
		DefaultLossConfig(LossNTXent),
		DefaultLossConfig(LossSupCon),
	}
}

func cfgName(c LossConfig) string {
	if c.Name == LossTriplet {
		return c.Name + "-" + c.Mining
	}
	return c.Name
}

func mustLoss(tb testing.TB, c LossConfig) *batchLoss {
	tb.Helper()
	l, err := NewLoss(c)
	if err != nil {
		tb.Fatal(err)
	}
	return l.(*batchLoss)
}

// randGroups gives b rows either in pairs (classes == 0) or in random
// classes, shuffled.
func randGroups(rng *rand.Rand, b, classes int) []int32 {
	g := make([]int32, b)
	for i := range g {
		if classes == 0 {
			g[i] = int32(i / 2)
		} else {
			g[i] = int32(rng.IntN(classes))
		}
	}
	rng.Shuffle(b, func(i, j int) { g[i], g[j] = g[j], g[i] })
	return g
}

// randRows gives b×d Gaussian rows, L2-normalised when unit, otherwise with
// norms spread over about [0.5, 2].
func randRows(rng *rand.Rand, b, d int, unit bool) []float64 {
	z := make([]float64, b*d)
	for i := range b {
		row := z[i*d : (i+1)*d]
		var n float64
		for k := range row {
			row[k] = rng.NormFloat64()
			n += row[k] * row[k]
		}
		f := 1 / math.Sqrt(n)
		if !unit {
			f = (0.5 + 1.5*rng.Float64()) / math.Sqrt(float64(d))
		}
		for k := range row {
			row[k] *= f
		}
	}
	return z
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// exact runs c's kernel on an exact float64 Gram matrix and forms
// (W + Wᵀ)·z in float64: the same math as Compute without float32 rounding,
// for finite differences.
func exact(tb testing.TB, c LossConfig, z []float64, b, d int, groups []int32) (float64, []float64) {
	l := mustLoss(tb, c)
	ws := &l.ws
	ws.grow(b)
	for i := range b {
		for j := range b {
			var s float64
			for k := range d {
				s += z[i*d+k] * z[j*d+k]
			}
			ws.s[i*b+j] = s
		}
		ws.norm[i] = ws.s[i*b+i]
	}
	loss := l.k.eval(ws, b, groups)
	grad := make([]float64, b*d)
	for i := range b {
		for j := range b {
			w := ws.w[i*b+j] + ws.w[j*b+i]
			for k := range d {
				grad[i*d+k] += w * z[j*d+k]
			}
		}
	}
	return loss, grad
}

// kinkGap is how far z is from a tie that changes the loss's formula: a
// hinge at zero, or two candidates of a mining rule at the same distance.
// The softmax losses are smooth everywhere.
func kinkGap(c LossConfig, z []float64, b, d int, groups []int32) float64 {
	gap := math.Inf(1)
	if c.Name != LossContrastive && c.Name != LossTriplet {
		return gap
	}
	dist := func(i, j int) float64 {
		var s float64
		for k := range d {
			x := z[i*d+k] - z[j*d+k]
			s += x * x
		}
		return math.Sqrt(s)
	}
	m := c.Margin
	for a := range b {
		var pos, neg []float64
		for j := range b {
			if j == a {
				continue
			}
			if groups[j] == groups[a] {
				pos = append(pos, dist(a, j))
			} else {
				neg = append(neg, dist(a, j))
			}
		}
		if c.Name == LossContrastive {
			for _, dn := range neg {
				gap = min(gap, math.Abs(dn-m))
			}
			continue
		}
		if len(pos) == 0 || len(neg) == 0 {
			continue
		}
		slices.Sort(pos)
		slices.Sort(neg)
		switch c.Mining {
		case MiningAll:
			for _, dp := range pos {
				for _, dn := range neg {
					gap = min(gap, math.Abs(dp-dn+m))
				}
			}
		case MiningHard:
			hp, hn := pos[len(pos)-1], neg[0]
			if len(pos) > 1 {
				gap = min(gap, hp-pos[len(pos)-2])
			}
			if len(neg) > 1 {
				gap = min(gap, neg[1]-hn)
			}
			gap = min(gap, math.Abs(hp-hn+m))
		case MiningSemiHard:
			for _, dp := range pos {
				var cand []float64 // candidates in order of preference
				for _, dn := range neg {
					gap = min(gap, math.Abs(dn-dp))
					if dn > dp {
						cand = append(cand, dn)
					}
				}
				if len(cand) == 0 {
					cand = slices.Clone(neg)
					slices.Reverse(cand)
				}
				if len(cand) > 1 {
					gap = min(gap, math.Abs(cand[1]-cand[0]))
				}
				gap = min(gap, math.Abs(dp-cand[0]+m))
			}
		}
	}
	return gap
}

// TestLossGradient checks every loss's analytic gradient against central
// differences, computed in float64 on an exact Gram matrix, on
// non-normalised rows away from hinge kinks. With h = 1e-6 the truncation
// error is h²·|L⁽³⁾|/6 and the rounding error ~1e-16·|L|/h, both below 1e-9
// here, so
// the tolerance 1e-6·(1 + max|g|) leaves a wide safety factor and still
// catches any wrong term.
func TestLossGradient(t *testing.T) {
	const h, tol = 1e-6, 1e-6
	for _, c := range lossConfigs() {
		t.Run(cfgName(c), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			for trial := range 12 {
				b, d := 8+trial%5, 5
				classes := []int{0, 2, 3, 4}[trial%4]
				var z []float64
				var groups []int32
				for {
					z, groups = randRows(rng, b, d, false), randGroups(rng, b, classes)
					if kinkGap(c, z, b, d, groups) > 1e-4 {
						break
					}
				}
				_, grad := exact(t, c, z, b, d, groups)
				scale := 1.0
				for _, g := range grad {
					scale = max(scale, 1+math.Abs(g))
				}
				for k := range z {
					x := z[k]
					z[k] = x + h
					lp, _ := exact(t, c, z, b, d, groups)
					z[k] = x - h
					lm, _ := exact(t, c, z, b, d, groups)
					z[k] = x
					fd := (lp - lm) / (2 * h)
					if math.Abs(fd-grad[k]) > tol*scale {
						t.Fatalf("trial %d (b=%d, groups %v): dL/dz[%d] = %.10g, finite difference %.10g",
							trial, b, groups, k, grad[k], fd)
					}
				}
			}
		})
	}
}

// TestLossFloat32MatchesExact checks the production path (float32 rows and
// gemm) against the float64 one. float32 rounds the Gram entries of unit
// rows to about 1e-7; after 1/τ = 10 that is ~1e-6 in the loss, hence
// relative 1e-5 on the loss and 1e-4 of the largest gradient component.
func TestLossFloat32MatchesExact(t *testing.T) {
	for _, c := range lossConfigs() {
		t.Run(cfgName(c), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			l := mustLoss(t, c)
			for trial := range 6 {
				b, d := 16+6*trial, 16
				classes := []int{0, 3, 7}[trial%3]
				var z64 []float64
				var groups []int32
				for {
					z64, groups = randRows(rng, b, d, trial%2 == 0), randGroups(rng, b, classes)
					z64 = to64(to32(z64))
					if kinkGap(c, z64, b, d, groups) > 1e-5 { // float32 moves distances by ~1e-6
						break
					}
				}
				want, wantGrad := exact(t, c, z64, b, d, groups)
				grad := make([]float32, b*d)
				got := l.Compute(to32(z64), b, d, groups, grad)
				checkClose(t, fmt.Sprintf("trial %d", trial), got, grad, want, wantGrad, 1e-5, 1e-4)
			}
		})
	}
}

// TestDistanceLossesNearCoincidentRows: rows 1e-3 apart, some of them
// negatives, where d² from a float32 Gram matrix would be mostly rounding
// noise. refineNear keeps loss and gradient at float32 quality; the
// gradient tolerance is 1e-4 of its largest component because W·z in
// float32 cancels terms ~1/d = 1e3 times larger than the result.
func TestDistanceLossesNearCoincidentRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const b, d = 16, 8
	for _, c := range lossConfigs()[:4] {
		t.Run(cfgName(c), func(t *testing.T) {
			for trial := range 5 {
				z64 := randRows(rng, b, d, true)
				for i := 1; i < b; i += 2 {
					var n float64
					for k := range d {
						z64[i*d+k] = z64[(i-1)*d+k] + 1e-3*rng.NormFloat64()/math.Sqrt(float64(d))
						n += z64[i*d+k] * z64[i*d+k]
					}
					for k := range d {
						z64[i*d+k] /= math.Sqrt(n)
					}
				}
				z64 = to64(to32(z64))
				groups := randGroups(rng, b, 3)
				if kinkGap(c, z64, b, d, groups) < 1e-5 {
					continue
				}
				want, wantGrad := exact(t, c, z64, b, d, groups)
				grad := make([]float32, b*d)
				got := mustLoss(t, c).Compute(to32(z64), b, d, groups, grad)
				checkClose(t, fmt.Sprintf("trial %d", trial), got, grad, want, wantGrad, 1e-5, 1e-4)
			}
		})
	}
}

// bruteTriplet is the triplet loss straight from its definition, O(b³),
// for checking the sorted and bisected mining in tripletKernel (on rows
// away from ties, where the two may rightly choose differently).
func bruteTriplet(c LossConfig, z []float64, b, d int, groups []int32) float64 {
	dist := func(i, j int) float64 {
		var s float64
		for k := range d {
			x := z[i*d+k] - z[j*d+k]
			s += x * x
		}
		return math.Sqrt(s)
	}
	var sum float64
	var n int
	for a := range b {
		hp, hn := math.Inf(-1), math.Inf(1)
		for p := range b {
			if p == a || groups[p] != groups[a] {
				continue
			}
			dap := dist(a, p)
			hp = max(hp, dap)
			semi, far := math.Inf(1), math.Inf(-1)
			for q := range b {
				if groups[q] == groups[a] {
					continue
				}
				dan := dist(a, q)
				if l := dap - dan + c.Margin; c.Mining == MiningAll && l > 0 {
					sum += l
					n++
				}
				if dan > dap {
					semi = min(semi, dan)
				}
				far = max(far, dan)
			}
			if c.Mining == MiningSemiHard {
				switch {
				case !math.IsInf(semi, 1):
				case !math.IsInf(far, -1):
					semi = far
				default:
					semi = 0
				}
				sum += max(0, dap-semi+c.Margin)
				n++
			}
		}
		for q := range b {
			if groups[q] != groups[a] {
				hn = min(hn, dist(a, q))
			}
		}
		if c.Mining == MiningHard && !math.IsInf(hp, -1) && !math.IsInf(hn, 1) {
			sum += max(0, hp-hn+c.Margin)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

func TestTripletMiningMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, c := range lossConfigs()[1:4] {
		t.Run(cfgName(c), func(t *testing.T) {
			for trial := range 200 {
				b, d := 1+rng.IntN(40), 1+rng.IntN(6)
				c.Margin = 0.05 + 1.5*rng.Float64()
				groups := randGroups(rng, b, []int{0, 1, 2, 5, b + 1}[trial%5])
				z := randRows(rng, b, d, trial%2 == 0)
				if kinkGap(c, z, b, d, groups) < 1e-9 {
					continue // a tie: 1-D unit rows are ±1, and mining may go either way
				}
				got, _ := exact(t, c, z, b, d, groups)
				if want := bruteTriplet(c, z, b, d, groups); math.Abs(got-want) > 1e-12*max(1, want) {
					t.Fatalf("trial %d (b=%d, m=%g, groups %v): loss %.15g, definition %.15g", trial, b, c.Margin, groups, got, want)
				}
			}
		})
	}
}

// checkClose compares a loss and gradient with a reference: the loss within
// lossTol relative, every gradient component within gradTol of the
// reference's largest component (relative to the gradient's scale: single
// components near zero have no meaningful relative error).
func checkClose(t *testing.T, what string, got float64, grad []float32, want float64, wantGrad []float64, lossTol, gradTol float64) (lossErr, gradErr float64) {
	t.Helper()
	lossErr = math.Abs(got-want) / max(math.Abs(want), 1e-12)
	if !(lossErr <= lossTol) {
		t.Errorf("%s: loss %.9g, want %.9g (relative error %.2g > %g)", what, got, want, lossErr, lossTol)
	}
	var scale, worst float64
	for k := range wantGrad {
		scale = max(scale, math.Abs(wantGrad[k]))
		worst = max(worst, math.Abs(float64(grad[k])-wantGrad[k]))
	}
	gradErr = worst / max(scale, 1e-12)
	if !(gradErr <= gradTol) || (scale == 0 && worst > 0) {
		t.Errorf("%s: gradient off by %.3g, %.2g of its largest component %.3g (want <= %g)", what, worst, gradErr, scale, gradTol)
	}
	return lossErr, gradErr
}

type torchCase struct {
	Name   string `json:"name"`
	Config struct {
		Name        string  `json:"name"`
		Margin      float64 `json:"margin"`
		Temperature float64 `json:"temperature"`
		Mining      string  `json:"mining"`
	} `json:"config"`
	B      int       `json:"b"`
	D      int       `json:"d"`
	Groups []int32   `json:"groups"`
	Z      []float64 `json:"z"`
	Loss   float64   `json:"loss"`
	Grad   []float64 `json:"grad"`
}

// TestLossMatchesTorch compares Compute with PyTorch (float64, autograd) on
// the batches in testdata/loss_reference.json, written by
// tools/torchref/losses.py. Tolerances: 1e-4 relative on the loss and 1e-4
// of the largest gradient component. Float32 Gram entries carry ~1e-7
// relative rounding, amplified by 1/τ (up to 14 here) in the softmax losses
// and by 1/d in distance gradients; the errors seen are below 1e-7 on the
// loss and 1e-6 on the gradient, and the slack allows a gemm that sums in
// another order, while a wrong term would be off by far more.
func TestLossMatchesTorch(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "loss_reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []torchCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tc := range ref.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			c := LossConfig{Name: tc.Config.Name, Margin: tc.Config.Margin, Temperature: tc.Config.Temperature, Mining: tc.Config.Mining}
			seen[cfgName(c)] = true
			if len(tc.Z) != tc.B*tc.D || len(tc.Grad) != tc.B*tc.D || len(tc.Groups) != tc.B {
				t.Fatalf("case has %d values, %d gradient values and %d groups for %d×%d", len(tc.Z), len(tc.Grad), len(tc.Groups), tc.B, tc.D)
			}
			grad := make([]float32, tc.B*tc.D)
			got := mustLoss(t, c).Compute(to32(tc.Z), tc.B, tc.D, tc.Groups, grad)
			le, ge := checkClose(t, "torch", got, grad, tc.Loss, tc.Grad, 1e-4, 1e-4)
			t.Logf("relative error: loss %.2g, gradient %.2g", le, ge)
		})
	}
	for _, c := range lossConfigs() {
		if !seen[cfgName(c)] {
			t.Errorf("no reference case for %s", cfgName(c))
		}
	}
}

// TestLossKnownValues checks small batches worked out by hand.
func TestLossKnownValues(t *testing.T) {
	sqrt, exp, log := math.Sqrt, math.Exp, math.Log
	// Triplet batch: anchor (0,0) and positive (1,0); negatives (0,0.5) and
	// (1.1,0) in two other groups. d_01 = 1, d_02 = 0.5, d_03 = 1.1,
	// d_12 = √1.25, d_13 = 0.1.
	tripZ := []float32{0, 0, 1, 0, 0, 0.5, 1.1, 0}
	tripG := []int32{0, 0, 1, 2}
	// Softmax batch: (1,0) and (0,1) together, (−1,0) alone.
	smZ := []float32{1, 0, 0, 1, -1, 0}
	smG := []int32{0, 0, 1}
	tests := []struct {
		name   string
		cfg    LossConfig
		z      []float32
		groups []int32
		want   float64
		grad   []float64 // nil: not checked
	}{
		{
			// One positive pair at d² = 2; negatives at d = 2 (beyond the
			// margin) and d = √2.
			name: "contrastive/three", cfg: LossConfig{Name: LossContrastive, Margin: 1.5},
			z: []float32{1, 0, 0, 1, -1, 0}, groups: []int32{0, 0, 1},
			want: 1 + (1.5-sqrt(2))*(1.5-sqrt(2))/4,
		},
		{
			// ½(1 − 0.5)², pushed apart along x with force m − d = 0.5.
			name: "contrastive/negative pair", cfg: LossConfig{Name: LossContrastive, Margin: 1},
			z: []float32{0, 0, 0.5, 0}, groups: []int32{0, 1},
			want: 0.125, grad: []float64{0.5, 0, -0.5, 0},
		},
		{
			name: "contrastive/positive pair", cfg: LossConfig{Name: LossContrastive, Margin: 1},
			z: []float32{1, 2, 3, 5}, groups: []int32{7, 7},
			want: 0.5 * (4 + 9), grad: []float64{-2, -3, 2, 3},
		},
		{
			// Identical negatives: ½m², and no direction to push: gradient 0.
			name: "contrastive/coincident negatives", cfg: LossConfig{Name: LossContrastive, Margin: 1},
			z: []float32{0.6, 0.8, 0.6, 0.8}, groups: []int32{0, 1},
			want: 0.5, grad: []float64{0, 0, 0, 0},
		},
		{
			// (0,1,2) 0.7, (0,1,3) 0.1, (1,0,2) 1.2 − √1.25, (1,0,3) 1.1.
			name: "triplet/all", cfg: LossConfig{Name: LossTriplet, Margin: 0.2, Mining: MiningAll},
			z: tripZ, groups: tripG,
			want: (0.7 + 0.1 + (1.2 - sqrt(1.25)) + 1.1) / 4,
		},
		{
			// Anchor 0: hardest negative 2 (0.5), ℓ = 0.7; anchor 1: hardest
			// negative 3 (0.1), ℓ = 1.1. Gradient: ½ Σ ∂(d_ap − d_an).
			name: "triplet/hard", cfg: LossConfig{Name: LossTriplet, Margin: 0.2, Mining: MiningHard},
			z: tripZ, groups: tripG,
			want: 0.9, grad: []float64{-1, 0.5, 1.5, 0, 0, -0.5, -0.5, 0},
		},
		{
			// Pair (0,1): the nearest negative beyond d_ap = 1 is 3 (1.1),
			// ℓ = 0.1; pair (1,0): it is 2 (√1.25), ℓ = 1.2 − √1.25.
			name: "triplet/semihard", cfg: LossConfig{Name: LossTriplet, Margin: 0.2, Mining: MiningSemiHard},
			z: tripZ, groups: tripG,
			want: (0.1 + 1.2 - sqrt(1.25)) / 2,
		},
		{
			// Pairs (0,1) and (1,0): no negative beyond d_ap = 1, so TF Addons
			// falls back to the furthest negative, d = √0.26. Pairs (2,3) and
			// (3,2) at 0.1 have negatives at 0.5: ℓ = 0.
			name: "triplet/semihard fallback", cfg: LossConfig{Name: LossTriplet, Margin: 0.2, Mining: MiningSemiHard},
			z: []float32{0, 0, 1, 0, 0.5, 0, 0.5, 0.1}, groups: []int32{0, 0, 1, 1},
			want: 2 * (1.2 - sqrt(0.26)) / 4,
		},
		{
			// One group only: no negatives, so TF Addons uses d_an = 0.
			name: "triplet/semihard no negatives", cfg: LossConfig{Name: LossTriplet, Margin: 0.2, Mining: MiningSemiHard},
			z: []float32{0, 0, 0, 1}, groups: []int32{4, 4},
			want: 1.2, grad: []float64{0, -1, 0, 1},
		},
		{
			name: "triplet/all no negatives", cfg: LossConfig{Name: LossTriplet, Margin: 0.2, Mining: MiningAll},
			z: []float32{0, 0, 0, 1}, groups: []int32{4, 4},
			want: 0, grad: []float64{0, 0, 0, 0},
		},
		{
			// Anchor 0: log(1 + e^{−1/τ}); anchor 1: log 2; anchor 2 has no
			// positive.
			name: "ntxent/τ=1", cfg: LossConfig{Name: LossNTXent, Temperature: 1},
			z: smZ, groups: smG,
			want: (log(1+exp(-1)) + log(2)) / 2,
		},
		{
			name: "ntxent/τ=0.5", cfg: LossConfig{Name: LossNTXent, Temperature: 0.5},
			z: smZ, groups: smG,
			want: (log(1+exp(-2)) + log(2)) / 2,
		},
		{
			// Three positives per class: each anchor averages two log-probabilities.
			name: "supcon/two positives", cfg: LossConfig{Name: LossSupCon, Temperature: 1},
			z: []float32{1, 0, 0, 1, 0.6, 0.8, -1, 0}, groups: []int32{0, 0, 0, 1},
			want: ((log(1+exp(0.6)+exp(-1)) - 0.3) +
				(log(2+exp(0.8)) - 0.4) +
				(log(exp(0.6)+exp(0.8)+exp(-0.6)) - 0.7)) / 3,
		},
		{
			// A lone pair: the softmax has one entry, probability 1.
			name: "ntxent/lone pair", cfg: LossConfig{Name: LossNTXent, Temperature: 0.5},
			z: []float32{1, 0, 0, 1}, groups: []int32{0, 0},
			want: 0, grad: []float64{0, 0, 0, 0},
		},
		{
			name: "supcon/no positives", cfg: LossConfig{Name: LossSupCon, Temperature: 0.1},
			z: smZ, groups: []int32{0, 1, 2},
			want: 0, grad: []float64{0, 0, 0, 0, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := len(tt.groups)
			grad := make([]float32, len(tt.z))
			got := mustLoss(t, tt.cfg).Compute(tt.z, b, len(tt.z)/b, tt.groups, grad)
			if math.Abs(got-tt.want) > 1e-6 {
				t.Errorf("loss %.9g, want %.9g", got, tt.want)
			}
			for k, g := range tt.grad {
				if math.Abs(float64(grad[k])-g) > 1e-6 {
					t.Errorf("gradient %v, want %v", grad, tt.grad)
					break
				}
			}
		})
	}
}

// TestLossProperties: every loss is finite and non-negative, and a small
// step against the gradient lowers it, on random batches including
// degenerate groupings and coincident rows. The descent check skips
// triplet all and semihard: the number of active triplets and the chosen
// semihard negative are piecewise constant, so the loss can jump up across
// a step however small the gradient says the change is.
func TestLossProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range lossConfigs() {
		t.Run(cfgName(c), func(t *testing.T) {
			l := mustLoss(t, c)
			for trial := range 40 {
				b, d := 1+rng.IntN(24), 1+rng.IntN(8)
				z := to32(randRows(rng, b, d, trial%2 == 0))
				var groups []int32
				switch trial % 5 {
				case 0:
					groups = make([]int32, b) // one group
				case 1:
					groups = randGroups(rng, b, b+1) // mostly singletons
				default:
					groups = randGroups(rng, b, []int{0, 2, 3}[trial%3])
				}
				if trial%7 == 0 && b > 2 {
					copy(z[:d], z[d:2*d]) // coincident rows: d = 0
				}
				grad := make([]float32, b*d)
				loss := l.Compute(z, b, d, groups, grad)
				if !(loss >= 0) || math.IsInf(loss, 0) {
					t.Fatalf("trial %d: loss %v", trial, loss)
				}
				var gn float64
				for _, g := range grad {
					if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
						t.Fatalf("trial %d: gradient %v", trial, grad)
					}
					gn += float64(g) * float64(g)
				}
				if gn == 0 || c.Mining == MiningAll || c.Mining == MiningSemiHard {
					continue
				}
				// A step of 1e-3·|g| is small against the curvature scale
				// (1/τ ≤ 10) yet moves the loss far beyond float32 noise.
				step := float32(1e-3 / math.Sqrt(gn))
				z2 := slices.Clone(z)
				for k := range z2 {
					z2[k] -= step * grad[k]
				}
				if after := l.Compute(z2, b, d, groups, make([]float32, b*d)); after >= loss {
					t.Errorf("trial %d (b=%d): a step down the gradient took the loss from %.9g to %.9g", trial, b, loss, after)
				}
			}
		})
	}
}

// TestHingeLossesZeroWhenSeparated: classes collapsed onto orthogonal unit
// vectors (distance √2 apart, beyond every margin ≤ 1) have zero loss and
// zero gradient, with d = 0 inside each class.
func TestHingeLossesZeroWhenSeparated(t *testing.T) {
	const b, d = 12, 4
	z := make([]float32, b*d)
	groups := make([]int32, b)
	for i := range b {
		groups[i] = int32(i % d)
		z[i*d+i%d] = 1
	}
	for _, c := range lossConfigs()[:4] {
		c.Margin = 1
		t.Run(cfgName(c), func(t *testing.T) {
			grad := make([]float32, b*d)
			if loss := mustLoss(t, c).Compute(z, b, d, groups, grad); loss != 0 {
				t.Errorf("loss %v, want 0", loss)
			}
			for _, g := range grad {
				if math.Abs(float64(g)) > 1e-7 {
					t.Fatalf("gradient %v, want 0", grad)
				}
			}
		})
	}
	// Spread within classes: triplets are satisfied as soon as every
	// positive is closer than every negative by the margin.
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range z {
		z[i] += float32(0.05 * rng.NormFloat64())
	}
	for _, c := range lossConfigs()[1:4] {
		t.Run(cfgName(c)+"/spread", func(t *testing.T) {
			if loss := mustLoss(t, c).Compute(z, b, d, groups, make([]float32, b*d)); loss != 0 {
				t.Errorf("loss %v, want 0", loss)
			}
		})
	}
}

// TestSoftmaxLossFallsAsPositivesClose puts each group in its own plane, so
// similarities across groups stay 0 while the angle θ between a group's
// consecutive members closes from π to 0: the loss must fall all the way.
func TestSoftmaxLossFallsAsPositivesClose(t *testing.T) {
	for _, tc := range []struct {
		cfg  LossConfig
		size int // rows per group
	}{
		{DefaultLossConfig(LossNTXent), 2},
		{DefaultLossConfig(LossSupCon), 3},
		{LossConfig{Name: LossSupCon, Temperature: 1}, 4},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.cfg.Name, tc.size), func(t *testing.T) {
			const groupsN = 5
			b, d := groupsN*tc.size, 2*groupsN
			l := mustLoss(t, tc.cfg)
			z := make([]float32, b*d)
			groups := make([]int32, b)
			grad := make([]float32, b*d)
			prev := math.Inf(1)
			for step := 0; step <= 20; step++ {
				theta := math.Pi * (1 - float64(step)/20) / float64(tc.size-1)
				for i := range b {
					g, k := i/tc.size, i%tc.size
					groups[i] = int32(g)
					phi := float64(g) + float64(k)*theta
					z[i*d+2*g], z[i*d+2*g+1] = float32(math.Cos(phi)), float32(math.Sin(phi))
				}
				loss := l.Compute(z, b, d, groups, grad)
				if loss >= prev {
					t.Fatalf("θ = %.3f: loss %.9g did not fall from %.9g", theta, loss, prev)
				}
				prev = loss
			}
		})
	}
}

func TestLossAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const d = 16
	z := to32(randRows(rng, 64, d, true))
	groups := randGroups(rng, 64, 5)
	grad := make([]float32, 64*d)
	for _, c := range lossConfigs() {
		t.Run(cfgName(c), func(t *testing.T) {
			l, _ := NewLoss(c)
			l.Compute(z, 64, d, groups, grad) // warm at the larger batch
			for _, b := range []int{64, 33} {
				if n := testing.AllocsPerRun(20, func() { l.Compute(z, b, d, groups, grad) }); n != 0 {
					t.Errorf("b=%d: %v allocations per Compute, want 0", b, n)
				}
			}
		})
	}
}

func TestLossComputePanics(t *testing.T) {
	l := mustLoss(t, DefaultLossConfig(LossSupCon))
	for _, tc := range []struct {
		name      string
		b, d      int
		nz, ng, n int
	}{
		{"short z", 4, 2, 7, 4, 8},
		{"short groups", 4, 2, 8, 3, 8},
		{"short grad", 4, 2, 8, 4, 7},
		{"zero d", 4, 0, 8, 4, 8},
		{"negative b", -1, 2, 8, 4, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			l.Compute(make([]float32, tc.nz), tc.b, tc.d, make([]int32, tc.ng), make([]float32, tc.n))
		})
	}
}

func TestLossConfigValidate(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		cfg   LossConfig
		field string // "" = valid
	}{
		{DefaultLossConfig(LossContrastive), ""},
		{DefaultLossConfig(LossTriplet), ""},
		{DefaultLossConfig(LossNTXent), ""},
		{DefaultLossConfig(LossSupCon), ""},
		{LossConfig{Name: LossContrastive, Margin: 2}, ""},
		{LossConfig{Name: LossNTXent, Temperature: 0.01, Margin: -3, Mining: "x"}, ""}, // unused fields are ignored
		{DefaultLossConfig("infonce"), "loss"},
		{LossConfig{}, "loss"},
		{LossConfig{Name: "SupCon", Temperature: 0.1}, "loss"},
		{LossConfig{Name: LossContrastive}, "margin"},
		{LossConfig{Name: LossContrastive, Margin: -0.5}, "margin"},
		{LossConfig{Name: LossContrastive, Margin: 2.5}, "margin"},
		{LossConfig{Name: LossContrastive, Margin: nan}, "margin"},
		{LossConfig{Name: LossTriplet, Margin: math.Inf(1), Mining: MiningAll}, "margin"},
		{LossConfig{Name: LossTriplet, Margin: 0.2}, "mining"},
		{LossConfig{Name: LossTriplet, Margin: 0.2, Mining: "batch-hard"}, "mining"},
		{LossConfig{Name: LossNTXent}, "temperature"},
		{LossConfig{Name: LossNTXent, Temperature: 0.005}, "temperature"},
		{LossConfig{Name: LossSupCon, Temperature: 11}, "temperature"},
		{LossConfig{Name: LossSupCon, Temperature: nan}, "temperature"},
	} {
		t.Run(fmt.Sprintf("%+v", tc.cfg), func(t *testing.T) {
			err := tc.cfg.Validate()
			_, newErr := NewLoss(tc.cfg)
			switch {
			case tc.field == "" && (err != nil || newErr != nil):
				t.Errorf("Validate: %v, NewLoss: %v; want both nil", err, newErr)
			case tc.field != "" && (err == nil || newErr == nil):
				t.Errorf("Validate: %v, NewLoss: %v; want errors about %s", err, newErr, tc.field)
			case tc.field != "" && !strings.Contains(err.Error(), tc.field):
				t.Errorf("error %q does not name %q", err, tc.field)
			}
		})
	}
}

func TestDefaultLossConfigs(t *testing.T) {
	for _, name := range Losses {
		c := DefaultLossConfig(name)
		l, err := NewLoss(c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if l.Name() != name {
			t.Errorf("NewLoss(%+v).Name() = %q", c, l.Name())
		}
	}
	for _, m := range Minings {
		if err := (LossConfig{Name: LossTriplet, Margin: 0.2, Mining: m}).Validate(); err != nil {
			t.Error(err)
		}
	}
}

// BenchmarkLoss times one Compute (loss and gradient) at training batch
// sizes: classes of about 26 rows for the label losses, augmentation pairs
// for NT-Xent.
func BenchmarkLoss(b *testing.B) {
	const d = 32
	for _, bc := range []struct {
		cfg     LossConfig
		n       int
		classes int // 0: pairs
	}{
		{DefaultLossConfig(LossContrastive), 256, 10},
		{LossConfig{Name: LossTriplet, Margin: 0.2, Mining: MiningAll}, 256, 10},
		{LossConfig{Name: LossTriplet, Margin: 0.2, Mining: MiningHard}, 256, 10},
		{LossConfig{Name: LossTriplet, Margin: 0.2, Mining: MiningSemiHard}, 256, 10},
		{DefaultLossConfig(LossNTXent), 256, 0},
		{DefaultLossConfig(LossNTXent), 512, 0},
		{DefaultLossConfig(LossSupCon), 256, 10},
	} {
		b.Run(fmt.Sprintf("%s/B=%d", cfgName(bc.cfg), bc.n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(11, 12))
			z := to32(randRows(rng, bc.n, d, true))
			groups := randGroups(rng, bc.n, bc.classes)
			grad := make([]float32, bc.n*d)
			l := mustLoss(b, bc.cfg)
			l.Compute(z, bc.n, d, groups, grad) // warm: grow the workspace
			b.ReportAllocs()
			for b.Loop() {
				l.Compute(z, bc.n, d, groups, grad)
			}
		})
	}
}

func ExampleNewLoss() {
	loss, err := NewLoss(DefaultLossConfig("supcon"))
	if err != nil {
		fmt.Println(err)
		return
	}
	// Three unit rows in 2-D: the first two are one class, the third another.
	z := []float32{
		1, 0,
		0, 1,
		-1, 0,
	}
	groups := []int32{0, 0, 1}
	grad := make([]float32, len(z))
	fmt.Printf("%s loss %.4f\n", loss.Name(), loss.Compute(z, 3, 2, groups, grad))
	fmt.Printf("pull on row 0: (%.2f, %.2f)\n", -grad[0], -grad[1])

	_, err = NewLoss(LossConfig{Name: "triplet", Margin: 3, Mining: "hard"})
	fmt.Println(err)
	// Output:
	// supcon loss 0.3466
	// pull on row 0: (0.00, 2.50)
	// trainer: loss triplet: margin 3 outside (0, 2]
}
