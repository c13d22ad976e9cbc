package trainer

import (
	"context"
	"errors"
	"fmt"
	"github.com/contrastive-explorer/explorer/trainer/gemm"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// ErrDiverged is wrapped by the error Run returns when the training loss
// stops being a finite number, almost always because the learning rate is
// too large.
var ErrDiverged = errors.New("training diverged")

// State is where a run is in its life.
type State int

// The states of a run. Queued: created, Run not yet called. Running and
// Paused: Run is in progress. Done: every epoch trained. Stopped: its
// context was cancelled. Failed: it hit an error (see Run's result).
const (
	Queued State = iota
	Running
	Paused
	Done
	Stopped
	Failed
)

var stateNames = [...]string{"queued", "running", "paused", "done", "stopped", "failed"}

// String returns the state's lower-case name, e.g. "running".
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// MarshalText encodes the state as its name, so it appears in JSON as a
// string.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Epoch is what a run publishes after each epoch. It is never modified after
// publication and may be shared between goroutines.
type Epoch struct {
	Epoch      int       // 0 for the untrained encoder, then 1..Config.Epochs
	Metrics    Metrics   // measured after the epoch's training steps
	Embeddings []float32 // n×Dim, one row per item in dataset order; a fresh slice every epoch
	Dim        int       // embedding dimension

	// Checkpoint is the whole training state after this epoch, encoded for
	// Restore (about three times the encoder's parameters in bytes), when
	// EnableCheckpoints was called; nil otherwise. Like the embeddings it is
	// a fresh slice every epoch.
	Checkpoint []byte

	// Pairs is a sample of EpochPairs pairs of the epoch's last training
	// batch (see ExamplePairs), so what the loss saw can be looked at epoch
	// by epoch; nil when the run has no batch yet.
	Pairs []PairExample
}

// Streams of the run's random numbers, one per purpose, so that (for example)
// changing the augmentation does not change which items are sampled.
const (
	streamInit uint64 = iota + 0x7c3e_0001
	streamSample
	streamAugment
	streamProbe
	streamSample0
	streamAugment0
)

// Run is one training run. Create it with New, start it with Run (which
// blocks until the run ends), and watch it with Subscribe. Its methods other
// than Run are safe to call from any goroutine at any time.
type Run struct {
	cfg  Config
	data *dataset.Dataset
	loss Loss

	mu       sync.Mutex
	cond     *sync.Cond
	started  bool
	ended    bool
	final    State
	paused   bool
	stepping bool // pause again after the next trained epoch

	subMu  sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
	latest *Epoch

	exMu     sync.Mutex
	exBatch  *batch // the last batch trained on, read by ExamplePairs
	exRows   int
	exLayout [2]int // input dimension, embedding dimension

	// The encoder as training leaves it, for EmbedText: training holds
	// encMu for writing while it updates the weights, EmbedText for
	// reading while it runs a query through them.
	encMu sync.RWMutex
	enc   *network // nil until Run builds the encoder
	rowOf []int32  // sparse datasets: the bag row of each feature column, -1 if none

	checkpoints bool      // EnableCheckpoints was called
	resumed     *training // Restore: the training state to continue from
	resumedFrom int       // Restore: the epoch it is the state after
}

type subscriber struct{ ch chan Epoch }

// New validates cfg against d (a *FieldError on bad input) and returns a run
// in state Queued. It fills in cfg's defaults (dataset name, loss
// parameters) and builds nothing heavy: the encoder and buffers are made
// when Run starts. d must not be modified while the run exists.
func New(cfg Config, d *dataset.Dataset) (*Run, error) {
	if err := cfg.Validate(d); err != nil {
		return nil, err
	}
	cfg = cfg.resolved(d)
	loss, err := NewLoss(cfg.LossConfig())
	if err != nil {
		return nil, fieldErr(lossField(err), "%v", err)
	}
	r := &Run{cfg: cfg, data: d, loss: loss, subs: make(map[*subscriber]struct{})}
	r.cond = sync.NewCond(&r.mu)
	return r, nil
}

// Config returns the run's configuration with its defaults filled in.
func (r *Run) Config() Config {
	c := r.cfg
	c.Hidden = append([]int{}, c.Hidden...)
	return c
}

// Dataset returns the dataset the run trains on. It is shared: do not modify
// it.
func (r *Run) Dataset() *dataset.Dataset { return r.data }

// State returns the run's current state. Paused is reported as soon as
// Pause is called, although the step in flight (a few milliseconds) still
// completes.
func (r *Run) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.ended:
		return r.final
	case !r.started:
		return Queued
	case r.paused && !r.stepping:
		return Paused
	}
	return Running
}

