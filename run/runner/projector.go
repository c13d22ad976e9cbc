package runner

import (
	"context"

	"github.com/contrastive-explorer/explorer/projection"
	"github.com/contrastive-explorer/explorer/run"
)

// liveProjector is the production Projector: a projection.Live, which warm
// starts each t-SNE and UMAP frame from the previous one and aligns PCA
// frames to it.
type liveProjector struct{ live *projection.Live }

func newLiveProjector(method string, dims int, seed uint64) (Projector, error) {
	l, err := projection.NewLive(projection.LiveOptions{Method: projection.Method(method), Dims: dims, Seed: seed})
	if err != nil {
		return nil, err
	}
	return liveProjector{l}, nil
}

// Project projects one epoch's embeddings.
func (p liveProjector) Project(ctx context.Context, x []float32, n, d int) (Projected, error) {
	f, err := p.live.Next(ctx, x, n, d)
	if err != nil {
		return Projected{}, err
	}
	return Projected{
		Coords: f.Coords, Dims: f.Dims, Method: string(f.Method),
		Quality: run.Quality{KL: f.KL, Trustworthiness: f.Trustworthiness, KNNPreservation: f.KNNPreservation, Seconds: f.Seconds},
	}, nil
}

// SetMethod switches method from the next frame on; the first frame of the
// new method starts from (t-SNE, UMAP) or is aligned to (PCA) the last one.
func (p liveProjector) SetMethod(method string) error {
	return p.live.SetMethod(projection.Method(method))
}

// StartFrom starts the next frame from another run's layout.
func (p liveProjector) StartFrom(layout []float32, n int) error { return p.live.StartFrom(layout, n) }

// Trim releases the t-SNE and UMAP state kept between frames (see projection.Live.Trim).
func (p liveProjector) Trim() { p.live.Trim() }
