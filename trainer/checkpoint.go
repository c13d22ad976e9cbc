package trainer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"math"
	"slices"
	"strings"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// A checkpoint is the magic "CXCK", a version byte, sections and a CRC-32C
// (Castagnoli) of everything before it, little-endian throughout. A section
// is its id (one byte), its payload's length (uint64) and the payload; each
// id appears at most once. Arrays are bare float32 or uint32 values, their
// count implied by the length. The sections:
//
//	config     the resolved Config as JSON
//	data       items, dimension (uint64 each) and a CRC-32C of the dataset's contents (uint32)
//	progress   epoch, steps taken, the buffer training fills next, Adam's step count,
//	           the bag optimiser's step count, the pair maker's cursor (uint64 each)
//	params     the MLP's weights and biases, as MLP.Params lays them out
//	optM       Adam's first moments, or SGD's velocity
//	optV       Adam's second moments (absent for SGD)
//	bag        the embedding bag's weights (sparse datasets only)
//	bagM, bagV the bag optimiser's moments or velocity, as optM and optV
//	sample     the batch sampling stream's PCG state (rand.PCG.MarshalBinary)
//	augment    the augmentation stream's PCG state
//	order      the pair maker's anchor order, which each epoch reshuffles in place
//
// Nothing else carries from one epoch to the next: the initial weights'
// and the probe's streams are spent when the run is built, epoch 0's
// streams serve epoch 0 only, and gradients and other buffers are
// overwritten by every step. A change to what carries over, or to how
// batches are drawn from it, must bump checkpointVersion: a run restored
// from an older checkpoint would no longer continue as it would have.
const (
	checkpointMagic   = "CXCK"
	checkpointVersion = 1
)

// The section ids.
const (
	secConfig = iota + 1
	secData
	secProgress
	secParams
	secOptM
	secOptV
	secBag
	secBagM
	secBagV
	secSample
	secAugment
	secOrder
	numSections
)

var sectionNames = [numSections]string{"", "config", "data", "progress", "params", "optM", "optV", "bag", "bagM", "bagV", "sample", "augment", "order"}

const (
	dataLen     = 2*8 + 4 // items, dimension, contents CRC
	progressLen = 6 * 8   // epoch, step, buffer, Adam's t, the bag optimiser's t, cursor
	headerLen   = len(checkpointMagic) + 1
	sectionHead = 1 + 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// EnableCheckpoints makes every epoch the run publishes carry a checkpoint
// (Epoch.Checkpoint) from which Restore continues the run exactly as if it
// had never stopped. A checkpoint holds the weights and the optimiser's
// state, so it is about three times the size of the encoder's parameters
// (with Adam; twice with SGD): 2.9 MB for the default MLP on 28×28 images,
// encoded in about a millisecond once per epoch. Without it nothing is
// encoded or kept. It must be called before Run; calling it afterwards
// panics.
func (r *Run) EnableCheckpoints() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		panic("trainer: EnableCheckpoints called after Run")
	}
	r.checkpoints = true
}

// Restore returns a run that continues the run whose epoch checkpoint is
// the given Epoch.Checkpoint: when Run is called it trains and publishes
// epochs CheckpointEpoch(checkpoint)+1 up to cfg.Epochs, and nothing
// before them (not epoch 0), bit for bit as the interrupted run would have;
// if the checkpoint is of the last epoch, Run publishes nothing and returns
// nil. cfg and d are validated as New does and must be those of the
// checkpoint's run: Restore returns an error naming the difference when the
// resolved configuration or the dataset (its size or contents) is not, and
// an error for a checkpoint that is truncated, corrupted or of another
// format version. Unlike New it builds the encoder at once, so EmbedText
// works before Run.
func Restore(cfg Config, d *dataset.Dataset, checkpoint []byte) (*Run, error) {
	r, err := New(cfg, d)
	if err != nil {
		return nil, err
	}
	sec, err := parseCheckpoint(checkpoint)
	if err != nil {
		return nil, err
	}
	ck := newCheckpointer(r.cfg, d)
	if err := ck.matches(sec); err != nil {
		return nil, err
	}
	t := r.newTraining()
	epoch, err := t.restore(sec)
	if err != nil {
		return nil, err
	}
	t.ckpt = ck // saves fingerprinting the dataset again if Run makes checkpoints
	r.resumed, r.resumedFrom = t, epoch
	return r, nil
}

