package run

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// RandomHex returns n random bytes from crypto/rand as 2n hex digits: the
// ids and tokens of runs, uploads and sessions.
func RandomHex(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never returns an error (it crashes the program
	// rather than return predictable bytes).
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Megabytes formats a byte count for a learner.
func Megabytes(b int64) string {
	if b < 10_000_000 {
		return fmt.Sprintf("%.1f MB", float64(b)/1e6)
	}
	return fmt.Sprintf("%.0f MB", float64(b)/1e6)
}
