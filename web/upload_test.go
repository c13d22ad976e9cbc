package web

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/datasets"
	"github.com/contrastive-explorer/explorer/run/runner/runnertest"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// zerosZip is a zip of entries of n zero bytes each: kilobytes that expand
// to megabytes.
func zerosZip(t testing.TB, entries, n int) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zeros := make([]byte, n)
	for i := range entries {
		w, err := zw.Create("bomb/" + string(rune('a'+i)) + ".png")
		if err != nil {
			t.Fatal(err)
		}
		w.Write(zeros)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestUploadRejections posts bad uploads through the real echo instance:
// each answers its status, the field at fault and a message naming the
// file and, where it applies, line and column.
func TestUploadRejections(t *testing.T) {
	vectors, _ := projectorFiles()
	tests := []struct {
		name   string
		parts  []part
		limits dataset.Limits // zero: the defaults
		status int
		field  string
		want   string // a substring of the message
	}{
		{"NaN", []part{filePart("data.csv", "x,y,label\n1,NaN,a\n")}, dataset.Limits{}, 400, "file", `data.csv:2:2: not a finite number: "NaN"`},
		{"infinity", []part{filePart("data.csv", "x,y,label\n1,2,a\n1,+Inf,b\n")}, dataset.Limits{}, 400, "file", `data.csv:3:2: not a finite number: "+Inf"`},
		{"ragged row", []part{filePart("data.csv", "x,y,label\n1,2,a\n1,2\n")}, dataset.Limits{}, 400, "file", "data.csv:3:3: row has 2 fields, header has 3"},
		{"invalid UTF-8", []part{filePart("notes.txt", "hello\nwor\xffld\n")}, dataset.Limits{}, 400, "file", "notes.txt:2:4: invalid UTF-8"},
		{"empty file", []part{filePart("data.csv", "")}, dataset.Limits{}, 400, "file", "data.csv: empty file"},
		{"fewer than 10 items", []part{filePart("data.csv", csvRows(5))}, dataset.Limits{}, 400, "file", "data.csv: only 5 items; need at least 10"},
		{"no usable column", []part{filePart("data.csv", "name,label\nx,a\ny,b\n")}, dataset.Limits{}, 400, "file", `data.csv:2:1: not a number: "x"`},
		{"zip with ..", []part{filePart("imgs.zip", zipOf(t, [2]string{"a/../../evil.png", "x"}))}, dataset.Limits{}, 400, "file", `imgs.zip: entry "a/../../evil.png" has a ".." path element`},
		{"zip with an absolute path", []part{filePart("imgs.zip", zipOf(t, [2]string{"/etc/evil.png", "x"}))}, dataset.Limits{}, 400, "file", `imgs.zip: entry "/etc/evil.png" has an absolute path`},
		{"zip bomb by ratio", []part{filePart("imgs.zip", zerosZip(t, 1, 256<<10))}, dataset.Limits{}, 400, "file", "imgs.zip/bomb/a.png: entry expands more than 100 times its compressed size"},
		{"zip bomb in total", []part{filePart("imgs.zip", zerosZip(t, 3, 256<<10))}, dataset.Limits{MaxRatio: 1 << 20, MaxTotalBytes: 200_000}, 400, "file", "imgs.zip: archive larger than 200 kB uncompressed"},
		{"undecodable image", []part{filePart("imgs.zip", zipOf(t, [2]string{"a/x.png", "not a png at all"}))}, dataset.Limits{}, 400, "file", "imgs.zip/a/x.png: not a PNG or JPEG image"},
		{"absurd image size", []part{filePart("imgs.zip", zipOf(t, [2]string{"a/x.png", hugePNG(t, 100000, 100000)}))}, dataset.Limits{}, 400, "file", "imgs.zip/a/x.png: image is 100000×100000 pixels"},
		{"too many items", []part{filePart("data.csv", csvRows(30))}, dataset.Limits{MaxItems: 20}, 400, "file", "data.csv:22: more than 20 items"},
		{"oversize file", []part{filePart("big.csv", "x,label\n"+strings.Repeat("1,a\n", 30_000))}, dataset.Limits{MaxBytes: 100_000}, 413, "file", "big.csv: file larger than the limit of 100 kB"},
		{"oversize metadata", []part{{"metadata", "metadata.tsv", strings.Repeat("x\n", 60_000)}, filePart("vectors.tsv", vectors)}, dataset.Limits{MaxBytes: 100_000}, 413, "metadata", "metadata.tsv: file larger than the limit of 100 kB"},
		{"a lone image", []part{filePart("cat.png", pngOf(t, 4, 4, 0))}, dataset.Limits{}, 415, "file", "cat.png: the explorer cannot read this type of file"},
		{"bad metadata", []part{{"metadata", "metadata.tsv", "a\tb\nc\n"}, filePart("vectors.tsv", vectors)}, dataset.Limits{}, 400, "metadata", "metadata.tsv:2:2: row has 1 fields, header has 2"},
		{"metadata without vectors", []part{filePart("data.csv", csvRows(12)), {"metadata", "metadata.tsv", "a\n"}}, dataset.Limits{}, 400, "metadata", "goes with Embedding Projector vectors"},
		{"option after the file", []part{filePart("data.csv", csvRows(12)), field("scale", "minmax")}, dataset.Limits{}, 400, "scale", "send the option scale before the file"},
		{"unknown scaling", []part{field("scale", "log"), filePart("data.csv", csvRows(12))}, dataset.Limits{}, 400, "scale", `unknown scaling "log"`},
		{"image side too small", []part{field("side", "2"), filePart("imgs.zip", imageZip(t))}, dataset.Limits{}, 400, "side", "from 4 to 64"},
		{"unknown delimiter", []part{field("delimiter", "#"), filePart("data.csv", csvRows(12))}, dataset.Limits{}, 400, "delimiter", "unsupported delimiter"},
		{"unknown label column", []part{field("label_column", "colour"), filePart("data.csv", csvRows(12))}, dataset.Limits{}, 400, "file", "colour"},
		{"unknown part", []part{field("colour", "red"), filePart("data.csv", csvRows(12))}, dataset.Limits{}, 400, "colour", `unknown part "colour"`},
		{"no file", []part{field("scale", "minmax")}, dataset.Limits{}, 400, "file", "choose a file"},
		{"two files", []part{filePart("a.csv", csvRows(12)), filePart("b.csv", csvRows(12))}, dataset.Limits{}, 400, "file", "one file at a time"},
	}
	servers := map[dataset.Limits]*testServer{}
	for _, tt := range tests {
		s := servers[tt.limits]
		if s == nil {
			s = newTestServer(t, Options{Limits: tt.limits, DataDir: t.TempDir()})
			servers[tt.limits] = s
		}
		t.Run(tt.name, func(t *testing.T) {
			a := postUpload(t, s, sessionA, tt.parts...)
			var e errorBody
			a.json(t, &e)
			if a.status != tt.status || e.Field != tt.field || !strings.Contains(e.Error, tt.want) {
				t.Errorf("got %d %+v, want %d, field %q, message containing %q", a.status, e, tt.status, tt.field, tt.want)
			}
			if l := listDatasets(t, s, sessionA); len(uploadsOf(l)) != 0 {
				t.Errorf("a rejected upload was kept: %+v", uploadsOf(l))
			}
		})
	}
}

// TestUploadNotMultipart refuses bodies that are not multipart with 415,
// and bodies over the limit by their Content-Length with 413.
func TestUploadNotMultipart(t *testing.T) {
	s := newTestServer(t, Options{Limits: dataset.Limits{MaxBytes: 1000}})
	a := callAs(t, s, sessionA, "POST", "/api/datasets", []byte(csvRows(12)), "text/csv")
	if a.status != http.StatusUnsupportedMediaType || !strings.Contains(string(a.body), "multipart/form-data") {
		t.Errorf("a CSV body: %d %s, want 415", a.status, a.body)
	}
	body, ct := multipartBody(t, filePart("big.csv", csvRows(2000)))
	a = callAs(t, s, sessionA, "POST", "/api/datasets", body, ct)
	if a.status != http.StatusRequestEntityTooLarge || !strings.Contains(string(a.body), "1 kB") {
		t.Errorf("a body over the limit: %d %s, want 413 naming the limit", a.status, a.body)
	}
}

func listDatasets(t *testing.T, s http.Handler, sess string) []datasetJSON {
	t.Helper()
	a := callAs(t, s, sess, "GET", "/api/datasets", nil, "")
	if a.status != http.StatusOK {
		t.Fatalf("GET /api/datasets: %d %s", a.status, a.body)
	}
	var l []datasetJSON
	a.json(t, &l)
	return l
}

func uploadsOf(l []datasetJSON) []datasetJSON {
	var out []datasetJSON
	for _, d := range l {
		if d.Uploaded {
			out = append(out, d)
		}
	}
	return out
}

// createRunAs creates a run as a session and expects 201.
func createRunAs(t *testing.T, s http.Handler, sess string, cfg map[string]any) created {
	t.Helper()
	b, _ := json.Marshal(cfg)
	a := callAs(t, s, sess, "POST", "/api/runs", b, "application/json")
	if a.status != http.StatusCreated {
		t.Fatalf("POST /api/runs %s: %d %s", b, a.status, a.body)
	}
	var c created
	a.json(t, &c)
	return c
}

// TestUploadFormats uploads one small file of every format, checks the
// answer's counts, then trains (or, for precomputed vectors, shows) a run
// on it and watches it to the end over a websocket.
func TestUploadFormats(t *testing.T) {
	s := newTestServer(t, Options{DataDir: t.TempDir()})
	vectors, metadata := projectorFiles()
	tests := []struct {
		name        string
		parts       []part
		kind        dataset.Kind
		items, dims int
		classes     int
		precomputed bool
	}{
		{"csv", []part{field("scale", "standard"), filePart("data.csv", csvRows(24))}, dataset.Vectors, 24, 2, 2, false},
		{"text", []part{filePart("notes.txt", textLines(20))}, dataset.Text, 20, 0, 2, false},
		{"interactions", []part{filePart("plays.csv", interactionRows())}, dataset.Interactions, 12, 12, 2, false},
		{"image zip", []part{field("side", "8"), filePart("shapes.zip", imageZip(t))}, dataset.Images, 12, 64, 2, false},
		{"projector, metadata first", []part{{"metadata", "metadata.tsv", metadata}, filePart("vectors.tsv", vectors)}, dataset.Vectors, 12, 4, 2, true},
		{"projector, metadata after", []part{filePart("vectors.tsv", vectors), {"metadata", "metadata.tsv", metadata}}, dataset.Vectors, 12, 4, 2, true},
		{"projector zip", []part{filePart("emb.zip", zipOf(t, [2]string{"vectors.tsv", vectors}, [2]string{"metadata.tsv", metadata}))}, dataset.Vectors, 12, 4, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess := run.RandomHex(sessionIDBytes) // a session each: at most 5 uploads per session
			d := mustUpload(t, s, sess, tt.parts...)
			if !datasets.IsUpload(d.ID) || d.Kind != string(tt.kind) || d.Items != tt.items ||
				d.Classes != tt.classes || d.Precomputed != tt.precomputed || !d.Uploaded || d.Train+d.Test != tt.items ||
				(tt.dims > 0 && d.Dims != tt.dims) || d.Dims != d.Dim {
				t.Fatalf("uploaded %+v, want %s with %d items, %d dims, %d classes, precomputed %v", d, tt.kind, tt.items, tt.dims, tt.classes, tt.precomputed)
			}
			if l := uploadsOf(listDatasets(t, s, sess)); len(l) != 1 || l[0].ID != d.ID {
				t.Fatalf("the session's list: %+v", l)
			}

			e, err := s.datasets.Get(sess, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			epochs := 2
			cfg := map[string]any{"dataset": d.ID, "epochs": epochs, "batch": 4, "hidden": []int{8}, "dim": 4, "embed": 8,
				"lr": 0.01, "pairs": trainer.DefaultPairs(e.Data)}
			if tt.precomputed {
				epochs = 0
			}
			c := createRunAs(t, s, sess, cfg)
			if c.Epochs != epochs {
				t.Errorf("run summary: %d epochs, want %d", c.Epochs, epochs)
			}
			// Watched by link, from no session at all.
			msgs, status := readToEnd(t, dial(t, s, c.ID, dialOptions{}))
			if tt.precomputed {
				checkPrecomputedStream(t, msgs, status, tt.items)
			} else {
				checkStream(t, msgs, status, epochs, tt.items)
			}
			var h datasetHello
			if err := json.Unmarshal(msgs[0].Dataset, &h); err != nil {
				t.Fatal(err)
			}
			// The upload's id is the uploader's own: a viewer by link
			// does not learn it.
			if h.ID != uploadedDataset || !h.Uploaded || h.Precomputed != tt.precomputed || h.Synthetic {
				t.Errorf("hello's dataset: id %q uploaded %v precomputed %v synthetic %v", h.ID, h.Uploaded, h.Precomputed, h.Synthetic)
			}
			switch tt.kind {
			case dataset.Text:
				if len(h.Texts) != tt.items || !strings.Contains(h.Texts[0], "number 0") {
					t.Errorf("hello's texts: %q", h.Texts)
				}
			case dataset.Interactions:
				if len(h.Names) != tt.items {
					t.Errorf("hello's names: %q", h.Names)
				}
			case dataset.Images:
				if h.PixelsURL != "/api/runs/"+c.ID+"/pixels" {
					t.Errorf("hello's pixels URL %q, want the run's", h.PixelsURL)
				}
				// A viewer who followed the link has no session of the
				// uploader, but sees the pixels.
				if a := callAs(t, s, sessionB, "GET", h.PixelsURL, nil, ""); a.status != http.StatusOK || len(a.body) != tt.items*64 {
					t.Errorf("run pixels: %d, %d bytes", a.status, len(a.body))
				}
				if a := callAs(t, s, sess, "GET", d.PixelsURL, nil, ""); a.status != http.StatusOK || len(a.body) != tt.items*64 {
					t.Errorf("the uploader's dataset pixels: %d, %d bytes", a.status, len(a.body))
				}
				if a := callAs(t, s, sess, "GET", d.PreviewURL, nil, ""); a.status != http.StatusOK {
					t.Errorf("the uploader's preview: %d", a.status)
				}
			}
			if tt.precomputed {
				if len(h.Texts) != tt.items || h.Texts[3] != "point 3" {
					t.Errorf("hello's texts of projector metadata: %q", h.Texts)
				}
				// Projection switch and neighbours work on precomputed runs.
				if a := callAs(t, s, sess, "GET", "/api/runs/"+c.ID+"/neighbors?item=0&k=3", nil, ""); a.status != http.StatusOK {
					t.Errorf("neighbours: %d %s", a.status, a.body)
				}
				req := []byte(`{"method":"tsne","dims":3}`)
				a := call(t, s, "POST", "/api/runs/"+c.ID+"/projection", string(req), c.Token)
				if a.status != http.StatusOK {
					t.Fatalf("projection: %d %s", a.status, a.body)
				}
				msgs, status := readToEnd(t, dial(t, s, c.ID, dialOptions{}))
				checkPrecomputedStream(t, msgs, status, tt.items)
				if f := msgs[len(msgs)-2].Frame; msgs[len(msgs)-2].Type != "epoch" || f.Method != run.MethodTSNE || f.Dims != 3 {
					t.Errorf("after the switch: %v, frame %+v", types(msgs), f)
				}
			}
		})
	}
}

// checkPrecomputedStream checks the stream of a run on precomputed
// vectors: hello, epoch 0, live, done, with a null loss.
func checkPrecomputedStream(t *testing.T, msgs []wsMsg, status websocket.StatusCode, n int) {
	t.Helper()
	if status != websocket.StatusNormalClosure {
		t.Errorf("closed with %v, want 1000", status)
	}
	var epochs []wsMsg
	for _, m := range msgs {
		if m.Type == "epoch" {
			epochs = append(epochs, m)
		}
	}
	if len(msgs) < 4 || msgs[0].Type != "hello" || msgs[len(msgs)-1].Type != "done" || len(epochs) == 0 {
		t.Fatalf("stream %v, want hello, epoch 0, live, done", types(msgs))
	}
	for _, m := range epochs {
		var met struct {
			Loss   *float64 `json:"loss"`
			HasKNN bool     `json:"has_knn"`
		}
		if err := json.Unmarshal(m.Metrics, &met); err != nil || m.Epoch != 0 || len(m.coords) != n*m.Frame.Dims || met.Loss != nil {
			t.Errorf("epoch message %d: %s, %d coordinates, %v", m.Epoch, m.Metrics, len(m.coords), err)
		}
	}
	if msgs[len(msgs)-1].State != run.Done {
		t.Errorf("done with state %q", msgs[len(msgs)-1].State)
	}
}

// TestSessionIsolation checks that an upload is the uploader's alone:
// another session cannot list it, fetch it, delete it or train on it, and
// is told exactly what it would be told about an id nobody uses.
func TestSessionIsolation(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	d := mustUpload(t, s, sessionA, filePart("shapes.zip", imageZip(t)))
	const nobody = "u-0000000000000000"

	if l := uploadsOf(listDatasets(t, s, sessionB)); len(l) != 0 {
		t.Errorf("session B lists %+v", l)
	}
	if l := uploadsOf(listDatasets(t, s, "")); len(l) != 0 {
		t.Errorf("a request without a session lists %+v", l)
	}
	for _, path := range []string{"/api/datasets/%s/pixels", "/api/datasets/%s/preview.png"} {
		b := callAs(t, s, sessionB, "GET", strings.Replace(path, "%s", d.ID, 1), nil, "")
		n := callAs(t, s, sessionB, "GET", strings.Replace(path, "%s", nobody, 1), nil, "")
		if b.status != http.StatusNotFound || strings.ReplaceAll(string(b.body), d.ID, nobody) != string(n.body) {
			t.Errorf("%s as B: %d %s; for an unused id: %s", path, b.status, b.body, n.body)
		}
	}
	if a := callAs(t, s, sessionB, "DELETE", "/api/datasets/"+d.ID, nil, ""); a.status != http.StatusNotFound {
		t.Errorf("DELETE as B: %d %s", a.status, a.body)
	}
	cfg, _ := json.Marshal(map[string]any{"dataset": d.ID, "epochs": 1})
	b := callAs(t, s, sessionB, "POST", "/api/runs", cfg, "application/json")
	cfgNobody, _ := json.Marshal(map[string]any{"dataset": nobody, "epochs": 1})
	n := callAs(t, s, sessionB, "POST", "/api/runs", cfgNobody, "application/json")
	if b.status != n.status || strings.ReplaceAll(string(b.body), d.ID, nobody) != string(n.body) {
		t.Errorf("a run on A's upload as B: %d %s; on an unused id: %d %s", b.status, b.body, n.status, n.body)
	}

	// A, meanwhile, can do all of that, and delete it.
	c := createRunAs(t, s, sessionA, map[string]any{"dataset": d.ID, "epochs": 1, "dim": 4, "batch": 4})
	if a := callAs(t, s, sessionA, "DELETE", "/api/datasets/"+d.ID, nil, ""); a.status != http.StatusNoContent {
		t.Fatalf("DELETE as A: %d %s", a.status, a.body)
	}
	if a := callAs(t, s, sessionA, "GET", "/api/datasets/"+d.ID+"/pixels", nil, ""); a.status != http.StatusNotFound {
		t.Errorf("pixels after delete: %d", a.status)
	}
	// The runs on it go with it: nothing holds its data (nor its share of
	// the upload budget) any more.
	if a := callAs(t, s, sessionB, "GET", "/api/runs/"+c.ID+"/pixels", nil, ""); a.status != http.StatusNotFound {
		t.Errorf("run pixels after delete: %d", a.status)
	}
	if a := callAs(t, s, sessionA, "DELETE", "/api/datasets/digits", nil, ""); a.status != http.StatusConflict {
		t.Errorf("DELETE of a bundled dataset: %d %s", a.status, a.body)
	}
}

// TestSessionCookie checks the cookie: set once, HttpOnly, SameSite=Lax,
// random; a valid one is kept, a malformed one replaced.
func TestSessionCookie(t *testing.T) {
	s := newTestServer(t, Options{})
	first := callAs(t, s, "", "GET", "/", nil, "")
	second := callAs(t, s, "", "GET", "/api/datasets", nil, "")
	var ids []string
	for _, a := range []answer{first, second} {
		cs := (&http.Response{Header: a.header}).Cookies()
		if len(cs) != 1 || cs[0].Name != sessionCookie || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteLaxMode ||
			cs[0].Path != "/" || (&Server{sessionKey: testSessionKey}).verifySession(cs[0].Value) == "" {
			t.Fatalf("cookies %+v, want one HttpOnly SameSite=Lax session cookie", cs)
		}
		ids = append(ids, cs[0].Value)
	}
	if ids[0] == ids[1] {
		t.Error("two new sessions got the same id")
	}
	if a := callAs(t, s, sessionA, "GET", "/", nil, ""); a.header.Get("Set-Cookie") != "" {
		t.Errorf("a valid session got a new cookie: %s", a.header.Get("Set-Cookie"))
	}
	if a := callAs(t, s, "not-hex", "GET", "/", nil, ""); !strings.Contains(a.header.Get("Set-Cookie"), sessionCookie) {
		t.Error("a malformed session id was kept")
	}
	// A well-formed id the server did not sign (planted by another site,
	// or guessed) is replaced too, never adopted.
	if a := callAs(t, s, "", "GET", "/", nil, ""); a.header.Get("Set-Cookie") == "" {
		t.Fatal("no cookie")
	}
	planted := httptest.NewRequest("GET", "/", nil)
	planted.AddCookie(&http.Cookie{Name: sessionCookie, Value: sessionA})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, planted)
	if cs := rec.Result().Cookies(); len(cs) != 1 || strings.HasPrefix(cs[0].Value, sessionA) {
		t.Errorf("an unsigned session id was adopted: cookies %+v", cs)
	}
	forged := httptest.NewRequest("GET", "/", nil)
	forged.AddCookie(&http.Cookie{Name: sessionCookie, Value: sessionA + "." + strings.Repeat("0", 64)})
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, forged)
	if cs := rec.Result().Cookies(); len(cs) != 1 || strings.HasPrefix(cs[0].Value, sessionA) {
		t.Errorf("a forged session cookie was adopted: cookies %+v", cs)
	}
	if a := callAs(t, s, "", "GET", "/static/style.css", nil, ""); a.header.Get("Set-Cookie") != "" {
		t.Error("a static asset set a cookie")
	}
}

