package trainer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// TestModelReproducesEmbeddings: the encoder saved from a run's last
// checkpoint, written as safetensors and read back, embeds the training
// items exactly as the run's last epoch did, for dense images, hashed text
// through the bag and interaction items by name; so does Run.Model after
// the run.
func TestModelReproducesEmbeddings(t *testing.T) {
	for _, c := range checkpointCases(t)[:3] {
		t.Run(c.name, func(t *testing.T) {
			d := c.d
			if d.Kind == dataset.Interactions {
				d = named(d)
			}
			r, err := New(c.cfg, d)
			if err != nil {
				t.Fatal(err)
			}
			r.EnableCheckpoints()
			eps := publishedAfter(t, r)
			last := eps[len(eps)-1]

			fromRun, err := r.Model()
			if err != nil {
				t.Fatal(err)
			}
			fromCkpt, err := ModelOf(c.cfg, d, last.Checkpoint)
			if err != nil {
				t.Fatal(err)
			}
			for name, m := range map[string]*Model{"Run.Model": fromRun, "ModelOf": fromCkpt} {
				if m.Epoch != last.Epoch {
					t.Errorf("%s: epoch %d, want %d", name, m.Epoch, last.Epoch)
				}
				var buf bytes.Buffer
				if err := WriteModel(&buf, m); err != nil {
					t.Fatal(err)
				}
				back, err := ReadModel(bytes.NewReader(buf.Bytes()))
				if err != nil {
					t.Fatalf("%s: reading back: %v", name, err)
				}
				if back.Config.Loss != c.cfg.Loss || back.Featurizer.Kind != d.Kind || back.Epoch != last.Epoch {
					t.Errorf("%s: read back %s", name, back.Summary())
				}
				got, err := back.Embed(d)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(last.Embeddings) {
					t.Fatalf("%s: %d values, want %d", name, len(got), len(last.Embeddings))
				}
				worst := 0.0
				for i, v := range got {
					worst = max(worst, math.Abs(float64(v-last.Embeddings[i])))
				}
				// float32 precision: unit vectors, so an absolute bound.
				if worst > 1e-6 {
					t.Errorf("%s: embeddings differ from the last epoch's by up to %g", name, worst)
				}
			}
		})
	}
}

