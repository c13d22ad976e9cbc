package projection

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors, wrapped with context by the functions that return them;
// test with errors.Is.
var (
	// ErrShape reports a slice whose length does not match the n×d shape it
	// was given, or a non-positive n, d or dims.
	ErrShape = errors.New("bad shape")
	// ErrNotFinite reports a NaN or infinite value in the input.
	ErrNotFinite = errors.New("value is NaN or infinite")
	// ErrTooFewPoints reports an input too small for the method.
	ErrTooFewPoints = errors.New("too few points")
	// ErrPerplexity reports a perplexity that is not positive or not smaller
	// than the number of points.
	ErrPerplexity = errors.New("bad perplexity")
	// ErrOption reports any other option out of range.
	ErrOption = errors.New("bad option")
)

// checkMatrix validates an n×d row-major matrix named what.
func checkMatrix(what string, x []float32, n, d int) error {
	if n < 1 || d < 1 {
		return fmt.Errorf("projection: %s is %d×%d: %w", what, n, d, ErrShape)
	}
	if len(x) != n*d {
		return fmt.Errorf("projection: %s has %d values, want %d×%d = %d: %w", what, len(x), n, d, n*d, ErrShape)
	}
	for i, v := range x {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("projection: %s row %d column %d is %v: %w", what, i/d, i%d, v, ErrNotFinite)
		}
	}
	return nil
}

func checkDims(dims int) error {
	if dims != 2 && dims != 3 {
		return fmt.Errorf("projection: dims %d, want 2 or 3: %w", dims, ErrOption)
	}
	return nil
}