// TestUploadQuota checks the per-session count (409) and the memory
// budget (507), each with a message saying what to do.
func TestUploadQuota(t *testing.T) {
	s := newTestServer(t, Options{MaxUploads: 2, UploadMemory: 3000})
	mustUpload(t, s, sessionA, filePart("a.csv", csvRows(12)))
	first := mustUpload(t, s, sessionA, filePart("b.csv", csvRows(12)))
	a := postUpload(t, s, sessionA, filePart("c.csv", csvRows(12)))
	if a.status != http.StatusConflict || !strings.Contains(string(a.body), "delete one") {
		t.Errorf("third upload: %d %s, want 409", a.status, a.body)
	}
	if a := callAs(t, s, sessionA, "DELETE", "/api/datasets/"+first.ID, nil, ""); a.status != http.StatusNoContent {
		t.Fatalf("delete: %d", a.status)
	}
	mustUpload(t, s, sessionA, filePart("c.csv", csvRows(12)))

	a = postUpload(t, s, sessionB, filePart("big.csv", csvRows(200)))
	if a.status != http.StatusInsufficientStorage || !strings.Contains(string(a.body), "smaller file") {
		t.Errorf("an upload over the memory budget: %d %s, want 507", a.status, a.body)
	}
}

// TestRejectedUploadsLeaveServerServing floods the server with bad and
// oversized uploads while a run streams: the run's viewer gets every epoch
// and /healthz answers throughout.
func TestRejectedUploadsLeaveServerServing(t *testing.T) {
	gate := make(chan struct{})
	s := newTestServer(t, Options{
		NewTrainer: runnertest.Trainers(gate), NewProjector: runnertest.ColumnProjectors,
		Limits: dataset.Limits{MaxBytes: 200_000}, DataDir: t.TempDir(),
	})
	const epochs = 4
	c := createRun(t, s, map[string]any{"epochs": epochs, "dim": 4})
	conn := dial(t, s, c.ID, dialOptions{})

	var wg sync.WaitGroup
	bad := [][]part{
		{filePart("big.csv", "x,label\n"+strings.Repeat("1,a\n", 100_000))},
		{filePart("bomb.zip", zerosZip(t, 1, 1<<20))},
		{filePart("nan.csv", "x,y,label\n1,NaN,a\n")},
		{filePart("vectors.tsv", strings.Repeat("1\t2\n", 60_000))},
	}
	for i := range 8 {
		wg.Go(func() {
			a := postUpload(t, s, run.RandomHex(sessionIDBytes), bad[i%len(bad)]...)
			if a.status < 400 || a.status >= 500 {
				t.Errorf("bad upload %d: %d %s", i, a.status, a.body)
			}
		})
	}
	for range epochs {
		if a := call(t, s, "GET", "/healthz", nil, ""); a.status != http.StatusOK {
			t.Errorf("healthz: %d", a.status)
		}
		gate <- struct{}{}
	}
	wg.Wait()
	// This viewer read nothing meanwhile, so its live epochs conflated:
	// it sees the last one and done. A viewer joining now gets them all.
	msgs, status := readToEnd(t, conn)
	if last := msgs[len(msgs)-1]; status != websocket.StatusNormalClosure || last.Type != "done" || last.Epochs != epochs {
		t.Errorf("the viewer's stream ends %v with %v", types(msgs), status)
	}
	msgs, status = readToEnd(t, dial(t, s, c.ID, dialOptions{}))
	checkStream(t, msgs, status, epochs, 1797)
	if n := len(s.parseSlots); n != 0 {
		t.Errorf("%d parse slots still taken", n)
	}
	entries, _ := os.ReadDir(s.dataDir)
	if len(entries) != 0 {
		t.Errorf("spool files left behind: %v", entries)
	}
}

