package main

import (
	"context"
	"errors"
	"io"
)

// runProject is a placeholder, deleted when the real command lands.
func runProject(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("project: not built yet")
}
