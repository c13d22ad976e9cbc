package export

import (
	"archive/zip"
	"compress/flate"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// SpriteMaxSide is the largest sprite side the Embedding Projector loads
// (WebGL's texture limit on most machines): a dataset with more images than
// fit at their own size has them shrunk to fit.
const SpriteMaxSide = 8192

// projectorConfig is projector_config.json, as the Embedding Projector
// reads it (its ProjectorConfig): one embedding, its tensor, metadata and
// sprite beside it in the bundle.
type projectorConfig struct {
	Embeddings []projectorEmbedding `json:"embeddings"`
}

type projectorEmbedding struct {
	TensorName   string           `json:"tensorName"`
	TensorShape  [2]int           `json:"tensorShape"`
	TensorPath   string           `json:"tensorPath"`
	MetadataPath string           `json:"metadataPath"`
	Sprite       *projectorSprite `json:"sprite,omitempty"`
}

type projectorSprite struct {
	ImagePath      string `json:"imagePath"`
	SingleImageDim [2]int `json:"singleImageDim"`
}

// writeProjector writes the Embedding Projector bundle of epoch e as a
// zip: vectors.tsv, metadata.tsv, sprite.png for image datasets, and
// projector_config.json naming them.
func writeProjector(ctx context.Context, w io.Writer, r *Run, e int) error {
	rec, err := r.Source.Epoch(ctx, e)
	if err != nil {
		return err
	}
	n := len(rec.Embeddings) / max(rec.Dim, 1)
	zw := zip.NewWriter(w)
	// The text files are numbers: the fastest deflate keeps most of the
	// saving at a third of the time. The sprite is a PNG, compressed
	// already: it is stored as it is.
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	add := func(name string, write func(io.Writer) error) error {
		method := zip.Deflate
		if strings.HasSuffix(name, ".png") {
			method = zip.Store
		}
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: time.Now().UTC()})
		if err != nil {
			return err
		}
		return write(f)
	}
	if err := add("vectors.tsv", func(w io.Writer) error { return writeVectors(ctx, w, r, e) }); err != nil {
		return err
	}
	if err := add("metadata.tsv", func(w io.Writer) error { return WriteMetadata(w, r.Data) }); err != nil {
		return err
	}
	cfg := projectorConfig{Embeddings: []projectorEmbedding{{
		TensorName: r.Title() + " · epoch " + strconv.Itoa(e), TensorShape: [2]int{n, rec.Dim},
		TensorPath: "vectors.tsv", MetadataPath: "metadata.tsv",
	}}}
	if r.Data.Kind == dataset.Images && r.Data.Width > 0 {
		img, cell := Sprite(r.Data)
		if err := add("sprite.png", func(w io.Writer) error {
			return (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(w, img)
		}); err != nil {
			return err
		}
		cfg.Embeddings[0].Sprite = &projectorSprite{ImagePath: "sprite.png", SingleImageDim: [2]int{cell, cell}}
	}
	if err := add("projector_config.json", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(cfg)
	}); err != nil {
		return err
	}
	return zw.Close()
}

// Sprite returns the sprite atlas of an image dataset, as the Embedding
// Projector reads one: a square grid of cells, item i at row i / cols and
// column i % cols, cols = ⌈√n⌉, dark ink on white, and the side of a cell.
// Cells are the images' own size unless the atlas would pass
// SpriteMaxSide; then they are shrunk (by averaging) to fit.
func Sprite(d *dataset.Dataset) (*image.Gray, int) {
	n := d.Len()
	cols := max(int(math.Ceil(math.Sqrt(float64(n)))), 1)
	side := max(d.Width, d.Height)
	cell := min(side, SpriteMaxSide/cols)
	img := image.NewGray(image.Rect(0, 0, cols*cell, cols*cell))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	w, h := d.Width, d.Height
	for i := range n {
		px := d.Row(i)
		x0, y0 := (i%cols)*cell, (i/cols)*cell
		for cy := range cell {
			// The source rows and columns this cell pixel averages.
			sy0, sy1 := cy*h/cell, max((cy+1)*h/cell, cy*h/cell+1)
			for cx := range cell {
				sx0, sx1 := cx*w/cell, max((cx+1)*w/cell, cx*w/cell+1)
				var sum float32
				for sy := sy0; sy < min(sy1, h); sy++ {
					for sx := sx0; sx < min(sx1, w); sx++ {
						sum += px[sy*w+sx]
					}
				}
				ink := sum / float32((sy1-sy0)*(sx1-sx0))
				img.Pix[(y0+cy)*img.Stride+x0+cx] = 255 - uint8(min(max(ink, 0), 1)*255+0.5)
			}
		}
	}
	return img, cell
}
