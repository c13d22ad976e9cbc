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
	// batch: must be between 2 and the 1438 training items of digits, got 5000
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
