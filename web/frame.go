package web

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/contrastive-explorer/explorer/trainer"
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

// number is a float64 that encodes NaN and ±Inf as null, which JSON cannot
// represent otherwise.
type number float64

// MarshalJSON writes n as the shortest decimal, or null when not finite.
func (n number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// histMax is the upper edge of the distance histograms: embeddings are unit
// vectors, so no two are further apart than 2.
const histMax = 2

// metricsJSON is the wire form of trainer.Metrics.
type metricsJSON struct {
	Loss           number `json:"loss"`
	KNNAccuracy    number `json:"knn_accuracy"`
	RawKNNAccuracy number `json:"raw_knn_accuracy"`
	HasKNN         bool   `json:"has_knn"`
	Alignment      number `json:"alignment"`
	Uniformity     number `json:"uniformity"`
	PosDistance    number `json:"pos_distance"`
	NegDistance    number `json:"neg_distance"`
	PosHist        []int  `json:"pos_hist"`
	NegHist        []int  `json:"neg_hist"`
	HistMax        number `json:"hist_max"`
	EffectiveRank  number `json:"effective_rank"`
	MeanStd        number `json:"mean_std"`
	Collapsed      bool   `json:"collapsed"`
	Seconds        number `json:"seconds"`
	Steps          int    `json:"steps"`
	LR             number `json:"lr"`
}

// encodeMetrics returns the JSON object the protocol sends as an epoch's
// "metrics".
func encodeMetrics(m trainer.Metrics) json.RawMessage {
	b, err := json.Marshal(metricsJSON{
		Loss:           number(m.Loss),
		KNNAccuracy:    number(m.KNNAccuracy),
		RawKNNAccuracy: number(m.RawKNNAccuracy),
		HasKNN:         m.HasKNN,
		Alignment:      number(m.Alignment),
		Uniformity:     number(m.Uniformity),
		PosDistance:    number(m.PosDistance),
		NegDistance:    number(m.NegDistance),
		PosHist:        nonNil(m.PosHist),
		NegHist:        nonNil(m.NegHist),
		HistMax:        histMax,
		EffectiveRank:  number(m.EffectiveRank),
		MeanStd:        number(m.MeanStd),
		Collapsed:      m.Collapsed,
		Seconds:        number(m.Seconds),
		Steps:          m.Steps,
		LR:             number(m.LR),
	})
	if err != nil {
		// Every field above has a fixed, encodable type.
		panic("web: encoding metrics: " + err.Error())
	}
	return b
}

func nonNil(h []int) []int {
	if h == nil {
		return []int{}
	}
	return h
}

// frameInfo is the wire form of a projected frame's quality figures.
type frameInfo struct {
	Method          string `json:"method"`
	Dims            int    `json:"dims"`
	KL              number `json:"kl"`
	Trustworthiness number `json:"trustworthiness"`
	KNNPreservation number `json:"knn_preservation"`
	Seconds         number `json:"seconds"`
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
	Type          string `json:"type"`
	State         State  `json:"state"`
	QueuePosition int    `json:"queue_position"`
	Epoch         int    `json:"epoch"`
}

// doneJSON is the last message of a stream.
type doneJSON struct {
	Type   string `json:"type"`
	State  State  `json:"state"`
	Epochs int    `json:"epochs"`
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
