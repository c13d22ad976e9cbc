package export

import (
	"context"
	"fmt"
	"image/color"
	"io"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// Figure sizes: a slide's 4:3 for the map, a square for the four curves.
const (
	scatterWidth, scatterHeight = 8 * vg.Inch, 6 * vg.Inch
	curvesSide                  = 9 * vg.Inch
	figureDPI                   = 120
)

// maxLegend is how many classes a figure's legend names; the rest are
// summed up in one line.
const maxLegend = 12

// methodName is a projection's name in a title.
func methodName(method string, dims int) string {
	name := strings.ToUpper(method)
	if method == run.MethodTSNE {
		name = "t-SNE"
	}
	return fmt.Sprintf("%s %dD", name, dims)
}

// writeScatter draws the map of epoch e: each item in its class colour,
// the first two coordinates (3D frames are seen from the front), a legend
// of the classes and a title naming the dataset, the loss and the epoch.
func writeScatter(ctx context.Context, w io.Writer, r *Run, e int, format string) error {
	f, err := r.frame(ctx, e)
	if err != nil {
		return err
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s · epoch %d (%s)", r.Title(), e, methodName(f.Method, f.Dims))
	p.HideAxes()
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	n := min(r.Data.Len(), len(f.Coords)/max(f.Dims, 1))
	byClass := make(map[int32]plotter.XYs)
	for i := range n {
		x, y := float64(f.Coords[i*f.Dims]), float64(f.Coords[i*f.Dims+1])
		if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
			continue
		}
		l := r.Data.Labels[i]
		byClass[l] = append(byClass[l], plotter.XY{X: x, Y: y})
	}
	radius := vg.Points(2.2)
	if n > 5000 {
		radius = vg.Points(1.2)
	}
	classes := len(r.Data.ClassNames)
	for l := int32(-1); l < int32(classes); l++ {
		pts, ok := byClass[l]
		if !ok {
			continue
		}
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: ColourOf(l), Radius: radius, Shape: draw.CircleGlyph{}}
		p.Add(s)
		switch {
		case l < 0:
			p.Legend.Add("unlabelled", s)
		case l < maxLegend:
			p.Legend.Add(r.Data.ClassNames[l], s)
		case l == maxLegend:
			p.Legend.Add(fmt.Sprintf("… %d more (colours repeat)", classes-maxLegend))
		}
	}
	// One unit is as long across as up, as on the page (the plot's area is
	// about 1.4 times as wide as high, a quarter of it the legend's).
	xs, ys := p.X.Max-p.X.Min, p.Y.Max-p.Y.Min
	if xs > 0 && ys > 0 {
		const aspect = 1.4 / 1.25
		if xs/ys < aspect {
			pad := (ys*aspect - xs) / 2
			p.X.Min, p.X.Max = p.X.Min-pad, p.X.Max+pad
		} else {
			pad := (xs/aspect - ys) / 2
			p.Y.Min, p.Y.Max = p.Y.Min-pad, p.Y.Max+pad
		}
	}
	// Room on the right for the legend.
	p.X.Max += (p.X.Max - p.X.Min) * 0.25
	return writePlot(w, p, scatterWidth, scatterHeight, format)
}

// writePlot writes one plot as PNG or SVG.
func writePlot(w io.Writer, p *plot.Plot, width, height vg.Length, format string) error {
	c, finish := newCanvas(width, height, format)
	p.Draw(draw.New(c))
	return finish(w)
}

// newCanvas returns a PNG or SVG canvas and what writes it out.
func newCanvas(width, height vg.Length, format string) (vg.CanvasSizer, func(io.Writer) error) {
	if format == "svg" {
		c := vgsvg.New(width, height)
		return c, func(w io.Writer) error { _, err := c.WriteTo(w); return err }
	}
	c := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(figureDPI), vgimg.UseBackgroundColor(color.White))
	return c, func(w io.Writer) error { _, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w); return err }
}