// Pause stops training before the next training step; Resume or Step
// continues. Pausing a run that has not started makes it start paused (after
// publishing epoch 0); pausing an ended run does nothing.
func (r *Run) Pause() {
	r.mu.Lock()
	r.paused, r.stepping = true, false
	r.mu.Unlock()
}

// Resume continues a paused run.
func (r *Run) Resume() {
	r.mu.Lock()
	r.paused, r.stepping = false, false
	r.cond.Broadcast()
	r.mu.Unlock()
}

// Step trains until the next epoch has been published and then pauses: on a
// paused run that is exactly one more epoch (the rest of the current one if
// it was paused mid-epoch); on a running run it pauses at the end of the
// epoch in progress.
func (r *Run) Step() {
	r.mu.Lock()
	r.paused, r.stepping = true, true
	r.cond.Broadcast()
	r.mu.Unlock()
}

// waitTurn blocks while the run is paused and returns ctx's error once it is
// done. The context's AfterFunc in Run wakes it on cancellation.
func (r *Run) waitTurn(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.paused && !r.stepping && ctx.Err() == nil {
		r.cond.Wait()
	}
	return ctx.Err()
}

// epochDone ends a Step: the run pauses before training further.
func (r *Run) epochDone() {
	r.mu.Lock()
	r.stepping = false
	r.mu.Unlock()
}

// Subscribe returns a channel that receives every epoch published from now
// on, and a function that unsubscribes and closes the channel (safe to call
// more than once). The channel is also closed when the run ends, after its
// last epoch. Publishing never blocks: when the channel's buffer (at least 1)
// is full, its oldest pending epoch is dropped to make room, so a slow
// reader sees the newest epochs with gaps in the epoch numbers. Subscribing
// to an ended run gives a closed channel; use Latest for its last epoch.
func (r *Run) Subscribe(buffer int) (<-chan Epoch, func()) {
	s := &subscriber{ch: make(chan Epoch, max(buffer, 1))}
	r.subMu.Lock()
	defer r.subMu.Unlock()
	if r.closed {
		close(s.ch)
		return s.ch, func() {}
	}
	r.subs[s] = struct{}{}
	return s.ch, func() {
		r.subMu.Lock()
		defer r.subMu.Unlock()
		if _, ok := r.subs[s]; ok {
			delete(r.subs, s)
			close(s.ch)
		}
	}
}

// Latest returns the most recently published epoch, if any.
func (r *Run) Latest() (Epoch, bool) {
	r.subMu.Lock()
	defer r.subMu.Unlock()
	if r.latest == nil {
		return Epoch{}, false
	}
	return *r.latest, true
}

func (r *Run) publish(e Epoch) {
	r.subMu.Lock()
	defer r.subMu.Unlock()
	r.latest = &e
	for s := range r.subs {
		for sent := false; !sent; {
			select {
			case s.ch <- e:
				sent = true
			default:
				select { // full: drop the oldest pending epoch
				case <-s.ch:
				default:
				}
			}
		}
	}
}

func (r *Run) closeSubscribers() {
	r.subMu.Lock()
	defer r.subMu.Unlock()
	r.closed = true
	for s := range r.subs {
		close(s.ch)
		delete(r.subs, s)
	}
}

// EpochPairs is how many example pairs each Epoch carries.
const EpochPairs = 24

// ExamplePairs returns up to n pairs (half positive, half negative) from the
// most recent training batch, with copies of their input vectors (dense
// datasets) or the texts the encoder read (text datasets) and the distance
// of their embeddings in that step. It returns nil before the
// first batch (which comes while epoch 0's loss is measured).
func (r *Run) ExamplePairs(n int) []PairExample {
	r.exMu.Lock()
	defer r.exMu.Unlock()
	if r.exBatch == nil {
		return nil
	}
	return examplePairs(r.exBatch, r.exRows, r.exLayout[0], r.exLayout[1], n, r.data.Text)
}

