package vec

import "math"

// sqrt32 is the correctly rounded float32 square root (the float64 root
// rounded once more is exact for float32 inputs), as VSQRTPS gives.
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
