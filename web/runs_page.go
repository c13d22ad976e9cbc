package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v5"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/datasets"
	"github.com/contrastive-explorer/explorer/run/export"
	"github.com/contrastive-explorer/explorer/views"
)

// comparableDataset is what the runs page tells the script of a run's
// dataset, to offer comparing runs on the same one: its id, but for an
// upload of another session only a digest of it, which matches the same
// upload's and names none (the id is the upload's key).
func comparableDataset(id, session, owner string) string {
	if !datasets.IsUpload(id) || session != "" && session == owner {
		return id
	}
	sum := sha256.Sum256([]byte("compare:" + id))
	return "upload-" + hex.EncodeToString(sum[:8])
}

// runsPage lists the session's runs (GET /runs).
func (s *Server) runsPage(c *echo.Context) error {
	sess := session(c)
	entries, err := s.runs.List(c.Request().Context(), sess, maxListedRuns)
	if err != nil {
		return err
	}
	titles := s.datasetTitles(sess)
	p := views.RunsPage{Runs: make([]views.RunRow, 0, len(entries))}
	for _, e := range entries {
		title, ok := titles[e.Config.Dataset]
		switch {
		case !ok && datasets.IsUpload(e.Config.Dataset):
			title = "an upload" // another session's, or deleted
		case !ok:
			title = e.Config.Dataset
		}
		p.Runs = append(p.Runs, views.RunRow{
			ID: e.ID, Name: e.Name, Dataset: title, DatasetID: comparableDataset(e.Config.Dataset, sess, e.Session), Loss: e.Config.Loss,
			State: string(e.State), Epoch: e.Epoch, Epochs: e.Config.Epochs, KNN: knnText(e.Metrics),
			Created: e.Created.Local().Format("2 Jan 2006 15:04"), Owner: sess != "" && e.Session == sess, Shared: e.Shared,
		})
	}
	return render(c, http.StatusOK, views.Runs(p))
}

// datasetTitles names the datasets session may see by id: bundled ones
// by their title, its uploads by their file name.
func (s *Server) datasetTitles(session string) map[string]string {
	out := make(map[string]string)
	for _, e := range s.datasets.List(session) {
		if e.Uploaded {
			out[e.ID] = e.Name
		} else {
			out[e.ID] = e.Info.Title
		}
	}
	return out
}

// knnText formats the kNN accuracy of an epoch's metrics, "" when the
// metrics have none.
func knnText(metrics json.RawMessage) string {
	var m struct {
		KNN    *float64 `json:"knn_accuracy"`
		HasKNN bool     `json:"has_knn"`
	}
	if json.Unmarshal(metrics, &m) != nil || !m.HasKNN || m.KNN == nil {
		return ""
	}
	return strconv.FormatFloat(*m.KNN, 'f', 3, 64)
}

// thumbnailSide is the side of a run's thumbnail in pixels.
const thumbnailSide = 64

// runThumbnail draws the run's newest frame as a small PNG (GET
// /api/runs/{id}/thumbnail.png): one pixel per item in its class colour,
// the first two coordinates, an empty picture before the first frame.
func (s *Server) runThumbnail(c *echo.Context) error {
	r, err := s.run(c)
	if err != nil {
		return err
	}
	sum := r.Summary()
	img := image.NewNRGBA(image.Rect(0, 0, thumbnailSide, thumbnailSide))
	frames, err := s.runs.Frames(c.Request().Context(), r, sum.Epoch)
	if err != nil {
		return err
	}
	if len(frames) > 0 {
		drawFrame(img, &frames[len(frames)-1], r.Dataset().Data.Labels)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=30")
	return c.Blob(http.StatusOK, "image/png", buf.Bytes())
}

// drawFrame plots f's first two coordinates into img, scaled to fit.
func drawFrame(img *image.NRGBA, f *run.FrameRecord, labels []int32) {
	n := len(f.Coords) / max(f.Dims, 1)
	if n == 0 || f.Dims < 2 {
		return
	}
	lo, hi := [2]float64{math.Inf(1), math.Inf(1)}, [2]float64{math.Inf(-1), math.Inf(-1)}
	for i := range n {
		for k := range 2 {
			v := float64(f.Coords[i*f.Dims+k])
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo[k], hi[k] = min(lo[k], v), max(hi[k], v)
			}
		}
	}
	span := max(hi[0]-lo[0], hi[1]-lo[1])
	if !(span > 0) {
		return
	}
	side := float64(thumbnailSide - 3)
	for i := range n {
		x, y := float64(f.Coords[i*f.Dims]), float64(f.Coords[i*f.Dims+1])
		if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
			continue
		}
		px := 1 + int((x-lo[0])/span*side)
		py := 1 + int((hi[1]-y)/span*side)
		col := export.Unlabelled
		if i < len(labels) {
			col = export.ColourOf(labels[i])
		}
		img.SetNRGBA(px, py, col)
	}
}
