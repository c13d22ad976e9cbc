//go:build unix

package trainer

import (
	"syscall"
	"time"
)

// processCPU returns the user plus system CPU time of the whole process so
// far (RUSAGE_SELF: every thread, so the gemm workers count; RUSAGE_THREAD
// would see only the calling one), or 0 if it cannot be read.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
