package export

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/contrastive-explorer/explorer/projection"
	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// labelOf returns item i's class name, "" when unlabelled.
func labelOf(d *dataset.Dataset, i int) string {
	if l := d.Labels[i]; l != dataset.NoLabel && int(l) < len(d.ClassNames) {
		return d.ClassNames[l]
	}
	return ""
}

// writeCoordsCSV writes "epoch,index,x,y[,z],label,split", one row per item
// per projected epoch; z is empty for an epoch projected in 2D while
// others are in 3D.
func writeCoordsCSV(ctx context.Context, w io.Writer, r *Run) error {
	frames, err := r.frames(ctx)
	if err != nil {
		return err
	}
	dims := 2
	for _, f := range frames {
		dims = max(dims, f.Dims)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	cw := csv.NewWriter(bw)
	header := []string{"epoch", "index", "x", "y"}
	if dims == 3 {
		header = append(header, "z")
	}
	header = append(header, "label", "split")
	if err := cw.Write(header); err != nil {
		return err
	}
	n := r.Data.Len()
	row := make([]string, len(header))
	for _, f := range frames {
		if err := ctx.Err(); err != nil {
			return err
		}
		ep := strconv.Itoa(f.Epoch)
		for i := range min(n, len(f.Coords)/max(f.Dims, 1)) {
			row[0], row[1] = ep, strconv.Itoa(i)
			for k := range dims {
				row[2+k] = ""
				if k < f.Dims {
					row[2+k] = formatFloat(f.Coords[i*f.Dims+k])
				}
			}
			row[2+dims], row[3+dims] = labelOf(r.Data, i), r.Data.Splits[i].String()
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// formatFloat writes a coordinate as the shortest float32 decimal, ""
// when not finite.
func formatFloat(v float32) string {
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return ""
	}
	return strconv.FormatFloat(float64(v), 'g', -1, 32)
}

// coordsJSON is coords.json.
type coordsJSON struct {
	Run     string        `json:"run"`
	Dataset string        `json:"dataset"`
	Items   []itemJSON    `json:"items"`
	Epochs  []epochCoords `json:"epochs"`
}

type itemJSON struct {
	Index int    `json:"index"`
	Label string `json:"label"`
	Split string `json:"split"`
}

type epochCoords struct {
	Epoch  int            `json:"epoch"`
	Method string         `json:"method"`
	Dims   int            `json:"dims"`
	Coords [][]run.Number `json:"coords"` // per item: x, y[, z]
}

func writeCoordsJSON(ctx context.Context, w io.Writer, r *Run) error {
	frames, err := r.frames(ctx)
	if err != nil {
		return err
	}
	n := r.Data.Len()
	out := coordsJSON{Run: r.ID, Dataset: r.Config.Dataset, Items: make([]itemJSON, n)}
	for i := range n {
		out.Items[i] = itemJSON{Index: i, Label: labelOf(r.Data, i), Split: r.Data.Splits[i].String()}
	}
	for _, f := range frames {
		ec := epochCoords{Epoch: f.Epoch, Method: f.Method, Dims: f.Dims, Coords: make([][]run.Number, min(n, len(f.Coords)/max(f.Dims, 1)))}
		flat := make([]run.Number, len(ec.Coords)*f.Dims)
		for i := range flat {
			flat[i] = run.Number(f.Coords[i])
		}
		for i := range ec.Coords {
			ec.Coords[i] = flat[i*f.Dims : (i+1)*f.Dims : (i+1)*f.Dims]
		}
		out.Epochs = append(out.Epochs, ec)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if err := json.NewEncoder(bw).Encode(out); err != nil {
		return err
	}
	return bw.Flush()
}

// writeVectors writes the embeddings of epoch e, one item a line, as the
// Embedding Projector reads them.
func writeVectors(ctx context.Context, w io.Writer, r *Run, e int) error {
	rec, err := r.Source.Epoch(ctx, e)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if err := projection.WriteVectors(bw, rec.Embeddings, len(rec.Embeddings)/max(rec.Dim, 1), rec.Dim); err != nil {
		return err
	}
	return bw.Flush()
}

// WriteMetadata writes the Embedding Projector's metadata.tsv for d: the
// header "label\tsplit" and one row per item, its class name (empty when
// unlabelled) and "train" or "test", then a "name" column for items with
// names (interactions) or a "text" column for datasets with texts. Tabs
// and line breaks in names and texts become spaces.
func WriteMetadata(w io.Writer, d *dataset.Dataset) error {
	clean := strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")
	header := "label\tsplit"
	var extra []string
	switch {
	case d.ItemNames != nil:
		header, extra = header+"\tname", d.ItemNames
	case d.Text != nil:
		header, extra = header+"\ttext", d.Text
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(header + "\n")
	for i := range d.Len() {
		bw.WriteString(clean.Replace(labelOf(d, i)))
		bw.WriteString("\t" + d.Splits[i].String())
		if extra != nil {
			bw.WriteString("\t" + clean.Replace(extra[i]))
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// metricColumns are the columns of metrics.csv after "epoch", with how to
// read each from an epoch's metrics.
var metricColumns = []struct {
	name string
	get  func(m *run.Metrics) string
}{
	{"loss", func(m *run.Metrics) string { return number(m.Loss) }},
	{"knn_accuracy", func(m *run.Metrics) string { return number(m.KNNAccuracy) }},
	{"raw_knn_accuracy", func(m *run.Metrics) string { return number(m.RawKNNAccuracy) }},
	{"has_knn", func(m *run.Metrics) string { return strconv.FormatBool(m.HasKNN) }},
	{"recall_at_10", func(m *run.Metrics) string { return recall(m, m.RecallAt10) }},
	{"popularity_recall_at_10", func(m *run.Metrics) string { return recall(m, m.PopularityRecallAt10) }},
	{"random_recall_at_10", func(m *run.Metrics) string { return recall(m, m.RandomRecallAt10) }},
	{"has_recall", func(m *run.Metrics) string { return strconv.FormatBool(m.HasRecall) }},
	{"alignment", func(m *run.Metrics) string { return number(m.Alignment) }},
	{"uniformity", func(m *run.Metrics) string { return number(m.Uniformity) }},
	{"pos_distance", func(m *run.Metrics) string { return number(m.PosDistance) }},
	{"neg_distance", func(m *run.Metrics) string { return number(m.NegDistance) }},
	{"pos_hist", func(m *run.Metrics) string { return ints(m.PosHist) }},
	{"neg_hist", func(m *run.Metrics) string { return ints(m.NegHist) }},
	{"hist_max", func(m *run.Metrics) string { return number(m.HistMax) }},
	{"effective_rank", func(m *run.Metrics) string { return number(m.EffectiveRank) }},
	{"mean_std", func(m *run.Metrics) string { return number(m.MeanStd) }},
	{"collapsed", func(m *run.Metrics) string { return strconv.FormatBool(m.Collapsed) }},
	{"seconds", func(m *run.Metrics) string { return number(m.Seconds) }},
	{"steps", func(m *run.Metrics) string { return strconv.Itoa(m.Steps) }},
	{"lr", func(m *run.Metrics) string { return number(m.LR) }},
}

// number writes a metric, "" when not finite.
func number(n run.Number) string {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return ""
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// recall writes a recall figure, "" for a run that has none.
func recall(m *run.Metrics, n run.Number) string {
	if !m.HasRecall {
		return ""
	}
	return number(n)
}

// ints writes a histogram's counts separated by spaces.
func ints(h []int) string {
	s := make([]string, len(h))
	for i, v := range h {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, " ")
}

// writeMetricsCSV writes one row per epoch with the fields of
// metrics.json; the histograms' 40 counts are separated by spaces.
func writeMetricsCSV(ctx context.Context, w io.Writer, r *Run) error {
	ms, err := r.metrics(ctx)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	row := []string{"epoch"}
	for _, c := range metricColumns {
		row = append(row, c.name)
	}
	if err := cw.Write(row); err != nil {
		return err
	}
	for _, m := range ms {
		row = row[:0]
		row = append(row, strconv.Itoa(m.Epoch))
		for _, c := range metricColumns {
			row = append(row, c.get(&m.Metrics))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// metricsJSON is metrics.json: the run's resolved config and every epoch's
// metrics (epoch 0 is the untrained encoder).
type metricsJSON struct {
	Run    string         `json:"run"`
	Config run.Config     `json:"config"`
	Epochs []epochMetrics `json:"epochs"`
}

func writeMetricsJSON(ctx context.Context, w io.Writer, r *Run) error {
	ms, err := r.metrics(ctx)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(metricsJSON{Run: r.ID, Config: r.Config, Epochs: ms})
}