// CheckpointEpoch returns the epoch after which checkpoint was taken, or an
// error if it is not an intact checkpoint.
func CheckpointEpoch(checkpoint []byte) (int, error) {
	sec, err := parseCheckpoint(checkpoint)
	if err != nil {
		return 0, err
	}
	p, err := sec.progress()
	if err != nil {
		return 0, err
	}
	return p.epoch, nil
}

// checkpointer encodes a run's checkpoints and checks one against a run:
// it holds what all of them repeat, the configuration and the dataset's
// fingerprint.
type checkpointer struct {
	config []byte
	data   [dataLen]byte
}

func newCheckpointer(cfg Config, d *dataset.Dataset) *checkpointer {
	config, err := json.Marshal(cfg)
	if err != nil {
		panic("trainer: encoding a Config: " + err.Error()) // it has no values JSON cannot hold
	}
	c := &checkpointer{config: config}
	binary.LittleEndian.PutUint64(c.data[0:], uint64(d.Len()))
	binary.LittleEndian.PutUint64(c.data[8:], uint64(d.Dim))
	binary.LittleEndian.PutUint32(c.data[16:], dataFingerprint(d))
	return c
}

// section is one section to encode: its payload is bytes, then floats, then
// ints as uint32.
type section struct {
	id     byte
	bytes  []byte
	floats []float32
	ints   []int
}

func (s *section) size() int { return len(s.bytes) + 4*len(s.floats) + 4*len(s.ints) }

