package web

import (
	"encoding/binary"
	"encoding/json"
	"github.com/contrastive-explorer/explorer/run"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/trainer"
)

func TestEncodeCoords(t *testing.T) {
	tests := []struct {
		name   string
		coords []float32
		dims   int
		want   []float32
	}{
		{"centred and scaled", []float32{1, 1, 3, 1, 2, 4}, 2, []float32{-0.8 / 1.5, -0.8, 0.8 / 1.5, -0.8, 0, 0.8}},
		{"3D", []float32{0, 0, 0, 0, 0, 4}, 3, []float32{0, 0, -0.8, 0, 0, 0.8}},
		{"all in one point", []float32{5, 5, 5, 5}, 2, []float32{0, 0, 0, 0}},
		{"no points", nil, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(tt.coords) / tt.dims
			b := encodeCoords(7, tt.coords, n, tt.dims)
			if string(b[:4]) != "CEF1" || binary.LittleEndian.Uint32(b[4:]) != 7 ||
				binary.LittleEndian.Uint32(b[8:]) != uint32(n) || b[12] != byte(tt.dims) || b[13]|b[14]|b[15] != 0 {
				t.Fatalf("header % x", b[:16])
			}
			if len(b) != 16+4*len(tt.want) {
				t.Fatalf("%d bytes, want %d", len(b), 16+4*len(tt.want))
			}
			for i, w := range tt.want {
				got := math.Float32frombits(binary.LittleEndian.Uint32(b[16+4*i:]))
				if math.Abs(float64(got-w)) > 1e-6 {
					t.Errorf("coordinate %d = %v, want %v", i, got, w)
				}
			}
		})
	}
}

func TestEncodeMetrics(t *testing.T) {
	raw := run.EncodeMetrics(trainer.Metrics{Loss: math.NaN(), KNNAccuracy: 0.5, Uniformity: math.Inf(-1), PosHist: []int{1, 2}})
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	if m["loss"] != nil || m["uniformity"] != nil || m["knn_accuracy"] != 0.5 || m["hist_max"] != 2.0 {
		t.Errorf("metrics %s", raw)
	}
	if _, ok := m["neg_hist"].([]any); !ok {
		t.Errorf("neg_hist should be an empty list, not null: %s", raw)
	}
	for _, key := range []string{"loss", "knn_accuracy", "raw_knn_accuracy", "alignment", "uniformity", "pos_distance",
		"neg_distance", "pos_hist", "neg_hist", "hist_max", "effective_rank", "collapsed", "seconds", "lr"} {
		if _, ok := m[key]; !ok {
			t.Errorf("metrics lack %q, which docs/protocol.md promises", key)
		}
	}
	sent := time.UnixMilli(1_767_225_600_123)
	text := string(encodeEpoch(3, true, raw, frameInfo{Method: "pca", Dims: 2, KL: run.Number(math.NaN())}, sent))
	for _, want := range []string{`"type":"epoch"`, `"epoch":3`, `"backfill":true`, `"kl":null`, `"method":"pca"`, `"sent_ms":1767225600123`} {
		if !strings.Contains(text, want) {
			t.Errorf("epoch message %s lacks %s", text, want)
		}
	}
}

// TestEncodeRecall: interactions' metrics carry recall@10 and both its
// baselines; other datasets' carry none of them.
func TestEncodeRecall(t *testing.T) {
	var m map[string]any
	raw := run.EncodeMetrics(trainer.Metrics{HasRecall: true, RecallAt10: 0.12, PopularityRecallAt10: 0.09, RandomRecallAt10: 0.005})
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m["has_recall"] != true || m["recall_at_10"] != 0.12 || m["popularity_recall_at_10"] != 0.09 || m["random_recall_at_10"] != 0.005 {
		t.Errorf("interactions' metrics %s", raw)
	}
	m = nil
	if err := json.Unmarshal(run.EncodeMetrics(trainer.Metrics{KNNAccuracy: 0.9}), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"has_recall", "recall_at_10", "popularity_recall_at_10", "random_recall_at_10"} {
		if _, ok := m[k]; ok {
			t.Errorf("metrics without recall carry %s", k)
		}
	}
}

