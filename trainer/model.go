package trainer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// Model is a trained encoder detached from its run: its weights and what
// turns an item into the encoder's input (Featurizer), so that new items can
// be embedded as the training items were. WriteModel saves it as
// safetensors and ReadModel reads it back; docs/model.md describes the file.
type Model struct {
	Config     Config     // the run's resolved configuration
	Epoch      int        // the epoch after which the weights were taken
	Featurizer Featurizer // how items become inputs

	// Layers are the MLP's linear layers, first to last, with ReLU between
	// them and L2 normalisation after the last.
	Layers []Linear

	// Bag is the embedding bag in front of the MLP for text and
	// interactions (whose output is the first layer's input); nil for dense
	// inputs.
	Bag *Bag
}

// Linear is one fully connected layer: y = W·x + B, with W out×in row-major
// as PyTorch's nn.Linear keeps it.
type Linear struct {
	In, Out int
	W       []float32 // Out×In
	B       []float32 // Out
}

// Bag is an embedding bag: a sparse input row (feature column c with value
// v, ...) becomes Σ v·W[row of c]. Only the columns that occur in the
// training data have a row; Columns[r] is the feature column of row r, in
// increasing order.
type Bag struct {
	Width   int
	Columns []int32
	W       []float32 // len(Columns)×Width
}

// Featurizer says how an item becomes the encoder's input.
type Featurizer struct {
	Kind    dataset.Kind `json:"kind"`    // images, text, interactions or vectors
	Dataset string       `json:"dataset"` // the training dataset's name
	Dim     int          `json:"dim"`     // input columns: pixels, hash buckets, items or vector components

	// Images: the side lengths; features are grey pixels row by row, 0 for
	// black paper to 1 for white ink, as the dataset parsers read them.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`

	// Text: the n-gram hashing (dataset.HashFeatures) with these options.
	Buckets  int      `json:"buckets,omitempty"`
	Features []string `json:"features,omitempty"` // word_unigrams, word_bigrams, char_trigrams

	// Interactions: the name of each item, in column order; an item is the
	// input with a single 1 in its own column.
	Items []string `json:"items,omitempty"`
}

// featureNames names dataset.Feature bits in files.
var featureNames = []struct {
	bit  dataset.Feature
	name string
}{{dataset.WordUnigrams, "word_unigrams"}, {dataset.WordBigrams, "word_bigrams"}, {dataset.CharTrigrams, "char_trigrams"}}

// ModelFormat is the value of the "format" metadata key of a model file.
const (
	ModelFormat  = "contrastive-explorer-encoder"
	modelVersion = "1"
)

// Model returns the run's encoder as it is now (a copy): once Run has
// returned, the weights of the last published epoch, which Model.Epoch
// names. While the run trains they may be a few steps newer than that
// epoch. It returns an error before Run has built the encoder.
func (r *Run) Model() (*Model, error) {
	epoch := 0
	if e, ok := r.Latest(); ok {
		epoch = e.Epoch
	} else if r.resumed != nil {
		epoch = r.resumedFrom
	}
	r.encMu.RLock()
	defer r.encMu.RUnlock()
	if r.enc == nil {
		return nil, errors.New("trainer: the run has not started: it has no encoder yet")
	}
	m := &Model{Config: r.cfg, Epoch: epoch, Featurizer: featurizerOf(r.data)}
	for _, ly := range r.enc.mlp.layers {
		l := Linear{In: ly.in, Out: ly.out, W: make([]float32, ly.in*ly.out), B: slices.Clone(ly.b)}
		transpose(l.W, ly.w, ly.in, ly.out)
		m.Layers = append(m.Layers, l)
	}
	if b := r.enc.bag; b != nil {
		m.Bag = &Bag{Width: b.width, Columns: make([]int32, b.rows()), W: slices.Clone(b.w)}
		for c, row := range r.rowOf {
			if row >= 0 {
				m.Bag.Columns[row] = int32(c)
			}
		}
	}
	return m, nil
}