// encode returns the checkpoint of t after epoch.
func (c *checkpointer) encode(t *training, epoch int) []byte {
	sample, err1 := t.sampleSrc.MarshalBinary()
	augment, err2 := t.augmentSrc.MarshalBinary()
	if err := errors.Join(err1, err2); err != nil {
		panic("trainer: " + err.Error()) // rand.PCG's never fails
	}
	var progress [progressLen]byte
	optT, optM, optV := 0, []float32(nil), []float32(nil)
	switch o := t.opt.(type) {
	case *sgd:
		optM = o.vel
	case *adam:
		optT, optM, optV = o.t, o.m, o.v
	}
	bagT := 0
	if t.bagOpt != nil {
		bagT = t.bagOpt.t
	}
	for k, v := range []int{epoch, t.step, t.cur, optT, bagT, t.pairs.pos} {
		binary.LittleEndian.PutUint64(progress[8*k:], uint64(v))
	}
	secs := []section{
		{id: secConfig, bytes: c.config},
		{id: secData, bytes: c.data[:]},
		{id: secProgress, bytes: progress[:]},
		{id: secParams, floats: t.enc.mlp.params},
		{id: secOptM, floats: optM},
		{id: secOptV, floats: optV},
		{id: secSample, bytes: sample},
		{id: secAugment, bytes: augment},
		{id: secOrder, ints: t.pairs.order},
	}
	if t.enc.bag != nil {
		secs = append(secs,
			section{id: secBag, floats: t.enc.bag.w},
			section{id: secBagM, floats: t.bagOpt.m},
			section{id: secBagV, floats: t.bagOpt.v})
	}
	size := headerLen + 4
	for i := range secs {
		if secs[i].floats != nil || secs[i].bytes != nil || secs[i].ints != nil {
			size += sectionHead + secs[i].size()
		}
	}
	b := make([]byte, 0, size)
	b = append(b, checkpointMagic...)
	b = append(b, checkpointVersion)
	for i := range secs {
		s := &secs[i]
		if s.floats == nil && s.bytes == nil && s.ints == nil {
			continue // SGD's missing second moments; a dense run's bag
		}
		b = append(b, s.id)
		b = binary.LittleEndian.AppendUint64(b, uint64(s.size()))
		b = append(b, s.bytes...)
		for _, v := range s.floats {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		for _, v := range s.ints {
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// sections are the payloads of a parsed checkpoint, by id, aliasing it; nil
// for an absent section.
type sections [numSections][]byte

// parseCheckpoint checks b's framing (magic, version, checksum, section
// lengths) and splits it into sections, without decoding them.
func parseCheckpoint(b []byte) (*sections, error) {
	if len(b) < headerLen+4 || string(b[:len(checkpointMagic)]) != checkpointMagic {
		return nil, errors.New("trainer: not a checkpoint (no CXCK header)")
	}
	if v := b[len(checkpointMagic)]; v != checkpointVersion {
		return nil, fmt.Errorf("trainer: checkpoint format version %d, this program reads version %d", v, checkpointVersion)
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, errors.New("trainer: checkpoint corrupted or truncated (checksum mismatch)")
	}
	return splitSections(body[headerLen:])
}

// splitSections splits the sections of a checkpoint's body (after the
// header, before the checksum).
func splitSections(b []byte) (*sections, error) {
	var sec sections
	for len(b) > 0 {
		if len(b) < sectionHead {
			return nil, errors.New("trainer: checkpoint: truncated section header")
		}
		id, n := b[0], binary.LittleEndian.Uint64(b[1:])
		b = b[sectionHead:]
		if id == 0 || id >= numSections {
			return nil, fmt.Errorf("trainer: checkpoint: unknown section %d", id)
		}
		if n > uint64(len(b)) {
			return nil, fmt.Errorf("trainer: checkpoint: section %s claims %d bytes, %d remain", sectionNames[id], n, len(b))
		}
		if sec[id] != nil {
			return nil, fmt.Errorf("trainer: checkpoint: section %s twice", sectionNames[id])
		}
		sec[id] = b[:n:n]
		b = b[n:]
	}
	for _, id := range []int{secConfig, secData, secProgress} {
		if sec[id] == nil {
			return nil, fmt.Errorf("trainer: checkpoint: no %s section", sectionNames[id])
		}
	}
	return &sec, nil
}

// progressOf is a checkpoint's progress section.
type progressOf struct {
	epoch, step, cur, optT, bagT, pos int
}

func (sec *sections) progress() (progressOf, error) {
	b := sec[secProgress]
	if len(b) != progressLen {
		return progressOf{}, fmt.Errorf("trainer: checkpoint: progress section of %d bytes, want %d", len(b), progressLen)
	}
	var v [progressLen / 8]int
	for k := range v {
		u := binary.LittleEndian.Uint64(b[8*k:])
		if u > math.MaxInt32 {
			return progressOf{}, fmt.Errorf("trainer: checkpoint: progress value %d out of range", u)
		}
		v[k] = int(u)
	}
	return progressOf{epoch: v[0], step: v[1], cur: v[2], optT: v[3], bagT: v[4], pos: v[5]}, nil
}

// matches checks that sec was written by a run of c's configuration on c's
// dataset.
func (c *checkpointer) matches(sec *sections) error {
	if !bytes.Equal(sec[secConfig], c.config) {
		return fmt.Errorf("trainer: checkpoint is of another configuration: %s", configDiff(sec[secConfig], c.config))
	}
	b := sec[secData]
	if bytes.Equal(b, c.data[:]) {
		return nil
	}
	if len(b) != dataLen {
		return fmt.Errorf("trainer: checkpoint: data section of %d bytes, want %d", len(b), dataLen)
	}
	n, dim := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
	wantN, wantDim := binary.LittleEndian.Uint64(c.data[:]), binary.LittleEndian.Uint64(c.data[8:])
	if n != wantN || dim != wantDim {
		return fmt.Errorf("trainer: checkpoint is of a dataset of %d items of dimension %d, not %d of dimension %d", n, dim, wantN, wantDim)
	}
	return errors.New("trainer: checkpoint is of a dataset of the same name and size but other contents")
}

// configDiff describes how the Config JSON encodings have and want differ.
func configDiff(have, want []byte) string {
	var h, w map[string]json.RawMessage
	if json.Unmarshal(have, &h) != nil || json.Unmarshal(want, &w) != nil {
		return "its configuration is unreadable"
	}
	var keys []string
	for k := range h {
		keys = append(keys, k)
	}
	for k := range w {
		if _, ok := h[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	show := func(v json.RawMessage) string {
		if v == nil {
			return "unset"
		}
		return string(v)
	}
	var diffs []string
	for _, k := range keys {
		if !bytes.Equal(h[k], w[k]) {
			diffs = append(diffs, fmt.Sprintf("%s %s in the checkpoint, %s here", k, show(h[k]), show(w[k])))
		}
	}
	if len(diffs) == 0 {
		return "it is encoded differently"
	}
	return strings.Join(diffs, "; ")
}

// restore overwrites t, freshly built for the checkpoint's run, with the
// state sec holds and returns its epoch. Every length and count is checked
// against t, so that a checkpoint that passed its checksum but was written
// by a different program cannot make training index out of range.
func (t *training) restore(sec *sections) (int, error) {
	p, err := sec.progress()
	if err != nil {
		return 0, err
	}
	perEpoch := t.pairs.stepsPerEpoch()
	switch {
	case p.epoch > t.cfg.Epochs:
		return 0, fmt.Errorf("trainer: checkpoint after epoch %d of a run of %d", p.epoch, t.cfg.Epochs)
	case p.step != p.epoch*perEpoch:
		return 0, fmt.Errorf("trainer: checkpoint after %d steps, but epoch %d ends after %d", p.step, p.epoch, p.epoch*perEpoch)
	case p.cur > 1 || p.pos > len(t.pairs.order):
		return 0, errors.New("trainer: checkpoint: progress out of range")
	}
	if err := readFloats(t.enc.mlp.params, sec, secParams); err != nil {
		return 0, err
	}
	switch o := t.opt.(type) {
	case *sgd:
		err = errors.Join(readFloats(o.vel, sec, secOptM), readFloats(nil, sec, secOptV))
	case *adam:
		if p.optT != p.step {
			return 0, fmt.Errorf("trainer: checkpoint: Adam at step %d of %d", p.optT, p.step)
		}
		o.t = p.optT
		err = errors.Join(readFloats(o.m, sec, secOptM), readFloats(o.v, sec, secOptV))
	}
	if err != nil {
		return 0, err
	}
	if err := t.restoreBag(sec, p); err != nil {
		return 0, err
	}
	if err := errors.Join(t.sampleSrc.UnmarshalBinary(sec[secSample]), t.augmentSrc.UnmarshalBinary(sec[secAugment])); err != nil {
		return 0, fmt.Errorf("trainer: checkpoint: random streams: %w", err)
	}
	if err := restoreOrder(t.pairs.order, sec[secOrder]); err != nil {
		return 0, err
	}
	t.step, t.cur, t.pairs.pos = p.step, p.cur, p.pos
	return p.epoch, nil
}

// restoreBag reads the embedding bag and its optimiser, which a checkpoint
// has exactly when t has a bag.
func (t *training) restoreBag(sec *sections, p progressOf) error {
	if t.enc.bag == nil {
		return errors.Join(readFloats(nil, sec, secBag), readFloats(nil, sec, secBagM), readFloats(nil, sec, secBagV))
	}
	o := t.bagOpt
	if p.bagT != p.step {
		return fmt.Errorf("trainer: checkpoint: bag optimiser at step %d of %d", p.bagT, p.step)
	}
	o.t = p.bagT
	return errors.Join(readFloats(t.enc.bag.w, sec, secBag), readFloats(o.m, sec, secBagM), readFloats(o.v, sec, secBagV))
}

// readFloats decodes section id of sec into dst, which it must fill
// exactly; a nil dst means the section must be absent.
func readFloats(dst []float32, sec *sections, id int) error {
	b := sec[id]
	switch {
	case dst == nil && b == nil:
		return nil
	case dst == nil:
		return fmt.Errorf("trainer: checkpoint: unexpected section %s", sectionNames[id])
	case len(b) != 4*len(dst):
		return fmt.Errorf("trainer: checkpoint: section %s holds %d bytes, want %d values", sectionNames[id], len(b), len(dst))
	}
	for k := range dst {
		dst[k] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*k:]))
	}
	return nil
}

// restoreOrder decodes the anchor order b into order, which holds the
// order of a fresh pair maker: b must be a permutation of it.
func restoreOrder(order []int, b []byte) error {
	if len(b) != 4*len(order) {
		return fmt.Errorf("trainer: checkpoint: order of %d bytes, want %d anchors", len(b), len(order))
	}
	want := slices.Clone(order)
	for k := range order {
		order[k] = int(binary.LittleEndian.Uint32(b[4*k:]))
	}
	got := slices.Clone(order)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		return errors.New("trainer: checkpoint: the anchor order is not a permutation of the run's anchors")
	}
	return nil
}

// dataFingerprint is a CRC-32C of everything of d that training reads
// besides its name (which the configuration holds): a checkpoint restored
// onto other data would continue a run that never was.
func dataFingerprint(d *dataset.Dataset) uint32 {
	f := fingerprinter{h: crc32.New(castagnoli), buf: make([]byte, 0, 1<<16)}
	f.uint(uint64(d.Len()), uint64(d.Dim), uint64(d.Width), uint64(d.Height), uint64(len(d.ClassNames)),
		uint64(d.Hash.Buckets), uint64(d.Hash.Features))
	f.str(string(d.Kind))
	f.floats(d.X)
	f.int32s(d.Labels)
	for _, s := range d.Splits {
		f.byte(byte(s))
	}
	if sp := d.Sparse; sp != nil {
		f.uint(uint64(sp.Cols))
		for _, p := range sp.Indptr {
			f.uint(uint64(p))
		}
		f.int32s(sp.Indices)
		f.floats(sp.Values)
	}
	for _, s := range d.Text {
		f.str(s)
	}
	f.uint(uint64(len(d.Headwords)))
	for _, ws := range d.Headwords {
		f.uint(uint64(len(ws)))
		for _, w := range ws {
			f.str(w)
		}
	}
	f.uint(uint64(len(d.Users)))
	for _, u := range d.Users {
		f.uint(uint64(len(u)))
		f.int32s(u)
	}
	f.int32s(d.HeldOut)
	return f.sum()
}

// fingerprinter feeds values to a hash little-endian, through a buffer.
type fingerprinter struct {
	h   hash.Hash32
	buf []byte
}

func (f *fingerprinter) room(n int) {
	if len(f.buf)+n > cap(f.buf) {
		f.h.Write(f.buf)
		f.buf = f.buf[:0]
	}
}

func (f *fingerprinter) byte(b byte) {
	f.room(1)
	f.buf = append(f.buf, b)
}

func (f *fingerprinter) uint(vs ...uint64) {
	for _, v := range vs {
		f.room(8)
		f.buf = binary.LittleEndian.AppendUint64(f.buf, v)
	}
}

func (f *fingerprinter) floats(vs []float32) {
	for _, v := range vs {
		f.room(4)
		f.buf = binary.LittleEndian.AppendUint32(f.buf, math.Float32bits(v))
	}
}

func (f *fingerprinter) int32s(vs []int32) {
	for _, v := range vs {
		f.room(4)
		f.buf = binary.LittleEndian.AppendUint32(f.buf, uint32(v))
	}
}

func (f *fingerprinter) str(s string) {
	f.uint(uint64(len(s)))
	if len(s) > cap(f.buf) {
		f.h.Write(f.buf)
		f.buf = f.buf[:0]
		f.h.Write([]byte(s))
		return
	}
	f.room(len(s))
	f.buf = append(f.buf, s...)
}

func (f *fingerprinter) sum() uint32 {
	f.h.Write(f.buf)
	return f.h.Sum32()
}
