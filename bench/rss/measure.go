package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// result is what the measured phase saw.
type result struct {
	samples   []sample
	sampleErr error
	end       status // read just before the server stopped: VmHWM is the true peak
	events    []event
	stored    []*viewer // one per finished run
	trained   []*viewer // one per run trained under measurement
	timedOut  bool
}

// event is a moment of the measured phase and the server's VmRSS then.
type event struct {
	name string
	t    time.Duration
	rss  int64
	load string
}

// settle is how long the restarted server is left idle before the load
// starts, and the new runs' server after they are done.
const settle = 2 * time.Second

// measure restarts the server on data and, sampling its memory, trains
// c.training runs with a viewer each and, once they train, views every
// stored run in ids.
func measure(ctx context.Context, c config, data string, ids []string, stdout io.Writer) (*result, error) {
	n := fmt.Sprint(c.finished + c.training)
	srv, err := startServer(ctx, c.explorer, data, filepath.Join(c.work, "server-load.log"),
		"--max-runs", fmt.Sprint(c.slots), "--max-runs-per-session", n, "--max-queued", n)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	samp := startSampler(srv.pid(), c.interval)
	res := &result{}
	mark := func(name string) {
		e := event{name: name, t: time.Since(samp.start), load: loadAvg()}
		if st, err := readStatus(srv.pid()); err == nil {
			e.rss = st.rss
		}
		res.events = append(res.events, e)
		fmt.Fprintf(stdout, "  %6.1fs  VmRSS %7s  load %s  %s\n", e.t.Seconds(), mb(e.rss), e.load, name)
	}
	fmt.Fprintf(stdout, "phase 2: server restarted on the same data folder (pid %d, --max-runs %d), sampling its VmRSS every %s\n",
		srv.pid(), c.slots, c.interval)
	mark("restarted")
	time.Sleep(settle)
	mark("idle before the load")

	// Viewers end with loadCtx: cancel runs before Wait.
	var wg sync.WaitGroup
	defer wg.Wait()
	loadCtx, cancel := context.WithTimeout(ctx, c.load)
	defer cancel()
	api, err := newClient(loadCtx, srv.url, c.dataset)
	if err != nil {
		return nil, err
	}
	for range c.training {
		s, err := api.createRun(loadCtx, runRequest{Dataset: c.dataset, Epochs: c.epochs, Projection: "tsne"})
		if err != nil {
			return nil, err
		}
		v := newViewer(s.ID, true)
		res.trained = append(res.trained, v)
		wg.Go(func() { v.watch(loadCtx, srv.url) })
	}
	mark(fmt.Sprintf("%d t-SNE runs created, a viewer on each", c.training))
	for _, v := range res.trained {
		select {
		case <-v.firstLive:
		case <-v.finished:
		}
	}
	mark(fmt.Sprintf("%d runs training (each viewer has a live epoch)", c.training))
	for _, id := range ids {
		v := newViewer(id, false)
		res.stored = append(res.stored, v)
		wg.Go(func() { v.watch(loadCtx, srv.url) })
	}
	mark(fmt.Sprintf("%d viewers of the stored runs connecting", len(ids)))
	for _, v := range res.stored {
		<-v.finished
	}
	mark(fmt.Sprintf("%d stored histories delivered", len(ids)))
	for _, v := range res.trained {
		<-v.finished
	}
	res.timedOut = loadCtx.Err() != nil
	if res.timedOut {
		mark(fmt.Sprintf("time cap of %s reached", c.load))
	} else {
		mark(fmt.Sprintf("%d runs done", c.training))
		time.Sleep(settle)
		mark("idle after the load")
	}
	res.end, err = readStatus(srv.pid())
	res.samples, res.sampleErr = samp.stop()
	if err != nil {
		return nil, err
	}
	if err := srv.stop(); err != nil {
		fmt.Fprintln(stdout, "warning:", err)
	}
	return res, nil
}

// print writes the figures.
func (r *result) print(w io.Writer, c config) {
	p := peak(r.samples)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "server VmRSS over time (max in each 10 s, %d samples):\n", len(r.samples))
	var line []string
	for i := 0; i < len(r.samples); {
		from := r.samples[i].t.Truncate(10 * time.Second)
		var m int64
		for ; i < len(r.samples) && r.samples[i].t.Truncate(10*time.Second) == from; i++ {
			m = max(m, r.samples[i].rss)
		}
		line = append(line, fmt.Sprintf("%4.0fs %4.0f", from.Seconds(), float64(m)/1e6))
		if len(line) == 8 {
			fmt.Fprintln(w, "  "+strings.Join(line, " | "))
			line = line[:0]
		}
	}
	if len(line) > 0 {
		fmt.Fprintln(w, "  "+strings.Join(line, " | "))
	}
	fmt.Fprintln(w, "  (MB, 10⁶ bytes)")

	fmt.Fprintln(w)
	fmt.Fprintln(w, "viewers:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  run\tkind\tframes\tepochs\tbackfill\tdone\tclose\tseconds\tcheck")
	for _, v := range append(append([]*viewer(nil), r.stored...), r.trained...) {
		kind := "stored"
		if v.trained {
			kind = "trained"
		}
		check := "ok"
		if pr := v.problem(c.epochs); pr != "" {
			check = "FAIL: " + pr
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%s\t%d\t%.1f\t%s\n", v.run, kind, v.frames, len(v.perEpoch),
			v.backfill, v.doneState, v.closeCode, v.took.Seconds(), check)
	}
	tw.Flush()

	fmt.Fprintln(w)
	fmt.Fprintf(w, "peak VmRSS %s at %.1f s (RssAnon %s, RssFile %s)\n", mb(p.rss), p.t.Seconds(), mb(p.anon), mb(p.file))
	fmt.Fprintf(w, "VmHWM %s (the kernel's peak, between samples too); bound %s\n", mb(r.end.hwm), mb(c.limit))
}

// verdict is nil when the bound held and every viewer got every epoch.
func (r *result) verdict(w io.Writer, c config) error {
	var errs []error
	if r.sampleErr != nil {
		errs = append(errs, fmt.Errorf("sampling stopped early: %w", r.sampleErr))
	}
	if p := peak(r.samples).rss; p >= c.limit || r.end.hwm >= c.limit {
		errs = append(errs, fmt.Errorf("bound missed: peak VmRSS %s, VmHWM %s, bound %s", mb(p), mb(r.end.hwm), mb(c.limit)))
	}
	if r.timedOut {
		errs = append(errs, fmt.Errorf("the %d runs did not finish within %s", c.training, c.load))
	}
	bad := 0
	for _, v := range append(append([]*viewer(nil), r.stored...), r.trained...) {
		if v.problem(c.epochs) != "" {
			bad++
		}
	}
	if bad > 0 {
		errs = append(errs, fmt.Errorf("%d of %d viewers did not get every epoch", bad, len(r.stored)+len(r.trained)))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	fmt.Fprintln(w, "PASS: VmHWM under the bound; every viewer got every epoch")
	return nil
}
