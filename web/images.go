package web

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"runtime"
	"slices"
	"sync"
	"weak"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// imageCache makes, once per dataset, the bytes of its pixels endpoint and
// of its preview thumbnail. It holds its datasets weakly: once an upload is
// deleted and no run uses it any more, its entries go with it.
type imageCache struct {
	mu       sync.Mutex
	pixelsOf map[weak.Pointer[dataset.Dataset]]pixelBytes
	previews map[weak.Pointer[dataset.Dataset]][]byte
}

func newImageCache() *imageCache {
	return &imageCache{
		pixelsOf: make(map[weak.Pointer[dataset.Dataset]]pixelBytes),
		previews: make(map[weak.Pointer[dataset.Dataset]][]byte),
	}
}

// key returns d's cache key, arranging for its entries to be dropped when
// d is collected. The caller holds mu.
func (ic *imageCache) keyLocked(d *dataset.Dataset) weak.Pointer[dataset.Dataset] {
	k := weak.Make(d)
	_, p := ic.pixelsOf[k]
	_, v := ic.previews[k]
	if !p && !v {
		runtime.AddCleanup(d, func(k weak.Pointer[dataset.Dataset]) {
			ic.mu.Lock()
			delete(ic.pixelsOf, k)
			delete(ic.previews, k)
			ic.mu.Unlock()
		}, k)
	}
	return k
}

// checkImages answers 404 for a dataset without pixels.
func checkImages(d *dataset.Dataset) error {
	if d.Kind != dataset.Images || d.Width*d.Height != d.Dim {
		return notFound("dataset %s has no pixels", d.Name)
	}
	return nil
}

// pixelBytes is the pixels endpoint's answer, plain and gzipped: made once,
// so many viewers cost no compression each.
type pixelBytes struct {
	raw, gzipped []byte
}

// pixels returns n×Width×Height grey bytes, dataset order: the features
// (0 background … 1 full ink) scaled to 0…255.
func (ic *imageCache) pixels(d *dataset.Dataset) (pixelBytes, error) {
	if err := checkImages(d); err != nil {
		return pixelBytes{}, err
	}
	ic.mu.Lock()
	defer ic.mu.Unlock()
	k := ic.keyLocked(d)
	if b, ok := ic.pixelsOf[k]; ok {
		return b, nil
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
	ic.pixelsOf[k] = b
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
func (ic *imageCache) preview(d *dataset.Dataset) ([]byte, error) {
	if err := checkImages(d); err != nil {
		return nil, err
	}
	ic.mu.Lock()
	defer ic.mu.Unlock()
	k := ic.keyLocked(d)
	if b, ok := ic.previews[k]; ok {
		return b, nil
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
		return nil, fmt.Errorf("encoding preview of %s: %w", d.Name, err)
	}
	ic.previews[k] = buf.Bytes()
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