// writeCurves draws four panels: the training loss; held-out kNN accuracy
// with the raw-input baseline (recall@10 with the popularity and random
// recommenders for interactions); alignment and uniformity; and the
// distances of positive and negative pairs in the newest epoch.
func writeCurves(ctx context.Context, w io.Writer, r *Run, format string) error {
	ms, err := r.metrics(ctx)
	if err != nil {
		return err
	}
	line := func(p *plot.Plot, name string, c color.Color, dashed bool, get func(m *run.Metrics) float64) error {
		var xy plotter.XYs
		for i := range ms {
			if v := get(&ms[i].Metrics); !math.IsNaN(v) && !math.IsInf(v, 0) {
				xy = append(xy, plotter.XY{X: float64(ms[i].Epoch), Y: v})
			}
		}
		if len(xy) == 0 {
			return nil
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color, l.Width = c, vg.Points(1.8)
		if dashed {
			l.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
		}
		p.Add(l)
		p.Legend.Add(name, l)
		return nil
	}
	panel := func(title, y string) *plot.Plot {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "epoch"
		p.Y.Label.Text = y
		p.Add(plotter.NewGrid())
		p.Legend.Top = true
		return p
	}
	last := &ms[len(ms)-1].Metrics
	blue, grey := Palette[0], color.Gray{Y: 110}

	loss := panel("Training loss", "loss")
	if err := line(loss, "loss", blue, false, func(m *run.Metrics) float64 { return float64(m.Loss) }); err != nil {
		return err
	}

	var quality *plot.Plot
	switch {
	case last.HasRecall:
		quality = panel("Recall@10 of each user's held-out play", "recall@10")
		err = joinErr(
			line(quality, "encoder", blue, false, func(m *run.Metrics) float64 { return float64(m.RecallAt10) }),
			line(quality, "most popular", grey, true, func(m *run.Metrics) float64 { return float64(m.PopularityRecallAt10) }),
			line(quality, "random", Palette[1], true, func(m *run.Metrics) float64 { return float64(m.RandomRecallAt10) }))
	case last.HasKNN:
		quality = panel("Held-out kNN accuracy (k=5, cosine)", "accuracy")
		err = joinErr(
			line(quality, "encoder", blue, false, func(m *run.Metrics) float64 { return float64(m.KNNAccuracy) }),
			line(quality, "raw inputs", grey, true, func(m *run.Metrics) float64 { return float64(m.RawKNNAccuracy) }))
	default:
		quality = panel("Held-out kNN accuracy: no labels to score", "accuracy")
	}
	if err != nil {
		return err
	}
	quality.Y.Min, quality.Y.Max = 0, 1

	au := panel("Alignment and uniformity (lower is better)", "value")
	if err := joinErr(
		line(au, "alignment", Palette[1], false, func(m *run.Metrics) float64 { return float64(m.Alignment) }),
		line(au, "uniformity", Palette[5], false, func(m *run.Metrics) float64 { return float64(m.Uniformity) })); err != nil {
		return err
	}

	hist := panel(fmt.Sprintf("Pair distances, epoch %d", ms[len(ms)-1].Epoch), "share of pairs")
	hist.X.Label.Text = "distance"
	for _, h := range []struct {
		name   string
		counts []int
		c      color.Color
	}{{"positive pairs", last.PosHist, Positive}, {"negative pairs", last.NegHist, Negative}} {
		if err := addHistogram(hist, h.name, h.counts, float64(last.HistMax), h.c); err != nil {
			return err
		}
	}

	c, finish := newCanvas(curvesSide, curvesSide, format)
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: 2, Cols: 2, PadTop: vg.Points(8), PadBottom: vg.Points(8),
		PadLeft: vg.Points(8), PadRight: vg.Points(12), PadX: vg.Points(18), PadY: vg.Points(18)}
	plots := [][]*plot.Plot{{loss, quality}, {au, hist}}
	for i, row := range plot.Align(plots, tiles, dc) {
		for j, cell := range row {
			plots[i][j].Draw(cell)
		}
	}
	return finish(w)
}

// addHistogram draws counts over [0, hi] as a step line of shares.
func addHistogram(p *plot.Plot, name string, counts []int, hi float64, c color.Color) error {
	total := 0
	for _, v := range counts {
		total += v
	}
	if total == 0 || !(hi > 0) {
		return nil
	}
	width := hi / float64(len(counts))
	xy := make(plotter.XYs, 0, 2*len(counts))
	for k, v := range counts {
		share := float64(v) / float64(total)
		xy = append(xy, plotter.XY{X: float64(k) * width, Y: share}, plotter.XY{X: float64(k+1) * width, Y: share})
	}
	l, err := plotter.NewLine(xy)
	if err != nil {
		return err
	}
	l.Color, l.Width = c, vg.Points(1.8)
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

// joinErr returns the first error of errs.
func joinErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// labelNames is for the animation's legend: up to maxLegend class names
// with their colours, and how many more there are.
func labelNames(d *dataset.Dataset) (names []string, more int) {
	names = d.ClassNames
	if len(names) > maxLegend {
		return names[:maxLegend], len(names) - maxLegend
	}
	return names, 0
}