// Run trains every epoch in the calling goroutine, publishing epoch 0 (the
// untrained encoder) first and then each trained epoch (a run from Restore
// publishes only the epochs after its checkpoint's), and returns when the
// run ends: nil when all epochs are done, ctx.Err() when ctx is
// cancelled (within one training step), an error wrapping ErrDiverged when
// the loss stops being finite, or an error for a second call. Subscribers'
// channels are closed when it returns. A panic inside training is returned
// as an error rather than crashing the process that hosts the run.
func (r *Run) Run(ctx context.Context) (err error) {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return errors.New("trainer: Run called twice")
	}
	r.started = true
	r.mu.Unlock()
	stopWaking := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer func() {
		stopWaking()
		if p := recover(); p != nil {
			err = fmt.Errorf("trainer: internal error: %v", p)
		}
		final := Done
		switch {
		case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
			final = Stopped
		case err != nil:
			final = Failed
		}
		r.mu.Lock()
		r.ended, r.final = true, final
		r.mu.Unlock()
		r.closeSubscribers()
	}()
	return r.train(ctx)
}

// training is the state Run builds: everything a step touches.
type training struct {
	cfg    Config
	d      *dataset.Dataset
	sp     *sparseInputs // sparse datasets: vocabulary and bag rows of every item
	enc    *network
	loss   Loss
	opt    optimizer     // the MLP's parameters
	bagOpt *rowOptimizer // the bag's touched rows (sparse datasets)
	pairs  *pairMaker
	eval   *evaluator
	// labelClasses is the classes label pairs pull together, 0 for other
	// pairs (see spread).
	labelClasses int
	probe        *batch
	bufs         [2]*batch // alternate so ExamplePairs can read the last one
	cur          int
	// With more than one thread, the next step's batch is built in spare
	// by a goroutine of its own while this step computes (prefetcher);
	// pending says one is on its way.
	spare   *batch
	pfReq   chan *batch
	pfDone  chan struct{}
	pending bool
	grad    []float32
	step    int // steps taken, for the schedule
	total   int // steps in the whole run
	warm    int // warmup steps

	// The sources of the pair maker's streams, whose states a checkpoint
	// keeps: the only random streams that advance from epoch to epoch.
	sampleSrc, augmentSrc *rand.PCG
	ckpt                  *checkpointer // nil without EnableCheckpoints

	wmu *sync.RWMutex // Run.encMu: held for writing while the weights change
}

func pcg(seed, stream uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, stream)) }

// pcgSource is pcg that also returns the generator, whose state
// MarshalBinary captures.
func pcgSource(seed, stream uint64) (*rand.Rand, *rand.PCG) {
	src := rand.NewPCG(seed, stream)
	return rand.New(src), src
}

func (r *Run) newTraining() *training {
	cfg, d := r.cfg, r.data
	t := &training{cfg: cfg, d: d, loss: r.loss, wmu: &r.encMu}
	bagRows := 0
	if d.Sparse != nil {
		views := d.Kind == dataset.Text && (cfg.Pairs == PairsAugment || cfg.Pairs == PairsLabelsAugment)
		t.sp = newSparseInputs(d, cfg.Pairs == PairsHeadword, views)
		bagRows = t.sp.vocab
	}
	t.enc = newNetwork(cfg, d.Dim, bagRows, pcg(cfg.Seed, streamInit))
	t.opt = newOptimizer(cfg, t.enc.mlp.Params(), t.enc.mlp.Grads())
	var sample, augment *rand.Rand
	sample, t.sampleSrc = pcgSource(cfg.Seed, streamSample)
	augment, t.augmentSrc = pcgSource(cfg.Seed, streamAugment)
	t.pairs = newPairMaker(cfg, d, t.sp, sample, augment)
	if t.enc.bag != nil {
		t.bagOpt = newRowOptimizer(cfg, len(t.enc.bag.w))
		t.enc.bag.reserve(t.pairs.rows * t.sp.maxNNZ)
	}
	t.eval = newEvaluator(d)
	if cfg.Pairs == PairsLabels || cfg.Pairs == PairsLabelsAugment {
		t.labelClasses = len(d.ClassNames)
	}
	t.probe = newProbe(cfg, d, t.sp, pcg(cfg.Seed, streamProbe))
	rows := t.pairs.rows
	t.bufs = [2]*batch{newRunBatch(rows, d, t.sp, cfg.Dim, cfg.Pairs), newRunBatch(rows, d, t.sp, cfg.Dim, cfg.Pairs)}
	t.grad = make([]float32, rows*cfg.Dim)
	perEpoch := t.pairs.stepsPerEpoch()
	t.total, t.warm = cfg.Epochs*perEpoch, cfg.Warmup*perEpoch
	r.encMu.Lock()
	r.enc = t.enc
	if t.sp != nil {
		r.rowOf = t.sp.rowOf
	}
	r.encMu.Unlock()
	return t
}