// ModelOf returns the encoder saved in a checkpoint of the run with
// configuration cfg on d (see Restore, whose errors it returns).
func ModelOf(cfg Config, d *dataset.Dataset, checkpoint []byte) (*Model, error) {
	r, err := Restore(cfg, d, checkpoint)
	if err != nil {
		return nil, err
	}
	return r.Model()
}

func featurizerOf(d *dataset.Dataset) Featurizer {
	f := Featurizer{Kind: d.Kind, Dataset: d.Name, Dim: d.Dim}
	switch d.Kind {
	case dataset.Images:
		f.Width, f.Height = d.Width, d.Height
	case dataset.Text:
		h := d.Hash.Resolved()
		f.Buckets = h.Buckets
		for _, fn := range featureNames {
			if h.Features&fn.bit != 0 {
				f.Features = append(f.Features, fn.name)
			}
		}
	case dataset.Interactions:
		f.Items = itemNames(d)
	}
	return f
}

// itemNames names d's items: their ItemNames, else their Text, else their
// numbers from 1.
func itemNames(d *dataset.Dataset) []string {
	switch {
	case d.ItemNames != nil:
		return slices.Clone(d.ItemNames)
	case d.Text != nil:
		return slices.Clone(d.Text)
	}
	names := make([]string, d.Len())
	for i := range names {
		names[i] = strconv.Itoa(i + 1)
	}
	return names
}

// transpose writes the rows×cols matrix src, transposed, into dst: the
// MLP keeps weights in×out, a model file out×in.
func transpose(dst, src []float32, rows, cols int) {
	for r := range rows {
		for c := range cols {
			dst[c*rows+r] = src[r*cols+c]
		}
	}
}

// featureBit returns the dataset.Feature a file names, 0 for none.
func featureBit(name string) dataset.Feature {
	for _, fn := range featureNames {
		if fn.name == name {
			return fn.bit
		}
	}
	return 0
}

// hashOptions returns the text featuriser's options.
func (f *Featurizer) hashOptions() (dataset.HashOptions, error) {
	o := dataset.HashOptions{Buckets: f.Buckets}
	for _, name := range f.Features {
		bit := featureBit(name)
		if bit == 0 {
			return o, fmt.Errorf("unknown text feature %q", name)
		}
		o.Features |= bit
	}
	if o.Buckets <= 0 || o.Buckets > dataset.MaxBuckets || o.Features == 0 {
		return o, fmt.Errorf("text featuriser needs 1..%d buckets and at least one feature, has %d and %d", dataset.MaxBuckets, o.Buckets, len(f.Features))
	}
	return o, nil
}

// InDim is the width of the encoder's dense input: the first layer's.
func (m *Model) InDim() int { return m.Layers[0].In }

// OutDim is the embedding dimension.
func (m *Model) OutDim() int { return m.Layers[len(m.Layers)-1].Out }

// network rebuilds the run's network from the model's weights, so that
// embedding goes through exactly the code the run's epochs did.
func (m *Model) network() *network {
	sizes := []int{m.Layers[0].In}
	for _, l := range m.Layers {
		sizes = append(sizes, l.Out)
	}
	// NewMLP lays the layers out; its random weights are then overwritten.
	mlp := NewMLP(sizes, pcg(0, 0))
	for k, l := range m.Layers {
		transpose(mlp.layers[k].w, l.W, l.Out, l.In)
		copy(mlp.layers[k].b, l.B)
	}
	n := &network{mlp: mlp}
	if m.Bag != nil {
		n.bag = &bag{width: m.Bag.Width, w: m.Bag.W, slot: make([]int32, len(m.Bag.Columns))}
	}
	return n
}

