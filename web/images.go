package web

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"slices"
	"sync"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// imageCache makes, once per dataset, the bytes of its pixels endpoint and
// of its preview thumbnail.
type imageCache struct {
	catalog Catalog

	mu       sync.Mutex
	pixelsOf map[string]pixelBytes
	previews map[string][]byte
}

func newImageCache(c Catalog) *imageCache {
	return &imageCache{catalog: c, pixelsOf: make(map[string]pixelBytes), previews: make(map[string][]byte)}
}

// imageDataset loads an image dataset, or answers 404.
func (ic *imageCache) imageDataset(name string) (*dataset.Dataset, error) {
	d, err := ic.catalog.Load(name)
	if err != nil {
		return nil, err
	}
	if d.Kind != dataset.Images || d.Width*d.Height != d.Dim {
		return nil, notFound("dataset %s has no pixels", name)
	}
	return d, nil
}

// pixelBytes is the pixels endpoint's answer, plain and gzipped: made once,
// so many viewers cost no compression each.
type pixelBytes struct {
	raw, gzipped []byte
}

// pixels returns n×Width×Height grey bytes, dataset order: the features
// (0 background … 1 full ink) scaled to 0…255.
func (ic *imageCache) pixels(name string) (pixelBytes, error) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if b, ok := ic.pixelsOf[name]; ok {
		return b, nil
	}
	d, err := ic.imageDataset(name)
	if err != nil {
		return pixelBytes{}, err
	}
	raw := make([]byte, len(d.X))
	for i, v := range d.X {
		raw[i] = byte(min(max(v, 0), 1)*255 + 0.5)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return pixelBytes{}, err
	}
	if err := zw.Close(); err != nil {
		return pixelBytes{}, err
	}
	b := pixelBytes{raw: raw, gzipped: buf.Bytes()}
	ic.pixelsOf[name] = b
	return b, nil
}

// Preview thumbnails: previewCols×previewRows items, each drawn at least
// previewCell pixels wide, dark ink on white.
const (
	previewCols = 8
	previewRows = 2
	previewCell = 32
)

// preview returns a PNG of sample items, taking classes in turn so every
// class shows up.
func (ic *imageCache) preview(name string) ([]byte, error) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if b, ok := ic.previews[name]; ok {
		return b, nil
	}
	d, err := ic.imageDataset(name)
	if err != nil {
		return nil, err
	}
	items := sampleItems(d, previewCols*previewRows)
	scale := max(1, (previewCell+max(d.Width, d.Height)-1)/max(d.Width, d.Height))
	cw, ch := d.Width*scale, d.Height*scale
	const gap = 2
	img := image.NewGray(image.Rect(0, 0, previewCols*(cw+gap)-gap, previewRows*(ch+gap)-gap))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for slot, item := range items {
		x0, y0 := (slot%previewCols)*(cw+gap), (slot/previewCols)*(ch+gap)
		row := d.Row(item)
		for y := range ch {
			for x := range cw {
				v := row[(y/scale)*d.Width+x/scale]
				img.SetGray(x0+x, y0+y, color.Gray{Y: 255 - byte(min(max(v, 0), 1)*255+0.5)})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encoding preview of %s: %w", name, err)
	}
	ic.previews[name] = buf.Bytes()
	return buf.Bytes(), nil
}

// sampleItems picks up to k items, the first of each class in turn, so a
// handful of thumbnails shows the variety of the dataset.
func sampleItems(d *dataset.Dataset, k int) []int {
	byClass := make(map[int32][]int)
	var classes []int32
	for i, l := range d.Labels {
		if _, ok := byClass[l]; !ok {
			classes = append(classes, l)
		}
		if len(byClass[l]) < k {
			byClass[l] = append(byClass[l], i)
		}
	}
	slices.Sort(classes)
	var out []int
	for round := 0; len(out) < k; round++ {
		added := false
		for _, l := range classes {
			if round < len(byClass[l]) && len(out) < k {
				out = append(out, byClass[l][round])
				added = true
			}
		}
		if !added {
			break
		}
	}
	return out
}