func (r *Run) train(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, first := r.resumed, r.resumedFrom+1
	r.resumed = nil
	fresh := t == nil
	if fresh {
		t, first = r.newTraining(), 1
	}
	switch {
	case !r.checkpoints:
		t.ckpt = nil // Restore's, which only checked the checkpoint
	case t.ckpt == nil:
		t.ckpt = newCheckpointer(r.cfg, r.data)
	}

	if fresh {
		// Epoch 0: the untrained encoder, its loss measured over at most
		// initialLossBatches batches from streams of its own so training's
		// batches do not depend on it.
		pm0 := newPairMaker(t.cfg, t.d, t.sp, pcg(t.cfg.Seed, streamSample0), pcg(t.cfg.Seed, streamAugment0))
		loss0, err := r.measureLoss(ctx, t, pm0)
		if err != nil {
			return err
		}
		if err := r.finishEpoch(ctx, t, 0, Metrics{Loss: loss0}); err != nil {
			return err
		}
	}
	defer t.stopPrefetcher()
	for epoch := first; epoch <= t.cfg.Epochs; epoch++ {
		m, err := r.trainEpoch(ctx, t)
		if err != nil {
			return err
		}
		if err := r.finishEpoch(ctx, t, epoch, m); err != nil {
			return err
		}
		r.epochDone()
	}
	return nil
}

// initialLossBatches bounds the batches epoch 0's loss is the mean of. The
// mean of 16 batches of 256 estimates the untrained encoder's loss to well
// under a percent, and a whole epoch of forward passes (725 batches for
// the interactions' plays) would delay the first picture for nothing.
const initialLossBatches = 16

// measureLoss returns the mean loss over the first initialLossBatches
// batches (or one epoch, if shorter) of pm without training.
func (r *Run) measureLoss(ctx context.Context, t *training, pm *pairMaker) (float64, error) {
	pm.beginEpoch()
	steps := min(pm.stepsPerEpoch(), initialLossBatches)
	var sum float64
	for s := 0; s < steps; s++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		b := t.bufs[t.cur]
		pm.fill(b)
		z := t.enc.forward(b, pm.rows)
		l := t.lossOf(b, z, pm.rows)
		copy(b.z, z)
		r.showBatch(t, b)
		sum += l
	}
	return sum / float64(steps), nil
}

// trainEpoch runs one epoch of training steps.
func (r *Run) trainEpoch(ctx context.Context, t *training) (Metrics, error) {
	pm := t.pairs
	pm.beginEpoch()
	steps := pm.stepsPerEpoch()
	// Batches are built ahead only within the epoch: the next one starts
	// with a reshuffle, and its checkpoint keeps the streams as they are
	// at the epoch's end.
	prefetch := gemm.Threads() > 1
	if prefetch {
		t.startPrefetcher()
	}
	defer t.awaitPrefetch()
	var m Metrics
	var sum float64
	var busy, cpu time.Duration
	for s := 0; s < steps; s++ {
		if err := r.waitTurn(ctx); err != nil {
			return m, err
		}
		start, cpu0 := time.Now(), processCPU()
		l := t.trainStep(prefetch && s+1 < steps)
		busy += time.Since(start)
		cpu += processCPU() - cpu0
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return m, fmt.Errorf("trainer: loss %v at step %d: %w; try a smaller learning rate", l, t.step, ErrDiverged)
		}
		r.showBatch(t, t.bufs[t.cur])
		sum += l
	}
	m.Loss = sum / float64(steps)
	m.Seconds = busy.Seconds()
	m.CPUSeconds = cpu.Seconds()
	m.Steps = steps
	m.LR = LearningRate(t.cfg.Schedule, t.cfg.LR, t.step-1, t.total, t.warm)
	return m, nil
}

// trainStep builds a batch (or takes the one built ahead), runs forward
// and backward, updates the parameters and returns the batch's loss; with
// ahead, the next batch is built meanwhile. It allocates nothing.
func (t *training) trainStep(ahead bool) float64 {
	rows := t.pairs.rows
	if t.pending {
		t.awaitPrefetch()
		// bufs[cur] is not the batch ExamplePairs reads (showBatch), so it
		// can be the next spare.
		t.bufs[t.cur], t.spare = t.spare, t.bufs[t.cur]
	} else {
		t.pairs.fill(t.bufs[t.cur])
	}
	b := t.bufs[t.cur]
	z := t.enc.forward(b, rows)
	if ahead {
		t.pending = true
		t.pfReq <- t.spare
	}
	l := t.lossOf(b, z, rows)
	copy(b.z, z)
	t.enc.backward(t.grad)
	lr := float32(LearningRate(t.cfg.Schedule, t.cfg.LR, t.step, t.total, t.warm))
	t.wmu.Lock() // EmbedText reads the weights between updates
	t.opt.step(lr)
	if t.bagOpt != nil {
		t.enc.bag.update(t.bagOpt, lr)
	}
	t.wmu.Unlock()
	t.step++
	return l
}

