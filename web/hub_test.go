package web

import (
	"fmt"
	"testing"
)

func texts(ms []*message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m.text)
	}
	return out
}

func msg(text string, live bool) *message { return &message{text: []byte(text), live: live} }

// TestSubscriberConflates pushes to a subscriber whose writer is not
// taking anything: a pending live frame is replaced by the next one, and
// everything else is kept in order.
func TestSubscriberConflates(t *testing.T) {
	s := newSubscriber([]*message{msg("hello", false), msg("history 0", false), msg("live", false)})
	s.push(msg("epoch 1", true))
	s.push(msg("state paused", false))
	s.push(msg("epoch 2", true))
	s.push(msg("backfill 0", false))
	s.push(msg("epoch 3", true))
	s.push(msg("done", false))

	got, overflow := s.take()
	want := []string{"hello", "history 0", "live", "state paused", "backfill 0", "epoch 3", "done"}
	if fmt.Sprint(texts(got)) != fmt.Sprint(want) || overflow {
		t.Fatalf("pending %v (overflow %v), want %v", texts(got), overflow, want)
	}
	if s.skipped != 2 {
		t.Errorf("skipped %d live frames, want 2", s.skipped)
	}

	// Once taken, a live frame is the writer's: the next one queues anew.
	s.push(msg("epoch 4", true))
	if got, _ := s.take(); fmt.Sprint(texts(got)) != "[epoch 4]" {
		t.Errorf("after take: %v", texts(got))
	}
	if got, _ := s.take(); len(got) != 0 {
		t.Errorf("empty queue gave %v", texts(got))
	}
}

// TestSubscriberReady checks the writer's wake-up signal: one pending
// signal however many pushes, none lost.
func TestSubscriberReady(t *testing.T) {
	s := newSubscriber(nil)
	select {
	case <-s.ready:
		t.Fatal("ready without messages")
	default:
	}
	for i := range 100 {
		s.push(msg(fmt.Sprint(i), false))
	}
	<-s.ready
	select {
	case <-s.ready:
		t.Fatal("a second signal for one batch")
	default:
	}
	if got, _ := s.take(); len(got) != 100 {
		t.Fatalf("took %d, want 100", len(got))
	}
}

// TestSubscriberOverflow fills a subscriber that never drains: it keeps
// maxPending messages and reports the overflow, so the writer can drop the
// client instead of the server holding memory for it forever.
func TestSubscriberOverflow(t *testing.T) {
	s := newSubscriber(nil)
	for i := range maxPending + 10 {
		s.push(msg(fmt.Sprint(i), false))
	}
	got, overflow := s.take()
	if len(got) != maxPending || !overflow {
		t.Fatalf("kept %d, overflow %v; want %d and true", len(got), overflow, maxPending)
	}
}

// TestHubPublishNeverBlocks publishes far more than any buffer to
// subscribers nobody drains.
func TestHubPublishNeverBlocks(t *testing.T) {
	h := newHub()
	subs := make([]*subscriber, 300)
	for i := range subs {
		subs[i] = newSubscriber(nil)
		h.add(subs[i])
	}
	for e := range 200 {
		h.publish(msg(fmt.Sprint("epoch ", e), true))
	}
	for _, s := range subs {
		got, _ := s.take()
		if len(got) != 1 || string(got[0].text) != "epoch 199" {
			t.Fatalf("subscriber holds %v, want only the newest frame", texts(got))
		}
	}
	h.remove(subs[0])
	if h.len() != 299 {
		t.Fatalf("%d subscribers after removing one", h.len())
	}
}

// BenchmarkPublish fans one encoded frame out to 100 viewers whose writers
// keep up. Once warm it allocates nothing: the message is shared and the
// queues reuse their arrays.
func BenchmarkPublish(b *testing.B) {
	h := newHub()
	subs := make([]*subscriber, 100)
	for i := range subs {
		subs[i] = newSubscriber(nil)
		h.add(subs[i])
	}
	m := &message{text: []byte(`{"type":"epoch"}`), binary: make([]byte, 16+1797*2*4), live: true}
	state := &message{text: []byte(`{"type":"state"}`)}
	drain := func() {
		for _, s := range subs {
			<-s.ready
			s.take()
		}
	}
	for range 2 { // both arrays of every queue grow
		h.publish(m)
		h.publish(state)
		drain()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		h.publish(m)
		h.publish(state)
		drain()
	}
}