// named gives an interactions dataset item names.
func named(d *dataset.Dataset) *dataset.Dataset {
	c := *d
	c.ItemNames = make([]string, d.Len())
	for i := range c.ItemNames {
		c.ItemNames[i] = "track " + string(rune('A'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
	}
	return &c
}

// TestModelEmbedNewItems: new texts embed as EmbedText embeds them, items
// are found by name in any order, and what cannot be embedded is refused
// with the item named.
func TestModelEmbedNewItems(t *testing.T) {
	r := quickWordnet(t, PairsLabels)
	if _, err := runAll(t, r); err != nil {
		t.Fatal(err)
	}
	m, err := r.Model()
	if err != nil {
		t.Fatal(err)
	}
	queries := []string{"a large cat", "to move quickly on foot", "a feeling of great happiness"}
	got, err := m.Embed(&dataset.Dataset{Kind: dataset.Text, Text: queries, Labels: make([]int32, 3)})
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range queries {
		want, err := r.EmbedText(q)
		if err != nil {
			t.Fatal(err)
		}
		for j, v := range want {
			if d := math.Abs(float64(v - got[i*len(want)+j])); d > 1e-6 {
				t.Fatalf("%q: component %d differs by %g from EmbedText", q, j, d)
			}
		}
	}
	_, err = m.Embed(&dataset.Dataset{Kind: dataset.Text, Text: []string{"a cat", "!!!"}, Labels: make([]int32, 2)})
	if err == nil || !strings.Contains(err.Error(), `item 2 ("!!!")`) {
		t.Errorf("a text without known words: %v", err)
	}
	img := &dataset.Dataset{Kind: dataset.Images, Dim: 4, Width: 2, Height: 2, X: make([]float32, 4), Labels: make([]int32, 1)}
	if _, err := m.Embed(img); err == nil {
		t.Error("images through a text model: no error")
	}

	cfg, d, ck := tinyCheckpoint(t, true)
	d = named(d)
	im, err := ModelOf(cfg, d, ck)
	if err != nil {
		t.Fatal(err)
	}
	all, err := im.Embed(d)
	if err != nil {
		t.Fatal(err)
	}
	dim := im.OutDim()
	two, err := im.Embed(&dataset.Dataset{Kind: dataset.Interactions, ItemNames: []string{d.ItemNames[7], d.ItemNames[2]}, Labels: make([]int32, 2)})
	if err != nil {
		t.Fatal(err)
	}
	for j := range dim {
		if two[j] != all[7*dim+j] || two[dim+j] != all[2*dim+j] {
			t.Fatalf("items by name: %v, want rows 7 and 2 of %v", two, all[:8*dim])
		}
	}
	if _, err := im.Embed(&dataset.Dataset{Kind: dataset.Interactions, ItemNames: []string{"no such track"}, Labels: make([]int32, 1)}); err == nil || !strings.Contains(err.Error(), "no such track") {
		t.Errorf("an unknown item: %v", err)
	}

	dcfg, dd, dck := tinyCheckpoint(t, false)
	dm, err := ModelOf(dcfg, dd, dck)
	if err != nil {
		t.Fatal(err)
	}
	wide := &dataset.Dataset{Kind: dataset.Vectors, Dim: 4, X: make([]float32, 4), Labels: make([]int32, 1)}
	if _, err := dm.Embed(wide); err == nil || !strings.Contains(err.Error(), "3 values") {
		t.Errorf("vectors of the wrong width: %v", err)
	}
}

// tinyModel is the bytes of a small sparse or dense model file.
func tinyModel(t testing.TB, sparse bool) []byte {
	t.Helper()
	cfg, d, ck := tinyCheckpoint(t, sparse)
	m, err := ModelOf(cfg, d, ck)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteModel(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// editHeader rewrites a model file's JSON header with edit.
func editHeader(t *testing.T, b []byte, edit func(h map[string]any)) []byte {
	t.Helper()
	n := binary.LittleEndian.Uint64(b)
	var h map[string]any
	if err := json.Unmarshal(b[8:8+n], &h); err != nil {
		t.Fatal(err)
	}
	edit(h)
	hb, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(hb)))
	return append(append(out, hb...), b[8+n:]...)
}

// TestReadModelRejects: files that are not intact models are refused with a
// message saying what is wrong.
func TestReadModelRejects(t *testing.T) {
	good := tinyModel(t, true)
	if _, err := ReadModel(bytes.NewReader(good)); err != nil {
		t.Fatal(err)
	}
	meta := func(key, value string) func(map[string]any) {
		return func(h map[string]any) { h["__metadata__"].(map[string]any)[key] = value }
	}
	nan := bytes.Clone(good)
	n := binary.LittleEndian.Uint64(nan)
	binary.LittleEndian.PutUint32(nan[8+n:], math.Float32bits(float32(math.NaN())))
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "not a model file"},
		{"truncated", good[:len(good)-3], "truncated"},
		{"huge header", binary.LittleEndian.AppendUint64(nil, 1<<40), "header of"},
		{"not JSON", append(binary.LittleEndian.AppendUint64(nil, 4), "abcd"...), "not JSON"},
		{"other format", editHeader(t, good, meta("format", "pt")), "not a Contrastive Explorer model"},
		{"newer version", editHeader(t, good, meta("version", "9")), "version"},
		{"bad featurizer", editHeader(t, good, meta("featurizer", `{"kind":"sound","dim":30}`)), "unknown kind"},
		{"too few names", editHeader(t, good, meta("featurizer", `{"kind":"interactions","dim":30,"items":["a"]}`)), "item names"},
		{"non-finite weight", nan, "non-finite"},
		{"shape lies", editHeader(t, good, func(h map[string]any) {
			h["layers.0.weight"].(map[string]any)["shape"] = []int{3, 3}
		}), "byte range"},
		{"hole", editHeader(t, good, func(h map[string]any) {
			o := h["layers.0.weight"].(map[string]any)["data_offsets"].([]any)
			h["layers.0.weight"].(map[string]any)["data_offsets"] = []float64{o[0].(float64) + 4, o[1].(float64) + 4}
		}), "starts at byte"},
		{"dtype", editHeader(t, good, func(h map[string]any) {
			h["layers.0.bias"].(map[string]any)["dtype"] = "F16"
		}), "dtype F16"},
		{"extra tensor", append(editHeader(t, good, func(h map[string]any) {
			h["extra"] = map[string]any{"dtype": "F32", "shape": []int{1}, "data_offsets": []int{len(good) - 8 - int(n), len(good) - 8 - int(n) + 4}}
		}), 0, 0, 0, 0), "unknown tensor"},
		{"tensor past the end", editHeader(t, good, func(h map[string]any) {
			h["extra"] = map[string]any{"dtype": "F32", "shape": []int{1}, "data_offsets": []int{len(good) - 8 - int(n), len(good) - 8 - int(n) + 4}}
		}), "truncated"},
		{"no bag columns", editHeader(t, good, func(h map[string]any) { delete(h, "bag.columns") }), "bag.columns"},
	}
	for _, c := range cases {
		_, err := ReadModel(bytes.NewReader(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

// TestReadModelClaimsNotTrusted: a file of a few hundred bytes whose header
// promises gigabytes of tensors is refused as truncated without the reader
// allocating what it promised.
func TestReadModelClaimsNotTrusted(t *testing.T) {
	header := `{"__metadata__":{"format":"contrastive-explorer-encoder","version":"1","epoch":"0","config":"{}","featurizer":"{\"kind\":\"vectors\",\"dim\":4}"},` +
		`"layers.0.weight":{"dtype":"F32","shape":[16384,16384],"data_offsets":[0,1073741824]}}`
	file := append(binary.LittleEndian.AppendUint64(nil, uint64(len(header))), header...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadModel(bytes.NewReader(file))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("a 1 GB tensor in a %d-byte file: %v", len(file), err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("reading it allocated %d MB", grew>>20)
	}
}

// FuzzReadModel: no input makes ReadModel panic or hang, and what it
// accepts can be embedded through.
func FuzzReadModel(f *testing.F) {
	f.Add(tinyModel(f, true))
	f.Add(tinyModel(f, false))
	f.Add([]byte{})
	f.Add(append(binary.LittleEndian.AppendUint64(nil, 2), "{}"...))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadModel(bytes.NewReader(b))
		if err != nil {
			return
		}
		d := &dataset.Dataset{Kind: dataset.Vectors, Dim: m.InDim(), X: make([]float32, m.InDim()), Labels: make([]int32, 1)}
		if m.Featurizer.Kind == dataset.Vectors {
			if _, err := m.Embed(d); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestModelIsSafetensors: an independent safetensors implementation reads
// our model files (every tensor, its shape and bytes, and the metadata),
// and ReadModel reads the file that implementation writes of the same
// tensors, in whatever order it lays them out.
func TestModelIsSafetensors(t *testing.T) {
	for _, sparse := range []bool{false, true} {
		file := tinyModel(t, sparse)
		mine, err := ReadModel(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		st, err := safetensors.Deserialize(file)
		if err != nil {
			t.Fatalf("sparse %v: safetensors.Deserialize: %v", sparse, err)
		}
		want := map[string][]uint64{}
		for l, ly := range mine.Layers {
			want[fmt.Sprintf("layers.%d.weight", l)] = []uint64{uint64(ly.Out), uint64(ly.In)}
			want[fmt.Sprintf("layers.%d.bias", l)] = []uint64{uint64(ly.Out)}
		}
		if sparse {
			rows := uint64(len(mine.Bag.Columns))
			want["bag.weight"], want["bag.columns"] = []uint64{rows, uint64(mine.Bag.Width)}, []uint64{rows}
		}
		if st.Len() != len(want) {
			t.Errorf("sparse %v: %d tensors %v, want %d", sparse, st.Len(), st.Names(), len(want))
		}
		views := map[string]safetensors.TensorView{}
		for name, shape := range want {
			tv, ok := st.Tensor(name)
			if !ok || !slices.Equal(tv.Shape(), shape) {
				t.Fatalf("sparse %v: tensor %s: %v %v, want shape %v", sparse, name, ok, tv.Shape(), shape)
			}
			views[name] = tv
		}
		w0 := views["layers.0.weight"].Data()
		if got := math.Float32frombits(binary.LittleEndian.Uint32(w0[4:])); got != mine.Layers[0].W[1] {
			t.Errorf("layers.0.weight[0][1] is %v, ReadModel says %v", got, mine.Layers[0].W[1])
		}
		_, meta, err := safetensors.ReadMetadata(file)
		if err != nil || meta.Metadata()["format"] != ModelFormat {
			t.Fatalf("metadata %v: %v", meta.Metadata(), err)
		}

		theirs, err := safetensors.Serialize(views, meta.Metadata())
		if err != nil {
			t.Fatal(err)
		}
		back, err := ReadModel(bytes.NewReader(theirs))
		if err != nil {
			t.Fatalf("sparse %v: ReadModel of the other writer's file: %v", sparse, err)
		}
		var a, b bytes.Buffer
		if err := WriteModel(&a, mine); err != nil {
			t.Fatal(err)
		}
		if err := WriteModel(&b, back); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("sparse %v: the model read from the other writer's file differs", sparse)
		}
	}
}
