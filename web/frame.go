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
// n×dims coordinates centred on their mean and scaled by one factor so that
// the largest absolute coordinate is 1 (a layout of identical points stays
// at the origin). coords is not modified.
func encodeCoords(epoch int, coords []float32, n, dims int) []byte {
	buf := make([]byte, frameHeader+4*n*dims)
	copy(buf, frameMagic)
	binary.LittleEndian.PutUint32(buf[4:], uint32(epoch))
	binary.LittleEndian.PutUint32(buf[8:], uint32(n))
	buf[12] = byte(dims)
	if n == 0 {
		return buf
	}
	var mean [3]float64
	for i := range n {
		for k := range dims {
			mean[k] += float64(coords[i*dims+k])
		}
	}
	for k := range dims {
		mean[k] /= float64(n)
	}
	var extent float64
	for i := range n {
		for k := range dims {
			extent = max(extent, math.Abs(float64(coords[i*dims+k])-mean[k]))
		}
	}
	scale := 1.0
	if extent > 0 && !math.IsInf(extent, 0) && !math.IsNaN(extent) {
		scale = 1 / extent
	}
	out := buf[frameHeader:]
	for i := range n {
		for k := range dims {
			v := float32((float64(coords[i*dims+k]) - mean[k]) * scale)
			binary.LittleEndian.PutUint32(out[4*(i*dims+k):], math.Float32bits(v))
		}
	}
	return buf
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
