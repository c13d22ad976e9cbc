package web

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"time"

	"github.com/contrastive-explorer/explorer/run"
)

// This file is the one place that encodes what goes over the websocket
// (docs/protocol.md, "Websocket").

// frameMagic starts every binary coordinate frame.
const frameMagic = "CEF1"

// frameHeader is the size of a binary frame's header in bytes.
const frameHeader = 16

// encodeCoords returns the binary frame of an epoch: the header, then the
// n×dims coordinates centred and scaled by one factor, both chosen from the
// bulk of the points rather than from the farthest: the centre is, per
// coordinate, midway between the 1st and the 99th percentile, and the
// point at the 99th percentile of distance from it (in its largest
// coordinate) lands at 0.8. So the map
// fills the view, a handful of outliers may lie outside [-1, 1], and one
// point wandering off neither shrinks nor shifts everyone else (which
// would undo the frames' alignment). A layout of identical points stays at
// the origin. coords is not modified.
func encodeCoords(epoch int, coords []float32, n, dims int) []byte {
	buf := make([]byte, frameHeader+4*n*dims)
	copy(buf, frameMagic)
	binary.LittleEndian.PutUint32(buf[4:], uint32(epoch))
	binary.LittleEndian.PutUint32(buf[8:], uint32(n))
	buf[12] = byte(dims)
	if n == 0 {
		return buf
	}
	centre, extent := frameBox(coords, n, dims)
	scale := 1.0
	if extent > 0 && !math.IsInf(extent, 0) {
		scale = frameFill / extent
	}
	out := buf[frameHeader:]
	for i := range n {
		for k := range dims {
			v := float32((float64(coords[i*dims+k]) - centre[k]) * scale)
			binary.LittleEndian.PutUint32(out[4*(i*dims+k):], math.Float32bits(v))
		}
	}
	return buf
}

// How a frame is placed: the point at frameQuantile of distance from the
// centre lands at frameFill. The centre and the quantile are read off at
// most frameSamples evenly spaced points, which puts them within a
// fraction of a percentile of the exact ones at the cost of sorting a few
// thousand numbers, whatever the size of the run.
const (
	frameQuantile = 0.99
	frameFill     = 0.8
	frameSamples  = 2048
)

// frameBox returns the centre of the box holding the bulk of (a sample of)
// the points, per coordinate midway between the quantiles 1-frameQuantile
// and frameQuantile, and the frameQuantile quantile of a point's largest
// absolute coordinate about that centre.
// Coordinates that are not finite are left out.
func frameBox(coords []float32, n, dims int) (centre [3]float64, extent float64) {
	step := max(1, n/frameSamples)
	v := make([]float64, 0, n/step+1)
	for k := range dims {
		v = v[:0]
		for i := 0; i < n; i += step {
			if c := float64(coords[i*dims+k]); !math.IsNaN(c) && !math.IsInf(c, 0) {
				v = append(v, c)
			}
		}
		if len(v) > 0 {
			lo := nth(v, int(float64(len(v))*(1-frameQuantile)))
			hi := nth(v, int(math.Ceil(frameQuantile*float64(len(v))))-1)
			centre[k] = (lo + hi) / 2
		}
	}
	v = v[:0]
	for i := 0; i < n; i += step {
		e, finite := 0.0, true
		for k := range dims {
			c := float64(coords[i*dims+k])
			finite = finite && !math.IsNaN(c) && !math.IsInf(c, 0)
			e = max(e, math.Abs(c-centre[k]))
		}
		if finite {
			v = append(v, e)
		}
	}
	if len(v) == 0 {
		return centre, 0
	}
	return centre, nth(v, int(math.Ceil(frameQuantile*float64(len(v))))-1)
}

// nth returns the k-th smallest of v (0-based), reordering v: a
// quickselect, linear on average, where sorting the sample cost a
// millisecond a frame. v holds no NaN.
func nth(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		// Median of three as the pivot, then Hoare's partition.
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		p := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}

// frameInfo is the wire form of a projected frame's quality figures.
type frameInfo struct {
	Method          string     `json:"method"`
	Dims            int        `json:"dims"`
	KL              run.Number `json:"kl"`
	Trustworthiness run.Number `json:"trustworthiness"`
	KNNPreservation run.Number `json:"knn_preservation"`
	Seconds         run.Number `json:"seconds"`
}

// epochJSON is an epoch's text message.
type epochJSON struct {
	Type     string          `json:"type"`
	Epoch    int             `json:"epoch"`
	Backfill bool            `json:"backfill"`
	Metrics  json.RawMessage `json:"metrics"`
	Frame    frameInfo       `json:"frame"`
	// SentMS is when the server published the frame, in Unix
	// milliseconds: the browser's epoch-to-screen latency starts here.
	// History replays keep the time of the first publication.
	SentMS int64 `json:"sent_ms"`
}

// encodeEpoch returns an epoch's text message, published at sent.
func encodeEpoch(epoch int, backfill bool, metrics json.RawMessage, f frameInfo, sent time.Time) []byte {
	return mustJSON(epochJSON{Type: "epoch", Epoch: epoch, Backfill: backfill, Metrics: metrics, Frame: f, SentMS: sent.UnixMilli()})
}

// stateJSON is the "state" message.
type stateJSON struct {
	Type          string    `json:"type"`
	State         run.State `json:"state"`
	QueuePosition int       `json:"queue_position"`
	Epoch         int       `json:"epoch"`
}

// doneJSON is the last message of a stream.
type doneJSON struct {
	Type   string    `json:"type"`
	State  run.State `json:"state"`
	Epochs int       `json:"epochs"`
}

// errorJSON is the "error" message of a failed run.
type errorJSON struct {
	Type  string `json:"type"`
	Error string `json:"error"`
}

// projectionJSON announces a run's new projection.
type projectionJSON struct {
	Type   string `json:"type"`
	Method string `json:"method"`
	Dims   int    `json:"dims"`
}

// helloJSON is the first message of a stream.
type helloJSON struct {
	Type    string          `json:"type"`
	Run     RunSummary      `json:"run"`
	Dataset json.RawMessage `json:"dataset"`
	// View is the projection the stream's frames are in: the run's own
	// (Run.Projection) unless the viewer chose one (OwnView, ?method&dims).
	View    ProjectionJSON `json:"view"`
	OwnView bool           `json:"own_view"`
}

// liveMessage ends the history of a stream.
var liveMessage = &message{text: []byte(`{"type":"live"}`)}

// mustJSON encodes v, whose type is one of this package's wire structs and
// so always encodable.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("web: encoding " + err.Error())
	}
	return b
}
