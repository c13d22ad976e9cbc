package trainer

import (
	"fmt"
	"math"
	"slices"

	"github.com/contrastive-explorer/explorer/trainer/gemm"
	"github.com/contrastive-explorer/explorer/trainer/vec"
)

// LossConfig chooses a contrastive loss and its hyper-parameters. Only the
// fields the named loss uses are read and validated: Margin for contrastive
// and triplet, Mining for triplet, Temperature for ntxent and supcon.
type LossConfig struct {
	// Name is the loss: "contrastive", "triplet", "ntxent" or "supcon".
	Name string
	// Margin is the distance margin m of contrastive and triplet, in
	// embedding-distance units, in (0, 2]: rows are L2-normalised, so no
	// two rows are further apart than 2 and a larger margin could never be
	// met.
	Margin float64
	// Temperature is τ of ntxent and supcon, in [0.01, 10]: below 0.01 the
	// softmax is a hard max (one negative takes all the gradient), above 10
	// the logits s/τ of unit rows span at most 0.2 and the loss is flat.
	Temperature float64
	// Mining picks the triplets of the triplet loss: "all", "hard" or
	// "semihard" (see NewLoss).
	Mining string
}

// Loss names, as accepted by LossConfig.Name.
const (
	LossContrastive = "contrastive"
	LossTriplet     = "triplet"
	LossNTXent      = "ntxent"
	LossSupCon      = "supcon"
)

// Triplet mining modes, as accepted by LossConfig.Mining.
const (
	MiningAll      = "all"
	MiningHard     = "hard"
	MiningSemiHard = "semihard"
)

// The loss names and triplet mining modes, in the order a user interface
// offers them.
var (
	Losses  = []string{LossContrastive, LossTriplet, LossNTXent, LossSupCon}
	Minings = []string{MiningAll, MiningHard, MiningSemiHard}
)

// DefaultLossConfig returns the defaults for the named loss:
//
//   - contrastive: margin 1.0. For unit rows d² = 2 − 2·cos, so d ≥ 1 means
//     an angle of at least 60° (cos ≤ 0.5). Six classes fit at 60° even in a
//     2-D embedding and many more in higher dimensions, whereas the natural
//     alternative √2 (orthogonal classes) needs at least as many dimensions
//     as classes and keeps pushing forever when it cannot be met.
//   - triplet: margin 0.2 (FaceNet's value for unit embeddings), semihard
//     mining.
//   - ntxent: temperature 0.5 (SimCLR's CIFAR-10 setting).
//   - supcon: temperature 0.1 (the SupCon paper's setting).
//
// An unknown name gives a config holding only that name, which Validate
// rejects.
func DefaultLossConfig(name string) LossConfig {
	switch name {
	case LossContrastive:
		return LossConfig{Name: name, Margin: 1.0}
	case LossTriplet:
		return LossConfig{Name: name, Margin: 0.2, Mining: MiningSemiHard}
	case LossNTXent:
		return LossConfig{Name: name, Temperature: 0.5}
	case LossSupCon:
		return LossConfig{Name: name, Temperature: 0.1}
	}
	return LossConfig{Name: name}
}

// Validate reports whether c names a known loss with usable parameters. The
// error names the offending field: "loss", "margin", "temperature" or
// "mining".
func (c LossConfig) Validate() error {
	switch c.Name {
	case LossContrastive:
		return c.validateMargin()
	case LossTriplet:
		if err := c.validateMargin(); err != nil {
			return err
		}
		switch c.Mining {
		case MiningAll, MiningHard, MiningSemiHard:
			return nil
		}
		return fmt.Errorf("trainer: loss triplet: mining %q unknown (want all, hard or semihard)", c.Mining)
	case LossNTXent, LossSupCon:
		t := c.Temperature
		if math.IsNaN(t) || t < 0.01 || t > 10 {
			return fmt.Errorf("trainer: loss %s: temperature %g outside [0.01, 10]", c.Name, t)
		}
		return nil
	}
	return fmt.Errorf("trainer: loss %q unknown (want contrastive, triplet, ntxent or supcon)", c.Name)
}

func (c LossConfig) validateMargin() error {
	m := c.Margin
	if math.IsNaN(m) || m <= 0 || m > 2 {
		return fmt.Errorf("trainer: loss %s: margin %g outside (0, 2]", c.Name, m)
	}
	return nil
}

