package main

import (
	"context"
	"errors"
	"io"
)

// runTrain is a placeholder, deleted when the real command lands.
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("train: not built yet")
}
