//go:build !unix

package projection

// processCPUSeconds is not measured off unix.
func processCPUSeconds() float64 { return 0 }