// NewLoss returns the loss c describes, or Validate's error. Notation: z_i is
// row i, s_ij = z_i·z_j, d_ij = ‖z_i − z_j‖ computed as
// sqrt(max(0, ‖z_i‖² + ‖z_j‖² − 2·s_ij)), P(i) = {p ≠ i: same group as i},
// N(i) = the rows of other groups.
//
// contrastive (Hadsell, Chopra & LeCun 2006, "Dimensionality reduction by
// learning an invariant mapping"), balanced over pair kinds:
//
//	L = 1/|pos| Σ_{i<j pos} ½·d_ij²  +  1/|neg| Σ_{i<j neg} ½·max(0, m − d_ij)²
//
// (a term whose pair set is empty is dropped).
//
// triplet (Schroff, Kalenichenko & Philbin 2015, "FaceNet") with
// ℓ(a,p,n) = max(0, d_ap − d_an + m) on Euclidean, not squared, distances:
//
//   - all: the mean of ℓ over the triplets (a, p∈P(a), n∈N(a)) with ℓ > 0, 0
//     if there is none (batch-all, Hermans, Beyer & Leibe 2017, "In defense
//     of the triplet loss").
//   - hard: per anchor a with a positive and a negative,
//     ℓ(a, argmax_{p∈P(a)} d_ap, argmin_{n∈N(a)} d_an); mean over those
//     anchors (batch-hard, Hermans et al.).
//   - semihard: per ordered positive pair (a, p), the negative with the
//     smallest d_an > d_ap; if there is none, the negative with the largest
//     d_an (the easiest one, not the hardest); if a has no negative at all,
//     d_an = 0. Mean of ℓ over all ordered positive pairs. These are exactly
//     the semantics of TensorFlow Addons' triplet_semihard_loss, applied to
//     Euclidean distances (its distance_metric "L_1", which despite the
//     name is the non-squared L2 distance; its "L_2" default is squared),
//     except that a batch without positive pairs gives 0 instead of NaN.
//
// ntxent (Chen et al. 2020, "SimCLR"; van den Oord et al. 2018, InfoNCE) and
// supcon (Khosla et al. 2020, "Supervised contrastive learning", L_out)
// share one formula:
//
//	ℓ_i = −1/|P(i)| Σ_{p∈P(i)} log( exp(s_ip/τ) / Σ_{a≠i} exp(s_ia/τ) )
//	L   = mean of ℓ_i over the anchors with |P(i)| > 0
//
// With groups of exactly two rows this is NT-Xent; the names differ only in
// how the trainer builds groups (ntxent: two views of an item; supcon:
// classes).
//
// Gradients are exact for any rows, normalised or not. Where a distance is 0
// its derivative does not exist and the loss uses the subgradient 0, as
// TensorFlow Addons does. Compute forms Z·Zᵀ and the gradient product in
// float32 with package gemm and everything between them in float64; the
// distances of close rows (d² below 1% of ‖z_i‖² + ‖z_j‖²) are recomputed
// from the rows, so that nearly coincident rows are not lost to float32
// rounding in ‖z_i‖² + ‖z_j‖² − 2·s_ij.
//
// The Loss keeps its scratch space between calls (two float64 b×b matrices
// and a float32 one for the largest batch seen: 20·b² bytes, 5 MB at
// b = 512) and is not safe for concurrent use.
func NewLoss(c LossConfig) (Loss, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var k kernel
	switch c.Name {
	case LossContrastive:
		k = contrastiveKernel{margin: c.Margin}
	case LossTriplet:
		k = tripletKernel{margin: c.Margin, mining: c.Mining}
	default:
		k = softmaxKernel{tau: c.Temperature}
	}
	distances := c.Name == LossContrastive || c.Name == LossTriplet
	return &batchLoss{name: c.Name, k: k, refineNear: distances}, nil
}

// kernel is one loss's math on the Gram matrix. eval reads ws.s (b×b, s_ij,
// which it may overwrite) and ws.norm (‖z_i‖²), writes ws.w (b×b) such that
// dLoss/dz = (W + Wᵀ)·z, and returns the loss. All of it is float64, so the
// tests can drive it with an exact Gram matrix.
//
// W + Wᵀ rather than a symmetric W because the loss's terms are ordered
// (anchor i, other row a): ∂L/∂s_ia = g_ia gives W_ia = g_ia as it is, each
// row written in order, where mirroring into column i would walk the matrix
// against its layout. The price is a second, transposed gemm.
type kernel interface {
	eval(ws *workspace, b int, groups []int32) float64
}

