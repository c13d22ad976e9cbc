package projection_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/contrastive-explorer/explorer/projection"
)

// twoClusters returns n points of d dimensions: the first half around the
// origin, the second around (10, 10, ...).
func twoClusters(n, d int) []float32 {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*d)
	for i := range n {
		for t := range d {
			c := 0.0
			if i >= n/2 {
				c = 10
			}
			x[i*d+t] = float32(c + r.NormFloat64())
		}
	}
	return x
}

func ExamplePCA() {
	// Points on a line y = 2x in 2D: one component explains everything.
	x := []float32{0, 0, 1, 2, 2, 4, 3, 6}
	res, err := projection.PCA(x, 4, 2, 1, projection.PCAOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Printf("explained variance ratio %.3f\n", res.ExplainedVarianceRatio[0])
	fmt.Printf("axis (%.3f, %.3f)\n", res.Components[0], res.Components[1])
	// Output:
	// explained variance ratio 1.000
	// axis (0.447, 0.894)
}

func ExampleTSNE() {
	x := twoClusters(200, 10)
	res, err := projection.TSNE(context.Background(), x, 200, 10, projection.DefaultTSNEOptions())
	if err != nil {
		panic(err)
	}
	// Every point's nearest neighbour in the layout is from its own cluster.
	separated := true
	for i := range 200 {
		best, bestD := -1, 0.0
		for j := range 200 {
			dx, dy := res.Coords[2*i]-res.Coords[2*j], res.Coords[2*i+1]-res.Coords[2*j+1]
			if d := float64(dx*dx + dy*dy); j != i && (best < 0 || d < bestD) {
				best, bestD = j, d
			}
		}
		if (best < 100) != (i < 100) {
			separated = false
		}
	}
	tr, _ := projection.Trustworthiness(x, 200, 10, res.Coords, 2, 10, 0)
	fmt.Println("clusters separated:", separated)
	fmt.Println("trustworthiness above 0.9:", tr > 0.9)
	// Output:
	// clusters separated: true
	// trustworthiness above 0.9: true
}

func ExampleLive() {
	live, err := projection.NewLive(projection.LiveOptions{Method: projection.MethodTSNE, Iterations: 250})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	x := twoClusters(100, 8)
	for epoch := range 3 {
		f, err := live.Next(ctx, x, 100, 8)
		if err != nil {
			panic(err)
		}
		fmt.Printf("epoch %d: %s, warm %v, %d iterations, %d coordinates\n",
			epoch, f.Method, f.Warm, f.Iterations, len(f.Coords))
	}
	_ = live.SetMethod(projection.MethodPCA)
	f, _ := live.Next(ctx, x, 100, 8)
	fmt.Printf("after switching: %s, aligned %v\n", f.Method, f.Warm)
	// Output:
	// epoch 0: tsne, warm false, 250 iterations, 200 coordinates
	// epoch 1: tsne, warm true, 30 iterations, 200 coordinates
	// epoch 2: tsne, warm true, 30 iterations, 200 coordinates
	// after switching: pca, aligned true
}

func ExampleProcrustes() {
	prev := []float32{1, 0, 0, 1, -1, 0, 0, -1}
	cur := []float32{0, 1, -1, 0, 0, -1, 1, 0} // prev turned by 90°
	if err := projection.Procrustes(prev, cur, 4, 2); err != nil {
		panic(err)
	}
	fmt.Printf("%.2f\n", cur)
	// Output:
	// [1.00 0.00 0.00 1.00 -1.00 0.00 0.00 -1.00]
}
