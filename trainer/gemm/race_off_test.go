//go:build !race

package gemm

// raceEnabled is true under the race detector, which makes the scalar
// reference and pure-Go kernel loops about ten times slower.
const raceEnabled = false