// workspace is a loss's scratch space, grown to the largest batch seen.
type workspace struct {
	buf  []float32 // b×b: the Gram matrix from gemm, then W for the gradient product
	s    []float64 // b×b: the Gram matrix, then whatever the kernel keeps there
	w    []float64 // b×b: W
	norm []float64 // b: squared row norms

	// Per-row scratch for the kernels.
	vec1, vec2 []float64 // b+1 each
	rows, best []distRow // b each

	// logQ, when set, holds per row the log of the probability that the
	// row's item was sampled; the softmax kernel subtracts it from the row's
	// logit as a candidate (see batchLoss.ComputeCorrected).
	logQ []float64

	softmax softmaxRows // the softmax kernel's rows, handed to gemm.For

	// The rows by group (groupRows): keys sorts them, members lists them
	// group after group, in row order within a group, and row i's group
	// is members[span[i][0]:span[i][1]].
	keys    []uint64
	members []int32
	span    [][2]int32
}

// distRow is one distance from an anchor, and the row it leads to.
type distRow struct {
	d float64
	j int
}

func (ws *workspace) grow(b int) {
	if cap(ws.norm) < b {
		ws.buf = make([]float32, b*b)
		ws.s = make([]float64, b*b)
		ws.w = make([]float64, b*b)
		ws.norm = make([]float64, b)
		ws.vec1 = make([]float64, b+1)
		ws.vec2 = make([]float64, b+1)
		ws.rows = make([]distRow, b)
		ws.best = make([]distRow, b)
		ws.keys = make([]uint64, b)
		ws.members = make([]int32, b)
		ws.span = make([][2]int32, b)
	}
	ws.buf, ws.s, ws.w, ws.norm = ws.buf[:b*b], ws.s[:b*b], ws.w[:b*b], ws.norm[:b]
	ws.vec1, ws.vec2, ws.rows, ws.best = ws.vec1[:b+1], ws.vec2[:b+1], ws.rows[:b], ws.best[:b]
	ws.keys, ws.members, ws.span = ws.keys[:b], ws.members[:b], ws.span[:b]
}

// groupRows fills members and span from groups (b of them): each row's
// group as a list of rows, in row order, so a kernel visits a row's
// positives without testing every row.
func (ws *workspace) groupRows(groups []int32) {
	for i, g := range groups {
		ws.keys[i] = uint64(uint32(g))<<32 | uint64(i)
	}
	slices.Sort(ws.keys)
	for lo := 0; lo < len(ws.keys); {
		hi := lo + 1
		for hi < len(ws.keys) && ws.keys[hi]>>32 == ws.keys[lo]>>32 {
			hi++
		}
		for k := lo; k < hi; k++ {
			i := int32(uint32(ws.keys[k]))
			ws.members[k] = i
			ws.span[i] = [2]int32{int32(lo), int32(hi)}
		}
		lo = hi
	}
}

// dist2 is d_ij² from the Gram matrix, clamped at 0 against rounding.
func (ws *workspace) dist2(b, i, j int) float64 {
	return max(0, ws.norm[i]+ws.norm[j]-2*ws.s[i*b+j])
}

// nearFraction is the d² / (‖z_i‖² + ‖z_j‖²) below which refineNear
// recomputes a pair: for unit rows, d < 0.14 (cos > 0.99).
const nearFraction = 1e-2

// refineNear recomputes, in float64 from the rows, the Gram entries of the
// pairs that are close. There d² = ‖z_i‖² + ‖z_j‖² − 2·s_ij cancels, and a
// float32 s_ij leaves d² an absolute error of about 1e-7·(‖z_i‖² + ‖z_j‖²):
// distance noise of ~3e-4 for unit rows, so coincident rows would get a
// loss off by ~m·3e-4 and gradients in arbitrary directions. Storing
// s_ij = (‖z_i‖² + ‖z_j‖² − d²)/2 makes dist2 return the exact d² to within
// float64 rounding. Collapsed batches make every pair near, which costs
// about half a Gram product more in scalar code; ordinary batches have few.
func (ws *workspace) refineNear(z []float32, b, d int) {
	for i := range b {
		zi := z[i*d : (i+1)*d]
		for j := i + 1; j < b; j++ {
			n := ws.norm[i] + ws.norm[j]
			if n-2*ws.s[i*b+j] > nearFraction*n {
				continue
			}
			var d2 float64
			for k, v := range z[j*d : (j+1)*d] {
				x := float64(zi[k]) - float64(v)
				d2 += x * x
			}
			s := 0.5 * (n - d2)
			ws.s[i*b+j], ws.s[j*b+i] = s, s
		}
	}
}