// Embed returns the embeddings of d's items under the model (n×OutDim, one
// unit-length row per item), featurised as the training items were: the
// pixels of images (which must have the model's size), the components of
// vectors, the hashed n-grams of texts (features the training data never
// had are left out and the rest rescaled, as EmbedText does), the names of
// interaction items (each must be one the model was trained on). The
// training dataset itself embeds to its run's embeddings of the model's
// epoch. It returns an error naming the first item that cannot be embedded
// and why.
func (m *Model) Embed(d *dataset.Dataset) ([]float32, error) {
	f := &m.Featurizer
	n := d.Len()
	out := make([]float32, n*m.OutDim())
	if n == 0 {
		return out, nil
	}
	net := m.network()
	switch f.Kind {
	case dataset.Images, dataset.Vectors:
		if d.Sparse != nil || len(d.X) != n*d.Dim {
			return nil, fmt.Errorf("the model embeds %s, but the input holds %s", f.Kind, d.Kind)
		}
		if f.Kind == dataset.Images && (d.Width != f.Width || d.Height != f.Height) {
			return nil, fmt.Errorf("the model embeds %d×%d images, but the input's are %d×%d", f.Width, f.Height, d.Width, d.Height)
		}
		if d.Dim != m.InDim() {
			return nil, fmt.Errorf("the model embeds vectors of %d values, but the input's have %d", m.InDim(), d.Dim)
		}
		net.embedDense(d.X, n, out)
		return out, nil
	case dataset.Text, dataset.Interactions:
		rows := m.textRows
		if f.Kind == dataset.Interactions {
			rows = m.itemRows
		}
		in, err := rows(d)
		if err != nil {
			return nil, err
		}
		net.embedSparse(in, out)
		return out, nil
	}
	return nil, fmt.Errorf("the model's featuriser is for %q data, which cannot be embedded", f.Kind)
}

// rowOf maps feature columns to bag rows (-1 for none).
func (m *Model) rowOf() []int32 {
	rowOf := make([]int32, m.Featurizer.Dim)
	for i := range rowOf {
		rowOf[i] = -1
	}
	for r, c := range m.Bag.Columns {
		rowOf[c] = int32(r)
	}
	return rowOf
}

// textRows featurises d's texts as bag rows.
func (m *Model) textRows(d *dataset.Dataset) (*sparseRows, error) {
	if d.Text == nil {
		return nil, fmt.Errorf("the model embeds texts, but the input (%s) has none", d.Kind)
	}
	opts, err := m.Featurizer.hashOptions()
	if err != nil {
		return nil, err
	}
	h, rowOf := dataset.NewHasher(opts), m.rowOf()
	in := &sparseRows{ptr: []int{0}}
	var cols []int32
	var vals []float32
	for i, text := range d.Text {
		cols, vals = h.Append(cols[:0], vals[:0], text)
		row := knownFeatures(cols, vals, rowOf)
		if len(row.cols) == 0 {
			return nil, fmt.Errorf("item %d (%q) has no words the encoder knows", i+1, clip(text, 60))
		}
		in.appendRow(row.cols, row.vals)
	}
	return in, nil
}

