package export

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/trainer"
)

// writeModel writes the encoder of the run's newest checkpoint as
// safetensors (trainer.WriteModel): the weights of the newest epoch kept,
// which for a finished run is its last.
func writeModel(ctx context.Context, w io.Writer, r *Run) error {
	if r.Data.Precomputed {
		return run.Errorf(run.Invalid, "format", "this run explores uploaded finished embeddings: it has no encoder to export")
	}
	_, ck, err := r.Source.Checkpoint(ctx)
	if errors.Is(err, run.ErrNotFound) {
		return run.Errorf(run.NotFound, "", "the run has no trained encoder kept yet")
	} else if err != nil {
		return err
	}
	cfg := r.Config.Config
	cfg.Dataset = r.Data.Name // the checkpoint's, which r.Config may mask
	m, err := trainer.ModelOf(cfg, r.Data, ck)
	if err != nil {
		return fmt.Errorf("reading the run's checkpoint: %w", err)
	}
	m.Config.Dataset, m.Featurizer.Dataset = r.Config.Dataset, r.Config.Dataset
	return trainer.WriteModel(w, m)
}
