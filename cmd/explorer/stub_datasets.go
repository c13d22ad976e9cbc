package main

import (
	"context"
	"errors"
	"io"
)

// runDatasets is a placeholder, deleted when the real command lands.
func runDatasets(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("datasets: not built yet")
}
