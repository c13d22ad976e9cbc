package trainer

import "testing"

// BenchmarkStepNTXentAug is one step of the benchmark's NT-Xent
// configuration: 128 items, two views each (shift up to 2 px, noise 0.1).
func BenchmarkStepNTXentAug(b *testing.B) {
	cfg := benchConfig()
	cfg.Loss = "ntxent"
	cfg.Pairs = PairsAugment
	cfg.Temperature = 0.5
	cfg.AugShift = 2
	cfg.AugNoise = 0.1
	benchSteps(b, cfg, fashionShaped())
}