// setDiagonal completes a W built from pairwise-distance terms. A term
// c·d_ij² contributes 2c(z_i − z_j) to row i's gradient: with M = W + Wᵀ,
// M_ij = −2c off the diagonal, as the kernel wrote it, and
// M_ii = −Σ_{j≠i} M_ij, so W_ii = −½ (Σ_{j≠i} W_ij + Σ_{j≠i} W_ji).
// rowSum and colSum are scratch of length b.
func setDiagonal(w, rowSum, colSum []float64, b int) {
	rowSum, colSum = rowSum[:b], colSum[:b]
	clear(colSum)
	for i := range b {
		row := w[i*b : (i+1)*b]
		row[i] = 0
		var sum float64
		for j, v := range row {
			sum += v
			colSum[j] += v
		}
		rowSum[i] = sum
	}
	for i := range b {
		w[i*b+i] = -0.5 * (rowSum[i] + colSum[i])
	}
}

// batchLoss runs a kernel on float32 batches: Z·Zᵀ and (W + Wᵀ)·Z go
// through gemm, everything between them is float64, and close pairs of
// distance-based losses are recomputed exactly (refineNear).
type batchLoss struct {
	name       string
	k          kernel
	refineNear bool // the kernel takes distances: recompute near pairs exactly
	ws         workspace
}

// Name returns the loss's flag value.
func (l *batchLoss) Name() string { return l.name }

// ComputeCorrected is Compute with the sampling-bias correction of in-batch
// softmax (Yi et al. 2019, "Sampling-bias-corrected neural modeling for
// large corpus item recommendations"): for ntxent and supcon, row a's logit
// as a candidate of any anchor becomes s_ia/τ − logQ[a], where logQ[a] is
// the log of the probability that row a's item is drawn into a batch (up to
// a constant, which cancels). In-batch negatives are drawn as often as
// items are popular, so without it the loss rewards similarities of
// log p(a|i)/q(a), pushing popular items away from everything; with it the
// similarities estimate log p(a|i), popularity included. The distance
// losses have no such correction and ignore logQ. A nil logQ is Compute.
func (l *batchLoss) ComputeCorrected(z []float32, b, d int, groups []int32, logQ []float64, grad []float32) float64 {
	if logQ != nil && len(logQ) < b {
		panic(fmt.Sprintf("trainer: %s loss: %d log-probabilities for %d rows", l.name, len(logQ), b))
	}
	l.ws.logQ = logQ
	defer func() { l.ws.logQ = nil }()
	return l.Compute(z, b, d, groups, grad)
}

// Compute returns the loss of the b×d batch z (row-major) with the given
// groups and overwrites grad (b×d, must not overlap z) with dLoss/dz. It
// panics if b < 0, d < 1 or a slice is too short: that is a programmer
// error. It does not allocate once it has seen a batch at least this large.
func (l *batchLoss) Compute(z []float32, b, d int, groups []int32, grad []float32) float64 {
	if b < 0 || d < 1 || len(z) < b*d || len(groups) < b || len(grad) < b*d {
		panic(fmt.Sprintf("trainer: %s loss: batch %d×%d with %d values, %d groups, %d gradient values",
			l.name, b, d, len(z), len(groups), len(grad)))
	}
	if b == 0 {
		return 0
	}
	ws := &l.ws
	ws.grow(b)
	gemm.Sgemm(false, true, b, b, d, 1, z, d, z, d, 0, ws.buf, b)
	vec.Widen(ws.s[:b*b], ws.buf[:b*b])
	for i := range b {
		var n float64
		for _, v := range z[i*d : (i+1)*d] {
			n += float64(v) * float64(v)
		}
		ws.norm[i] = n
	}
	if l.refineNear {
		ws.refineNear(z, b, d)
	}
	loss := l.k.eval(ws, b, groups[:b])
	vec.Narrow(ws.buf[:b*b], ws.w[:b*b])
	gemm.Sgemm(false, false, b, d, b, 1, ws.buf, b, z, d, 0, grad, d)
	gemm.Sgemm(true, false, b, d, b, 1, ws.buf, b, z, d, 1, grad, d)
	return loss
}
