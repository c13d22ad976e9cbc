package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/contrastive-explorer/explorer/projection"
	"github.com/contrastive-explorer/explorer/run/export"
	sampledata "github.com/contrastive-explorer/explorer/sample-data"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// embedUsage is the help text of `explorer embed`.
const embedUsage = `Usage: explorer embed --model FILE (--input FILE | --dataset NAME) [flags]

Embeds items with a trained encoder: a model.safetensors that 'explorer train'
writes, or that the run page's Export menu and 'explorer export --format
model.safetensors' save (docs/model.md describes the file).

--input is read as an upload is (CSV, a zip of images, plain text, user,item
interactions) and featurised as the model's training items were: images must
have the training images' size, texts are hashed into the model's n-grams
(words it never saw are left out), interaction items are found by name. Each
item's embedding is written as one line of tab-separated values (Embedding
Projector vectors.tsv format), in the input's order; --metadata writes the
items' labels and texts beside them.

Flags:
`

// runEmbed is `explorer embed`.
func runEmbed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("embed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "the encoder: a model.safetensors `file`")
	input := fs.String("input", "", "the items to embed: a dataset `file`")
	name := fs.String("dataset", "", "embed the items of this bundled dataset instead: "+strings.Join(datasetNames(), ", "))
	out := fs.String("out", "-", "the vectors.tsv `file` to write; - for standard output")
	meta := fs.String("metadata", "", "also write the items' metadata.tsv (labels, splits, texts) to this `file`")
	fs.Usage = func() {
		fmt.Fprint(stderr, embedUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usagef("embed: %v", err)
	}
	switch {
	case fs.NArg() > 0:
		return usagef("embed: unexpected argument %q", fs.Arg(0))
	case *model == "":
		return usagef("embed: --model: name the encoder's model.safetensors")
	case (*input == "") == (*name == ""):
		return usagef("embed: give the items to embed: --input FILE or --dataset NAME")
	}
	m, err := readModelFile(*model)
	if err != nil {
		return err
	}
	var d *dataset.Dataset
	if *input != "" {
		if d, err = readDataFile("embed", *input); err != nil {
			return err
		}
	} else {
		d, err = sampledata.Load(*name)
		if errors.Is(err, sampledata.ErrUnknown) {
			return usagef("embed: --dataset: unknown dataset %q (bundled: %s)", *name, strings.Join(datasetNames(), ", "))
		} else if err != nil {
			return fmt.Errorf("embed: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	emb, err := m.Embed(d)
	if err != nil {
		return usagef("embed: %v", err)
	}
	write := func(w io.Writer) error { return projection.WriteVectors(w, emb, d.Len(), m.OutDim()) }
	if *out == "-" {
		bw := bufio.NewWriter(stdout)
		if err := write(bw); err != nil {
			return fmt.Errorf("embed: %w", err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("embed: %w", err)
		}
	} else if err := writeFileAtomic(*out, write); err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	if *meta != "" {
		if err := writeFileAtomic(*meta, func(w io.Writer) error { return export.WriteMetadata(w, d) }); err != nil {
			return fmt.Errorf("embed: %w", err)
		}
	}
	fmt.Fprintf(stderr, "embedded %d items with the %s\n", d.Len(), m.Summary())
	return nil
}

// readModelFile reads a model.safetensors; a file that is not one is a
// usage error saying why.
func readModelFile(path string) (*trainer.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("embed: --model: %v", err)
	}
	defer f.Close()
	m, err := trainer.ReadModel(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		return nil, usagef("embed: --model %s: %v", path, err)
	}
	return m, nil
}
