//go:build !unix

package trainer

import "time"

// processCPU returns 0: this platform's CPU time is not read, and
// Metrics.CPUSeconds stays 0.
func processCPU() time.Duration { return 0 }
