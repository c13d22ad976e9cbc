package export_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"image/gif"
	"image/png"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/export"
	sampledata "github.com/contrastive-explorer/explorer/sample-data"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// history is a Source of made-up epochs and frames.
type history struct {
	frames []run.FrameRecord
	epochs []run.EpochRecord
	ckpt   []byte // the newest checkpoint, of epoch len(epochs)-1
}

func (h *history) Checkpoint(context.Context) (int, []byte, error) {
	if h.ckpt == nil {
		return 0, nil, run.ErrNotFound
	}
	return len(h.epochs) - 1, h.ckpt, nil
}

func (h *history) Frames(_ context.Context, from int) ([]run.FrameRecord, error) {
	var out []run.FrameRecord
	for _, f := range h.frames {
		if f.Epoch >= from {
			out = append(out, f)
		}
	}
	return out, nil
}

func (h *history) Epoch(_ context.Context, e int) (run.EpochRecord, error) {
	if e < 0 || e >= len(h.epochs) {
		return run.EpochRecord{}, run.ErrNotFound
	}
	return h.epochs[e], nil
}

// fakeRun is a run of epochs+1 epochs on the bundled dataset name, with
// random embeddings (dim 6) and frames in dims dimensions.
func fakeRun(t testing.TB, name string, epochs, dims int) *export.Run {
	t.Helper()
	d, err := sampledata.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	n := d.Len()
	rng := rand.New(rand.NewPCG(1, 2))
	h := &history{}
	for e := 0; e <= epochs; e++ {
		emb := make([]float32, n*6)
		for i := range emb {
			emb[i] = rng.Float32()
		}
		coords := make([]float32, n*dims)
		for i := range n {
			// Classes drift apart epoch by epoch.
			for k := range dims {
				coords[i*dims+k] = rng.Float32() + float32(e)*float32(int(d.Labels[i])%(k+2))
			}
		}
		m := trainer.Metrics{Loss: 5 - float64(e)*0.1, KNNAccuracy: 0.5 + float64(e)*0.01, RawKNNAccuracy: 0.7, HasKNN: true,
			Alignment: 0.3, Uniformity: -1 - float64(e)*0.1, PosHist: make([]int, 40), NegHist: make([]int, 40), Steps: 10 * e}
		m.PosHist[5], m.NegHist[30] = 10, 20
		h.epochs = append(h.epochs, run.EpochRecord{Epoch: e, Metrics: run.EncodeMetrics(m), Embeddings: emb, Dim: 6})
		h.frames = append(h.frames, run.FrameRecord{Epoch: e, Method: run.MethodTSNE, Dims: dims, Coords: coords,
			Metrics: h.epochs[e].Metrics, Sent: time.Now()})
	}
	cfg := trainer.DefaultConfig()
	cfg.Dataset, cfg.Epochs = name, epochs
	return &export.Run{ID: "abc123", Config: run.Config{Config: cfg, Projection: run.MethodTSNE, Dims: dims}, Data: d, Newest: epochs, Source: h}
}

func write(t testing.TB, r *export.Run, req export.Request) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := export.Write(context.Background(), &buf, r, req); err != nil {
		t.Fatalf("%s: %v", req.Format, err)
	}
	return buf.Bytes()
}

