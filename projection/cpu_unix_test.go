//go:build unix

package projection

import "syscall"

// processCPUSeconds is the CPU time (user + system) this process has used,
// so benchmarks on a shared machine can report work as well as wall time.
func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
