package projection

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// PCASolver names how PCA finds its components.
type PCASolver string

// The PCA solvers.
const (
	// PCAAuto uses PCAExact up to 256 input dimensions and PCARandomized
	// above.
	PCAAuto PCASolver = ""
	// PCAExact eigendecomposes the d×d covariance matrix.
	PCAExact PCASolver = "exact"
	// PCARandomized uses the randomized range finder of Halko, Martinsson
	// and Tropp (2011) with power iterations: O(n·d·dims) instead of
	// O(n·d²), for wide inputs.
	PCARandomized PCASolver = "randomized"
)

// PCAOptions configures PCA. The zero value is ready to use.
type PCAOptions struct {
	// Solver picks the algorithm. Default PCAAuto.
	Solver PCASolver
	// Oversample is how many extra random directions the randomized solver
	// carries. Default 10.
	Oversample int
	// PowerIterations is how many power iterations the randomized solver
	// runs. Default 4.
	PowerIterations int
	// Seed seeds the randomized solver.
	Seed uint64
}

// PCAResult is a PCA projection.
type PCAResult struct {
	// Coords is the projection, n×Dims: the centred input times the
	// components.
	Coords []float32
	// Dims is the number of components.
	Dims int
	// Components holds the principal axes as unit rows, Dims×d, strongest
	// first. Each is signed so that its largest-magnitude entry is
	// positive, which makes the output deterministic.
	Components []float64
	// Mean is the column means of the input, length d.
	Mean []float64
	// ExplainedVariance is the variance along each component (divisor
	// n−1), length Dims.
	ExplainedVariance []float64
	// ExplainedVarianceRatio is each component's share of the total
	// variance; all zero when the input has no variance.
	ExplainedVarianceRatio []float64
	// TotalVariance is the summed variance of all input columns.
	TotalVariance float64
}

// exactPCAMaxD is the widest input PCAAuto sends to the exact solver.
const exactPCAMaxD = 256

// PCA projects the n×d points of x onto their first dims principal
// components (dims is 2 or 3 for a picture, but any 1 ≤ dims ≤ d works).
// When d < dims the missing components are zero. A single point, or points
// that are all identical, project to the origin.
func PCA(x []float32, n, d, dims int, opts PCAOptions) (*PCAResult, error) {
	if err := checkMatrix("input", x, n, d); err != nil {
		return nil, err
	}
	if dims < 1 {
		return nil, fmt.Errorf("projection: PCA to %d dimensions: %w", dims, ErrOption)
	}
	if opts.Oversample == 0 {
		opts.Oversample = 10
	}
	if opts.PowerIterations == 0 {
		opts.PowerIterations = 4
	}
	if opts.Oversample < 0 || opts.PowerIterations < 0 {
		return nil, fmt.Errorf("projection: PCA oversample %d, power iterations %d: %w", opts.Oversample, opts.PowerIterations, ErrOption)
	}
	solver := opts.Solver
	switch solver {
	case PCAAuto:
		solver = PCAExact
		if d > exactPCAMaxD && dims+opts.Oversample < d {
			solver = PCARandomized
		}
	case PCAExact, PCARandomized:
	default:
		return nil, fmt.Errorf("projection: PCA solver %q: %w", solver, ErrOption)
	}

	// Centre in float64.
	mean := make([]float64, d)
	for i := range n {
		for t, v := range x[i*d : (i+1)*d] {
			mean[t] += float64(v)
		}
	}
	for t := range mean {
		mean[t] /= float64(n)
	}
	xc := mat.NewDense(n, d, nil)
	raw := xc.RawMatrix().Data
	total := 0.0
	for i := range n {
		for t, v := range x[i*d : (i+1)*d] {
			c := float64(v) - mean[t]
			raw[i*d+t] = c
			total += c * c
		}
	}
	div := float64(max(n-1, 1))
	total /= div

	k := min(dims, d)
	var comps *mat.Dense // d×k
	var vars []float64
	if solver == PCAExact || k >= d {
		comps, vars = exactComponents(xc, d, k, div)
	} else {
		comps, vars = randomizedComponents(xc, n, d, k, opts, div)
	}

	res := &PCAResult{
		Dims:                   dims,
		Components:             make([]float64, dims*d),
		Mean:                   mean,
		ExplainedVariance:      make([]float64, dims),
		ExplainedVarianceRatio: make([]float64, dims),
		TotalVariance:          total,
		Coords:                 make([]float32, n*dims),
	}
	for c := range k {
		// Sign: largest-magnitude entry positive.
		best, sign := 0.0, 1.0
		for t := range d {
			if v := comps.At(t, c); math.Abs(v) > best {
				best, sign = math.Abs(v), math.Copysign(1, v)
			}
		}
		for t := range d {
			res.Components[c*d+t] = sign * comps.At(t, c)
		}
		res.ExplainedVariance[c] = max(vars[c], 0)
		if total > 0 {
			res.ExplainedVarianceRatio[c] = res.ExplainedVariance[c] / total
		}
	}
	for i := range n {
		row := raw[i*d : (i+1)*d]
		for c := range k {
			comp := res.Components[c*d : (c+1)*d]
			s := 0.0
			for t, v := range row {
				s += v * comp[t]
			}
			res.Coords[i*dims+c] = float32(s)
		}
	}
	return res, nil
}

