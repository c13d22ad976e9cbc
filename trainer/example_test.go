package trainer_test

import (
	"context"
	"errors"
	"fmt"

	sampledata "github.com/contrastive-explorer/explorer/sample-data"
	"github.com/contrastive-explorer/explorer/trainer"
)

// A configuration is checked against the dataset it will train on; a bad
// value comes back as a *FieldError naming the field (and so the flag).
func ExampleConfig_Validate() {
	d, err := sampledata.Load("digits")
	if err != nil {
		panic(err)
	}
	cfg := trainer.DefaultConfig()
	fmt.Println(cfg.Validate(d))

	cfg.Batch = 5000
	err = cfg.Validate(d)
	var fe *trainer.FieldError
	if errors.As(err, &fe) {
		fmt.Println(fe.Field)
	}
	fmt.Println(err)
	// Output:
	// <nil>
	// batch
	// batch: a batch of 5000 items does not fit: “Handwritten digits (UCI)” has 1438 training items, so choose a batch from 2 to 1438
}

// A run trains in the goroutine that calls Run and publishes epoch 0 (the
// untrained encoder) and then every trained epoch to its subscribers.
func Example() {
	d, err := sampledata.Load("digits")
	if err != nil {
		panic(err)
	}
	cfg := trainer.DefaultConfig()
	cfg.Epochs = 2
	r, err := trainer.New(cfg, d)
	if err != nil {
		panic(err)
	}
	epochs, unsubscribe := r.Subscribe(cfg.Epochs + 1)
	defer unsubscribe()
	go func() {
		if err := r.Run(context.Background()); err != nil {
			panic(err)
		}
	}()
	for e := range epochs {
		fmt.Printf("epoch %d: %d embeddings of dimension %d, collapsed %v\n",
			e.Epoch, len(e.Embeddings)/e.Dim, e.Dim, e.Metrics.Collapsed)
	}
	fmt.Println(r.State())
	// Output:
	// epoch 0: 1797 embeddings of dimension 32, collapsed false
	// epoch 1: 1797 embeddings of dimension 32, collapsed false
	// epoch 2: 1797 embeddings of dimension 32, collapsed false
	// done
}

// A run with checkpoints can be continued after a crash: Restore takes the
// last checkpoint the run published and trains the remaining epochs
// exactly as the run would have.
func ExampleRestore() {
	d, err := sampledata.Load("digits")
	if err != nil {
		panic(err)
	}
	cfg := trainer.DefaultConfig()
	cfg.Epochs, cfg.Hidden = 3, []int{32}
	whole, err := trainer.New(cfg, d)
	if err != nil {
		panic(err)
	}
	whole.EnableCheckpoints()
	epochs, _ := whole.Subscribe(cfg.Epochs + 1)
	if err := whole.Run(context.Background()); err != nil {
		panic(err)
	}
	var losses []float64
	var saved []byte
	for e := range epochs {
		losses = append(losses, e.Metrics.Loss)
		if e.Epoch == 1 {
			saved = e.Checkpoint // what a server would have stored
		}
	}

	n, err := trainer.CheckpointEpoch(saved)
	fmt.Println("checkpoint after epoch", n, err)
	r, err := trainer.Restore(cfg, d, saved)
	if err != nil {
		panic(err)
	}
	resumed, _ := r.Subscribe(cfg.Epochs + 1)
	if err := r.Run(context.Background()); err != nil {
		panic(err)
	}
	for e := range resumed {
		fmt.Printf("epoch %d: same loss %v\n", e.Epoch, e.Metrics.Loss == losses[e.Epoch])
	}

	cfg.LR *= 2
	_, err = trainer.Restore(cfg, d, saved)
	fmt.Println(err)
	// Output:
	// checkpoint after epoch 1 <nil>
	// epoch 2: same loss true
	// epoch 3: same loss true
	// trainer: checkpoint is of another configuration: lr 0.001 in the checkpoint, 0.002 here
}

// The loss's scratch space grows with the square of the batch, so a server
// can refuse a batch that would not fit.
func ExampleConfig_MemoryEstimate() {
	cfg := trainer.DefaultConfig()
	d, err := sampledata.Load("digits")
	if err != nil {
		panic(err)
	}
	for _, b := range []int{256, 1024} {
		cfg.Batch = b
		fmt.Printf("batch %d: %d MiB\n", b, cfg.MemoryEstimate(d)>>20)
	}
	// Output:
	// batch 256: 9 MiB
	// batch 1024: 32 MiB
}