// TestCoords checks both coordinate exports: one row per item per epoch,
// the coordinates as stored (to float32), labels and splits.
func TestCoords(t *testing.T) {
	for _, dims := range []int{2, 3} {
		r := fakeRun(t, "digits", 3, dims)
		h := r.Source.(*history)
		n := r.Data.Len()
		rows, err := csv.NewReader(bytes.NewReader(write(t, r, export.Request{Format: "coords.csv"}))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"epoch", "index", "x", "y", "label", "split"}
		if dims == 3 {
			want = slices.Insert(want, 4, "z")
		}
		if !slices.Equal(rows[0], want) || len(rows) != 1+4*n {
			t.Fatalf("%dD: header %v and %d rows, want %v and %d", dims, rows[0], len(rows), want, 1+4*n)
		}
		for _, row := range rows[1:] {
			e, _ := strconv.Atoi(row[0])
			i, _ := strconv.Atoi(row[1])
			for k := range dims {
				v, err := strconv.ParseFloat(row[2+k], 32)
				if err != nil || float32(v) != h.frames[e].Coords[i*dims+k] {
					t.Fatalf("%dD: epoch %d item %d coordinate %d is %q, stored %v", dims, e, i, k, row[2+k], h.frames[e].Coords[i*dims+k])
				}
			}
			if row[2+dims] != r.Data.ClassNames[r.Data.Labels[i]] || row[3+dims] != r.Data.Splits[i].String() {
				t.Fatalf("item %d: label %q split %q", i, row[2+dims], row[3+dims])
			}
		}

		var j struct {
			Items []struct {
				Index int
				Label string
			}
			Epochs []struct {
				Epoch  int
				Method string
				Dims   int
				Coords [][]float32
			}
		}
		if err := json.Unmarshal(write(t, r, export.Request{Format: "coords.json"}), &j); err != nil {
			t.Fatal(err)
		}
		if len(j.Items) != n || len(j.Epochs) != 4 {
			t.Fatalf("coords.json: %d items, %d epochs", len(j.Items), len(j.Epochs))
		}
		for _, ep := range j.Epochs {
			if ep.Dims != dims || ep.Method != run.MethodTSNE || len(ep.Coords) != n {
				t.Fatalf("coords.json epoch %d: %s %dD, %d items", ep.Epoch, ep.Method, ep.Dims, len(ep.Coords))
			}
			for i, c := range ep.Coords {
				if !slices.Equal(c, h.frames[ep.Epoch].Coords[i*dims:(i+1)*dims]) {
					t.Fatalf("coords.json epoch %d item %d: %v", ep.Epoch, i, c)
				}
			}
		}
	}
}

