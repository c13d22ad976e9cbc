package trainer

import (
	"math"
	"testing"
)

// TestOptimizerSteps checks two steps of each optimiser on one parameter
// (p = 1, gradients 0.5 then −0.25, learning rate 0.1) against values worked
// out by hand from the update rules.
func TestOptimizerSteps(t *testing.T) {
	tests := []struct {
		name         string
		cfg          Config
		want1, want2 float64
	}{
		// Adam, t=1: m̂ = g, v̂ = g², so the step is lr·sign(g): 1 − 0.1.
		// t=2: m = 0.02, v = 0.00031225, m̂ = 0.02/0.19, v̂ = 0.00031225/0.001999,
		// p = 0.9 − 0.1·0.105263/0.395225.
		{"adam", Config{Optimizer: "adam"}, 0.900000002, 0.8733662987078463},
		// Adam with L2 0.1: g₁ = 0.5 + 0.1·1 = 0.6, still a step of lr·sign(g).
		{"adam-l2", Config{Optimizer: "adam", WeightDecay: 0.1}, 0.9, math.NaN()},
		// AdamW 0.1: p·(1 − 0.1·0.1) − 0.1 = 0.89.
		{"adamw", Config{Optimizer: "adamw", WeightDecay: 0.1}, 0.89, math.NaN()},
		// SGD momentum 0.9: v = 0.5, p = 0.95; v = 0.9·0.5 − 0.25 = 0.2, p = 0.93.
		{"sgd", Config{Optimizer: "sgd", Momentum: 0.9}, 0.95, 0.93},
		// SGD with L2 0.1: v = 0.5 + 0.1 = 0.6, p = 0.94.
		{"sgd-l2", Config{Optimizer: "sgd", WeightDecay: 0.1}, 0.94, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, g := []float32{1}, []float32{0.5}
			opt := newOptimizer(tt.cfg, p, g)
			opt.step(0.1)
			if math.Abs(float64(p[0])-tt.want1) > 1e-6 {
				t.Errorf("after step 1: p = %.9f, want %.9f", p[0], tt.want1)
			}
			if math.IsNaN(tt.want2) {
				return
			}
			g[0] = -0.25
			opt.step(0.1)
			if math.Abs(float64(p[0])-tt.want2) > 1e-6 {
				t.Errorf("after step 2: p = %.9f, want %.9f", p[0], tt.want2)
			}
		})
	}
}

func TestOptimizerNoAllocs(t *testing.T) {
	for _, name := range Optimizers {
		p, g := make([]float32, 1000), make([]float32, 1000)
		opt := newOptimizer(Config{Optimizer: name, Momentum: 0.9}, p, g)
		if a := testing.AllocsPerRun(10, func() { opt.step(0.01) }); a != 0 {
			t.Errorf("%s allocates %v times per step", name, a)
		}
	}
}

func TestLearningRate(t *testing.T) {
	const base, total = 0.1, 100
	tests := []struct {
		name     string
		schedule string
		step     int
		warmup   int
		want     float64
	}{
		{"constant start", "constant", 0, 0, base},
		{"constant end", "constant", total - 1, 0, base},
		{"cosine start", "cosine", 0, 0, base},
		{"cosine middle", "cosine", total / 2, 0, base / 2},
		{"cosine end", "cosine", total, 0, 0},
		{"cosine past end", "cosine", total + 5, 0, 0},
		{"warmup first", "cosine", 0, 10, base / 10},
		{"warmup last", "cosine", 9, 10, base},
		{"cosine after warmup", "cosine", 10, 10, base},
		{"cosine end with warmup", "cosine", total, 10, 0},
		{"constant warmup", "constant", 4, 10, base / 2},
		{"constant after warmup", "constant", 50, 10, base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LearningRate(tt.schedule, base, tt.step, total, tt.warmup)
			if math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("LearningRate(%s, step %d, warmup %d) = %v, want %v", tt.schedule, tt.step, tt.warmup, got, tt.want)
			}
		})
	}
	// The cosine schedule never rises after warmup.
	prev := math.Inf(1)
	for s := 10; s <= total; s++ {
		lr := LearningRate("cosine", base, s, total, 10)
		if lr > prev {
			t.Fatalf("cosine rises at step %d: %v after %v", s, lr, prev)
		}
		prev = lr
	}
}

// TestRowOptimizerLazy: on rows touched every step, the lazy optimiser does
// exactly what the dense one does; rows never touched stay as they were,
// momentum and decay included.
func TestRowOptimizerLazy(t *testing.T) {
	for _, cfg := range []Config{
		{Optimizer: "adam"}, {Optimizer: "adam", WeightDecay: 0.1}, {Optimizer: "adamw", WeightDecay: 0.1},
		{Optimizer: "sgd", Momentum: 0.9}, {Optimizer: "sgd", Momentum: 0.9, WeightDecay: 0.1},
	} {
		const width = 3
		table := make([]float32, 4*width)
		for i := range table {
			table[i] = float32(i) / 7
		}
		before := append([]float32(nil), table...)
		// The dense reference holds rows 1 and 3.
		dense := append(append([]float32(nil), table[width:2*width]...), table[3*width:]...)
		dg := make([]float32, 2*width)
		dopt := newOptimizer(cfg, dense, dg)
		ropt := newRowOptimizer(cfg, len(table))
		for step := range 5 {
			for i := range dg {
				dg[i] = float32(math.Sin(float64(step*10 + i)))
			}
			// Listed as row 3, then row 1: gradient pieces follow that order.
			grads := append(append([]float32(nil), dg[width:]...), dg[:width]...)
			dopt.step(0.05)
			ropt.step(0.05, table, width, []int32{3, 1}, grads)
		}
		for k, r := range []int{1, 3} {
			for j := range width {
				if got, want := table[r*width+j], dense[k*width+j]; got != want {
					t.Errorf("%+v: row %d[%d] = %v, dense optimiser %v", cfg, r, j, got, want)
				}
			}
		}
		for _, r := range []int{0, 2} {
			for j := range width {
				if table[r*width+j] != before[r*width+j] {
					t.Errorf("%+v: untouched row %d changed", cfg, r)
				}
			}
		}
		if a := testing.AllocsPerRun(10, func() { ropt.step(0.01, table, width, []int32{2}, dg[:width]) }); a != 0 {
			t.Errorf("%+v: %v allocations per step", cfg, a)
		}
	}
}
