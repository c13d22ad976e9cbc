package run

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/contrastive-explorer/explorer/trainer"
)

// Number is a float64 that encodes NaN and ±Inf as null, which JSON cannot
// represent otherwise.
type Number float64

// MarshalJSON writes n as the shortest decimal, or null when not finite.
func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON reads a number, or null as NaN.
func (n *Number) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Number(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("run: %q is not a number", b)
	}
	*n = Number(f)
	return nil
}

// HistMax is the upper edge of the distance histograms: embeddings are unit
// vectors, so no two are further apart than 2.
const HistMax = 2

// Metrics is the JSON form of trainer.Metrics, as the store keeps it and
// the wire protocol sends it (docs/protocol.md, an epoch's "metrics").
type Metrics struct {
	Loss                 Number `json:"loss"`
	KNNAccuracy          Number `json:"knn_accuracy"`
	RawKNNAccuracy       Number `json:"raw_knn_accuracy"`
	HasKNN               bool   `json:"has_knn"`
	RecallAt10           Number `json:"recall_at_10,omitempty"`
	PopularityRecallAt10 Number `json:"popularity_recall_at_10,omitempty"`
	RandomRecallAt10     Number `json:"random_recall_at_10,omitempty"`
	HasRecall            bool   `json:"has_recall,omitempty"`
	Alignment            Number `json:"alignment"`
	Uniformity           Number `json:"uniformity"`
	PosDistance          Number `json:"pos_distance"`
	NegDistance          Number `json:"neg_distance"`
	PosHist              []int  `json:"pos_hist"`
	NegHist              []int  `json:"neg_hist"`
	HistMax              Number `json:"hist_max"`
	EffectiveRank        Number `json:"effective_rank"`
	MeanStd              Number `json:"mean_std"`
	Collapsed            bool   `json:"collapsed"`
	Seconds              Number `json:"seconds"`
	Steps                int    `json:"steps"`
	LR                   Number `json:"lr"`
}

// EncodeMetrics returns m as the JSON object stores keep and the protocol
// sends.
func EncodeMetrics(m trainer.Metrics) json.RawMessage {
	j := Metrics{
		Loss:           Number(m.Loss),
		KNNAccuracy:    Number(m.KNNAccuracy),
		RawKNNAccuracy: Number(m.RawKNNAccuracy),
		HasKNN:         m.HasKNN,
		Alignment:      Number(m.Alignment),
		Uniformity:     Number(m.Uniformity),
		PosDistance:    Number(m.PosDistance),
		NegDistance:    Number(m.NegDistance),
		PosHist:        nonNil(m.PosHist),
		NegHist:        nonNil(m.NegHist),
		HistMax:        HistMax,
		EffectiveRank:  Number(m.EffectiveRank),
		MeanStd:        Number(m.MeanStd),
		Collapsed:      m.Collapsed,
		Seconds:        Number(m.Seconds),
		Steps:          m.Steps,
		LR:             Number(m.LR),
	}
	if m.HasRecall {
		j.HasRecall = true
		j.RecallAt10, j.PopularityRecallAt10, j.RandomRecallAt10 = Number(m.RecallAt10), Number(m.PopularityRecallAt10), Number(m.RandomRecallAt10)
	}
	b, err := json.Marshal(j)
	if err != nil {
		// Every field above has a fixed, encodable type.
		panic("run: encoding metrics: " + err.Error())
	}
	return b
}

func nonNil(h []int) []int {
	if h == nil {
		return []int{}
	}
	return h
}
