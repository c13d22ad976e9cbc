package projection

import (
	"context"
	"errors"
	"math"
	"testing"
)

func TestTrustworthiness(t *testing.T) {
	x, _ := blobs(200, 5, 4, 4, 1)
	t.Run("identity layout is perfect", func(t *testing.T) {
		// The first 3 coordinates of 3-dimensional data are the data.
		x3, _ := blobs(200, 3, 4, 4, 2)
		tr, err := Trustworthiness(x3, 200, 3, x3, 3, 10, 0)
		if err != nil || math.Abs(tr-1) > 1e-12 {
			t.Fatalf("trustworthiness %v, %v; want 1", tr, err)
		}
		p, err := KNNPreservation(x3, 200, 3, x3, 3, 10, 0)
		if err != nil || math.Abs(p-1) > 1e-12 {
			t.Fatalf("kNN preservation %v, %v; want 1", p, err)
		}
	})
	t.Run("random layout is poor, PCA good", func(t *testing.T) {
		rnd := randMatrix(200, 2, 9)
		tRand, _ := Trustworthiness(x, 200, 5, rnd, 2, 10, 0)
		pca, _ := PCA(x, 200, 5, 2, PCAOptions{})
		tPCA, _ := Trustworthiness(x, 200, 5, pca.Coords, 2, 10, 0)
		if !(tRand < 0.7 && tPCA > tRand+0.1) {
			t.Fatalf("random %.3f, PCA %.3f", tRand, tPCA)
		}
	})
	t.Run("bad k", func(t *testing.T) {
		if _, err := Trustworthiness(x, 200, 5, x[:400], 2, 150, 0); !errors.Is(err, ErrOption) {
			t.Fatalf("error %v, want ErrOption", err)
		}
	})
}

func TestExactKL(t *testing.T) {
	const n = 150
	x, _ := blobs(n, 6, 3, 4, 3)
	opts := DefaultTSNEOptions()
	opts.Theta, opts.Perplexity, opts.Iterations = 0, 20, 300
	res, err := TSNE(context.Background(), x, n, 6, opts)
	if err != nil {
		t.Fatal(err)
	}
	// With exact t-SNE the optimiser's KL is over all pairs too: the two
	// must agree.
	kl, err := KL(x, n, 6, res.Coords, 2, 20, 0)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(kl-res.KL) > 1e-4*res.KL {
		t.Errorf("evaluator KL %.6f, optimiser's exact KL %.6f", kl, res.KL)
	}
	// A random layout is much worse.
	bad, _ := KL(x, n, 6, randMatrix(n, 2, 1), 2, 20, 0)
	if bad < 2*kl {
		t.Errorf("random layout KL %.3f, t-SNE %.3f", bad, kl)
	}
}