// TestMetrics checks metrics.csv and metrics.json: a row per epoch with
// the stored figures.
func TestMetrics(t *testing.T) {
	r := fakeRun(t, "digits", 4, 2)
	rows, err := csv.NewReader(bytes.NewReader(write(t, r, export.Request{Format: "metrics.csv"}))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || rows[0][0] != "epoch" || rows[0][1] != "loss" {
		t.Fatalf("metrics.csv: %d rows, header %v", len(rows), rows[0])
	}
	for e, row := range rows[1:] {
		loss, _ := strconv.ParseFloat(row[1], 64)
		if row[0] != strconv.Itoa(e) || loss != 5-float64(e)*0.1 {
			t.Errorf("metrics.csv epoch %d: %v", e, row[:3])
		}
	}
	var j struct {
		Run    string
		Config run.Config
		Epochs []map[string]any
	}
	if err := json.Unmarshal(write(t, r, export.Request{Format: "metrics.json"}), &j); err != nil {
		t.Fatal(err)
	}
	if len(j.Epochs) != 5 || j.Epochs[2]["knn_accuracy"] != 0.52 || j.Config.Dataset != "digits" || j.Run != "abc123" {
		t.Errorf("metrics.json: %d epochs, epoch 2 %v, config %+v", len(j.Epochs), j.Epochs[2]["knn_accuracy"], j.Config.Dataset)
	}
}

// TestProjectorBundle checks the Embedding Projector bundle: it parses
// back with the explorer's own projector reader (vectors and labels), its
// sprite has the geometry its config states, and vectors.tsv alone holds
// the epoch's embeddings.
func TestProjectorBundle(t *testing.T) {
	r := fakeRun(t, "digits", 2, 2)
	h := r.Source.(*history)
	b := write(t, r, export.Request{Format: "projector.zip", Epoch: 1})
	back, err := dataset.Parse("bundle.zip", bytes.NewReader(b), dataset.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := r.Data.Len()
	if back.Len() != n || back.Dim != 6 {
		t.Fatalf("parsed back %d items of %d dimensions", back.Len(), back.Dim)
	}
	for i := range n {
		if !slices.Equal(back.Row(i), h.epochs[1].Embeddings[i*6:(i+1)*6]) {
			t.Fatalf("item %d: %v, stored %v", i, back.Row(i), h.epochs[1].Embeddings[i*6:(i+1)*6])
		}
		if back.ClassNames[back.Labels[i]] != r.Data.ClassNames[r.Data.Labels[i]] {
			t.Fatalf("item %d labelled %q", i, back.ClassNames[back.Labels[i]])
		}
	}

	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	var cfg struct {
		Embeddings []struct {
			TensorShape  [2]int
			TensorPath   string
			MetadataPath string
			Sprite       struct {
				ImagePath      string
				SingleImageDim [2]int
			}
		}
	}
	if err := json.Unmarshal(files["projector_config.json"], &cfg); err != nil || len(cfg.Embeddings) != 1 {
		t.Fatalf("projector_config.json: %v %s", err, files["projector_config.json"])
	}
	e := cfg.Embeddings[0]
	if e.TensorShape != [2]int{n, 6} || files[e.TensorPath] == nil || files[e.MetadataPath] == nil || e.Sprite.SingleImageDim != [2]int{8, 8} {
		t.Fatalf("config %+v", e)
	}
	sprite, err := png.Decode(bytes.NewReader(files[e.Sprite.ImagePath]))
	if err != nil {
		t.Fatal(err)
	}
	cols := 43 // ⌈√1797⌉
	if b := sprite.Bounds(); b.Dx() != cols*8 || b.Dy() != cols*8 {
		t.Errorf("sprite %v, want %d×%d", b, cols*8, cols*8)
	}
	// Item 0's cell holds its pixels, dark ink on white.
	px := r.Data.Row(0)
	for k, v := range px {
		g, _, _, _ := sprite.At(k%8, k/8).RGBA()
		if want := 255 - int(v*255+0.5); int(g>>8) < want-1 || int(g>>8) > want+1 {
			t.Fatalf("sprite pixel %d of item 0: %d, want %d", k, g>>8, want)
		}
	}
	if !bytes.Equal(files["vectors.tsv"], write(t, r, export.Request{Format: "vectors.tsv", Epoch: 1})) {
		t.Error("the bundle's vectors.tsv differs from the vectors export of the same epoch")
	}
}

// TestSpriteFitsTheProjector checks that a dataset too large for its
// images' own size is shrunk to the projector's limit.
func TestSpriteFitsTheProjector(t *testing.T) {
	d := &dataset.Dataset{Kind: dataset.Images, Width: 28, Height: 28, Dim: 784}
	n := 100_000
	d.X = make([]float32, n*784)
	d.Labels = make([]int32, n)
	img, cell := export.Sprite(d)
	if cols := 317; cell != export.SpriteMaxSide/cols || img.Bounds().Dx() != cols*cell || img.Bounds().Dx() > export.SpriteMaxSide {
		t.Errorf("100,000 images of 28×28: cells of %d, sprite %v", cell, img.Bounds())
	}
}

// TestFigures checks that the map and the curves decode as PNG and parse
// as SVG, and that an epoch not trained yet is refused.
func TestFigures(t *testing.T) {
	r := fakeRun(t, "digits", 3, 3)
	for _, f := range []string{"scatter.png", "curves.png"} {
		img, err := png.Decode(bytes.NewReader(write(t, r, export.Request{Format: f, Epoch: -1})))
		if err != nil || img.Bounds().Dx() < 600 {
			t.Errorf("%s: %v, %v", f, err, img)
		}
	}
	for _, f := range []string{"scatter.svg", "curves.svg"} {
		dec := xml.NewDecoder(bytes.NewReader(write(t, r, export.Request{Format: f, Epoch: 2})))
		svg := false
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if s, ok := tok.(xml.StartElement); ok && s.Name.Local == "svg" {
				svg = true
			}
		}
		if !svg {
			t.Errorf("%s has no svg element", f)
		}
	}
	err := export.Write(context.Background(), io.Discard, r, export.Request{Format: "scatter.png", Epoch: 9})
	if run.ErrorCode(err) != run.NotFound {
		t.Errorf("an epoch not trained: %v", err)
	}
	if err := export.Write(context.Background(), io.Discard, r, export.Request{Format: "movie.mp4"}); run.ErrorCode(err) != run.Invalid {
		t.Errorf("an unknown format: %v", err)
	}
}

// TestAnimation checks the GIF: it decodes with image/gif, has one frame
// per epoch and the in-between frames, at 800×600, and reports its
// progress frame by frame.
func TestAnimation(t *testing.T) {
	r := fakeRun(t, "digits", 5, 2)
	var seen []int
	b := write(t, r, export.Request{Format: "animation.gif", Progress: func(done, total int) {
		if total != 6+5*3 {
			t.Fatalf("progress total %d", total)
		}
		seen = append(seen, done)
	}})
	g, err := gif.DecodeAll(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != 6+5*3 || g.Config.Width != 800 || g.Config.Height != 600 || g.LoopCount != 0 {
		t.Fatalf("%d frames of %dx%d, loop %d; want 21 of 800x600 looping", len(g.Image), g.Config.Width, g.Config.Height, g.LoopCount)
	}
	if len(seen) != 21 || seen[20] != 21 || !slices.IsSorted(seen) {
		t.Errorf("progress %v", seen)
	}
	if g.Delay[0] != 30 || g.Delay[1] != 4 || g.Delay[20] != 200 {
		t.Errorf("delays %v", g.Delay)
	}
	// Frames differ: the points move.
	if bytes.Equal(g.Image[0].Pix, g.Image[1].Pix) || bytes.Equal(g.Image[1].Pix, g.Image[2].Pix) {
		t.Error("consecutive frames are the same picture")
	}
	// Every class colour is drawn.
	used := map[uint8]bool{}
	for _, p := range g.Image[20].Pix {
		used[p] = true
	}
	if len(used) < 10 {
		t.Errorf("the last frame uses %d colours", len(used))
	}
}

// TestModelExport: the encoder of the run's newest checkpoint, its dataset
// named as the run's Config names it; a run without a checkpoint, or one of
// finished uploaded embeddings, has none to export.
func TestModelExport(t *testing.T) {
	r := fakeRun(t, "digits", 2, 2)
	var buf bytes.Buffer
	err := export.Write(context.Background(), &buf, r, export.Request{Format: "model.safetensors"})
	if !errors.Is(err, run.ErrNotFound) {
		t.Errorf("without a checkpoint: %v", err)
	}

	cfg := trainer.DefaultConfig()
	cfg.Epochs, cfg.Hidden, cfg.Batch = 2, []int{16}, 128
	tr, err := trainer.New(cfg, r.Data)
	if err != nil {
		t.Fatal(err)
	}
	tr.EnableCheckpoints()
	ch, _ := tr.Subscribe(cfg.Epochs + 1)
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := r.Source.(*history)
	h.epochs = h.epochs[:0]
	for e := range ch {
		h.epochs = append(h.epochs, run.EpochRecord{Epoch: e.Epoch, Embeddings: e.Embeddings, Dim: e.Dim})
		h.ckpt = e.Checkpoint
	}
	r.Config.Config, r.Config.Dataset = tr.Config(), "uploaded dataset"
	m, err := trainer.ReadModel(bytes.NewReader(write(t, r, export.Request{Format: "model.safetensors"})))
	if err != nil {
		t.Fatal(err)
	}
	if m.Epoch != 2 || m.Featurizer.Dataset != "uploaded dataset" || m.Featurizer.Kind != dataset.Images {
		t.Errorf("exported %s", m.Summary())
	}

	r.Data = &dataset.Dataset{Kind: dataset.Vectors, Precomputed: true}
	err = export.Write(context.Background(), &buf, r, export.Request{Format: "model.safetensors"})
	if e, ok := errors.AsType[*run.Error](err); !ok || e.Code != run.Invalid {
		t.Errorf("finished embeddings: %v", err)
	}
}
