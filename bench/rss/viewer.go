package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// viewer is one websocket client of a run (docs/protocol.md, "Websocket"),
// counting what it receives and checking each message's shape. It keeps
// no frame, so its own memory stays small.
type viewer struct {
	run     string
	trained bool // a run trained under measurement, not a stored one

	started   time.Time
	firstLive chan struct{} // closed at the first epoch after live
	finished  chan struct{} // closed when watch returns

	// Set by watch; read once finished is closed.
	hello      bool
	items      int
	live       bool
	frames     int         // epoch messages
	backfill   int         // of them with backfill true
	perEpoch   map[int]int // frames per epoch number
	doneState  string
	doneEpochs int
	closeCode  websocket.StatusCode
	took       time.Duration // connect to close
	err        error
}

func newViewer(run string, trained bool) *viewer {
	return &viewer{run: run, trained: trained, firstLive: make(chan struct{}), finished: make(chan struct{}),
		perEpoch: make(map[int]int), closeCode: -1}
}

// readLimit bounds one message: hello of a 12,000-item run is about 100 kB,
// a 3D frame of 100,000 points 1.2 MB.
const readLimit = 64 << 20

// watch connects to the run at base (http://host:port) and reads until the
// server closes the connection or ctx ends.
func (v *viewer) watch(ctx context.Context, base string) {
	defer close(v.finished)
	v.started = time.Now()
	defer func() { v.took = time.Since(v.started) }()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws/runs/"+v.run, nil)
	if err != nil {
		v.err = fmt.Errorf("dial: %w", err)
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(readLimit)
	var (
		pending  *epochMsg // an epoch whose binary frame is next
		liveOnce sync.Once
	)
	for {
		typ, b, err := conn.Read(ctx)
		if err != nil {
			v.closeCode = websocket.CloseStatus(err)
			if v.closeCode != websocket.StatusNormalClosure || v.doneState == "" {
				v.err = fmt.Errorf("read after %d frames: %w", v.frames, err)
			}
			return
		}
		if pending != nil {
			if typ != websocket.MessageBinary {
				v.err = fmt.Errorf("epoch %d: a text message where its binary frame belongs", pending.Epoch)
				return
			}
			if err := checkFrame(b, pending, v.items); err != nil {
				v.err = err
				return
			}
			pending = nil
			continue
		}
		if typ != websocket.MessageText {
			v.err = errors.New("a binary message without its epoch message")
			return
		}
		var m epochMsg
		if err := json.Unmarshal(b, &m); err != nil {
			v.err = fmt.Errorf("message %.60q: %w", b, err)
			return
		}
		switch m.Type {
		case "hello":
			v.hello, v.items = true, m.Dataset.Items
		case "live":
			v.live = true
		case "epoch":
			v.frames++
			v.perEpoch[m.Epoch]++
			if m.Backfill {
				v.backfill++
			}
			if v.live {
				liveOnce.Do(func() { close(v.firstLive) })
			}
			pending = &m
		case "done":
			v.doneState, v.doneEpochs = m.State, m.Epochs
		case "error":
			v.err = fmt.Errorf("run failed: %s", m.Error)
		}
	}
}

// epochMsg is what the bench reads of any text message.
type epochMsg struct {
	Type     string `json:"type"`
	Epoch    int    `json:"epoch"`
	Backfill bool   `json:"backfill"`
	Frame    struct {
		Method string `json:"method"`
		Dims   int    `json:"dims"`
	} `json:"frame"`
	Dataset struct {
		Items int `json:"items"`
	} `json:"dataset"`
	State  string `json:"state"`
	Epochs int    `json:"epochs"`
	Error  string `json:"error"`
}

// checkFrame checks a binary coordinate frame against its epoch message.
func checkFrame(b []byte, m *epochMsg, items int) error {
	if len(b) < 16 || string(b[:4]) != "CEF1" {
		return fmt.Errorf("epoch %d: binary frame without the CEF1 header", m.Epoch)
	}
	epoch, n, dims := binary.LittleEndian.Uint32(b[4:]), int(binary.LittleEndian.Uint32(b[8:])), int(b[12])
	switch {
	case int(epoch) != m.Epoch:
		return fmt.Errorf("epoch %d: binary frame of epoch %d", m.Epoch, epoch)
	case n != items || dims != m.Frame.Dims:
		return fmt.Errorf("epoch %d: frame of %d×%d, want %d×%d", m.Epoch, n, dims, items, m.Frame.Dims)
	case len(b) != 16+4*n*dims:
		return fmt.Errorf("epoch %d: frame of %d bytes, want %d", m.Epoch, len(b), 16+4*n*dims)
	}
	return nil
}

// problem says what the viewer missed of a run of epochs epochs (epoch 0,
// the untrained encoder, then 1…epochs), or "" when it got it all: a
// stored run's viewer every epoch exactly once in its history, a training
// run's viewer every epoch at least once, then done.
func (v *viewer) problem(epochs int) string {
	if v.err != nil {
		return v.err.Error()
	}
	var missing, twice []int
	for e := 0; e <= epochs; e++ {
		switch k := v.perEpoch[e]; {
		case k == 0:
			missing = append(missing, e)
		case k > 1 && !v.trained:
			twice = append(twice, e)
		}
	}
	switch {
	case !v.hello || !v.live:
		return "no hello or no live"
	case len(missing) > 0:
		return fmt.Sprintf("missing epochs %v", missing)
	case len(twice) > 0:
		return fmt.Sprintf("epochs %v more than once", twice)
	case len(v.perEpoch) != epochs+1:
		return fmt.Sprintf("%d distinct epochs, want %d", len(v.perEpoch), epochs+1)
	case !v.trained && v.frames != epochs+1:
		return fmt.Sprintf("%d frames, want %d", v.frames, epochs+1)
	case v.doneState != "done" || v.doneEpochs != epochs:
		return fmt.Sprintf("done %q at epoch %d, want done at %d", v.doneState, v.doneEpochs, epochs)
	case v.closeCode != websocket.StatusNormalClosure:
		return fmt.Sprintf("closed with %d, want 1000", v.closeCode)
	}
	return ""
}