func TestHiddenList(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		bad  bool
	}{
		{`[256, 128]`, []int{256, 128}, false},
		{`[]`, []int{}, false},
		{`"256,128"`, []int{256, 128}, false},
		{`" 64 , 32 ,"`, []int{64, 32}, false},
		{`""`, []int{}, false},
		{`"64;32"`, nil, true},
		{`"1.5"`, nil, true},
		{`[1.5]`, nil, true},
		{`{"a":1}`, nil, true},
	}
	for _, tt := range tests {
		var h hiddenList
		err := json.Unmarshal([]byte(tt.in), &h)
		if tt.bad {
			if err == nil {
				t.Errorf("%s: no error, got %v", tt.in, h)
			}
			continue
		}
		if err != nil || len(h) != len(tt.want) {
			t.Errorf("%s: %v %v, want %v", tt.in, h, err, tt.want)
			continue
		}
		for i := range h {
			if h[i] != tt.want[i] {
				t.Errorf("%s: %v, want %v", tt.in, h, tt.want)
			}
		}
	}
}

// TestEncodeCoordsIgnoresAnOutlier checks that one point far from the rest
// leaves everyone else where they were: before, every frame was scaled by
// its farthest point, so one outlier moving off shrank the whole map.
func TestEncodeCoordsIgnoresAnOutlier(t *testing.T) {
	const n = 12000
	coords := make([]float32, 2*n)
	for i := range n {
		a := 2 * math.Pi * float64(i) / n
		r := 10 * math.Sqrt(float64(i%100)/100)
		coords[2*i], coords[2*i+1] = float32(r*math.Cos(a)), float32(r*math.Sin(a))
	}
	decode := func(b []byte) []float32 {
		out := make([]float32, 2*n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[16+4*i:]))
		}
		return out
	}
	before := decode(encodeCoords(1, coords, n, 2))
	var far float64
	for _, v := range before {
		far = max(far, math.Abs(float64(v)))
	}
	if far > 1 || far < 0.75 {
		t.Errorf("the disc spans ±%.3f, want it to fill most of [-1, 1]", far)
	}
	moved := append([]float32{}, coords...)
	moved[0], moved[1] = 5000, -3000 // one point wanders off
	after := decode(encodeCoords(2, moved, n, 2))
	var worst float64
	for i := 2; i < 2*n; i++ {
		worst = max(worst, math.Abs(float64(after[i]-before[i])))
	}
	// The mean moves by 5000/n; the scale must not follow the outlier.
	if worst > 0.02 {
		t.Errorf("one outlier moved the other points by up to %.3f of the view", worst)
	}
	if nan := decode(encodeCoords(3, append([]float32{float32(math.NaN()), 0}, coords[2:]...), n, 2)); math.IsNaN(float64(nan[2])) {
		t.Error("a NaN coordinate spoiled the others")
	}
}

// BenchmarkEncodeCoords encodes one Fashion-MNIST-sized 2D frame.
func BenchmarkEncodeCoords(b *testing.B) {
	const n = 12000
	coords := make([]float32, 2*n)
	for i := range coords {
		coords[i] = float32(math.Sin(float64(i)*0.37) * 30)
	}
	b.SetBytes(int64(4 * len(coords)))
	for b.Loop() {
		encodeCoords(1, coords, n, 2)
	}
}

func TestNth(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + r.IntN(300)
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(r.IntN(20)) // many ties
			if trial%2 == 0 {
				v[i] = r.NormFloat64()
			}
		}
		sorted := slices.Clone(v)
		slices.Sort(sorted)
		k := r.IntN(n)
		if got := nth(slices.Clone(v), k); got != sorted[k] {
			t.Fatalf("nth(%v, %d) = %v, want %v", v, k, got, sorted[k])
		}
	}
}