// exactComponents eigendecomposes the covariance of the centred xc and
// returns the top k eigenvectors (d×k) and eigenvalues, largest first.
func exactComponents(xc *mat.Dense, d, k int, div float64) (*mat.Dense, []float64) {
	var cov mat.SymDense
	cov.SymOuterK(1/div, xc.T())
	var eig mat.EigenSym
	if !eig.Factorize(&cov, true) {
		// EigenSym fails only on non-finite input, which checkMatrix rules
		// out; fall back to the coordinate axes rather than panic.
		return identityCols(d, k), make([]float64, k)
	}
	vals := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	comps := mat.NewDense(d, k, nil)
	out := make([]float64, k)
	for c := range k {
		src := d - 1 - c
		out[c] = vals[src]
		for t := range d {
			comps.Set(t, c, vecs.At(t, src))
		}
	}
	return comps, out
}

func identityCols(d, k int) *mat.Dense {
	m := mat.NewDense(d, k, nil)
	for c := range min(d, k) {
		m.Set(c, c, 1)
	}
	return m
}

// randomizedComponents is Halko, Martinsson & Tropp's randomized SVD of the
// centred xc (n×d): a gaussian sketch of k+oversample directions refined by
// power iterations with QR re-orthonormalisation, then an exact SVD of the
// small projected matrix.
func randomizedComponents(xc *mat.Dense, n, d, k int, opts PCAOptions, div float64) (*mat.Dense, []float64) {
	l := min(k+opts.Oversample, d, n)
	r := rand.New(rand.NewPCG(opts.Seed, 0x9ca))
	omega := mat.NewDense(d, l, nil)
	for i := range d {
		for j := range l {
			omega.Set(i, j, r.NormFloat64())
		}
	}
	var y mat.Dense // n×l
	y.Mul(xc, omega)
	q := orthonormal(&y)
	var z mat.Dense // d×l
	for range opts.PowerIterations {
		z.Reset()
		z.Mul(xc.T(), q)
		qz := orthonormal(&z)
		y.Reset()
		y.Mul(xc, qz)
		q = orthonormal(&y)
	}
	var b mat.Dense // l×d
	b.Mul(q.T(), xc)
	var svd mat.SVD
	if !svd.Factorize(&b, mat.SVDThin) {
		return identityCols(d, k), make([]float64, k)
	}
	sv := svd.Values(nil)
	var v mat.Dense
	svd.VTo(&v) // d×l
	comps := mat.NewDense(d, k, nil)
	vars := make([]float64, k)
	for c := range k {
		vars[c] = sv[c] * sv[c] / div
		for t := range d {
			comps.Set(t, c, v.At(t, c))
		}
	}
	return comps, vars
}

// orthonormal returns an orthonormal basis for the columns of a (r×c, c
// small), by modified Gram-Schmidt run twice for stability. A column that
// vanishes (rank deficiency) is left zero.
func orthonormal(a *mat.Dense) *mat.Dense {
	r, c := a.Dims()
	q := mat.DenseCopyOf(a)
	raw := q.RawMatrix()
	col := func(j int) []float64 {
		v := make([]float64, r)
		for i := range r {
			v[i] = raw.Data[i*raw.Stride+j]
		}
		return v
	}
	cols := make([][]float64, c)
	for j := range c {
		v := col(j)
		for range 2 {
			for k := range j {
				dot := 0.0
				for i, x := range v {
					dot += x * cols[k][i]
				}
				for i := range v {
					v[i] -= dot * cols[k][i]
				}
			}
		}
		norm := 0.0
		for _, x := range v {
			norm += x * x
		}
		if norm = math.Sqrt(norm); norm > 0 {
			for i := range v {
				v[i] /= norm
			}
		}
		cols[j] = v
		for i := range r {
			raw.Data[i*raw.Stride+j] = v[i]
		}
	}
	return q
}

// Procrustes rotates (and if need be reflects) the layout cur, n×dims, in
// place so that it best matches prev (orthogonal Procrustes: the orthogonal
// R minimising ‖cur·R − prev‖). It neither translates nor scales: PCA and
// t-SNE frames are already centred on the origin, and a change of spread
// between frames is information the picture should keep. It returns an error
// on a shape mismatch or non-finite values.
func Procrustes(prev, cur []float32, n, dims int) error {
	if err := checkMatrix("previous frame", prev, n, dims); err != nil {
		return err
	}
	if err := checkMatrix("current frame", cur, n, dims); err != nil {
		return err
	}
	m := mat.NewDense(dims, dims, nil) // curᵀ·prev
	for i := range n {
		for a := range dims {
			ca := float64(cur[i*dims+a])
			for b := range dims {
				m.Set(a, b, m.At(a, b)+ca*float64(prev[i*dims+b]))
			}
		}
	}
	var svd mat.SVD
	if !svd.Factorize(m, mat.SVDFull) {
		return nil // degenerate: leave cur as it is
	}
	var u, v, rot mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	rot.Mul(&u, v.T())
	row := make([]float64, dims)
	for i := range n {
		for b := range dims {
			s := 0.0
			for a := range dims {
				s += float64(cur[i*dims+a]) * rot.At(a, b)
			}
			row[b] = s
		}
		for b := range dims {
			cur[i*dims+b] = float32(row[b])
		}
	}
	return nil
}