// itemRows maps d's items, by name, to the model's bag rows.
func (m *Model) itemRows(d *dataset.Dataset) (*sparseRows, error) {
	if d.ItemNames == nil && d.Text == nil {
		return nil, fmt.Errorf("the model embeds items by name, but the input (%s) names none", d.Kind)
	}
	names := itemNames(d)
	col := make(map[string]int32, len(m.Featurizer.Items))
	for c, name := range m.Featurizer.Items {
		col[name] = int32(c)
	}
	rowOf := m.rowOf()
	in := &sparseRows{ptr: []int{0}}
	for i, name := range names {
		c, ok := col[name]
		if !ok || rowOf[c] < 0 {
			return nil, fmt.Errorf("item %d (%q) is not one the model was trained on", i+1, clip(name, 60))
		}
		in.appendRow([]int32{rowOf[c]}, []float32{1})
	}
	return in, nil
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// A model file is safetensors: a little-endian uint64 header length, a JSON
// header naming each tensor's dtype, shape and byte range, and the tensors'
// bytes. The tensors:
//
//	layers.L.weight  F32 [out, in]   layer L's weights (PyTorch's nn.Linear layout)
//	layers.L.bias    F32 [out]
//	bag.weight       F32 [rows, width]  text and interactions only
//	bag.columns      I32 [rows]         the feature column of each bag row
//
// and the metadata: format (ModelFormat), version, epoch, config (the
// run's Config as JSON) and featurizer (Featurizer as JSON).
const (
	maxModelHeader = 64 << 20 // bytes of JSON header ReadModel accepts
	maxModelData   = 4 << 30  // bytes of tensors ReadModel accepts
)

type tensorInfo struct {
	DType   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
}

// WriteModel writes m to w as safetensors.
func WriteModel(w io.Writer, m *Model) error {
	type tensor struct {
		name  string
		dtype string
		shape []int
		data  []byte
	}
	var ts []tensor
	f32 := func(name string, v []float32, shape ...int) {
		b := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		ts = append(ts, tensor{name, "F32", shape, b})
	}
	for l, ly := range m.Layers {
		f32(fmt.Sprintf("layers.%d.weight", l), ly.W, ly.Out, ly.In)
		f32(fmt.Sprintf("layers.%d.bias", l), ly.B, ly.Out)
	}
	if m.Bag != nil {
		f32("bag.weight", m.Bag.W, len(m.Bag.Columns), m.Bag.Width)
		b := make([]byte, 4*len(m.Bag.Columns))
		for i, c := range m.Bag.Columns {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(c))
		}
		ts = append(ts, tensor{"bag.columns", "I32", []int{len(m.Bag.Columns)}, b})
	}
	cfg, err := json.Marshal(m.Config)
	if err != nil {
		return err
	}
	feat, err := json.Marshal(m.Featurizer)
	if err != nil {
		return err
	}
	header := map[string]any{"__metadata__": map[string]string{
		"format": ModelFormat, "version": modelVersion, "epoch": strconv.Itoa(m.Epoch),
		"config": string(cfg), "featurizer": string(feat),
	}}
	off := 0
	for _, t := range ts {
		header[t.name] = tensorInfo{DType: t.dtype, Shape: t.shape, Offsets: [2]int{off, off + len(t.data)}}
		off += len(t.data)
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return err
	}
	// Pad the header with spaces so the tensors start 8-byte aligned, as
	// the format recommends.
	for len(hb)%8 != 0 {
		hb = append(hb, ' ')
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(hb)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(hb); err != nil {
		return err
	}
	for _, t := range ts {
		if _, err := w.Write(t.data); err != nil {
			return err
		}
	}
	return nil
}

// ReadModel reads a model WriteModel wrote. It returns an error saying what
// is wrong with a file that is not one: another format, a truncated or
// inconsistent file, layers that do not chain, non-finite weights.
func ReadModel(r io.Reader) (*Model, error) {
	var n [8]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, fmt.Errorf("not a model file: %w", eofShort(err))
	}
	hl := binary.LittleEndian.Uint64(n[:])
	if hl < 2 || hl > maxModelHeader {
		return nil, fmt.Errorf("not a model file: a safetensors header of %d bytes (at most %d)", hl, maxModelHeader)
	}
	hb, err := readN(r, int64(hl))
	if err != nil {
		return nil, fmt.Errorf("truncated model file: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimRight(hb, " "), &raw); err != nil {
		return nil, fmt.Errorf("not a model file: its header is not JSON: %v", err)
	}
	var meta map[string]string
	if err := json.Unmarshal(raw["__metadata__"], &meta); err != nil || meta["format"] != ModelFormat {
		return nil, fmt.Errorf("not a Contrastive Explorer model: the safetensors metadata has no format %q", ModelFormat)
	}
	if meta["version"] != modelVersion {
		return nil, fmt.Errorf("a model of format version %q; this explorer reads version %s", meta["version"], modelVersion)
	}
	delete(raw, "__metadata__")
	m := &Model{}
	if m.Epoch, err = strconv.Atoi(meta["epoch"]); err != nil || m.Epoch < 0 {
		return nil, fmt.Errorf("model metadata: bad epoch %q", meta["epoch"])
	}
	if err := json.Unmarshal([]byte(meta["config"]), &m.Config); err != nil {
		return nil, fmt.Errorf("model metadata: bad config: %v", err)
	}
	if err := json.Unmarshal([]byte(meta["featurizer"]), &m.Featurizer); err != nil {
		return nil, fmt.Errorf("model metadata: bad featurizer: %v", err)
	}

	// The tensors, in the order of their bytes, which must cover the data
	// without holes.
	infos := make(map[string]tensorInfo, len(raw))
	names := make([]string, 0, len(raw))
	for name, msg := range raw {
		var ti tensorInfo
		if err := json.Unmarshal(msg, &ti); err != nil {
			return nil, fmt.Errorf("model header: tensor %q: %v", name, err)
		}
		if ti.DType != "F32" && ti.DType != "I32" {
			return nil, fmt.Errorf("model header: tensor %q has dtype %s, want F32 or I32", name, ti.DType)
		}
		count := 1
		for _, s := range ti.Shape {
			if s <= 0 || s > maxModelData/4 || count > maxModelData/4/s {
				return nil, fmt.Errorf("model header: tensor %q has shape %v", name, ti.Shape)
			}
			count *= s
		}
		if ti.Offsets[0] < 0 || ti.Offsets[1]-ti.Offsets[0] != 4*count {
			return nil, fmt.Errorf("model header: tensor %q's byte range %v does not hold shape %v", name, ti.Offsets, ti.Shape)
		}
		infos[name] = ti
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return infos[a].Offsets[0] - infos[b].Offsets[0] })
	end := 0
	for _, name := range names {
		ti := infos[name]
		if ti.Offsets[0] != end {
			return nil, fmt.Errorf("model header: tensor %q starts at byte %d, not %d", name, ti.Offsets[0], end)
		}
		end = ti.Offsets[1]
		if end > maxModelData {
			return nil, fmt.Errorf("model header: tensors of more than %d bytes", maxModelData)
		}
	}
	// Read as the bytes come, not as the header claims: a short file that
	// promises gigabytes allocates only what it holds.
	data := make(map[string][]byte, len(names))
	for _, name := range names {
		ti := infos[name]
		b, err := readN(r, int64(ti.Offsets[1]-ti.Offsets[0]))
		if err != nil {
			return nil, fmt.Errorf("truncated model file: tensor %q: %w", name, err)
		}
		data[name] = b
	}
	floats := func(name string, shape ...int) ([]float32, error) {
		ti, ok := infos[name]
		if !ok {
			return nil, fmt.Errorf("model has no tensor %s", name)
		}
		if ti.DType != "F32" || !slices.Equal(ti.Shape, shape) {
			return nil, fmt.Errorf("model tensor %s is %s %v, want F32 %v", name, ti.DType, ti.Shape, shape)
		}
		b := data[name]
		v := make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			if math.IsNaN(float64(v[i])) || math.IsInf(float64(v[i]), 0) {
				return nil, fmt.Errorf("model tensor %s holds a non-finite value at %d", name, i)
			}
		}
		delete(infos, name)
		return v, nil
	}

	// The layers, which must chain from the input to the embedding.
	for l := 0; ; l++ {
		ti, ok := infos[fmt.Sprintf("layers.%d.weight", l)]
		if !ok {
			break
		}
		if len(ti.Shape) != 2 {
			return nil, fmt.Errorf("model tensor layers.%d.weight has shape %v, want [out, in]", l, ti.Shape)
		}
		ly := Linear{Out: ti.Shape[0], In: ti.Shape[1]}
		if l > 0 && ly.In != m.Layers[l-1].Out {
			return nil, fmt.Errorf("model layer %d takes %d inputs but layer %d gives %d", l, ly.In, l-1, m.Layers[l-1].Out)
		}
		if ly.W, err = floats(fmt.Sprintf("layers.%d.weight", l), ly.Out, ly.In); err != nil {
			return nil, err
		}
		if ly.B, err = floats(fmt.Sprintf("layers.%d.bias", l), ly.Out); err != nil {
			return nil, err
		}
		m.Layers = append(m.Layers, ly)
	}
	if len(m.Layers) == 0 {
		return nil, errors.New("model has no layers (no tensor layers.0.weight)")
	}
	f := &m.Featurizer
	if f.Dim <= 0 || f.Dim > maxModelData {
		return nil, fmt.Errorf("model featurizer: input dimension %d", f.Dim)
	}
	if ti, ok := infos["bag.weight"]; ok {
		if len(ti.Shape) != 2 {
			return nil, fmt.Errorf("model tensor bag.weight has shape %v, want [rows, width]", ti.Shape)
		}
		rows, width := ti.Shape[0], ti.Shape[1]
		if width != m.InDim() {
			return nil, fmt.Errorf("model bag is %d wide but layer 0 takes %d inputs", width, m.InDim())
		}
		b := &Bag{Width: width}
		if b.W, err = floats("bag.weight", rows, width); err != nil {
			return nil, err
		}
		ci, ok := infos["bag.columns"]
		if !ok || ci.DType != "I32" || !slices.Equal(ci.Shape, []int{rows}) {
			return nil, fmt.Errorf("model needs an I32 tensor bag.columns of shape [%d]", rows)
		}
		cb := data["bag.columns"]
		b.Columns = make([]int32, rows)
		for i := range b.Columns {
			c := int32(binary.LittleEndian.Uint32(cb[4*i:]))
			if c < 0 || int(c) >= f.Dim || i > 0 && c <= b.Columns[i-1] {
				return nil, fmt.Errorf("model tensor bag.columns: column %d of row %d is out of order or outside 0..%d", c, i, f.Dim-1)
			}
			b.Columns[i] = c
		}
		delete(infos, "bag.columns")
		m.Bag = b
	} else if f.Dim != m.InDim() {
		return nil, fmt.Errorf("model featurizer gives %d inputs but layer 0 takes %d", f.Dim, m.InDim())
	}
	for name := range infos {
		return nil, fmt.Errorf("model has an unknown tensor %q", name)
	}
	switch f.Kind {
	case dataset.Images:
		if f.Width <= 0 || f.Height <= 0 || f.Width > f.Dim || f.Height > f.Dim/f.Width || f.Width*f.Height != f.Dim {
			return nil, fmt.Errorf("model featurizer: %d×%d images do not make %d inputs", f.Width, f.Height, f.Dim)
		}
	case dataset.Vectors:
	case dataset.Text:
		if _, err := f.hashOptions(); err != nil {
			return nil, fmt.Errorf("model featurizer: %v", err)
		}
		if f.Buckets != f.Dim {
			return nil, fmt.Errorf("model featurizer: %d hash buckets but %d inputs", f.Buckets, f.Dim)
		}
	case dataset.Interactions:
		if len(f.Items) != f.Dim {
			return nil, fmt.Errorf("model featurizer: %d item names for %d items", len(f.Items), f.Dim)
		}
	default:
		return nil, fmt.Errorf("model featurizer: unknown kind %q", f.Kind)
	}
	sparse := f.Kind == dataset.Text || f.Kind == dataset.Interactions
	if sparse != (m.Bag != nil) {
		return nil, fmt.Errorf("model featurizer: %s input with the embedding bag %s", f.Kind, map[bool]string{true: "present", false: "missing"}[m.Bag != nil])
	}
	return m, nil
}

// readN reads n bytes of r into a buffer that grows as they arrive.
func readN(r io.Reader, n int64) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, r, n); err != nil {
		return nil, eofShort(err)
	}
	return buf.Bytes(), nil
}

// eofShort turns io.EOF into io.ErrUnexpectedEOF: a file that ends early is
// truncated, not empty.
func eofShort(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Summary is one line describing m, for messages.
func (m *Model) Summary() string {
	sizes := []string{strconv.Itoa(m.InDim())}
	for _, l := range m.Layers {
		sizes = append(sizes, strconv.Itoa(l.Out))
	}
	s := fmt.Sprintf("%s encoder of %s (%s, %s loss, epoch %d)", strings.Join(sizes, "-"), m.Featurizer.Dataset, m.Featurizer.Kind, m.Config.Loss, m.Epoch)
	if m.Bag != nil {
		s += fmt.Sprintf(", embedding bag of %d rows", len(m.Bag.Columns))
	}
	return s
}