// startPrefetcher starts the goroutine that builds batches ahead, once.
// It draws from the pair maker's streams in the same order as building
// each batch in its step would, so training is the same bit for bit.
func (t *training) startPrefetcher() {
	if t.pfReq != nil {
		return
	}
	t.spare = newRunBatch(t.pairs.rows, t.d, t.sp, t.cfg.Dim, t.cfg.Pairs)
	t.pfReq, t.pfDone = make(chan *batch), make(chan struct{}, 1)
	go func(req <-chan *batch, done chan<- struct{}) {
		for b := range req {
			t.pairs.fill(b)
			done <- struct{}{}
		}
	}(t.pfReq, t.pfDone)
}

// awaitPrefetch waits for the batch being built ahead, if any.
func (t *training) awaitPrefetch() {
	if t.pending {
		<-t.pfDone
		t.pending = false
	}
}

// stopPrefetcher ends the prefetching goroutine, after its batch.
func (t *training) stopPrefetcher() {
	if t.pfReq == nil {
		return
	}
	t.awaitPrefetch()
	close(t.pfReq)
	t.pfReq = nil
}

// correctedLoss is a Loss that takes the sampling-bias correction of
// in-batch softmax (batchLoss.ComputeCorrected).
type correctedLoss interface {
	ComputeCorrected(z []float32, b, d int, groups []int32, logQ []float64, grad []float32) float64
}

// lossOf computes the loss of the embeddings z of b's rows rows into t.grad,
// with the sampling-bias correction when the batch carries one.
func (t *training) lossOf(b *batch, z []float32, rows int) float64 {
	if c, ok := t.loss.(correctedLoss); ok && b.logQ != nil {
		return c.ComputeCorrected(z, rows, t.cfg.Dim, b.groups, b.logQ, t.grad)
	}
	return t.loss.Compute(z, rows, t.cfg.Dim, b.groups, t.grad)
}

// showBatch makes b the batch ExamplePairs reads and moves training to the
// other buffer, so the next step never writes what a reader may be copying.
func (r *Run) showBatch(t *training, b *batch) {
	r.exMu.Lock()
	dim := t.d.Dim
	if t.sp != nil {
		dim = 0
	}
	r.exBatch, r.exRows, r.exLayout = b, t.pairs.rows, [2]int{dim, t.cfg.Dim}
	r.exMu.Unlock()
	t.cur ^= 1
}

// embed writes the embeddings of every item (n×Dim) into emb.
func (t *training) embed(emb []float32) {
	if t.sp == nil {
		t.enc.embedDense(t.d.X, t.d.Len(), emb)
		return
	}
	t.enc.embedSparse(&t.sp.items, emb)
}

// finishEpoch measures the encoder and publishes the epoch.
func (r *Run) finishEpoch(ctx context.Context, t *training, epoch int, m Metrics) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n, d := t.d.Len(), t.cfg.Dim
	emb := make([]float32, n*d)
	t.embed(emb)
	m.HasKNN = t.eval.hasKNN()
	m.RawKNNAccuracy = t.eval.rawAccuracy()
	m.KNNAccuracy = t.eval.embeddingKNN(emb, d)
	if m.HasRecall = t.eval.hasRecall(); m.HasRecall {
		m.RecallAt10 = t.eval.recall(emb, d)
		m.PopularityRecallAt10, m.RandomRecallAt10 = t.eval.popRecall, t.eval.randRecall
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rows := len(t.probe.rows)
	if t.sp == nil {
		t.enc.embedDense(t.probe.x, rows, t.probe.z)
	} else {
		t.enc.embedSparse(&t.probe.sp, t.probe.z)
	}
	t.eval.probeMetrics(&m, t.probe.z, rows, d, t.probe.groups)
	spread(&m, emb, n, d, t.labelClasses)
	e := Epoch{Epoch: epoch, Metrics: m, Embeddings: emb, Dim: d, Pairs: r.ExamplePairs(EpochPairs)}
	if t.ckpt != nil {
		e.Checkpoint = t.ckpt.encode(t, epoch)
	}
	r.publish(e)
	return nil
}