// TestUploadWhileShuttingDown refuses uploads once the server stops.
func TestUploadWhileShuttingDown(t *testing.T) {
	s := newTestServer(t, Options{})
	s.cancel()
	if a := postUpload(t, s, sessionA, filePart("data.csv", csvRows(12))); a.status != http.StatusServiceUnavailable {
		t.Errorf("upload during shutdown: %d %s", a.status, a.body)
	}
}

// TestSyntheticAndHomePage checks the synthetic flag of the bundled
// listening histories (list and hello) and that the home page lists a
// session's uploads to that session only.
func TestSyntheticAndHomePage(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	for _, d := range listDatasets(t, s, sessionA) {
		if want := d.ID == "interactions"; d.Synthetic != want || d.ID != d.Name || d.Uploaded {
			t.Errorf("%s: synthetic %v, id %q, uploaded %v", d.Name, d.Synthetic, d.ID, d.Uploaded)
		}
	}
	c := createRun(t, s, map[string]any{"dataset": "interactions", "epochs": 1, "dim": 4, "pairs": "cooccur"})
	hello := expectType(t, dial(t, s, c.ID, dialOptions{}), "hello")
	var h datasetHello
	if err := json.Unmarshal(hello.Dataset, &h); err != nil || !h.Synthetic || h.Uploaded || h.ID != "interactions" {
		t.Errorf("hello's dataset: %v, synthetic %v, uploaded %v, id %q", err, h.Synthetic, h.Uploaded, h.ID)
	}

	d := mustUpload(t, s, sessionA, filePart("mine.csv", csvRows(12)))
	a := callAs(t, s, sessionA, "GET", "/", nil, "")
	if !strings.Contains(string(a.body), `<li data-dataset="`+d.ID+`">`) || !strings.Contains(string(a.body), `value="`+d.ID+`"`) {
		t.Errorf("the uploader's home page does not offer the upload")
	}
	if b := callAs(t, s, sessionB, "GET", "/", nil, ""); strings.Contains(string(b.body), d.ID) {
		t.Errorf("another session's home page shows the upload")
	}
}

// TestInspectUpload answers the columns of a table from its first bytes,
// with roles guessed for its columns of words, and the format of others.
func TestInspectUpload(t *testing.T) {
	s := newTestServer(t, Options{DataDir: t.TempDir()})
	var sb strings.Builder
	sb.WriteString("sepal,petal,species\n")
	for i := range 300 {
		sb.WriteString(strings.Repeat("1", 1+i%3) + ".5,0.2," + []string{"setosa", "versicolor", "virginica"}[i%3] + "\n")
	}
	a := callAs(t, s, sessionA, "POST", "/api/datasets/inspect?name=iris.csv", []byte(sb.String()), "text/csv")
	var got inspectJSON
	a.json(t, &got)
	if a.status != 200 || got.Format != dataset.FormatCSV || got.Delimiter != "," || !got.NeedsChoice || len(got.Columns) != 3 {
		t.Fatalf("got %d %+v", a.status, got)
	}
	if c := got.Columns[2]; c.Name != "species" || c.Role != dataset.RoleLabel || !c.Guessed || c.Distinct != 3 {
		t.Errorf("species: %+v, want a guessed label of 3 classes", c)
	}
	// The options of the page change the answer: species chosen as the
	// label is no longer a guess.
	a = callAs(t, s, sessionA, "POST", "/api/datasets/inspect?name=iris.csv&label_column=species", []byte(sb.String()), "text/csv")
	got = inspectJSON{}
	a.json(t, &got)
	if got.NeedsChoice || got.Columns[2].Guessed {
		t.Errorf("with label_column=species: %+v", got)
	}
	for _, tt := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"notes.txt", "hello\nworld\n", 200, `"format":"text"`},
		{"grades.xlsx", "PK\x03\x04rest", 415, "save the sheet as CSV"},
		{"cat.png", "\x89PNG\r\n", 415, "put your pictures in a zip"},
		{"nums.csv", "1,2\n3,4\n", 400, "header"},
	} {
		a := callAs(t, s, sessionA, "POST", "/api/datasets/inspect?name="+tt.name, []byte(tt.body), "application/octet-stream")
		if a.status != tt.status || !strings.Contains(string(a.body), tt.want) {
			t.Errorf("%s: %d %s, want %d with %q", tt.name, a.status, a.body, tt.status, tt.want)
		}
	}
}
